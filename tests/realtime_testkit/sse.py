"""Async SSE client that records when each event ARRIVED.

Buffering in a proxy does not lose events, it delays them, so the only
reliable symptom is timing: the backend stamps each event with ``sent`` and we
stamp ``arrival`` the moment its terminating blank line is read. The parser is
hand written (not httpx-sse) so that the stamp is taken per event, comments
(heartbeats) are counted, and a timeout returns what arrived instead of raising.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Optional

import httpx

__all__ = ["SseEvent", "SseResult", "SseParser", "read_sse", "delays", "streamed_bound", "assert_streamed"]

_MAX_ERROR_BODY = 64 * 1024

# The one rule for "streamed": each event arrives within this share of the typical gap (the median) between the
# backend's sends. A layer that holds an event until the next one is written delivers it a whole gap late, and a
# buffering proxy holds it until its buffer fills or the stream ends, so both fail; what a loaded machine's
# scheduler adds (events came 100-133 ms late with two test suites on two cores) passes when events are 200 ms
# apart. Streams in the tests send events 200 ms apart (``interval=0.2``), so the bound is 150 ms. The median,
# not the shortest gap: the backend keeps a fixed schedule, so one event sent late shortens the gap after it, and
# a backend stalled by the machine sends the events it owes together.
STREAMED_SHARE = 0.75
# The bound is never below this, which also covers a stream of one event (no gap to take a share of). It is the
# share of the tests' 200 ms, so for their streams the bound is always 150 ms.
STREAMED_BOUND_FLOOR = 0.15


@dataclass
class SseEvent:
    id: Optional[str]
    event: str
    data: str
    arrival: float
    sent: Optional[float] = None
    delay: Optional[float] = None


@dataclass
class SseResult:
    status: int = 0
    headers: dict = field(default_factory=dict)  # lowercase keys
    events: list = field(default_factory=list)
    comments: int = 0
    closed_by_server: bool = False
    elapsed: float = 0.0
    timed_out: bool = False
    comment_times: list = field(default_factory=list)
    body: bytes = b""  # only for non-200 answers, e.g. nginx's 502 page
    error: Optional[str] = None  # network error text; status stays 0 if no answer


class SseParser:
    """Line-level parser following the WHATWG event-stream rules."""

    def __init__(self):
        self._data: list = []
        self._event = ""
        self._id: Optional[str] = None
        self.last_event_id: Optional[str] = None

    def feed(self, line: str, now: float):
        """Feed one line (no terminator); returns an SseEvent, "comment" or None."""
        if line == "":
            return self._dispatch(now)
        if line.startswith(":"):
            return "comment"
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
            self.last_event_id = value
        return None

    def _dispatch(self, now: float):
        data, event, ev_id = self._data, self._event, self._id
        self._data, self._event, self._id = [], "", None
        if not data:
            return None
        ev = SseEvent(id=ev_id if ev_id is not None else self.last_event_id,
                      event=event or "message", data="\n".join(data), arrival=now)
        try:
            sent = json.loads(ev.data).get("sent")
        except (ValueError, AttributeError):
            sent = None
        if isinstance(sent, (int, float)):
            ev.sent = float(sent)
            ev.delay = now - ev.sent
        return ev


async def read_sse(url: str, *, count: Optional[int], timeout: float = 10.0,
                   headers: Optional[dict] = None, verify=True,
                   http2: bool = False) -> SseResult:
    """Read up to ``count`` events (None: until the server closes) within ``timeout`` s.

    Never raises for network trouble or timeouts: the result carries
    ``timed_out``/``error`` so a test can assert on them with context.
    ``http2=True`` needs the ``h2`` package.
    """
    result = SseResult()
    started = time.monotonic()

    async def run():
        # trust_env=False: a stray HTTP(S)_PROXY must never sit between the
        # test and the nginx under test.
        async with httpx.AsyncClient(verify=verify, http2=http2, trust_env=False,
                                     timeout=httpx.Timeout(timeout)) as client:
            async with client.stream("GET", url, headers=headers) as resp:
                result.status = resp.status_code
                result.headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code != 200:
                    async for chunk in resp.aiter_raw():
                        result.body += chunk
                        if len(result.body) >= _MAX_ERROR_BODY:
                            break
                    return
                parser = SseParser()
                async for line in resp.aiter_lines():
                    item = parser.feed(line.rstrip("\r\n"), time.time())
                    if item == "comment":
                        result.comments += 1
                        result.comment_times.append(time.time())
                    elif item is not None:
                        result.events.append(item)
                        if count is not None and len(result.events) >= count:
                            return
                result.closed_by_server = True

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        result.timed_out = True
    except httpx.TimeoutException as exc:
        result.timed_out = True
        result.error = repr(exc)
    except httpx.HTTPError as exc:
        # e.g. nginx cutting the stream on worker_shutdown_timeout
        result.error = repr(exc)
        result.closed_by_server = result.status != 0
    result.elapsed = time.monotonic() - started
    return result


def delays(result: SseResult) -> list:
    """Per-event delivery delays in seconds (events without a ``sent`` stamp are skipped)."""
    return [ev.delay for ev in result.events if ev.delay is not None]


def streamed_bound(result: SseResult) -> float:
    """The latest, in seconds after it was sent, that an event of RESULT counts as streamed: STREAMED_SHARE of
    the median gap between the backend's ``sent`` stamps, and at least STREAMED_BOUND_FLOOR."""
    sent = sorted(ev.sent for ev in result.events if ev.sent is not None)
    gaps = [later - earlier for earlier, later in zip(sent, sent[1:]) if later > earlier]
    return max(STREAMED_SHARE * statistics.median(gaps) if gaps else 0.0, STREAMED_BOUND_FLOOR)


def assert_streamed(result: SseResult, *, expected: int, max_delay: Optional[float] = None) -> None:
    """Fail unless ``expected`` events arrived, each within ``max_delay`` s of being sent
    (by default streamed_bound(): a share of the gap between events)."""
    ctype = result.headers.get("content-type", "")
    where = "status=%s content-type=%r content-encoding=%r x-accel-buffering=%r" % (
        result.status, ctype, result.headers.get("content-encoding"),
        result.headers.get("x-accel-buffering"))
    if result.status != 200:
        raise AssertionError("SSE request failed: %s error=%s body=%r"
                             % (where, result.error, result.body[:300]))
    if not ctype.startswith("text/event-stream"):
        raise AssertionError("not an event stream: %s" % where)
    ms = ["%.1f" % (d * 1000) for d in delays(result)]
    if len(result.events) < expected:
        raise AssertionError(
            "only %d of %d events arrived (timed_out=%s, closed_by_server=%s, error=%s); "
            "a proxy that buffers the response holds events back until the stream "
            "ends or its buffer fills; delays ms=%s; %s"
            % (len(result.events), expected, result.timed_out, result.closed_by_server,
               result.error, ms, where))
    missing = [ev.id for ev in result.events if ev.delay is None]
    if missing:
        raise AssertionError("events without a 'sent' timestamp, cannot check timing: ids=%s"
                             % missing)
    if max_delay is None:
        max_delay = streamed_bound(result)
    late = [(ev.id, round(ev.delay * 1000, 1)) for ev in result.events if ev.delay > max_delay]
    if late:
        raise AssertionError(
            "%d of %d events arrived later than %.0f ms after being sent (id, ms)=%s; "
            "delays ms=%s. Late events in a burst mean the response is being buffered "
            "(check proxy_buffering off, proxy_http_version 1.1, gzip off for "
            "text/event-stream, and every proxy layer in the path); %s"
            % (len(late), len(result.events), max_delay * 1000, late, ms, where))
