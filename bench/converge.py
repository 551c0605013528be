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
import subprocess
import tempfile
import time
from typing import Optional

from .container import REPO, Container
from .rig import log

CONVERGE = REPO / "molecule" / "resources" / "converge.yml"
_RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
# profile_tasks lines: "realtime.nginx.realtime_proxy : Install nginx ---- 12.34s"
_TASK = re.compile(r"^(.*\S)\s+-{3,}\s+(\d+\.\d+)s\s*$")


def parse_output(out: str) -> dict:
    """The play recap and the slowest tasks (profile_tasks) of ansible-playbook's output."""
    recap = {}
    m = _RECAP.search(out)
    if m:
        recap = dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, m.groups())))
    tasks = []
    for line in out.splitlines():
        t = _TASK.match(line)
        if t:
            tasks.append({"task": t.group(1).strip(), "seconds": float(t.group(2))})
    return {"recap": recap, "slowest_tasks": tasks[:8]}


def apply_role(container: Container, variables: dict, *, timeout: float = 900) -> dict:
    """Apply the role to CONTAINER with VARIABLES; return wall time, recap and the slowest tasks."""
    with tempfile.TemporaryDirectory(prefix="realtime-bench-") as tmp:
        inventory = pathlib.Path(tmp, "inventory.yml")
        inventory.write_text(json.dumps({"all": {"hosts": {container.name: {
            "ansible_connection": "community.docker.docker",
            "ansible_host": container.name,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}))
        extra = pathlib.Path(tmp, "vars.json")
        extra.write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                   PROFILE_TASKS_TASK_OUTPUT_LIMIT="8", PROFILE_TASKS_SORT_ORDER="descending",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
        # Pipelining, as most users run over SSH: without it every task also
        # copies its module into the container with a separate `docker cp`.
        env.setdefault("ANSIBLE_PIPELINING", "True")
        started = time.monotonic()
        done = subprocess.run(["ansible-playbook", "-i", str(inventory), "-e", "@%s" % extra,
                               str(CONVERGE)], capture_output=True, text=True, env=env,
                              timeout=timeout, check=False, cwd=str(REPO))
        wall = time.monotonic() - started
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError("ansible-playbook failed (rc %d):\n%s" % (done.returncode, out[-4000:]))
    return dict(wall_s=round(wall, 2), **parse_output(out))


def measure(container: Container, variables: dict, *, noop: bool = True) -> dict:
    """First converge (installs nginx), then, unless NOOP is false, a no-op re-run."""
    log("first converge (installs nginx)")
    first = apply_role(container, variables)
    log("first converge: %.1f s; no-op re-run" % first["wall_s"])
    again: Optional[dict] = apply_role(container, variables) if noop else None
    if again is not None:
        log("no-op re-run: %.1f s, changed=%s" % (again["wall_s"], again["recap"].get("changed")))
    return {"first": first, "noop": again, "pipelining": os.environ.get("ANSIBLE_PIPELINING", "True")}
