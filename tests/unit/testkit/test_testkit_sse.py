"""SSE client + backend, run for real over loopback (no proxy: this is the baseline)."""

import asyncio
import json

import httpx
import pytest

from realtime_testkit.sse import SseEvent, SseParser, SseResult, assert_streamed, delays, read_sse, streamed_bound


def run(coro):
    return asyncio.run(coro)


def test_events_stream_200ms_apart_with_small_delay(backend):
    res = run(read_sse(backend.base + "/sse/t?count=5&interval=0.2", count=6, timeout=5))
    assert res.status == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    assert res.headers["cache-control"] == "no-cache"
    assert "x-accel-buffering" not in res.headers  # nginx config alone must unbuffer
    assert "content-encoding" not in res.headers  # httpx asked for gzip; must not get it
    assert [e.id for e in res.events] == ["1", "2", "3", "4", "5"]
    assert res.closed_by_server and not res.timed_out
    gaps = [b.arrival - a.arrival for a, b in zip(res.events, res.events[1:])]
    assert all(0.12 < g < 0.35 for g in gaps), gaps
    assert all(0 <= d < 0.1 for d in delays(res)), delays(res)
    assert json.loads(res.events[0].data)["backend"] == "unit"
    assert_streamed(res, expected=5)


def test_accel_no_sends_header(backend):
    res = run(read_sse(backend.base + "/sse/t?count=1&accel=no", count=1, timeout=5))
    assert res.headers.get("x-accel-buffering") == "no"
    assert len(res.events) == 1


def test_last_event_id_resumes_after_it(backend):
    res = run(read_sse(backend.base + "/sse/t?count=5&interval=0.05", count=10, timeout=5,
                       headers={"Last-Event-ID": "3"}))
    assert [e.id for e in res.events] == ["4", "5"]
    assert [json.loads(e.data)["seq"] for e in res.events] == [4, 5]
    assert res.closed_by_server


def test_heartbeat_comments_are_counted(backend):
    res = run(read_sse(backend.base + "/sse/t?events=0&heartbeat=0.1", count=1, timeout=0.55))
    assert res.status == 200
    assert res.timed_out and not res.closed_by_server
    assert res.events == []
    assert 3 <= res.comments <= 7, res.comments
    assert len(res.comment_times) == res.comments


def test_endless_stream_stops_at_count(backend):
    res = run(read_sse(backend.base + "/sse/t?count=0&interval=0.05", count=3, timeout=5))
    assert len(res.events) == 3
    assert not res.closed_by_server and not res.timed_out
    assert res.elapsed < 1.0


def test_timeout_returns_partial_result_without_raising(backend):
    res = run(read_sse(backend.base + "/sse/t?count=5&interval=1", count=5, timeout=0.5))
    assert res.timed_out
    assert len(res.events) == 1
    assert res.elapsed < 1.5


def test_bad_query_is_rejected(backend):
    res = run(read_sse(backend.base + "/sse/t?count=abc", count=1, timeout=5))
    assert res.status == 400
    assert b"count" in res.body


def test_mirror_and_seen_record_forwarded_headers(backend):
    marker = "203.0.113.7"
    r = httpx.get(backend.base + "/api/x?y=1", headers={"X-Forwarded-For": marker,
                                                        "X-Real-IP": marker}, trust_env=False)
    assert r.status_code == 200
    body = r.json()
    assert body["path"] == "/api/x" and body["method"] == "GET" and body["backend"] == "unit"
    assert body["headers"]["X-Forwarded-For"] == marker
    assert body["headers"]["Host"] == "127.0.0.1:%d" % backend.port
    seen = httpx.get(backend.base + "/_backend/seen", trust_env=False).json()
    hits = [s for s in seen if s["path"] == "/api/x"]
    assert hits and hits[-1]["headers"]["X-Real-IP"] == marker
    assert all(s["path"] != "/_backend/seen" for s in seen)
    assert len(seen) <= 200


def test_seen_is_bounded_to_200(backend):
    with httpx.Client(trust_env=False) as c:
        for i in range(210):
            c.post(backend.base + "/bulk/%d" % i, content=b"x")
        seen = c.get(backend.base + "/_backend/seen").json()
    assert len(seen) == 200
    assert seen[-1]["path"] == "/bulk/209" and seen[-1]["method"] == "POST"


def test_parser_handles_multiline_crlf_comments_and_event_names():
    p = SseParser()
    lines = [": hi", "event: tick", "id: 7", "data: a", "data:b", "", "data: {\"sent\": 100.0}", ""]
    out = [p.feed(line, 100.25) for line in lines]
    assert out[0] == "comment"
    ev1, ev2 = out[5], out[7]
    assert (ev1.event, ev1.id, ev1.data, ev1.sent) == ("tick", "7", "a\nb", None)
    assert ev2.event == "message" and ev2.id == "7"  # id persists as last event id
    assert ev2.sent == 100.0 and ev2.delay == pytest.approx(0.25)
    assert p.feed("", 1.0) is None  # empty block dispatches nothing


def _result(offsets, sent0=1000.0, gap=0.2):
    events = []
    for i, arrival_offset in enumerate(offsets):
        sent = sent0 + i * gap
        events.append(SseEvent(id=str(i + 1), event="message", data="{}",
                               arrival=sent0 + arrival_offset, sent=sent,
                               delay=sent0 + arrival_offset - sent))
    return SseResult(status=200, headers={"content-type": "text/event-stream"},
                     events=events, closed_by_server=True)


def test_assert_streamed_rejects_buffered_burst():
    # All 5 events sent 200 ms apart but delivered together at the end: buffering.
    burst = _result([0.85, 0.851, 0.852, 0.853, 0.854])
    with pytest.raises(AssertionError) as info:
        assert_streamed(burst, expected=5)
    msg = str(info.value)
    assert "buffer" in msg
    assert "850.0" in msg and "54.0" in msg  # the delays in ms are quoted


def test_assert_streamed_accepts_prompt_and_rejects_missing_or_wrong_type():
    good = _result([0.001, 0.201, 0.402, 0.601, 0.803])
    assert_streamed(good, expected=5)
    with pytest.raises(AssertionError, match="only 5 of 6"):
        assert_streamed(good, expected=6)
    good.headers["content-type"] = "application/json"
    with pytest.raises(AssertionError, match="not an event stream"):
        assert_streamed(good, expected=5)
    with pytest.raises(AssertionError, match="failed"):
        assert_streamed(SseResult(status=502), expected=1)


def test_streamed_bound_is_three_quarters_of_the_gap_between_sends():
    assert streamed_bound(_result([0.0] * 5, gap=0.2)) == pytest.approx(0.15)
    # The backend keeps its schedule: an event sent 48 ms late shortens the gap after it, not the bound.
    late_send = _result([0.0] * 5, gap=0.2)
    late_send.events[1].sent += 0.048
    assert streamed_bound(late_send) == pytest.approx(0.15)
    # A backend the machine stalled sends the events it owes together: the gaps shrink, the bound does not.
    stalled = _result([0.0] * 5, gap=0.2)
    for event in stalled.events[1:]:
        event.sent = stalled.events[1].sent + 0.001 * int(event.id)
    assert streamed_bound(stalled) == pytest.approx(0.15)
    assert streamed_bound(_result([0.0] * 5, gap=0.4)) == pytest.approx(0.3)
    # Nothing to take a share of: one event, or events sent together.
    assert streamed_bound(_result([0.0])) == pytest.approx(0.15)
    assert streamed_bound(_result([0.0] * 3, gap=0.0)) == pytest.approx(0.15)


def test_an_event_held_until_the_next_one_is_not_streamed():
    # A layer that flushes one write late: each event leaves with the next, 200 ms after it was sent.
    held = _result([0.2, 0.4, 0.6, 0.8, 0.9])
    with pytest.raises(AssertionError, match="later than 150 ms"):
        assert_streamed(held, expected=5)
    # Scheduling on a loaded machine: 120 ms late, under three quarters of the gap.
    assert_streamed(_result([0.12, 0.32, 0.52, 0.72, 0.92]), expected=5)
    # An explicit bound still wins.
    with pytest.raises(AssertionError, match="later than 100 ms"):
        assert_streamed(_result([0.12, 0.32, 0.52, 0.72, 0.92]), expected=5, max_delay=0.1)
