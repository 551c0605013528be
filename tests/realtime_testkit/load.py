"""Bounded load tools: many SSE streams, WebSockets and plain requests at once.

Shared by the reload scenario and the benchmarks. Every tool is bounded in
count (``n``/``count``) AND in time (``duration``), stops by itself, and closes
every socket it opened before it returns. Network trouble never raises: each
stream or request keeps its own record, and ``summary()`` counts them.

* ``hold_sse(url, n, duration=...)``: N event streams held open and read.
* ``hold_ws(url, n, duration=..., ping_interval=...)``: N WebSockets, each
  sending a small message every interval and checking its echo.
* ``hold_sse_h2(url, n, connections=..., duration=...)``: N event streams
  multiplexed over a few HTTP/2 connections (https:// only).

``verify=False`` skips certificate checks on https:// and wss:// URLs (a
test's self-signed certificate); an ``ssl.SSLContext`` verifies with it (a
client that trusts one test CA alone).
* ``request_loop(url, count=..., duration=..., concurrency=...)``: plain GETs.
* ``sse_streams_held(url, n, duration=...)``: a with-block during which N SSE
  streams are open (hold_sse in a thread of its own), for synchronous tests.

Stamps are wall-clock seconds (``time.time()``), so they compare directly with
times read from ``/proc`` in a container that shares the kernel (for example
when nginx's workers started or exited). Durations are measured on the
monotonic clock.

``stop`` (an ``asyncio.Event``) ends any tool early; ``ready`` (an
``asyncio.Event``) is set by the holders once every stream has either opened
or failed to, so a caller can act "while N streams are open".

``held_streams(...)`` does that in one block: SSE streams and WebSockets are
open and busy inside it, a request loop can be started there, and all of
them are stopped and their results kept when it ends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import random
import contextlib
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, List, Optional

import aiohttp
import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from .sse import SseParser

__all__ = ["StreamRecord", "HoldResult", "RequestRecord", "RequestLoopResult", "LoadSummary",
           "hold_sse", "hold_sse_h2", "hold_ws", "request_loop", "percentiles", "HeldStreams", "held_streams",
           "sse_streams_held"]

# Hard caps so that a typo cannot turn a test into a flood.
MAX_STREAMS = 9000
MAX_REQUESTS = 1_000_000
MAX_DURATION = 3600.0
_CLOSE_GRACE = 2.0  # seconds allowed for closing sockets at the end


# ---------------------------------------------------------------- records


@dataclass
class StreamRecord:
    """One SSE stream or WebSocket, from the client's side."""

    index: int
    opened: bool = False
    status: int = 0  # HTTP status of the answer (101 for a WebSocket); 0: no answer
    open_latency: Optional[float] = None  # s from the request to the response head
    opened_at: Optional[float] = None  # wall clock
    closed_at: Optional[float] = None  # wall clock when the SERVER side ended it; None: still open
    close_kind: Optional[str] = None  # "eof" (clean end), "error" (cut), "close_frame" (WS close)
    close_code: Optional[int] = None  # WebSocket close code (1006: cut without a close frame)
    close_reason: Optional[str] = None
    events: int = 0  # SSE events, or WebSocket echoes that matched
    comments: int = 0  # SSE comment lines (heartbeats)
    first_event_id: Optional[str] = None
    last_event_id: Optional[str] = None
    last_event_at: Optional[float] = None
    mismatches: int = 0  # SSE ids that did not follow the previous one; WS echoes that differ or miss
    backend: Optional[str] = None  # "backend" field of the first event's JSON data, if any
    local_port: Optional[int] = None  # client-side port, to find the server process that holds it
    error: Optional[str] = None  # first error
    rtts: List[float] = field(default_factory=list, repr=False)  # WS echo round trips (s)
    resume: Optional["StreamRecord"] = None  # the one reconnect after a server close, if any

    @property
    def resume_continued(self) -> Optional[bool]:
        """Did the reconnect's first event follow the last one before the cut? None: not applicable."""
        r = self.resume
        if r is None or not self.last_event_id or not self.last_event_id.isdigit():
            return None
        if r.first_event_id is None or not r.first_event_id.isdigit():
            return False
        return int(r.first_event_id) == int(self.last_event_id) + 1

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("rtts")
        if out["resume"] is not None:
            out["resume"].pop("rtts", None)
        out["resume_continued"] = self.resume_continued
        return out


@dataclass
class RequestRecord:
    started_at: float  # wall clock
    latency: float  # s
    status: int  # 0: no answer
    error: Optional[str] = None


@dataclass
class LoadSummary:
    """Counts for one run; ``as_dict()`` is JSON-ready. Latencies in ms."""

    kind: str  # "sse", "ws" or "http"
    attempted: int = 0  # streams, or requests made
    opened: int = 0  # streams open, or requests answered (any status)
    failed_to_open: int = 0  # no 200/101 (streams), or no answer at all (requests)
    ok: int = 0  # streams open and not closed early, or requests with an ok status
    failed: int = 0  # requests: no answer or a status that is not ok
    closed_by_server: int = 0
    closed_early: int = 0  # closed by the server before ``before``
    still_open: int = 0  # open until the tool stopped
    errors: int = 0  # records with any error
    events: int = 0  # SSE events / matched WS echoes / -
    comments: int = 0
    mismatches: int = 0
    resumed: int = 0  # reconnects attempted after a server close
    resume_opened: int = 0
    resume_continued: int = 0  # SSE: first event after the reconnect was last_id + 1
    resume_not_continued: int = 0
    resume_failed: int = 0
    before: Optional[float] = None
    first_close_at: Optional[float] = None
    last_close_at: Optional[float] = None
    duration: float = 0.0
    rate: float = 0.0  # requests per second (http)
    statuses: dict = field(default_factory=dict)
    close_codes: dict = field(default_factory=dict)
    error_samples: dict = field(default_factory=dict)  # the 5 commonest errors with counts
    latency_ms: dict = field(default_factory=dict)  # open latency (streams) or request latency
    rtt_ms: dict = field(default_factory=dict)  # WS echo round trips

    def as_dict(self) -> dict:
        return asdict(self)


def percentiles(values: Iterable[float], points=(50, 90, 99), scale: float = 1000.0) -> dict:
    """Nearest-rank percentiles (scaled, default s -> ms) plus n, min and max."""
    data = sorted(values)
    if not data:
        return {"n": 0}
    out = {"n": len(data), "min": round(data[0] * scale, 3)}
    for p in points:
        rank = max(1, math.ceil(p / 100.0 * len(data)))
        out["p%g" % p] = round(data[rank - 1] * scale, 3)
    out["max"] = round(data[-1] * scale, 3)
    return out


def _top_errors(errors) -> dict:
    return dict(collections.Counter(e for e in errors if e).most_common(5))


@dataclass
class HoldResult:
    kind: str  # "sse" or "ws"
    url: str
    started: float  # wall clock
    ended: float  # wall clock, after every socket was closed
    streams: List[StreamRecord] = field(default_factory=list)

    def summary(self, before: Optional[float] = None) -> LoadSummary:
        """Counts; a server close earlier than ``before`` (wall clock, default: the end) is early."""
        before = self.ended if before is None else before
        s = LoadSummary(kind=self.kind, attempted=len(self.streams), before=before,
                        duration=round(self.ended - self.started, 3))
        closes, latencies, rtts, errors = [], [], [], []
        for r in self.streams:
            s.opened += r.opened
            s.failed_to_open += not r.opened
            s.events += r.events
            s.comments += r.comments
            s.mismatches += r.mismatches
            s.statuses[str(r.status)] = s.statuses.get(str(r.status), 0) + 1
            if r.open_latency is not None and r.opened:
                latencies.append(r.open_latency)
            rtts.extend(r.rtts)
            if r.error:
                s.errors += 1
                errors.append(r.error)
            if r.closed_at is not None:
                s.closed_by_server += 1
                closes.append(r.closed_at)
                s.closed_early += r.closed_at < before
                if r.close_code is not None:
                    key = str(r.close_code)
                    s.close_codes[key] = s.close_codes.get(key, 0) + 1
            elif r.opened:
                s.still_open += 1
            s.ok += r.opened and not (r.closed_at is not None and r.closed_at < before)
            if r.resume is not None:
                s.resumed += 1
                s.resume_opened += r.resume.opened
                s.resume_failed += not r.resume.opened
                s.events += r.resume.events
                s.mismatches += r.resume.mismatches
                rtts.extend(r.resume.rtts)
                if r.resume.error:
                    errors.append("resume: " + r.resume.error)
                continued = r.resume_continued
                s.resume_continued += continued is True
                s.resume_not_continued += continued is False
        if closes:
            s.first_close_at, s.last_close_at = min(closes), max(closes)
        s.error_samples = _top_errors(errors)
        s.latency_ms = percentiles(latencies)
        if self.kind == "ws":
            s.rtt_ms = percentiles(rtts)
        return s


@dataclass
class RequestLoopResult:
    url: str
    started: float
    ended: float
    records: List[RequestRecord] = field(default_factory=list)
    ok_statuses: range = range(200, 400)

    def within(self, start: Optional[float] = None, end: Optional[float] = None) -> List[RequestRecord]:
        """Requests that STARTED in [start, end] (wall clock)."""
        return [r for r in self.records
                if (start is None or r.started_at >= start) and (end is None or r.started_at <= end)]

    def summary(self, start: Optional[float] = None, end: Optional[float] = None) -> LoadSummary:
        records = self.within(start, end)
        s = LoadSummary(kind="http", attempted=len(records))
        lo = start if start is not None else self.started
        hi = end if end is not None else self.ended
        s.duration = round(max(0.0, hi - lo), 3)
        for r in records:
            s.opened += r.status != 0
            s.failed_to_open += r.status == 0
            good = r.status in self.ok_statuses and r.error is None
            s.ok += good
            s.failed += not good
            s.errors += r.error is not None
            s.statuses[str(r.status)] = s.statuses.get(str(r.status), 0) + 1
        s.error_samples = _top_errors(r.error or ("status %d" % r.status) for r in records
                                      if r.error or r.status not in self.ok_statuses)
        s.latency_ms = percentiles(r.latency for r in records if r.status)
        s.rate = round(len(records) / s.duration, 1) if s.duration else 0.0
        return s


# ---------------------------------------------------------------- helpers


def _check(n: int, duration: float, name: str = "n", cap: int = MAX_STREAMS) -> None:
    if not isinstance(n, int) or n < 1 or n > cap:
        raise ValueError("%s must be an int in 1..%d, got %r" % (name, cap, n))
    if not duration or duration <= 0 or duration > MAX_DURATION:
        raise ValueError("duration must be in (0, %d] seconds, got %r" % (MAX_DURATION, duration))


def _err(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return "%s: %s" % (exc.__class__.__name__, text[:200])


class _Ready:
    """Sets ``event`` once ``n`` open attempts are done."""

    def __init__(self, n: int, event: Optional[asyncio.Event]):
        self.left, self.event = n, event

    def done(self) -> None:
        self.left -= 1
        if self.left == 0 and self.event is not None:
            self.event.set()


async def _sleep_or_stop(delay: float, stop: Optional[asyncio.Event]) -> bool:
    """Sleep ``delay`` s; True if ``stop`` was set meanwhile."""
    if delay <= 0:
        return bool(stop and stop.is_set())
    if stop is None:
        await asyncio.sleep(delay)
        return False
    try:
        await asyncio.wait_for(stop.wait(), delay)
        return True
    except asyncio.TimeoutError:
        return False


async def _run_bounded(tasks, stop: Optional[asyncio.Event], deadline: float) -> None:
    """Wait for TASKS until all are done, ``stop`` is set or the monotonic ``deadline``; cancel the rest."""
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    pending = set(tasks)
    try:
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            waiting = pending | ({stopper} if stopper else set())
            done, unused = await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            pending -= done
            if stopper is not None and stopper in done:
                break
    finally:
        for task in tasks:
            task.cancel()
        # Tasks close their own sockets when cancelled; bound that too.
        await asyncio.wait(tasks, timeout=_CLOSE_GRACE + 3.0)
        if stopper is not None:
            stopper.cancel()


# ---------------------------------------------------------------- SSE


def _on_event(rec: StreamRecord, ev) -> None:
    rec.events += 1
    rec.last_event_at = ev.arrival
    prev = rec.last_event_id
    if ev.id is not None:
        if prev is not None and prev.isdigit() and ev.id.isdigit() and int(ev.id) != int(prev) + 1:
            rec.mismatches += 1
        rec.last_event_id = ev.id
        if rec.first_event_id is None:
            rec.first_event_id = ev.id
    if rec.backend is None:
        try:
            data = json.loads(ev.data)
        except ValueError:
            data = None
        if isinstance(data, dict) and "backend" in data:
            rec.backend = str(data["backend"])


async def _sse_open(session, url, rec: StreamRecord, headers, connect_timeout):
    started_wall, started = time.time(), time.monotonic()

    async def request():
        return await session.get(url, headers=headers)

    try:
        resp = await asyncio.wait_for(request(), connect_timeout)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        rec.error = _err(exc) if not isinstance(exc, asyncio.TimeoutError) else \
            "no response head within %.1f s" % connect_timeout
        return None
    rec.status = resp.status
    rec.open_latency = time.monotonic() - started
    ctype = resp.headers.get("Content-Type", "")
    if resp.status != 200 or not ctype.startswith("text/event-stream"):
        rec.error = "status %d, content-type %r" % (resp.status, ctype)
        resp.close()
        return None
    rec.opened = True
    rec.opened_at = started_wall + rec.open_latency
    transport = resp.connection.transport if resp.connection is not None else None
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if sockname:
        rec.local_port = sockname[1]
    return resp


async def _sse_read(resp, rec: StreamRecord) -> None:
    """Read until the server ends the stream (records it) or the task is cancelled."""
    parser = SseParser()
    try:
        while True:
            line = await resp.content.readline()
            now = time.time()
            if not line:
                rec.closed_at, rec.close_kind = now, "eof"
                return
            item = parser.feed(line.decode("utf-8", "replace").rstrip("\r\n"), now)
            if item == "comment":
                rec.comments += 1
            elif item is not None:
                _on_event(rec, item)
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
        rec.closed_at, rec.close_kind = time.time(), "error"
        rec.error = rec.error or _err(exc)
    finally:
        resp.close()


async def _opened(attempt, ready: _Ready):
    """Await ATTEMPT (a stream's open), and count it done for READY whatever came of it."""
    try:
        return await attempt
    finally:
        ready.done()


async def _sse_one(session, url, rec, headers, connect_timeout, resume, resume_delay,
                   deadline, ready: _Ready) -> None:
    resp = await _opened(_sse_open(session, url, rec, headers, connect_timeout), ready)
    if resp is None:
        return
    await _sse_read(resp, rec)
    if not resume or time.monotonic() + resume_delay >= deadline:
        return
    await asyncio.sleep(resume_delay)
    again = dict(headers or {})
    if rec.last_event_id is not None:
        again["Last-Event-ID"] = rec.last_event_id
    rec.resume = StreamRecord(rec.index)
    resp = await _sse_open(session, url, rec.resume, again, connect_timeout)
    if resp is not None:
        await _sse_read(resp, rec.resume)


async def hold_sse(url: str, n: int, *, duration: float, connect_timeout: float = 10.0,
                   last_event_resume: bool = False, resume_delay: float = 0.0,
                   headers: Optional[dict] = None, stop: Optional[asyncio.Event] = None,
                   ready: Optional[asyncio.Event] = None, verify: bool | ssl.SSLContext = True) -> HoldResult:
    """Open N SSE streams to URL at once and read them until ``duration`` s pass (or ``stop``).

    Each stream records whether it opened, its events, heartbeats (comments),
    last event id and when the server closed it. With ``last_event_resume``, a
    stream the server closes reconnects ONCE, after ``resume_delay`` s (a
    browser's EventSource waits about 3 s), sending ``Last-Event-ID``; its
    record's ``resume`` holds the second stream and ``resume_continued`` says
    whether it went on at last_id + 1.
    """
    _check(n, duration)
    # Every stream needs its own connection; no reuse, and none waits for another.
    connector = aiohttp.TCPConnector(limit=n + 1, limit_per_host=n + 1, force_close=True, ssl=_aiohttp_ssl(verify))
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False,
                                     auto_decompress=False) as session:
        return await _hold("sse", url, n, duration, stop, ready,
                           lambda rec, deadline, gate: _sse_one(session, url, rec, headers, connect_timeout,
                                                                last_event_resume, resume_delay, deadline, gate))


async def _hold(kind, url, n, duration, stop, ready, one) -> HoldResult:
    """Run ONE(record, deadline, gate) for N streams until DURATION s pass (or STOP); their HoldResult."""
    started = time.time()
    deadline = time.monotonic() + duration
    records = [StreamRecord(i) for i in range(n)]
    gate = _Ready(n, ready)
    tasks = [asyncio.ensure_future(one(rec, deadline, gate)) for rec in records]
    await _run_bounded(tasks, stop, deadline)
    if ready is not None:
        ready.set()
    return HoldResult(kind, url, started, time.time(), records)


async def _sse_h2_one(client, url, rec: StreamRecord, headers, connect_timeout, ready: _Ready) -> None:
    """One stream of hold_sse_h2 on CLIENT's HTTP/2 connection, read until the server ends it or cancelled."""
    started_wall, started = time.time(), time.monotonic()
    try:
        resp = await asyncio.wait_for(client.send(client.build_request("GET", url, headers=headers), stream=True),
                                      connect_timeout)
    except (httpx.HTTPError, OSError, asyncio.TimeoutError) as exc:
        rec.error = _err(exc) if not isinstance(exc, asyncio.TimeoutError) else \
            "no response head within %.1f s" % connect_timeout
        return
    finally:
        ready.done()
    parser = SseParser()
    try:
        rec.status = resp.status_code
        rec.open_latency = time.monotonic() - started
        ctype = resp.headers.get("content-type", "")
        if resp.status_code != 200 or not ctype.startswith("text/event-stream") or resp.http_version != "HTTP/2":
            rec.error = "status %d, content-type %r, %s" % (resp.status_code, ctype, resp.http_version)
            return
        rec.opened, rec.opened_at = True, started_wall + rec.open_latency
        async for line in resp.aiter_lines():
            item = parser.feed(line.rstrip("\r\n"), time.time())
            if item == "comment":
                rec.comments += 1
            elif item is not None:
                _on_event(rec, item)
        rec.closed_at, rec.close_kind = time.time(), "eof"
    except (httpx.HTTPError, OSError) as exc:
        rec.closed_at, rec.close_kind = time.time(), "error"
        rec.error = rec.error or _err(exc)
    finally:
        await resp.aclose()


async def hold_sse_h2(url: str, n: int, *, connections: int, duration: float, connect_timeout: float = 10.0,
                      headers: Optional[dict] = None, stop: Optional[asyncio.Event] = None,
                      ready: Optional[asyncio.Event] = None, verify: bool = True) -> HoldResult:
    """Open N SSE streams to URL (https://) multiplexed over CONNECTIONS HTTP/2 connections, and read them.

    Stream i goes on connection i % CONNECTIONS, so keep N / CONNECTIONS within
    the server's concurrent-stream limit (nginx: http2_max_concurrent_streams,
    128); a stream beyond it waits for a free one and counts as not opened if
    it waits longer than ``connect_timeout``. Records as hold_sse's, without
    resume.
    """
    _check(n, duration)
    if not 1 <= connections <= n:
        raise ValueError("connections must be from 1 to n")
    timeout = httpx.Timeout(connect_timeout, read=None)
    clients = [httpx.AsyncClient(http1=False, http2=True, verify=verify, trust_env=False, timeout=timeout,
                                 limits=httpx.Limits(max_connections=1))
               for unused in range(connections)]
    try:
        return await _hold("sse", url, n, duration, stop, ready,
                           lambda rec, deadline, gate: _sse_h2_one(clients[rec.index % connections], url, rec,
                                                                   headers, connect_timeout, gate))
    finally:
        await asyncio.wait([asyncio.ensure_future(c.aclose()) for c in clients], timeout=_CLOSE_GRACE + 3.0)


# ---------------------------------------------------------------- WebSocket


def _aiohttp_ssl(verify):
    """aiohttp's ``ssl`` for VERIFY: a context as it is, else whether to check certificates."""
    return verify if isinstance(verify, ssl.SSLContext) else bool(verify)


def _unverified() -> ssl.SSLContext:
    """A client context that checks no certificate (``verify=False``)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _ws_open(url, rec: StreamRecord, headers, connect_timeout, tls=None):
    started_wall, started = time.time(), time.monotonic()
    try:
        ws = await asyncio.wait_for(
            ws_connect(url, additional_headers=headers, open_timeout=connect_timeout, close_timeout=1,
                       ping_interval=None, compression=None, proxy=None, max_size=1 << 20,
                       **({"ssl": tls} if tls is not None else {})),
            connect_timeout + 1)
    except InvalidStatus as exc:
        rec.status = exc.response.status_code
        rec.error = "status %d" % rec.status
        return None
    except (WebSocketException, OSError, asyncio.TimeoutError) as exc:
        rec.error = _err(exc) if not isinstance(exc, asyncio.TimeoutError) else \
            "no handshake within %.1f s" % connect_timeout
        return None
    rec.status = ws.response.status_code
    rec.open_latency = time.monotonic() - started
    rec.opened = True
    rec.opened_at = started_wall + rec.open_latency
    try:
        rec.local_port = ws.local_address[1]
    except (AttributeError, IndexError, TypeError, OSError):
        pass
    return ws


async def _ws_talk(ws, rec: StreamRecord, ping_interval: float, echo_timeout: float, deadline: float) -> None:
    """Send a message every ``ping_interval`` s and check its echo, until closed, cancelled or DEADLINE.

    The deadline is checked here too: on Python 3.11 a cancellation that
    arrives as ``wait_for`` completes can be lost, and the socket would keep
    talking past the hold."""
    seq = 0
    try:
        # Spread the sockets over the interval instead of sending in bursts.
        await asyncio.sleep(random.uniform(0, ping_interval))
        while time.monotonic() < deadline:
            seq += 1
            msg = "ping %d %d" % (rec.index, seq)
            sent = time.monotonic()
            await ws.send(msg)
            try:
                echo = await asyncio.wait_for(ws.recv(), echo_timeout)
            except asyncio.TimeoutError:
                rec.mismatches += 1
                rec.error = rec.error or "no echo within %.1f s" % echo_timeout
                continue
            if echo == msg:
                rec.events += 1
                rec.rtts.append(time.monotonic() - sent)
            else:
                rec.mismatches += 1
                rec.error = rec.error or "echo %r for %r" % (echo[:60], msg)
            await asyncio.sleep(max(0.0, ping_interval - (time.monotonic() - sent)))
    except ConnectionClosed as exc:
        rec.closed_at = time.time()
        if exc.rcvd is not None:
            rec.close_kind, rec.close_code, rec.close_reason = "close_frame", exc.rcvd.code, exc.rcvd.reason
        else:
            rec.close_kind, rec.close_code, rec.close_reason = "error", 1006, "closed without a close frame"
            rec.error = rec.error or _err(exc)
    except OSError as exc:
        rec.closed_at, rec.close_kind = time.time(), "error"
        rec.error = rec.error or _err(exc)
    finally:
        try:
            await asyncio.wait_for(ws.close(), _CLOSE_GRACE)
        except asyncio.CancelledError:
            ws.transport.abort()
            raise
        except Exception:  # noqa: BLE001 - closing is best effort; never leave the socket open
            ws.transport.abort()


async def _ws_one(url, rec, headers, connect_timeout, ping_interval, echo_timeout, reconnect,
                  reconnect_delay, deadline, ready: _Ready, tls=None) -> None:
    ws = await _opened(_ws_open(url, rec, headers, connect_timeout, tls), ready)
    if ws is None:
        return
    await _ws_talk(ws, rec, ping_interval, echo_timeout, deadline)
    if not reconnect or rec.closed_at is None or time.monotonic() + reconnect_delay >= deadline:
        return
    await asyncio.sleep(reconnect_delay)
    rec.resume = StreamRecord(rec.index)
    ws = await _ws_open(url, rec.resume, headers, connect_timeout, tls)
    if ws is not None:
        await _ws_talk(ws, rec.resume, ping_interval, echo_timeout, deadline)


async def hold_ws(url: str, n: int, *, duration: float, ping_interval: float = 1.0,
                  connect_timeout: float = 10.0, echo_timeout: Optional[float] = None,
                  reconnect: bool = False, reconnect_delay: float = 0.0,
                  headers: Optional[dict] = None, stop: Optional[asyncio.Event] = None,
                  ready: Optional[asyncio.Event] = None, verify: bool | ssl.SSLContext = True) -> HoldResult:
    """Open N WebSockets to URL and keep them talking until ``duration`` s pass (or ``stop``).

    Every ``ping_interval`` s each socket sends a small text message and checks
    that the same text comes back (``events`` counts matching echoes,
    ``mismatches`` wrong or missing ones, ``rtts`` the round trips). When the
    server closes a socket, the record keeps the time, close code (1006 when
    the TCP connection was cut without a close frame) and reason; with
    ``reconnect`` the socket reconnects once and keeps talking (``resume``).
    """
    _check(n, duration)
    if ping_interval <= 0:
        raise ValueError("ping_interval must be > 0")
    echo_timeout = echo_timeout or max(5.0, 2 * ping_interval)
    if isinstance(verify, ssl.SSLContext):
        tls = verify
    else:
        tls = _unverified() if not verify and url.startswith("wss://") else None
    return await _hold("ws", url, n, duration, stop, ready,
                       lambda rec, deadline, gate: _ws_one(url, rec, headers, connect_timeout, ping_interval,
                                                           echo_timeout, reconnect, reconnect_delay, deadline, gate,
                                                           tls))


# ---------------------------------------------------------------- plain requests


async def request_loop(url: str, *, count: int, duration: float, concurrency: int,
                       rate: Optional[float] = None, stop: Optional[asyncio.Event] = None,
                       timeout: float = 10.0, keepalive: bool = False,
                       ok_statuses: range = range(200, 400),
                       verify: bool | ssl.SSLContext = True) -> RequestLoopResult:
    """Make up to ``count`` GETs within ``duration`` s (whichever comes first, or ``stop``).

    ``concurrency`` requests run at a time; ``rate`` (requests/s overall) paces
    them so a loop can span a known stretch of time without running out of
    count. ``keepalive=False`` (the default) opens a new connection per request,
    which is what "new connections are served" means; ``True`` reuses them.
    A request counts as failed when it gets no answer within ``timeout`` s or
    its status is not in ``ok_statuses``.
    """
    _check(count, duration, "count", MAX_REQUESTS)
    if not 1 <= concurrency <= MAX_STREAMS:
        raise ValueError("concurrency must be in 1..%d" % MAX_STREAMS)
    started = time.time()
    t0 = time.monotonic()
    deadline = t0 + duration
    result = RequestLoopResult(url, started, started, ok_statuses=ok_statuses)
    issued = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not keepalive, ssl=_aiohttp_ssl(verify))
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def worker(session):
        nonlocal issued
        while issued < count and time.monotonic() < deadline and not (stop and stop.is_set()):
            index = issued
            issued += 1
            if rate:
                wait = t0 + index / rate - time.monotonic()
                if wait > 0:
                    if await _sleep_or_stop(min(wait, deadline - time.monotonic()), stop):
                        return
                    if time.monotonic() >= deadline:
                        return
            wall, mono = time.time(), time.monotonic()
            status, error = 0, None
            try:
                async with session.get(url, timeout=client_timeout) as resp:
                    await resp.read()
                    status = resp.status
            except asyncio.TimeoutError:
                error = "no answer within %.1f s" % timeout
            except (aiohttp.ClientError, OSError) as exc:
                error = _err(exc)
            result.records.append(RequestRecord(wall, time.monotonic() - mono, status, error))

    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        workers = [asyncio.ensure_future(worker(session)) for unused in range(concurrency)]
        # Workers stop by themselves; the extra margin covers the last requests in flight.
        await _run_bounded(workers, None, deadline + timeout + 1.0)
    result.records.sort(key=lambda r: r.started_at)
    result.ended = time.time()
    return result


# ---------------------------------------------------------------- streams held while something happens


@dataclass
class HeldStreams:
    """What held_streams() hands its block: the results are filled in when the block ends."""

    sse: Optional[HoldResult] = None
    ws: Optional[HoldResult] = None
    requests: Optional[RequestLoopResult] = None
    _start_requests: Optional[object] = None

    def start_requests(self, url: str, **options) -> None:
        """Start request_loop(URL, **OPTIONS) now; it stops when the block ends."""
        self._start_requests(url, options)


@contextlib.asynccontextmanager
async def held_streams(sse_url: str, n_sse: int, ws_url: str, n_ws: int, *, duration: float,
                       ready_within: float = 60.0, verify: bool | ssl.SSLContext = True, sse_options=None,
                       ws_options=None):
    """N_SSE streams of SSE_URL and N_WS WebSockets of WS_URL, open (or failed to open) and busy in the block.

    DURATION bounds every client (hold_sse, hold_ws, request_loop); they stop
    as soon as the block ends, and their results are then in the yielded
    HeldStreams. SSE_OPTIONS and WS_OPTIONS go to hold_sse and hold_ws.
    """
    stop_streams, stop_requests = asyncio.Event(), asyncio.Event()
    sse_ready, ws_ready = asyncio.Event(), asyncio.Event()
    sse_task = asyncio.ensure_future(hold_sse(sse_url, n_sse, duration=duration, stop=stop_streams, ready=sse_ready,
                                              verify=verify, **(sse_options or {})))
    ws_task = asyncio.ensure_future(hold_ws(ws_url, n_ws, duration=duration, stop=stop_streams, ready=ws_ready,
                                            verify=verify, **(ws_options or {})))
    tasks = []
    held = HeldStreams()

    def start_requests(url, options):
        options = dict({"count": int(duration * 1000), "duration": duration, "concurrency": 4, "verify": verify},
                       **options)
        tasks.append(asyncio.ensure_future(request_loop(url, stop=stop_requests, **options)))

    held._start_requests = start_requests  # pylint: disable=protected-access
    try:
        await asyncio.wait_for(asyncio.gather(sse_ready.wait(), ws_ready.wait()), ready_within)
        yield held
    finally:
        stop_requests.set()
        stop_streams.set()
        if tasks:
            held.requests = await tasks[0]
        held.sse = await sse_task
        held.ws = await ws_task


@contextlib.contextmanager
def sse_streams_held(url: str, n: int, *, duration: float, open_timeout: float = 60.0, **options):
    """Hold N SSE streams to URL (hold_sse, with OPTIONS) in a thread of their own for the with-block.

    The block starts once every stream has opened or failed to (at most OPEN_TIMEOUT s) and yields a
    dict; when the block ends, the streams are closed and the dict's "result" is their HoldResult.
    DURATION bounds the streams' life however long the block takes.
    """
    held = {}
    ready = threading.Event()
    control = {}

    def run():
        async def main():
            opened, stop = asyncio.Event(), asyncio.Event()
            control["loop"], control["stop"] = asyncio.get_running_loop(), stop
            task = asyncio.ensure_future(hold_sse(url, n, duration=duration, ready=opened, stop=stop, **options))
            await opened.wait()
            ready.set()
            held["result"] = await task
        try:
            asyncio.run(main())
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="sse_streams_held", daemon=True)
    thread.start()
    try:
        if not ready.wait(open_timeout):
            raise AssertionError("%d SSE streams to %s did not open within %.0f s" % (n, url, open_timeout))
        yield held
    finally:
        if "loop" in control and thread.is_alive():
            control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(duration + 30)
