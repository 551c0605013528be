"""What Server-Sent Events promise, end to end through the role's sse locations.

Each behaviour has its own client and server (behaviours.PAIRS); the traffic
runs at once in the ``behaviours`` fixture.
"""

import json

from behaviours import IDLE_MS, RETRIES, STREAMS, recorded
from realtime_testkit.interop import Cell


def test_last_event_id_on_reconnect(behaviours, results):
    answers = behaviours[0]
    got = answers["reconnect"]
    with recorded(results, "SSE: Last-Event-ID on reconnect"):
        assert [event["id"] for event in got["events"]] == ["1", "2", "3", "4", "5", "6"], got
        sent = [hello["record"]["headers"].get("last-event-id") for hello in got["hellos"]]
        assert sent == [None, "2", "4"], sent


def test_retry_is_honoured_by_the_browser(behaviours, results):
    answers = behaviours[0]
    delays = answers["retry delays"]
    with recorded(results, "SSE: retry honoured by the browser"):
        assert answers["retry page"] == "h2"
        short, long = (delays[ms]["delay"] for ms in RETRIES)
        assert short is not None and long is not None, delays
        # Chromium's own delay is 3 s: one shorter and one longer than that, each near its retry value.
        assert RETRIES[0] * 0.8 <= short < 2000, delays
        assert RETRIES[1] * 0.9 <= long < RETRIES[1] + 3000, delays


def test_comment_heartbeats_keep_a_quiet_stream_open_past_read_timeout(behaviours, results):
    answers, logs = behaviours
    beating, silent = answers["heartbeat"], answers["no heartbeat"]
    with recorded(results, "SSE: comment heartbeats keep a quiet stream past read_timeout"):
        assert not isinstance(beating, BaseException), repr(beating)
        assert [event.id for event in beating.events] == [None, "1"], beating
        assert beating.comments >= IDLE_MS // 1000 - 2, beating
        # Control: without heartbeats nginx ends the stream at the location's read_timeout (5 s).
        assert [event.id for event in silent.events] == [None], silent
        cut = [line.seconds for line in logs["debian12"] if "cell=behaviour-silent" in line.uri]
        assert len(cut) == 1 and 4.5 <= cut[0] < IDLE_MS / 1000, cut


def test_crlf_and_cr_line_endings(behaviours, results):
    answers = behaviours[0]
    with recorded(results, "SSE: CRLF and CR line endings"):
        for eol in ("crlf", "cr"):
            got = answers[eol]
            assert [event["id"] for event in got["events"]] == ["1", "2", "3"], (eol, got)
            assert got["hellos"][0]["record"]["query"].startswith("eol=" + eol), got
        raw = answers["raw cr"]
        assert raw.status == 200 and "\r" in raw.body and "\n" not in raw.body, repr(raw.body[:200])
    # Recorded, not asserted: a client's own limit, which nginx has no part in (its bytes are above).
    ids = [event["id"] for event in answers["cr end"]["events"]]
    results.add(Cell("go", "node eventsource", "http/1.1", "SSE: CR line endings, an event that ends the stream",
                     "pass" if ids == ["1", "2", "3"] else "n/a",
                     "" if ids == ["1", "2", "3"] else "Node's eventsource misses the last event when a lone CR ends "
                     "the stream (it waits for an LF that may follow); Chromium delivers it", "debian12", "behaviour"))


def test_a_1_mib_event(behaviours, results):
    answers = behaviours[0]
    got = answers["1 MiB"]
    with recorded(results, "SSE: a 1 MiB event"):
        assert got["status"] == 200, got["status"]
        event = [event for event in got["events"] if event["id"] == "1"]
        assert event and len(json.loads(event[0]["data"])["pad"]) == 1024 * 1024, [
            (event["id"], len(event["data"])) for event in got["events"]]


def test_100_streams_share_one_http2_connection(behaviours, results):
    answers, logs = behaviours
    got = answers["h2 streams"]
    with recorded(results, "SSE: 100 streams on one HTTP/2 connection"):
        assert not isinstance(got, BaseException), repr(got)
        assert got == [("HTTP/2", 200, 3)] * STREAMS, got
        lines = [line for line in logs["debian12"] if "cell=behaviour-h2-" in line.uri]
        assert len(lines) == STREAMS and {line.protocol for line in lines} == {"HTTP/2.0"}, lines[:3]
        assert len({line.conn for line in lines}) == 1, sorted({line.conn for line in lines})


def test_100_streams_share_one_http3_connection(behaviours, results):
    answers, logs = behaviours
    got = answers["h3 streams"]
    with recorded(results, "SSE: 100 streams on one HTTP/3 connection"):
        assert [(answer["status"], [event["id"] for event in answer["events"]]) for answer in got] == [
            (200, [None, "1", "2", "3"])] * STREAMS, got[:2]
        lines = [line for line in logs["debian13"] if "cell=behaviour-h3-" in line.uri]
        assert len(lines) == STREAMS and {line.protocol for line in lines} == {"HTTP/3.0"}, lines[:3]
        # Over HTTP/3 nginx numbers each stream as a connection of its own ($connection), and counts the
        # requests of the QUIC connection ($connection_requests): 1 to 100 on one connection.
        assert sorted(line.reqs for line in lines) == list(range(1, STREAMS + 1)), sorted(line.reqs for line in lines)
