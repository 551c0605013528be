"""One load-client process: ``python -m bench.loadproc '<json spec>'``.

A thin layer over ``realtime_testkit.load`` (hold_sse / hold_ws), which does
the real work. What this adds is what a single asyncio process cannot do for
tens of thousands of streams:

* it is one PROCESS among several (the open-files limit is 20,000 per
  process, so the harness spreads streams over several of these);
* it opens its streams in batches started ``batch_gap`` s apart instead of all
  at once (a SYN burst of thousands would overflow listen backlogs and measure
  the kernel's SYN retries, not nginx);
* it talks to the harness over stdio: it prints ``READY <seconds>`` once every
  stream has opened or failed, keeps holding until a ``STOP`` line arrives on
  stdin (or ``duration`` s pass, a hard bound), and prints one JSON line with
  the merged summary and the wall-clock close times.

Spec keys: kind (sse|ws), url, n, duration, batch (500), batch_gap (0.1),
ping_interval (ws, 5), resume (reconnect once after a server close, False),
resume_delay (1.0), connect_timeout (10).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from realtime_testkit.load import HoldResult, hold_sse, hold_ws


async def _stdin_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not stop.is_set():
        line = await reader.readline()
        if not line or line.strip() == b"STOP":
            stop.set()
            return


async def run(spec: dict) -> dict:
    kind, url, n = spec["kind"], spec["url"], int(spec["n"])
    duration = float(spec["duration"])
    batch = max(1, int(spec.get("batch", 500)))
    gap = float(spec.get("batch_gap", 0.1))
    resume = bool(spec.get("resume", False))
    stop = asyncio.Event()
    started = time.monotonic()
    sizes = [min(batch, n - i) for i in range(0, n, batch)]
    readies = [asyncio.Event() for unused in sizes]

    async def one(index: int, size: int) -> HoldResult:
        await asyncio.sleep(index * gap)
        left = duration - (time.monotonic() - started)
        if size < 1 or left <= 1:
            readies[index].set()
            return HoldResult(kind, url, time.time(), time.time(), [])
        common = dict(duration=left, stop=stop, ready=readies[index],
                      connect_timeout=float(spec.get("connect_timeout", 10.0)))
        if kind == "sse":
            return await hold_sse(url, size, last_event_resume=resume,
                                  resume_delay=float(spec.get("resume_delay", 1.0)), **common)
        return await hold_ws(url, size, ping_interval=float(spec.get("ping_interval", 5.0)),
                             reconnect=resume, reconnect_delay=float(spec.get("resume_delay", 1.0)),
                             **common)

    watcher = asyncio.ensure_future(_stdin_stop(stop))
    tasks = [asyncio.ensure_future(one(i, size)) for i, size in enumerate(sizes)]

    async def announce():
        await asyncio.gather(*(r.wait() for r in readies))
        print("READY %.3f" % (time.monotonic() - started), flush=True)

    announcer = asyncio.ensure_future(announce())
    results = await asyncio.gather(*tasks)
    for ready in readies:
        ready.set()
    await announcer  # READY always comes before RESULT, even when every stream failed at once
    watcher.cancel()
    merged = HoldResult(kind, url, min(r.started for r in results), max(r.ended for r in results),
                        [s for r in results for s in r.streams])
    summary = merged.summary(before=spec.get("before")).as_dict()
    return {
        "spec": dict(spec),
        "summary": summary,
        "closes": sorted(s.closed_at for s in merged.streams if s.closed_at is not None),
        "resumed_at": sorted(s.resume.opened_at for s in merged.streams
                             if s.resume is not None and s.resume.opened_at is not None),
        "opened_at": sorted(s.opened_at for s in merged.streams if s.opened_at is not None),
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    out = asyncio.run(run(spec))
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
