"""Measurement 6: how the role's run time grows with the inventory and with the fleet.

* **sites**: one host (container ``<name>-scale-1``); nginx is installed by a
  first run with an empty inventory, then ``Settings.scale_rounds`` rounds over
  the counts of ``Settings.scale_sites`` (sites of 3 locations: http, sse,
  websocket; one upstream each), in ascending order in even rounds and
  descending in odd ones, so that a drift of the machine over the run does not
  look like a cost of the sites: for each count N, a converge from the previous
  count to N sites (untimed, except the very first, onto no sites: the smallest
  count's first converge), then a timed no-op re-run. Last, a run back to no
  sites and a first converge of the largest count onto a host that has none of
  its sites.
* **hosts**: the largest count H of ``Settings.scale_hosts`` of fresh containers
  (``<name>-scale-1`` ... ``-H``), converged together (nginx install included),
  then ``Settings.scale_host_rounds`` rounds of a no-op re-run on the first 1,
  4, ... H of them, in alternating order, forks >= 8, with
  ``Settings.scale_fleet_sites`` sites on each host.

Every run is recorded (wall time, controller CPU, recap, its round and when it
started); goals.py judges the goals from fits over all of them.

The containers use the bench container's image and flags (container.py). The
hosts share the host network, so each listens on a port of its own:
port_base + 200 + host index (19200-19299 in a full run, 20200-20299 and up in a
smoke run); the upstreams' port is never listened on (nginx -t does not
connect).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Tuple

from .container import Container, sh
from .converge import apply_role
from .rig import Settings, log

LOCATIONS = (("/", "http"), ("/events/", "sse"), ("/ws/", "websocket"))
FORKS = 8


def inventory(n_sites: int, listen_port: int, upstream_port: int) -> dict:
    """N_SITES sites of len(LOCATIONS) locations, all on LISTEN_PORT, each with an upstream of its own."""
    return {
        "realtime_proxy_upstreams": [{"name": "app%d" % i, "servers": ["127.0.0.1:%d" % upstream_port]}
                                     for i in range(n_sites)],
        "realtime_proxy_sites": [{
            "name": "site%d" % i, "server_name": "site%d.bench.test" % i,
            "listen": ["127.0.0.1:%d" % listen_port],
            "locations": [{"path": path, "type": kind, "upstream": "app%d" % i} for path, kind in LOCATIONS],
        } for i in range(n_sites)],
    }


def _port(s: Settings, index: int) -> int:
    return s.port_base + 200 + index


@contextlib.contextmanager
def fleet(s: Settings, count: int) -> Iterator[List[Container]]:
    """COUNT fresh bench containers, started side by side; all removed on the way out."""
    hosts = [Container("%s-scale-%d" % (s.name, i + 1)) for i in range(count)]
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda c: c.start(), hosts))
        yield hosts
    finally:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda c: c.remove(), hosts))


def _brief(run: dict) -> dict:
    return {"wall_s": run["wall_s"], "controller_cpu_s": run["controller_cpu_s"], "recap": run["recap"],
            "slowest_tasks": run["slowest_tasks"][:4]}


def _repeat(run: dict, round_: int, started: float) -> dict:
    """One of several runs of a step: its figures, its round, and when it started (s into the measurement)."""
    return {"wall_s": run["wall_s"], "controller_cpu_s": run["controller_cpu_s"], "recap": run["recap"],
            "round": round_, "at_s": round(started, 1)}


def _median_run(runs: List[dict]) -> dict:
    """The run of RUNS with the median controller CPU (the lower of the two middle ones): a real run whose
    recap and slowest tasks the page states."""
    return sorted(runs, key=lambda r: r["controller_cpu_s"])[(len(runs) - 1) // 2]


def rounds_order(counts: List[int], rounds: int) -> List[Tuple[int, int]]:
    """(round, count) in the order they run: ascending counts in even rounds, descending in odd ones."""
    return [(r, n) for r in range(rounds) for n in (counts if r % 2 == 0 else list(reversed(counts)))]


def by_sites(s: Settings) -> dict:
    if not s.scale_sites:
        return {"locations_per_site": len(LOCATIONS), "install": None, "steps": [], "rounds": 0}
    upstream_port = _port(s, 99)
    runs: Dict[int, Dict[str, list]] = {n: {"first": [], "noop": []} for n in s.scale_sites}
    counts, current = sorted(s.scale_sites), 0
    with fleet(s, 1) as (host,):
        log("scale: installing nginx on %s" % host.name)
        install = apply_role(host, inventory(0, _port(s, 0), upstream_port))
        began = time.monotonic()
        for round_, n in rounds_order(counts, s.scale_rounds) + [(s.scale_rounds, counts[-1])]:
            last = round_ == s.scale_rounds  # the largest count once more, first converged onto no sites
            if last:
                apply_role(host, inventory(0, _port(s, 0), upstream_port))
                current = 0
            variables = inventory(n, _port(s, 0), upstream_port)
            if current != n:  # a first converge when the host has no sites, else a change of the site count
                at = time.monotonic() - began
                run = apply_role(host, variables)
                if current == 0:
                    runs[n]["first"].append(dict(_repeat(run, round_, at), slowest_tasks=run["slowest_tasks"][:4]))
                current = n
            if last:
                break
            at = time.monotonic() - began
            run = apply_role(host, variables)
            runs[n]["noop"].append(dict(_repeat(run, round_, at), slowest_tasks=run["slowest_tasks"][:4]))
            log("scale: round %d, %d sites: no-op %.1f s (CPU %.1f s, changed=%s)" % (
                round_ + 1, n, run["wall_s"], run["controller_cpu_s"], run["recap"].get("changed")))
    steps = []
    for n in counts:
        step: dict = {"sites": n, "locations": n * len(LOCATIONS)}
        for key in ("first", "noop"):
            step[key] = _brief(_median_run(runs[n][key])) if runs[n][key] else None
            step[key + "s"] = [{k: v for k, v in r.items() if k != "slowest_tasks"} for r in runs[n][key]]
        steps.append(step)
    return {"locations_per_site": len(LOCATIONS), "install": _brief(install), "steps": steps,
            "rounds": s.scale_rounds}


def by_hosts(s: Settings) -> dict:
    out = {"sites_per_host": s.scale_fleet_sites, "forks": max([FORKS] + list(s.scale_hosts)), "steps": [],
           "rounds": s.scale_host_rounds}
    if not s.scale_hosts:
        return out
    counts = sorted(s.scale_hosts)
    noops: Dict[int, list] = {count: [] for count in counts}
    with fleet(s, counts[-1]) as hosts:
        host_vars = {h.name: inventory(s.scale_fleet_sites, _port(s, i), _port(s, 99)) for i, h in enumerate(hosts)}
        first = apply_role(hosts, {}, host_vars=host_vars, forks=FORKS)
        log("scale: %d fresh hosts: first converge %.1f s" % (counts[-1], first["wall_s"]))
        began = time.monotonic()
        for round_, count in rounds_order(counts, s.scale_host_rounds):
            at = time.monotonic() - began
            run = apply_role(hosts[:count], {}, host_vars=host_vars, forks=FORKS)
            noops[count].append(dict(_repeat(run, round_, at), slowest_tasks=run["slowest_tasks"][:4]))
            log("scale: round %d, %d hosts: no-op %.1f s (CPU %.1f s, changed=%s)" % (
                round_ + 1, count, run["wall_s"], run["controller_cpu_s"], run["recap"].get("changed")))
    for count in counts:
        out["steps"].append({
            "hosts": count, "first": _brief(first) if count == counts[-1] else None,
            "noop": _brief(_median_run(noops[count])),
            "noops": [{k: v for k, v in r.items() if k != "slowest_tasks"} for r in noops[count]]})
    return out


def measure(s: Settings) -> dict:
    """The role's run time by number of sites, then by number of hosts."""
    log("6. the role's run time by sites %s and by hosts %s" % (s.scale_sites, s.scale_hosts))
    others = sh(["docker", "ps", "--format", "{{.Names}}"], check=False).stdout.split()
    conditions = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "loadavg_start": os.getloadavg(),
                  "other_containers": [n for n in others if not n.startswith(s.name)]}
    out = {"sites": by_sites(s), "hosts": by_hosts(s), "conditions": conditions}
    conditions["loadavg_end"] = os.getloadavg()
    return out
