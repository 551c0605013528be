"""Measurements 1 and 2: SSE delivery delay and WebSocket echo round trips, side by side.

Both use the shared clients of tests/realtime_testkit (``read_sse``, ``ws_echo``)
against the shared test backend, directly and through nginx, alternating the
configurations round by round so that none always goes first.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Dict, Optional

from realtime_testkit.load import percentiles
from realtime_testkit.sse import delays, read_sse
from realtime_testkit.ws import ws_echo

from .rig import Rig


def round_p99s(out: dict, key: str, per_round: Dict[str, list]) -> None:
    """Each round's p99 per configuration, and the median of them: one slow round moves it no more than one."""
    out["round_p99_ms"] = {k: [percentiles(v, (99,)).get("p99") for v in rounds] for k, rounds in per_round.items()}
    out["median_round_p99_ms"] = {k: round(statistics.median([x for x in v if x is not None]), 3)
                                  if any(x is not None for x in v) else None for k, v in out["round_p99_ms"].items()}
    a, b = out["median_round_p99_ms"].get("direct"), out["median_round_p99_ms"].get("role")
    if a is not None and b is not None:
        out["added_median_round_p99_ms"] = round(b - a, 3)


def _versus(out: dict, key: str, points) -> None:
    """Add ``added_ms`` and ``ratio`` of the role over direct for OUT[KEY], when both have samples."""
    a, b = out[key]["direct"], out[key]["role"]
    if a.get("n") and b.get("n"):
        out["added_ms"] = {p: round(b[p] - a[p], 3) for p in points}
        out["ratio"] = {p: round(b[p] / a[p], 2) if a[p] else None for p in ("p50", "p99")}


def sse_urls(rig: Rig) -> Dict[str, str]:
    """The SSE endpoint (without its query) per configuration compared: the backend direct, the role, naive."""
    s = rig.settings
    return {"direct": "http://127.0.0.1:%d/sse/bench" % s.app_port,
            "role": "http://127.0.0.1:%d/sse/bench" % s.role_ports[0],
            "naive": "http://127.0.0.1:%d/sse/bench" % s.naive_port}


async def sse_delay(rig: Rig, bases: Optional[Dict[str, str]] = None, pad: int = 0,
                    rounds: Optional[int] = None, clients: Optional[Dict[str, dict]] = None) -> dict:
    """Delivery delays per configuration of BASES (sse_urls()), events padded by PAD characters;
    CLIENTS: read_sse's options (verify, http2) per configuration."""
    s = rig.settings
    query = "count=%d&interval=%g" % (s.sse_events, s.sse_interval) + ("&pad=%d" % pad if pad else "")
    urls = {k: "%s?%s" % (v, query) for k, v in (bases or sse_urls(rig)).items()}
    got: Dict[str, list] = {k: [] for k in urls}
    first: Dict[str, list] = {k: [] for k in urls}
    missing = {k: 0 for k in urls}
    per_round: Dict[str, list] = {k: [] for k in urls}
    timeout = s.sse_events * s.sse_interval + 10
    order = list(urls)
    for r in range(rounds or s.sse_rounds):
        turn = r % len(order)
        for name in order[turn:] + order[:turn]:  # rotate so no config always goes first
            res = await asyncio.gather(*(read_sse(urls[name], count=s.sse_events, timeout=timeout,
                                                  **(clients or {}).get(name, {}))
                                         for unused in range(s.sse_streams)))
            per_round[name].append([])
            for one in res:
                d = delays(one)
                got[name].extend(d)
                per_round[name][-1].extend(d)
                if d:
                    first[name].append(d[0])
                missing[name] += s.sse_events - len(one.events)
    out = {"events_per_config": {k: len(v) for k, v in got.items()}, "missing": missing,
           "delay_ms": {k: percentiles(v, (50, 90, 99)) for k, v in got.items()},
           "first_event_delay_ms": {k: percentiles(v, (50, 99)) for k, v in first.items()},
           "samples_ms": {k: [round(x * 1000, 3) for x in v] for k, v in got.items()}}
    _versus(out, "delay_ms", ("p50", "p99", "max"))
    round_p99s(out, "delay_ms", per_round)
    return out


def ws_urls(rig: Rig) -> Dict[str, str]:
    """The WebSocket echo per configuration compared: the backend direct, the role."""
    s = rig.settings
    return {"direct": "ws://127.0.0.1:%d/ws/bench" % s.app_port,
            "role": "ws://127.0.0.1:%d/ws/bench" % s.role_ports[0]}


async def ws_echo_rtt(rig: Rig, urls: Optional[Dict[str, str]] = None, size: Optional[int] = None,
                      rounds: Optional[int] = None) -> dict:
    """Echo round trips and messages per second per configuration of URLS (ws_urls()), messages of SIZE bytes."""
    s = rig.settings
    urls = urls or ws_urls(rig)
    size = size or s.ws_size
    payload = b"x" * size
    rtts: Dict[str, list] = {k: [] for k in urls}
    rates: Dict[str, list] = {k: [] for k in urls}
    errors = {k: 0 for k in urls}
    per_round: Dict[str, list] = {k: [] for k in urls}
    order = list(urls)
    for r in range(rounds or s.ws_rounds):
        turn = r % len(order)
        for name in order[turn:] + order[:turn]:
            t0 = time.monotonic()
            res = await asyncio.gather(*(ws_echo(urls[name], [payload] * s.ws_messages, timeout=60)
                                         for unused in range(s.ws_sockets)))
            wall = time.monotonic() - t0
            n = 0
            per_round[name].append([])
            for one in res:
                ok = [rt for echo, rt in zip(one.echoes, one.rtts) if echo == payload]
                rtts[name].extend(ok)
                per_round[name][-1].extend(ok)
                n += len(ok)
                errors[name] += (s.ws_messages - len(ok)) + (1 if one.error else 0)
            rates[name].append(n / wall if wall else 0.0)
    out = {"sockets": s.ws_sockets, "messages_per_socket": s.ws_messages, "size": size,
           "rtt_ms": {k: percentiles(v, (50, 90, 99)) for k, v in rtts.items()},
           "msgs_per_s": {k: round(sum(v) / len(v), 1) if v else 0 for k, v in rates.items()},
           "errors": errors,
           "samples_ms": {k: [round(x * 1000, 3) for x in v] for k, v in rtts.items()}}
    _versus(out, "rtt_ms", ("p50", "p99"))
    round_p99s(out, "rtt_ms", per_round)
    if "added_ms" in out:
        out["throughput_ratio"] = round(out["msgs_per_s"]["role"] / out["msgs_per_s"]["direct"], 2) \
            if out["msgs_per_s"]["direct"] else None
    return out
