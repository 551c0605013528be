"""The role's first checks, run for real by ansible-playbook on this machine with other OS facts.

ansible_facts cannot be given with -e, but a fact that ``set_fact`` marks
``cacheable`` is a host fact: the role then reads ``ansible_facts['os_family']``
as if ``setup`` had gathered it (and skips its own ``setup``, which runs only
when no OS family is known). Each play runs in check mode, with only the
``realtime_proxy_check`` tag and with the role's nginx path pointed at a file
that does not exist, so nothing on this machine is read as nginx or changed.
Results come from the ansible.posix.json callback, not from the text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.playbook import PlaybookRun, parse_play, result_status

ROLE_TASK = "realtime.nginx.realtime_proxy : "
PLAN = "Check the inventory, read this host's nginx and refuse settings it cannot serve"


def run(tmp_path, facts, sites=(), **variables):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [
            {"name": "Pretend to be another OS", "ansible.builtin.set_fact": dict(facts, cacheable=True),
             "tags": ["always"]},
            {"name": "Apply the role", "ansible.builtin.include_role": {"name": "realtime.nginx.realtime_proxy"},
             "tags": ["always"]},
        ]}]))
    extra = {"ansible_python_interpreter": sys.executable, "realtime_proxy__binary": str(tmp_path / "no-nginx"),
             "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:9001"]}],
             "realtime_proxy_sites": list(sites), **variables}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", "--check", "--tags", "realtime_proxy_check",
                           "-e", "@" + str(tmp_path / "extra.json"), str(playbook)],
                          capture_output=True, text=True, timeout=300, check=False, env=env, cwd=str(tmp_path))
    report = parse_play(done.stdout)
    assert report, done.stdout + done.stderr
    return PlaybookRun(done.returncode, done.stdout + done.stderr, plays=report["plays"], stats=report["stats"],
                       stderr=done.stderr)


def role_tasks(result):
    """(task, status) of the role's own tasks that ran, in order (after ansible-core's argument spec check)."""
    return [(name[len(ROLE_TASK):], result_status(outcome)) for name, unused, outcome in result.tasks()
            if name.startswith(ROLE_TASK) and not name[len(ROLE_TASK):].startswith("Validating arguments")]


def tls_site(**tls):
    return {"name": "secure", "server_name": "_", "listen": [],
            "tls": dict({"listen": ["127.0.0.1:8443"], "certificate": "/etc/ssl/rtn/site.crt",
                         "certificate_key": "/etc/ssl/rtn/site.key"}, **tls),
            "locations": [{"path": "/sse/", "type": "sse", "upstream": "app"}]}


ROCKY = {"os_family": "RedHat", "distribution": "Rocky", "distribution_version": "9.4",
         "distribution_major_version": "9"}


def ubuntu(major):
    return {"os_family": "Debian", "distribution": "Ubuntu", "distribution_version": "%s.04" % major,
            "distribution_major_version": major}


def test_an_os_family_without_settings_is_refused_first(tmp_path):
    result = run(tmp_path, ROCKY, [tls_site()])
    assert result.rc != 0
    assert role_tasks(result) == [("Learn the OS family and release, when the play gathered no facts", "skipped"),
                                  ("Refuse an OS family the role has no settings for", "failed")]
    message = result.result("Refuse an OS family")["msg"]
    assert "this host's OS family is RedHat (Rocky 9.4)" in message
    assert "roles/realtime_proxy/vars/RedHat.yml" in message


@pytest.mark.parametrize("major, version", [("22", "1.18.0"), ("24", "1.24.0")])
def test_ubuntu_is_accepted_and_its_package_build_assumed(tmp_path, major, version):
    result = run(tmp_path, ubuntu(major), [tls_site()])
    assert result.rc == 0, result.messages
    assert result.status(PLAN) == "ok"
    said = result.result(PLAN)["msg"]
    assert "Ubuntu %s package's nginx %s" % (major, version) in said and "this check-mode run renders for it" in said
    # A check-mode run renders for that build: the run warns (ansible-core 2.19 sends a warning as an event).
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.result(PLAN).get("warnings", [])]
    assert warnings == [said], result.result(PLAN)


def test_http3_on_ubuntu_is_refused_by_name_before_the_host_is_touched(tmp_path):
    result = run(tmp_path, ubuntu("22"), [tls_site(http3=True)])
    assert result.rc != 0
    assert role_tasks(result)[-1] == (PLAN, "failed")
    message = "\n".join(result.result(PLAN)["msg"])
    assert "realtime_proxy_sites[0].tls.http3: " in message
    assert "nginx 1.18.0" in message and "http_v3" in message


def test_more_open_files_than_the_host_allows_is_refused_by_name(tmp_path):
    result = run(tmp_path, ubuntu("24"), [tls_site(http3=True)], realtime_proxy_worker_rlimit_nofile=500000)
    assert result.rc != 0
    assert role_tasks(result)[-1] == (PLAN, "failed")
    message = "\n".join(result.result(PLAN)["msg"])
    assert "realtime_proxy_worker_rlimit_nofile: 500000 is more open files than this host allows" in message
    # the other kind of refusal comes in the same message: Ubuntu 24.04's nginx 1.24 has no HTTP/3
    assert "need what this nginx lacks" in message and "realtime_proxy_sites[0].tls.http3: " in message
