"""realtime.nginx.rolling_update becomes root only where Ansible does not connect as root.

The real playbook runs against this machine with the local connection and
its inventory checks only (``--tags realtime_proxy_check``: facts, the
argument spec, ``nginx_info``; nothing is written). Become goes through a
stand-in for sudo that records each command it is asked to run and runs it
as it is, so the test sees exactly which tasks became root.
``ANSIBLE_BECOME_ALLOW_SAME_USER`` makes Ansible use become even when it
knows that the connection user is already root, as it does whenever it
cannot know the user (the docker connection, an ssh ``User`` from
~/.ssh/config): that is the case the default must handle.

The tests run as root, so ``id -u`` on the host answers 0 for real. A host
where Ansible connects as another user is given by its answer
(``realtime_rollout__connected_uid``, the registered result of that task,
set as an extra var, which wins over a registered one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from realtime_testkit.collection import ensure_importable
from realtime_testkit.playbook import parse_play

COLLECTIONS = ensure_importable()
BIN = os.path.dirname(sys.executable)
STAND_IN = """#!/bin/sh
# sudo -H -S -n -u root /bin/sh -c 'COMMAND': record it, then run COMMAND as the current user.
echo "$*" >> "%s"
while [ $# -gt 0 ] && [ "$1" != "-c" ]; do shift; done
exec /bin/sh "$@"
"""
NOT_ROOT = {"realtime_rollout__connected_uid": {"stdout": "1000", "rc": 0}}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the root case needs the tests to run as root"),
    pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "ansible-playbook")),
                       reason="needs ansible-playbook next to %s" % sys.executable),
]


def rollout(tmp_path, extra_vars):
    """(become commands recorded, play stats of localhost, the json report) of one --check rollout."""
    log = tmp_path / "become.log"
    stand_in = tmp_path / "sudo"
    stand_in.write_text(STAND_IN % log)
    stand_in.chmod(0o755)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[proxies]\nlocalhost ansible_connection=local ansible_python_interpreter=%s "
                         "ansible_become_exe=%s\n" % (sys.executable, stand_in))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_BECOME_ALLOW_SAME_USER="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "remote"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    command = [os.path.join(BIN, "ansible-playbook"), "realtime.nginx.rolling_update", "-i", str(inventory),
               "--tags", "realtime_proxy_check", "--check", "-e", json.dumps(extra_vars)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    report = parse_play(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    calls = log.read_text().splitlines() if log.exists() else []
    return calls, report["stats"]["localhost"], report


def task_results(report):
    return {task["task"]["name"].rpartition(" : ")[2]: task["hosts"]["localhost"]
            for play in report["plays"] for task in play["tasks"]}


def test_connected_as_root_no_become_is_used(tmp_path):
    calls, stats, report = rollout(tmp_path, {})
    assert calls == []
    results = task_results(report)
    assert results["Learn whether Ansible connects as root, unless realtime_rollout_become is set"]["stdout"] == "0"
    # The role's own modules ran on the host, without become.
    assert "installed" in results["Check the inventory, read this host's nginx and refuse settings it cannot serve"]["host"]
    assert stats["failures"] == 0


def test_connected_as_another_user_the_role_becomes_root(tmp_path):
    calls, unused, report = rollout(tmp_path, NOT_ROOT)
    # Facts and nginx_info: every module of the role on the host went through become.
    assert len(calls) >= 2 and all(" -u root " in call for call in calls), calls
    assert "Learn whether Ansible connects as root, unless realtime_rollout_become is set" in task_results(report)


@pytest.mark.parametrize("extra_vars, expect_become", [
    (dict(NOT_ROOT, realtime_rollout_become=False), False),
    ({"realtime_rollout_become": "false"}, False),
    ({"realtime_rollout_become": True}, True),
], ids=["not-root-but-false", "root-string-false", "root-but-true"])
def test_an_explicit_realtime_rollout_become_wins(tmp_path, extra_vars, expect_become):
    calls, unused, report = rollout(tmp_path, extra_vars)
    assert bool(calls) is expect_become, calls
    learned = task_results(report)["Learn whether Ansible connects as root, unless realtime_rollout_become is set"]
    assert learned.get("skipped") is True, learned
