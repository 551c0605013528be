"""Measurement 6: how the role's run time grows with the inventory and with the fleet.

* **sites**: one host (container ``<name>-scale-1``); nginx is installed by a
  first run with an empty inventory, then for each count N of
  ``Settings.scale_sites``: a first converge of N sites of 3 locations (http,
  sse, websocket), one upstream each, onto a host that has none of them; a
  no-op re-run; and an untimed run back to the empty inventory, so that the
  next count's first converge writes every file anew.
* **hosts**: for each count H of ``Settings.scale_hosts``, H fresh containers
  (``<name>-scale-1`` ... ``-H``) converged together, nginx install included,
  then re-run (no-op), with forks >= 8 and ``Settings.scale_fleet_sites``
  sites on each host.

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
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List

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


def by_sites(s: Settings) -> dict:
    if not s.scale_sites:
        return {"locations_per_site": len(LOCATIONS), "install": None, "steps": []}
    upstream_port = _port(s, 99)
    with fleet(s, 1) as (host,):
        log("scale: installing nginx on %s" % host.name)
        install = apply_role(host, inventory(0, _port(s, 0), upstream_port))
        steps = []
        for n in s.scale_sites:
            variables = inventory(n, _port(s, 0), upstream_port)
            first = apply_role(host, variables)
            noop = apply_role(host, variables)
            log("scale: %d sites: first converge %.1f s, no-op %.1f s (changed=%s)" % (
                n, first["wall_s"], noop["wall_s"], noop["recap"].get("changed")))
            steps.append({"sites": n, "locations": n * len(LOCATIONS), "first": _brief(first), "noop": _brief(noop)})
            if n != s.scale_sites[-1]:
                apply_role(host, inventory(0, _port(s, 0), upstream_port))
    return {"locations_per_site": len(LOCATIONS), "install": _brief(install), "steps": steps}


def by_hosts(s: Settings) -> dict:
    steps = []
    for count in s.scale_hosts:
        with fleet(s, count) as hosts:
            host_vars = {h.name: inventory(s.scale_fleet_sites, _port(s, i), _port(s, 99))
                         for i, h in enumerate(hosts)}
            first = apply_role(hosts, {}, host_vars=host_vars, forks=FORKS)
            noop = apply_role(hosts, {}, host_vars=host_vars, forks=FORKS)
        log("scale: %d hosts: first converge %.1f s, no-op %.1f s (changed=%s)" % (
            count, first["wall_s"], noop["wall_s"], noop["recap"].get("changed")))
        steps.append({"hosts": count, "first": _brief(first), "noop": _brief(noop)})
    return {"sites_per_host": s.scale_fleet_sites, "forks": max([FORKS] + list(s.scale_hosts)), "steps": steps}


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
