"""The benchmark run: set up, measure side by side, write JSON; see bench/README.md.

Each measurement is a module of its own (latency, capacity, reload, converge, scale);
this file runs them in order and records what they return, together with the
facts the report states (facts.py), into one results dict.
"""

from __future__ import annotations

import asyncio
import os
import time

from . import capacity, facts, latency, memory, provision, reload, scale, tls
from .container import Container
from .rig import Rig, Settings, log


class Bench:
    def __init__(self, settings: Settings):
        self.defaults = facts.role_defaults()
        if settings.shutdown_timeout is None:
            settings.shutdown_timeout = self.defaults["worker_shutdown_timeout"]
        self.rig = Rig(settings, Container(settings.name))
        self.rig.results["settings"] = dict(vars(settings))
        self.started = time.monotonic()

    async def measure(self) -> None:
        rig, results = self.rig, self.rig.results
        log("1. SSE delivery delay")
        results["sse"] = await latency.sse_delay(rig)
        log("   p99 ms: %s" % {k: v.get("p99") for k, v in results["sse"]["delay_ms"].items()})
        log("2. WebSocket echo")
        results["ws"] = await latency.ws_echo_rtt(rig)
        log("   p99 ms: %s, msgs/s %s" % ({k: v.get("p99") for k, v in results["ws"]["rtt_ms"].items()},
                                          results["ws"]["msgs_per_s"]))
        log("3. concurrent streams")
        results["capacity"] = await capacity.measure(rig)
        log("4. reload under load")
        results["reload"] = await reload.measure(rig)
        log("memory per held stream, by buffer size")
        results["memory"] = await memory.measure(rig)
        log("streams over TLS and HTTP/2")
        results["tls"] = await tls.measure(rig)

    def run(self) -> dict:
        rig = self.rig
        try:
            provision.start_backends(rig)
            provision.provision(rig)
            rig.results["machine"] = facts.machine(rig.container, self.defaults)
            asyncio.run(self.measure())
            rig.results["scale"] = scale.measure(rig.settings)
            rig.results["machine"]["loadavg_end"] = os.getloadavg()
        finally:
            rig.procs.close()
            rig.container.remove()
            rig.results["runtime_s"] = round(time.monotonic() - self.started, 1)
        return rig.results
