"""Throughput per configuration, side by side: SSE events and WebSocket echoes per second, in interleaved rounds.

Each workload sends as fast as the shared clients and the shared test backend
can (``realtime_testkit.sse.read_sse`` with ``interval=0``,
``realtime_testkit.ws.ws_echo``): small events and messages, and large ones
that do not fit one buffer. In every round each workload runs once against
every configuration, in an order that rotates round by round, so that none
always goes first and a slow moment of the shared machine hits one round of
each, not one configuration. memory_goal.py judges the rates per round.
"""

from __future__ import annotations

import asyncio
import time
from typing import Dict, Optional

from realtime_testkit.sse import read_sse
from realtime_testkit.tls import client_context
from realtime_testkit.ws import ws_echo

from .memory_goal import median
from .rig import log

# name: (kind, size in bytes or padding characters, parallel streams or sockets, events or messages each)
WORKLOADS = {
    "sse-small": ("sse", 0, 4, 1000),
    "sse-large": ("sse", 16 * 1024, 4, 200),
    "ws-small": ("ws", 1024, 10, 100),
    "ws-large": ("ws", 64 * 1024, 10, 50),
}
SMOKE_WORKLOADS = {"sse-small": ("sse", 0, 2, 50), "sse-large": ("sse", 16 * 1024, 2, 10),
                   "ws-small": ("ws", 1024, 2, 10), "ws-large": ("ws", 64 * 1024, 2, 5)}
UNITS = {"sse": "events/s", "ws": "echoes/s"}


async def sse_rate(base: str, pad: int, streams: int, events: int) -> tuple:
    """(events per second over STREAMS parallel streams of EVENTS events padded by PAD, events missing)."""
    url = "%s?count=%d&interval=0%s" % (base, events, "&pad=%d" % pad if pad else "")
    verify = not base.startswith("https://")  # the bench's TLS sites have a self-signed certificate
    started = time.monotonic()
    results = await asyncio.gather(*(read_sse(url, count=events, timeout=120, verify=verify)
                                     for unused in range(streams)))
    wall = time.monotonic() - started
    got = sum(len(r.events) for r in results)
    return (round(got / wall, 1) if wall else None), streams * events - got


async def ws_rate(url: str, size: int, sockets: int, messages: int) -> tuple:
    """(echoes per second over SOCKETS parallel sockets sending MESSAGES of SIZE bytes one after another,
    messages that did not come back intact)."""
    payload = b"x" * size
    tls = client_context() if url.startswith("wss://") else None
    started = time.monotonic()
    results = await asyncio.gather(*(ws_echo(url, [payload] * messages, timeout=120, ssl=tls)
                                     for unused in range(sockets)))
    wall = time.monotonic() - started
    good = sum(1 for one in results for echo in one.echoes if echo == payload)
    return (round(good / wall, 1) if wall else None), sockets * messages - good


async def measure(urls: Dict[str, Dict[str, str]], rounds: int, smoke: bool = False,
                  workloads: Optional[tuple] = None) -> dict:
    """Rates per workload, configuration and round. URLS: configuration -> {"sse": base URL, "ws": URL}."""
    table = SMOKE_WORKLOADS if smoke else WORKLOADS
    names = [w for w in table if workloads is None or w in workloads]
    order = list(urls)
    out = {"rounds": rounds, "workloads": {
        w: {"kind": table[w][0], "size": table[w][1], "parallel": table[w][2], "each": table[w][3],
            "unit": UNITS[table[w][0]], "rounds": {name: [] for name in order}, "missing": {name: 0 for name in order}}
        for w in names}}
    for r in range(rounds):
        turn = r % len(order)
        for w in names:
            kind, size, parallel, each = table[w]
            for name in order[turn:] + order[:turn]:
                if kind == "sse":
                    rate, missing = await sse_rate(urls[name]["sse"], size, parallel, each)
                else:
                    rate, missing = await ws_rate(urls[name]["ws"], size, parallel, each)
                out["workloads"][w]["rounds"][name].append(rate)
                out["workloads"][w]["missing"][name] += missing
    for w, one in out["workloads"].items():
        one["median"] = {name: round(m, 1) if m is not None else None
                         for name, m in ((n, median(values)) for n, values in one["rounds"].items())}
        log("throughput %-9s median %s: %s" % (w, one["unit"], one["median"]))
    return out
