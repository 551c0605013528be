"""Load-client processes: ``python -m bench.loadproc '<json spec>'`` and the harness's side of it.

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

Spec keys: kind (sse|ws), url, n, duration, batch (500), batch_gap (0.1), start_delay (s before the first
batch, 0: the harness staggers its processes so that their batches interleave),
ping_interval (ws, 5), resume (reconnect once after a server close, False),
resume_delay (1.0), connect_timeout (10), verify (check the certificate of an
https:// or wss:// URL, True), h2 (sse over https://: this many streams per
HTTP/2 connection; 0, the default, is one HTTP/1.1 connection per stream).

The harness's side (``spawn``, ``wait_ready``, ``collect``) is at the end of
this file, next to the protocol it speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

from realtime_testkit.load import HoldResult, hold_sse, hold_sse_h2, hold_ws


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
    start_delay = float(spec.get("start_delay", 0.0))
    resume = bool(spec.get("resume", False))
    stop = asyncio.Event()
    started = time.monotonic()
    sizes = [min(batch, n - i) for i in range(0, n, batch)]
    readies = [asyncio.Event() for unused in sizes]

    async def one(index: int, size: int) -> HoldResult:
        await asyncio.sleep(start_delay + index * gap)
        left = duration - (time.monotonic() - started)
        if size < 1 or left <= 1:
            readies[index].set()
            return HoldResult(kind, url, time.time(), time.time(), [])
        common = dict(duration=left, stop=stop, ready=readies[index], verify=bool(spec.get("verify", True)),
                      connect_timeout=float(spec.get("connect_timeout", 10.0)))
        per_connection = int(spec.get("h2", 0))
        if kind == "sse" and per_connection:
            return await hold_sse_h2(url, size, connections=-(-size // per_connection), **common)
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


# ------------------------------------------------------------------ the harness's side

REPO = pathlib.Path(__file__).resolve().parents[1]
PER_PROCESS = 4000  # streams per load-client process (20,000 open files per process)
# How every load client opens and keeps its streams; the report states these. rate_per_s bounds the streams
# opened per second by all the processes of one spawn together. At 14,000 a second (14 processes of 1,000) the
# two cores fell behind and streams timed out in accept queues; asked for 1,000 a second on an idle machine, the
# clients managed about 840 and held all of 50,000. 800 stays just under what the cores keep up with.
CLIENTS = {"batch": 100, "batch_gap_s": 0.1, "rate_per_s": 800, "resume_delay_s": 1.0}


def spawn(procs, ports: List[int], n_sse: int, n_ws: int, duration: float,
          resume: bool = False, ping_interval: float = 5.0, tls: bool = False, h2: int = 0,
          connect_timeout: float = 10.0) -> list:
    """Start load-client processes (through PROCS, a rig.Procs) for N_SSE + N_WS streams over PORTS.

    TLS: https:// and wss://, the certificate not checked (the bench's own); H2: SSE streams per HTTP/2
    connection (0: HTTP/1.1); CONNECT_TIMEOUT: s a stream may take to open (a TLS handshake costs the client CPU)."""
    started = []
    index = 0
    counts = (("sse", n_sse), ("ws", n_ws))
    sizes = {kind: [min(PER_PROCESS, n - i) for i in range(0, n, PER_PROCESS)] for kind, n in counts}
    processes = len(sizes["sse"]) + len(sizes["ws"])
    gap = max(CLIENTS["batch_gap_s"], CLIENTS["batch"] * processes / CLIENTS["rate_per_s"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"),
                                                       os.environ.get("PYTHONPATH", "")]))
    for kind in ("sse", "ws"):
        for size in sizes[kind]:
            port = ports[index % len(ports)]
            index += 1
            scheme = ("http" if kind == "sse" else "ws") + ("s" if tls else "")
            spec = {"kind": kind, "url": "%s://127.0.0.1:%d/hold/%s/bench" % (scheme, port, kind),
                    "verify": not tls, "h2": h2 if kind == "sse" else 0, "connect_timeout": connect_timeout,
                    "n": size, "duration": duration, "batch": CLIENTS["batch"],
                    "batch_gap": gap, "start_delay": gap * (index - 1) / processes,
                    "ping_interval": ping_interval, "resume": resume, "resume_delay": CLIENTS["resume_delay_s"]}
            # stderr to a file: a full pipe would block the client mid-run
            errfile = tempfile.TemporaryFile("w+")  # pylint: disable=consider-using-with
            proc = procs.start([sys.executable, "-m", "bench.loadproc", json.dumps(spec)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=errfile, text=True, env=env, cwd=str(REPO))
            proc.errfile = errfile
            proc.early_lines = []
            started.append(proc)
    return started


async def wait_ready(procs, timeout: float) -> Optional[float]:
    """Seconds until every process said READY, None after TIMEOUT."""
    async def one(proc):
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, proc.stdout.readline)
            if not line or line.startswith("READY"):
                return
            proc.early_lines.append(line)
    try:
        t0 = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one(p) for p in procs)), timeout)
        return time.monotonic() - t0
    except asyncio.TimeoutError:
        return None


def collect(procs, timeout: float = 60.0) -> list:
    """STOP every process and return each one's RESULT (or an ``error``)."""
    for p in procs:
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            p.stdin.write("STOP\n")
            p.stdin.flush()
    out = []
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            stdout, stderr = p.communicate(timeout=10)
        p.errfile.seek(0)
        stderr = p.errfile.read()[-2000:]
        p.errfile.close()
        result = None
        for line in p.early_lines + (stdout or "").splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[7:])
        if result is None:
            result = {"error": "client process gave no result (rc %s): %s" % (p.returncode, (stderr or "")[-500:])}
        out.append(result)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    out = asyncio.run(run(spec))
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
