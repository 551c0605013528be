"""Run the role against a molecule scenario's hosts from inside a verify test.

Scenario tests use this to apply a changed inventory (a bad one, a check-mode
one) to the live test host and then look at what happened.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass


@dataclass
class PlaybookRun:
    rc: int
    output: str


def run_role(limit: str, extra_vars: dict, *, check: bool = False, diff: bool = False, timeout: int = 600) -> PlaybookRun:
    """Apply realtime.nginx.realtime_proxy to LIMIT with EXTRA_VARS layered over its inventory."""
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra_vars, handle)
        vars_file = handle.name
    command = [
        "ansible-playbook", "-i", inventory, "--limit", limit, "-e", "@" + vars_file,
        os.path.join(project, "molecule", "resources", "converge.yml"),
    ]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    # Plain text whatever molecule asked for: the tests match the output line by line.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    finally:
        os.unlink(vars_file)
    return PlaybookRun(done.returncode, done.stdout + done.stderr)


def task_status(output: str, task: str) -> str | None:
    """What the role's task whose name starts with TASK reported first in a
    play's OUTPUT (ok, changed, skipping, fatal), or None if it never ran."""
    match = re.search(r"^TASK \[realtime\.nginx\.realtime_proxy : %s[^\]]*\] \**\n(\w+):" % re.escape(task),
                      output, re.MULTILINE)
    return match.group(1) if match else None


def config_checksums(host, conf_dir: str = "/etc/nginx") -> dict:
    """sha256 of every file and link target under CONF_DIR on a testinfra host."""
    listing = host.check_output(
        "find %s \\( -type f -o -type l \\) -printf '%%p\\t%%l\\n' | sort" % conf_dir)
    sums = {}
    for line in listing.splitlines():
        path, unused, target = line.partition("\t")
        sums[path] = "link:" + target if target else host.check_output("sha256sum %s" % path).split()[0]
    return sums
