"""Measurement 5: the role's run time, first converge and no-op re-run.

The role is applied with ``ansible-playbook molecule/resources/converge.yml``
over the ``community.docker.docker`` connection (from the ``ansible`` package
in the venv), timed as a whole and per task with ``ansible.posix.profile_tasks``.
Nothing here needs molecule. The first converge is also what installs nginx
for every other measurement.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import resource
import subprocess
import tempfile
import time
from typing import List, Optional

from .container import REPO, Container
from .rig import log

CONVERGE = REPO / "molecule" / "resources" / "converge.yml"
_RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
# profile_tasks lines: "realtime.nginx.realtime_proxy : Install nginx ---- 12.34s"
_TASK = re.compile(r"^(.*\S)\s+-{3,}\s+(\d+\.\d+)s\s*$")


def parse_output(out: str) -> dict:
    """The play recap and the slowest tasks (profile_tasks) of ansible-playbook's output."""
    recap: dict = {}
    for m in _RECAP.finditer(out):  # one line per host: the sum
        for key, value in zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, m.groups())):
            recap[key] = recap.get(key, 0) + value
    tasks = []
    for line in out.splitlines():
        t = _TASK.match(line)
        if t:
            tasks.append({"task": t.group(1).strip(), "seconds": float(t.group(2))})
    return {"recap": recap, "slowest_tasks": tasks[:8]}


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's ended children: ansible-playbook and its workers."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def apply_role(hosts, variables: dict, *, host_vars: Optional[dict] = None, forks: int = 8,
               timeout: float = 900) -> dict:
    """Apply the role to HOSTS (a container or a list) with VARIABLES; return wall time, recap, slowest tasks.

    HOST_VARS maps a container name to variables of that host only (the
    inventory's host vars); VARIABLES are extra vars, the same for every host.
    The recap is the sum over the hosts.
    """
    containers: List[Container] = [hosts] if isinstance(hosts, Container) else list(hosts)
    with tempfile.TemporaryDirectory(prefix="realtime-bench-") as tmp:
        inventory = pathlib.Path(tmp, "inventory.yml")
        inventory.write_text(json.dumps({"all": {"hosts": {c.name: dict(
            (host_vars or {}).get(c.name, {}),
            ansible_connection="community.docker.docker", ansible_host=c.name,
            ansible_python_interpreter="/usr/bin/python3") for c in containers}}}))
        extra = pathlib.Path(tmp, "vars.json")
        extra.write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                   PROFILE_TASKS_TASK_OUTPUT_LIMIT="8", PROFILE_TASKS_SORT_ORDER="descending",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS=str(max(forks, len(containers))),
                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
        # Pipelining, as most users run over SSH: without it every task also
        # copies its module into the container with a separate `docker cp`.
        env.setdefault("ANSIBLE_PIPELINING", "True")
        started, cpu = time.monotonic(), _children_cpu_s()
        done = subprocess.run(["ansible-playbook", "-i", str(inventory), "-e", "@%s" % extra,
                               str(CONVERGE)], capture_output=True, text=True, env=env,
                              timeout=timeout, check=False, cwd=str(REPO))
        wall, cpu = time.monotonic() - started, _children_cpu_s() - cpu
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError("ansible-playbook failed (rc %d):\n%s" % (done.returncode, out[-4000:]))
    return dict(wall_s=round(wall, 2), controller_cpu_s=round(cpu, 2), **parse_output(out))


def measure(container: Container, variables: dict, *, noop: bool = True) -> dict:
    """First converge (installs nginx), then, unless NOOP is false, a no-op re-run."""
    log("first converge (installs nginx)")
    first = apply_role(container, variables)
    log("first converge: %.1f s; no-op re-run" % first["wall_s"])
    again: Optional[dict] = apply_role(container, variables) if noop else None
    if again is not None:
        log("no-op re-run: %.1f s, changed=%s" % (again["wall_s"], again["recap"].get("changed")))
    return {"first": first, "noop": again, "pipelining": os.environ.get("ANSIBLE_PIPELINING", "True")}
