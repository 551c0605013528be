"""Measurement 3: concurrent streams held, in steps, per configuration, until one fails (and why).

Three nginx masters side by side in the same container (provision.py): Debian's
own nginx.conf, the role as shipped (its defaults, read from the role) and the
role tuned. Each step opens half SSE and half WebSocket streams from
load-client processes (loadproc.py), holds them, and samples nginx's workers
from /proc before, after the ramp and at the end of the hold.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import time
from typing import Dict, List, Optional

from . import diagnostics, loadproc
from .facts import workers_in_effect
from .heap import heap_of
from .provision import HOLD_HEARTBEAT_S, role_vars, start_master, stop_master
from .rig import Rig, log

CONNTRACK = pathlib.Path("/proc/sys/net/netfilter/nf_conntrack_count")
# Every held WebSocket sends a message this often and checks its echo. At 5 s, 50,000 streams made 5,000 echoes a
# second through Python clients and backends, which kept a core of this shared machine busy and starved the ramp.
PING_INTERVAL_S = 15.0
# s a stream may take to open: on a loaded machine a SYN dropped at a full accept queue is retried after 1, 2,
# 4, 8, 16 s; what is measured is holding, not opening fast
CONNECT_TIMEOUT_S = 60.0
# How connections spread over the workers: the tuned role with reuseport (its default), with neither reuseport
# nor accept_mutex (every worker woken for each new connection; the busiest accepts most), and with accept_mutex
# on instead (workers take turns). (name, variables over the tuned ones, events directives)
SPREAD = [("reuseport", {}, ""),
          ("neither", {"realtime_proxy_reuseport": False}, ""),
          ("accept_mutex", {"realtime_proxy_reuseport": False}, "accept_mutex on;")]
SPREAD_STREAMS = {False: 8000, True: 40}  # held in one step per configuration: a full run, a smoke run


def configs(rig: Rig) -> list:
    """(name, ports, conf marker of its master, settings in effect) of each configuration compared."""
    s = rig.settings
    nproc = rig.results["machine"]["nproc"]
    debian = rig.results["debian_conf"]
    defaults = dict(rig.results["machine"]["role_defaults"])
    defaults.update({k: v for k, v in rig.results["machine"].get("role_in_effect", {}).items() if v is not None})
    tuned = s.tuned
    return [
        ("debian-default", s.debian_ports, "nginx-debian",
         {"worker_connections": debian["worker_connections"],
          "workers": workers_in_effect(debian["worker_processes"], nproc),
          "rlimit": debian["worker_rlimit_nofile"] or "%s (inherited)" % debian["inherited_nofile"]}),
        ("role-defaults", s.role_ports, None,
         {"worker_connections": defaults["worker_connections"],
          "workers": workers_in_effect(defaults["worker_processes"], nproc),
          "rlimit": defaults["worker_rlimit_nofile"]}),
        ("role-tuned", s.tuned_ports, "nginx-tuned",
         {"worker_connections": tuned["realtime_proxy_worker_connections"],
          "workers": workers_in_effect(tuned["realtime_proxy_worker_processes"], nproc),
          "rlimit": tuned["realtime_proxy_worker_rlimit_nofile"]}),
    ]


def _tally(results: list, target: int) -> dict:
    held = failed = attempted = 0
    errors: Dict[str, int] = {}
    by_kind = {"sse": {"held": 0, "failed": 0}, "ws": {"held": 0, "failed": 0}}
    for r in results:
        if "summary" not in r:
            errors[r.get("error", "?")[:120]] = errors.get(r.get("error", "?")[:120], 0) + 1
            continue
        sm = r["summary"]
        attempted += sm["attempted"]
        held += sm["ok"]
        failed += sm["attempted"] - sm["ok"]
        by_kind[sm["kind"]]["held"] += sm["ok"]
        by_kind[sm["kind"]]["failed"] += sm["attempted"] - sm["ok"]
        for e, c in sm["error_samples"].items():
            errors[e[:120]] = errors.get(e[:120], 0) + c
    failed += target - attempted  # a client process that died counts all its streams as failed
    return {"held": held, "failed": failed, "by_kind": by_kind,
            "client_errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])}


async def step(rig: Rig, config: str, ports: List[int], marker: Optional[str], n_sse: int, n_ws: int,
               heap: bool = False, **client) -> dict:
    """Hold N_SSE + N_WS streams through PORTS (CLIENT: loadproc.spawn's tls and h2) and sample nginx's workers;
    with HEAP, also their malloc totals before the step and while holding (bench/heap.py)."""
    s, c = rig.settings, rig.container
    offset = diagnostics.log_offset(c)
    await asyncio.sleep(1.0)
    s0 = c.sample(marker)
    heap_before = heap_of(c, marker) if heap else None
    duration = s.ramp_timeout_s + s.hold_s + 20
    client.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    client.setdefault("ping_interval", PING_INTERVAL_S)
    procs = loadproc.spawn(rig.procs, ports, n_sse, n_ws, duration, **client)
    ramp = await loadproc.wait_ready(procs, s.ramp_timeout_s)
    await asyncio.sleep(1.0)
    s1 = c.sample(marker)
    await asyncio.sleep(s.hold_s)
    s2 = c.sample(marker)
    heap_held = heap_of(c, marker, trim=True) if heap else None
    # what the figures were measured beside, while the streams are open: the machine's load and the
    # connections the kernel tracked (None: no conntrack here)
    beside = {"client_processes": len(procs), "loadavg_1m": round(os.getloadavg()[0], 2),
              "conntrack": int(CONNTRACK.read_text()) if CONNTRACK.is_file() else None}
    tally = _tally(loadproc.collect(procs), n_sse + n_ws)
    held = tally["held"]
    rss_delta = s2.get("rss_kb", 0) - s0.get("rss_kb", 0)
    pss_delta = s2.get("pss_kb", 0) - s0.get("pss_kb", 0)
    out = {
        "config": config, "target": n_sse + n_ws, "sse": n_sse, "ws": n_ws, "held": held,
        "failed": tally["failed"], "by_kind": tally["by_kind"],
        "ramp_s": round(ramp, 2) if ramp is not None else None,
        "nginx_workers": s2.get("n_workers"),
        "nginx_rss_idle_kb": s0.get("rss_kb"), "nginx_rss_kb": s2.get("rss_kb"),
        "nginx_pss_kb": s2.get("pss_kb"),
        # each worker's share of the streams: its RSS added since before the step
        "worker_rss_added_kb": sorted(w["rss_kb"] - s0.get("workers", {}).get(pid, {"rss_kb": 0})["rss_kb"]
                                      for pid, w in s2.get("workers", {}).items()),
        "rss_per_stream_kb": round(rss_delta / held, 2) if held else None,
        "pss_per_stream_kb": round(pss_delta / held, 2) if held else None,
        # the RSS added that is pages of files (libraries' code paged in) and of shared memory (cache zones)
        "rss_file_added_kb": s2.get("rss_file_kb", 0) - s0.get("rss_file_kb", 0),
        "rss_shmem_added_kb": s2.get("rss_shmem_kb", 0) - s0.get("rss_shmem_kb", 0),
        "cpu_ramp_s": round(s1.get("cpu_s", 0) - s0.get("cpu_s", 0), 2),
        "cpu_hold_pct": round(100 * (s2.get("cpu_s", 0) - s1.get("cpu_s", 0)) / s.hold_s, 1),
        "client_errors": tally["client_errors"],
        "nginx_log": diagnostics.log_reasons(c, offset),
        **beside,
    }
    if heap:
        out["heap"] = {"before": heap_before, "held": heap_held}
    log("capacity %-13s %6d: held %6d failed %5d  rss/stream %s KB  ramp %s s  %s" % (
        config, out["target"], held, out["failed"], out["rss_per_stream_kb"], out["ramp_s"],
        out["nginx_log"] or ""))
    await asyncio.sleep(2.0)  # let closes settle before the next step
    return out


async def measure(rig: Rig) -> dict:
    s = rig.settings
    compared = configs(rig)
    out = {"steps": [], "ceilings": {}, "configs": {c[0]: c[3] for c in compared},
           "hold_s": s.hold_s, "per_process": loadproc.PER_PROCESS,
           "clients": {"batch": loadproc.CLIENTS["batch"], "batch_gap_s": loadproc.CLIENTS["batch_gap_s"],
                       "rate_per_s": loadproc.CLIENTS["rate_per_s"], "connect_timeout_s": CONNECT_TIMEOUT_S,
                       "listen_ports": len(s.role_ports), "heartbeat_s": HOLD_HEARTBEAT_S,
                       "ping_interval_s": PING_INTERVAL_S}}
    budget_end = time.monotonic() + s.capacity_budget_s
    for name, ports, marker, info in compared:
        ceiling = {"held_max": 0, "first_failing_step": None, "bounded_by": None}
        for target in s.steps:
            if time.monotonic() > budget_end:
                ceiling["bounded_by"] = ceiling["bounded_by"] or "time budget of the run (not a limit of nginx)"
                break
            one = await step(rig, name, ports, marker, target // 2, target - target // 2)
            out["steps"].append(one)
            ceiling["held_max"] = max(ceiling["held_max"], one["held"])
            if one["failed"]:
                ceiling["first_failing_step"] = target
                ceiling["bounded_by"] = diagnostics.bounded_by(info, one, rig.results["machine"])
                break
        else:
            ceiling["bounded_by"] = "not reached: the largest step (%d) held" % s.steps[-1]
        out["ceilings"][name] = ceiling
    out["spread"] = await spread(rig)
    if s.kind_step:
        for kind in ("sse", "ws"):
            n = s.kind_step
            one = await step(rig, "role-tuned/%s" % kind, s.tuned_ports, "nginx-tuned",
                             n if kind == "sse" else 0, n if kind == "ws" else 0)
            out.setdefault("per_kind", []).append(one)
    return out


async def spread(rig: Rig) -> List[dict]:
    """One step per SPREAD configuration, each the tuned role as a master of its own on ports base+340.., with
    each worker's RSS (its share of the streams) and the workers' CPU."""
    s = rig.settings
    n = SPREAD_STREAMS[s.smoke]
    ports = [s.port_base + 340 + i for i in range(len(s.tuned_ports))]
    out = []
    for name, variables, events in SPREAD:
        settings = role_vars(s)
        settings["realtime_proxy_sites"][0]["listen"] = ["127.0.0.1:%d" % p for p in ports]
        settings.update(s.tuned, **variables)
        start_master(rig, "nginx-spread", settings, events)
        try:
            one = await step(rig, "spread/%s" % name, ports, "/etc/nginx-spread/", n // 2, n - n // 2)
        finally:
            stop_master(rig, "nginx-spread")
        added = [max(0, kb) for kb in one["worker_rss_added_kb"]]
        one["busiest_worker_share"] = round(max(added) / sum(added), 3) if sum(added) else None
        out.append(one)
    return out
