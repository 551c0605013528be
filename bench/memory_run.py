"""``python -m bench memory``: the memory and TLS measurements alone, without the rest of ``make bench``.

Starts the backends and a container of its own, installs nginx there with the
role (one converge), and runs memory.py and tls.py (or one of them) as a full
run does. The results JSON has their keys (``memory``, ``tls``) as a full run
writes them, so they can go into another run's results as they are.
"""

from __future__ import annotations

import asyncio
import time
from typing import Sequence

from . import converge, facts, memory, provision, tls
from .container import Container
from .rig import Rig, Settings, log

PARTS = {"memory": memory.measure, "tls": tls.measure}


def run(settings: Settings, parts: Sequence[str]) -> dict:
    """Measure PARTS (keys of PARTS) on a container of their own; the results, with the machine's facts."""
    defaults = facts.role_defaults()
    if settings.shutdown_timeout is None:
        settings.shutdown_timeout = defaults["worker_shutdown_timeout"]
    rig = Rig(settings, Container(settings.name))
    rig.results["settings"] = dict(vars(settings))
    started = time.monotonic()
    try:
        provision.start_backends(rig)
        log("starting container %s" % settings.name)
        rig.container.start()
        converge.measure(rig.container, provision.role_vars(settings), noop=False)  # nginx, installed by the role
        rig.results["machine"] = facts.machine(rig.container, defaults)

        async def measure():
            for part in parts:
                log("measuring %s" % part)
                rig.results[part] = await PARTS[part](rig)

        asyncio.run(measure())
    finally:
        rig.procs.close()
        rig.container.remove()
        rig.results["runtime_s"] = round(time.monotonic() - started, 1)
    return rig.results
