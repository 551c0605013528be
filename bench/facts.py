"""Facts the report states, recorded into the results when the run measures.

The role's defaults have one home, roles/realtime_proxy/defaults/main/; the
bench reads them from there, so the page shows what the run actually used and
cannot drift from the role. Machine facts (cores, memory, nginx version, open
files) are read from the machine and the container during the run.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import resource

import yaml

from .container import REPO, Container, sh

ROLE_DEFAULTS = REPO / "roles" / "realtime_proxy" / "defaults" / "main"
# The global settings whose defaults bound what the bench measures.
GLOBALS = ("worker_processes", "worker_connections", "worker_rlimit_nofile", "worker_shutdown_timeout",
           "tls_buffer_size")


def role_defaults(directory=ROLE_DEFAULTS) -> dict:
    """{setting: default} of GLOBALS, without the realtime_proxy_ prefix, from the role's defaults files."""
    merged: dict = {}
    for path in sorted(directory.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    missing = [g for g in GLOBALS if "realtime_proxy_" + g not in merged]
    if missing:
        raise KeyError("no default for %s in %s" % (", ".join("realtime_proxy_" + g for g in missing), directory))
    return {g: merged["realtime_proxy_" + g] for g in GLOBALS}


def workers_in_effect(worker_processes, nproc: int) -> str:
    """What worker_processes means on this machine: ``auto (2)`` or the number itself."""
    return "%s (%d)" % (worker_processes, nproc) if str(worker_processes) == "auto" else str(worker_processes)


def _ansible_core() -> str:
    try:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel
    except ImportError:
        return "n/a"
    return __version__


def _mem_gib() -> float:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def machine(container: Container, defaults: dict) -> dict:
    """The machine, the container's nginx and the role's defaults in effect, at the start of the run."""
    others = sh(["docker", "ps", "--format", "{{.Names}}"], check=False).stdout.split()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "mem_gib": _mem_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible_core": _ansible_core(),
        "open_files_hard_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "nginx": container.exec("nginx -v 2>&1", check=False).stdout.strip().replace("nginx version: ", ""),
        "os_in_container": container.exec(". /etc/os-release && echo $PRETTY_NAME", check=False).stdout.strip(),
        "loadavg_start": os.getloadavg(),
        "other_containers": [n for n in others if n != container.name],
        "role_defaults": dict(defaults),
        "role_in_effect": in_effect(container),
    }


def in_effect(container: Container) -> dict:
    """What the role's nginx runs with: the defaults of 0 are sized on the host, so read them from its nginx.conf."""
    conf = container.exec("nginx -T 2>/dev/null", check=False).stdout
    out = {}
    for name in ("worker_connections", "worker_rlimit_nofile"):
        m = re.search(r"(?m)^\s*%s\s+(\d+);" % name, conf)
        out[name] = int(m.group(1)) if m else None
    out["reuseport"] = bool(re.search(r"(?m)^\s*listen\s[^;]*\breuseport\b", conf))
    return out
