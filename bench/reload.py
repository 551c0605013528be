"""Measurement 4: reloads under load.

Streams held through the role's nginx, then several ``systemctl reload nginx``
in a row (what the role's handler does) while new connections keep arriving
(``realtime_testkit.load.request_loop``); nginx's workers are sampled from
/proc throughout, and the clients record every close and reconnect.
"""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List

from realtime_testkit.load import request_loop

from . import loadproc
from .rig import Rig, log


async def _reload_in_a_row(rig: Rig) -> list:
    s, c = rig.settings, rig.container
    reloads = []
    for unused in range(s.reloads):
        before = c.sample(None)
        t = time.time()
        done = c.exec("systemctl reload nginx", check=False)
        # this reload's old generation: workers not already shutting down from an earlier reload
        current = sorted(p for p, w in before["workers"].items() if not w["shutting_down"])
        reloads.append({"at": t, "rc": done.returncode, "old_workers": current,
                        "took_s": round(time.time() - t, 3)})
        await asyncio.sleep(max(0.0, s.reload_gap_s - (time.time() - t)))
    # wait (bounded) until every worker that existed before the last reload is gone
    deadline = time.monotonic() + s.shutdown_timeout + 15
    all_old = set(p for r in reloads for p in r["old_workers"])
    while time.monotonic() < deadline:
        if not all_old & set(c.sample(None)["workers"]):
            break
        await asyncio.sleep(0.5)
    return reloads


def _client_events(results: list, first_reload: float, cutoff: float) -> dict:
    ev = {"opened": 0, "resumed": 0, "dropped_before": 0, "cut_at_timeout": 0,
          "closes": [], "opens": [], "resumes": []}
    for r in results:
        if "summary" not in r:
            continue
        ev["opened"] += r["summary"]["opened"]
        ev["resumed"] += r["summary"]["resume_opened"]
        ev["closes"].extend(r["closes"])
        ev["opens"].extend(r["opened_at"])
        ev["resumes"].extend(r["resumed_at"])
        for c in r["closes"]:
            if first_reload - 1 <= c < cutoff:
                ev["dropped_before"] += 1
            elif c >= cutoff:
                ev["cut_at_timeout"] += 1
    return ev


async def measure(rig: Rig) -> dict:
    s, c = rig.settings, rig.container
    n_sse = s.reload_streams // 2
    n_ws = s.reload_streams - n_sse
    window = s.reloads * s.reload_gap_s + s.shutdown_timeout + 15
    duration = s.ramp_timeout_s + window + 10
    samples: List[dict] = []
    stop_sampling = asyncio.Event()

    async def sampler():
        while not stop_sampling.is_set():
            samples.append(c.sample(None))
            await asyncio.sleep(0.25)

    sampling = asyncio.ensure_future(sampler())
    await asyncio.sleep(1.0)
    procs = loadproc.spawn(rig.procs, s.role_ports, n_sse, n_ws, duration, resume=True, ping_interval=1.0)
    ramp = await loadproc.wait_ready(procs, s.ramp_timeout_s)
    await asyncio.sleep(1.0)
    loop_task = asyncio.ensure_future(request_loop(
        "http://127.0.0.1:%d/" % s.role_ports[1], count=int(s.reload_rate * (window + 5)) + 10,
        duration=window + 2, concurrency=8, rate=s.reload_rate, timeout=5.0))
    await asyncio.sleep(1.0)
    reloads = await _reload_in_a_row(rig)
    first_reload, last_reload = reloads[0]["at"], reloads[-1]["at"]
    await asyncio.sleep(3.0)  # let reconnects settle
    stop_sampling.set()
    await sampling
    http = await loop_task
    # when did each reload's old workers exit (last sample they were seen in)
    last_seen: Dict[int, float] = {}
    for smp in samples:
        for pid in smp["workers"]:
            last_seen[int(pid)] = smp["t"]
    for r in reloads:
        gone = [last_seen.get(p, r["at"]) for p in r["old_workers"]]
        r["old_workers_exit_s"] = round(max(gone) - r["at"], 2) if gone else None
    ev = _client_events(loadproc.collect(procs), first_reload, first_reload + s.shutdown_timeout - 0.5)
    during = http.summary(first_reload - 0.5, last_reload + 2.0)
    peak = max(samples, key=lambda x: x.get("rss_kb", 0) + x.get("master_rss_kb", 0)) if samples else {}
    pre = [x for x in samples if x["t"] < first_reload]
    out = {
        "streams": s.reload_streams, "opened": ev["opened"], "ramp_s": ramp, "reloads": len(reloads),
        "reload_gap_s": s.reload_gap_s, "worker_shutdown_timeout_s": s.shutdown_timeout,
        "resume_delay_s": loadproc.CLIENTS["resume_delay_s"],
        "reload_rc": [r["rc"] for r in reloads],
        "dropped_before_timeout": ev["dropped_before"],
        "cut_at_timeout": ev["cut_at_timeout"],
        "reconnected": ev["resumed"],
        "new_connections": {"attempted": during.attempted, "failed": during.failed,
                            "rate_per_s": s.reload_rate, "latency_ms": during.latency_ms,
                            "errors": during.error_samples},
        "old_workers_exit_s": [r["old_workers_exit_s"] for r in reloads],
        "rss_kb_before_reload": pre[-1]["rss_kb"] + pre[-1].get("master_rss_kb", 0) if pre else None,
        "rss_kb_high_water": (peak.get("rss_kb", 0) + peak.get("master_rss_kb", 0)) if peak else None,
        "pss_kb_high_water": max((x.get("pss_kb", 0) for x in samples), default=None),
        "max_workers": max((x.get("n_workers", 0) for x in samples), default=None),
        "timeline": {"t0": first_reload, "reloads": [r["at"] for r in reloads],
                     "samples": [[round(x["t"], 2), x.get("rss_kb", 0) + x.get("master_rss_kb", 0),
                                  x.get("n_workers", 0)] for x in samples],
                     "opens": [round(x, 2) for x in ev["opens"]], "closes": [round(x, 2) for x in ev["closes"]],
                     "resumes": [round(x, 2) for x in ev["resumes"]]},
    }
    log("reload: dropped before timeout %d, cut at timeout %d, reconnected %d, failed new %d/%d, "
        "old workers exit %s s, RSS high water %s KB" % (
            ev["dropped_before"], ev["cut_at_timeout"], ev["resumed"], during.failed, during.attempted,
            out["old_workers_exit_s"], out["rss_kb_high_water"]))
    return out
