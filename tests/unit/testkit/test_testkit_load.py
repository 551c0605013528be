"""The bounded load tools against the real backend, with small N so counts are exact."""

import asyncio
import json
import socket
import time

import pytest

from realtime_testkit.load import (HoldResult, RequestLoopResult, StreamRecord, hold_sse, hold_ws,
                                   percentiles, request_loop, sse_streams_held)

N = 20


def run(coro):
    return asyncio.run(coro)


def test_sse_streams_held_open_are_counted_and_not_closed_early(backend):
    url = backend.base + "/sse/hold?count=0&interval=0.1&heartbeat=0.15"
    started = time.monotonic()
    res = run(hold_sse(url, N, duration=1.5, connect_timeout=5))
    took = time.monotonic() - started
    s = res.summary()
    assert (s.attempted, s.opened, s.failed_to_open, s.errors) == (N, N, 0, 0), s
    assert (s.closed_by_server, s.closed_early, s.still_open, s.ok) == (0, 0, N, N), s
    assert s.mismatches == 0 and s.statuses == {"200": N}
    assert 1.4 <= took < 4.0, took
    for rec in res.streams:
        assert rec.first_event_id == "1" and rec.events >= 8, rec
        assert rec.last_event_id == str(rec.events)
        assert rec.comments >= 5 and rec.backend == "unit"
    assert len({rec.local_port for rec in res.streams}) == N  # one connection each
    assert s.latency_ms["n"] == N and s.latency_ms["p50"] <= s.latency_ms["max"]
    json.dumps(s.as_dict())
    json.dumps([rec.as_dict() for rec in res.streams])


def test_sse_streams_the_server_ends_are_closed_early(backend):
    # Negative case: the backend ends every stream after 3 events (~0.2 s).
    url = backend.base + "/sse/short?count=3&interval=0.1"
    res = run(hold_sse(url, N, duration=1.5, connect_timeout=5))
    s = res.summary()
    assert (s.opened, s.closed_by_server, s.closed_early, s.still_open, s.ok) == (N, N, N, 0, 0), s
    assert s.events == 3 * N and s.resumed == 0
    assert all(r.close_kind == "eof" and r.last_event_id == "3" for r in res.streams)
    assert res.started < s.first_close_at <= s.last_close_at < res.started + 1.5
    # A cut-off time before the closes makes them on-time instead of early.
    assert res.summary(before=s.first_close_at).closed_early == 0
    assert res.summary(before=s.last_close_at + 0.001).closed_early == N


def test_sse_resume_sends_last_event_id_but_ended_stream_has_nothing_more(backend):
    url = backend.base + "/sse/short?count=3&interval=0.05"
    res = run(hold_sse(url, N, duration=2, last_event_resume=True))
    s = res.summary()
    # The reconnect asks for events after 3 of 3: the backend ends it at once, empty.
    assert (s.resumed, s.resume_opened, s.resume_continued, s.resume_not_continued) == (N, N, 0, N), s
    assert all(r.resume.events == 0 and r.resume.closed_at for r in res.streams)


def test_sse_resume_after_server_cut_continues_at_next_id(backend, free_port, tmp_path):
    """A server that goes away mid-stream (like an old nginx worker) and a new one on the same port."""
    backend_class = type(backend)
    port = free_port(exclude={backend.port})
    first = backend_class(port, "cut-a", tmp_path / "a.log")
    procs = [first]
    url = first.base + "/sse/cut?count=0&interval=0.1"

    async def scenario():
        ready, stop = asyncio.Event(), asyncio.Event()
        hold = asyncio.ensure_future(hold_sse(url, N, duration=15, last_event_resume=True,
                                              resume_delay=2.5, ready=ready, stop=stop))
        await ready.wait()
        await asyncio.sleep(0.6)
        cut = time.time()
        await asyncio.to_thread(first.stop)
        procs.append(await asyncio.to_thread(backend_class, port, "cut-b", tmp_path / "b.log"))
        await asyncio.sleep(3.5)
        stop.set()
        return await hold, cut

    try:
        res, cut = run(scenario())
    finally:
        for proc in procs:
            proc.stop()
    s = res.summary(before=cut)
    assert (s.opened, s.closed_by_server, s.closed_early) == (N, N, 0), s
    assert (s.resumed, s.resume_opened, s.resume_continued, s.resume_failed) == (N, N, N, 0), s
    assert s.mismatches == 0
    for rec in res.streams:
        assert rec.backend == "cut-a" and rec.resume.backend == "cut-b"
        assert int(rec.resume.first_event_id) == int(rec.last_event_id) + 1
        assert rec.resume.events >= 5 and rec.resume.closed_at is None
        assert rec.resume.local_port and rec.resume.local_port != rec.local_port
    assert res.summary().closed_early == N  # measured against the end, the cut is early


def test_sse_failed_opens_are_counted(backend, free_port):
    # The JSON mirror answers 200 but is no event stream; a refused port gives no answer.
    res = run(hold_sse(backend.base + "/api/not-sse", N, duration=2))
    s = res.summary()
    assert (s.opened, s.failed_to_open, s.errors, s.closed_early) == (0, N, N, 0), s
    assert "content-type" in res.streams[0].error
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port(exclude={backend.port})))
        port = holder.getsockname()[1]
        res = run(hold_sse("http://127.0.0.1:%d/sse/x" % port, 5, duration=2, connect_timeout=1))
    s = res.summary()
    assert (s.opened, s.failed_to_open, s.statuses) == (0, 5, {"0": 5}), s
    assert res.ended - res.started < 3


def test_stop_event_ends_a_hold_early(backend):
    async def scenario():
        stop = asyncio.Event()
        hold = asyncio.ensure_future(hold_sse(backend.base + "/sse/s?count=0&interval=0.1", 5,
                                              duration=30, stop=stop))
        await asyncio.sleep(0.5)
        stop.set()
        return await hold

    started = time.monotonic()
    res = run(scenario())
    assert time.monotonic() - started < 3
    assert res.summary().still_open == 5


def test_ws_sockets_echo_and_stay_open(backend):
    res = run(hold_ws(backend.ws_base + "/ws/hold", N, duration=1.5, ping_interval=0.2))
    s = res.summary()
    assert (s.opened, s.failed_to_open, s.closed_early, s.still_open, s.errors) == (N, 0, 0, N, 0), s
    assert s.statuses == {"101": N} and s.mismatches == 0
    assert all(5 <= r.events <= 9 for r in res.streams), [r.events for r in res.streams]
    assert s.rtt_ms["n"] == s.events and s.rtt_ms["p99"] < 500
    assert len({r.local_port for r in res.streams}) == N


def test_ws_sockets_closed_by_the_server_are_closed_early_with_code(start_backend):
    b = start_backend("wsgone")

    async def scenario():
        ready = asyncio.Event()
        hold = asyncio.ensure_future(hold_ws(b.ws_base + "/ws/x", N, duration=10, ping_interval=0.2,
                                             ready=ready))
        await ready.wait()
        await asyncio.sleep(0.5)
        await asyncio.to_thread(b.stop)  # the backend closes its sockets with 1001
        return await hold

    started = time.monotonic()
    res = run(scenario())
    assert time.monotonic() - started < 9  # ended by itself once all were closed
    s = res.summary()
    assert (s.opened, s.closed_by_server, s.closed_early, s.still_open, s.ok) == (N, N, N, 0, 0), s
    assert s.close_codes == {"1001": N}
    assert all(r.close_reason == "server shutdown" and r.events >= 1 for r in res.streams)


def test_ws_refused_handshake_is_failed_to_open(backend):
    res = run(hold_ws(backend.ws_base + "/api/nows", 3, duration=2))
    s = res.summary()
    assert (s.opened, s.failed_to_open, s.statuses) == (0, 3, {"200": 3}), s


def test_request_loop_stops_at_count(backend):
    res = run(request_loop(backend.base + "/api/loop", count=50, duration=10, concurrency=5))
    s = res.summary()
    assert (s.attempted, s.ok, s.failed, s.errors, s.statuses) == (50, 50, 0, 0, {"200": 50}), s
    assert s.latency_ms["n"] == 50
    assert res.ended - res.started < 5


def test_request_loop_stops_at_duration_and_paces_with_rate(backend):
    res = run(request_loop(backend.base + "/api/loop", count=100000, duration=1.0, concurrency=4,
                           rate=40))
    s = res.summary()
    assert 30 <= s.attempted <= 42, s
    assert s.failed == 0
    assert res.ended - res.started < 2.5
    window = res.summary(start=res.started + 0.5)
    assert 14 <= window.attempted <= 22, window
    assert len(res.within(end=res.started + 0.5)) + window.attempted == s.attempted


def test_request_loop_counts_failures(backend, free_port):
    res = run(request_loop(backend.base + "/sse/x?count=abc", count=10, duration=5, concurrency=2))
    s = res.summary()
    assert (s.attempted, s.opened, s.ok, s.failed, s.statuses) == (10, 10, 0, 10, {"400": 10}), s
    assert s.error_samples == {"status 400": 10}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port(exclude={backend.port})))
        port = holder.getsockname()[1]
        res = run(request_loop("http://127.0.0.1:%d/" % port, count=10, duration=5, concurrency=2))
    s = res.summary()
    assert (s.attempted, s.opened, s.failed_to_open, s.failed, s.errors) == (10, 0, 10, 10, 10), s


def test_request_loop_new_connection_per_request_unless_keepalive(backend):
    for keepalive in (False, True):
        res = run(request_loop(backend.base + "/api/ka-%s" % keepalive, count=10, duration=10,
                               concurrency=1, keepalive=keepalive))
        assert res.summary().ok == 10
    seen = json.loads(_get(backend.port, "/_backend/seen"))
    connection = {s["path"]: s["headers"].get("Connection", "") for s in seen}
    assert connection["/api/ka-False"].lower() == "close"
    assert connection["/api/ka-True"].lower() != "close"


def _get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1]


def test_bounds_are_enforced():
    with pytest.raises(ValueError):
        run(hold_sse("http://127.0.0.1:1/", 0, duration=1))
    with pytest.raises(ValueError):
        run(hold_ws("ws://127.0.0.1:1/", 10, duration=0))
    with pytest.raises(ValueError):
        run(request_loop("http://127.0.0.1:1/", count=10, duration=None, concurrency=1))
    with pytest.raises(ValueError):
        run(hold_sse("http://127.0.0.1:1/", 100000, duration=1))


def test_percentiles_and_summary_of_records():
    assert percentiles([]) == {"n": 0}
    p = percentiles([i / 1000 for i in range(1, 101)])
    assert (p["n"], p["min"], p["p50"], p["p90"], p["p99"], p["max"]) == (100, 1, 50, 90, 99, 100)
    a = StreamRecord(0, opened=True, status=200, closed_at=10.0, last_event_id="7",
                     resume=StreamRecord(0, opened=True, status=200, first_event_id="8"))
    b = StreamRecord(1, opened=True, status=200, closed_at=20.0, last_event_id="3",
                     resume=StreamRecord(1, opened=True, status=200, first_event_id="5"))
    c = StreamRecord(2, status=502, error="status 502")
    res = HoldResult("sse", "u", 0.0, 30.0, [a, b, c])
    s = res.summary(before=15.0)
    assert (s.opened, s.failed_to_open, s.closed_by_server, s.closed_early, s.ok) == (2, 1, 2, 1, 1)
    assert (s.resume_continued, s.resume_not_continued) == (1, 1)
    assert (s.first_close_at, s.last_close_at) == (10.0, 20.0)
    assert s.statuses == {"200": 2, "502": 1} and s.error_samples == {"status 502": 1}
    assert a.resume_continued is True and b.resume_continued is False and c.resume_continued is None
    empty = RequestLoopResult("u", 0.0, 0.0).summary()
    assert empty.attempted == 0 and empty.latency_ms == {"n": 0}


def test_sse_streams_held_for_a_with_block(backend):
    url = backend.base + "/sse/hold?count=0&interval=0.1"
    started = time.monotonic()
    with sse_streams_held(url, N, duration=60, open_timeout=10) as held:
        assert "result" not in held  # open while the block runs
        with socket.create_connection(("127.0.0.1", backend.port), timeout=5):
            pass
    took = time.monotonic() - started
    s = held["result"].summary()
    assert (s.opened, s.failed_to_open, s.closed_early, s.still_open) == (N, 0, 0, N), s
    assert took < 10, "the streams were not closed when the block ended (%.1f s)" % took


def test_sse_streams_held_that_cannot_open_are_counted(free_port):
    with sse_streams_held("http://127.0.0.1:%d/sse/" % free_port(), 2, duration=5, connect_timeout=3) as held:
        pass
    s = held["result"].summary()
    assert (s.opened, s.failed_to_open) == (0, 2), s
