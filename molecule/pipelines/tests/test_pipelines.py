"""How infra-as-code pipelines run the role, on a host that starts fresh.

The tests run in file order and build on each other: check mode on the
fresh host, the real converge, then single tags, a play without facts, a
-vvv run with key material, a controller killed between writing and
reloading, an nginx killed outright, and an open-files limit raised on a
running nginx.
"""

import asyncio
import time

import pytest
import yaml

from realtime_testkit.fixtures import base, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import (host_python, http_get, log_offset, log_since, nginx_open_files, nginx_processes,
                                    port_accepts, wait_for_port)
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.render import REPO_ROOT, self_signed_certificate
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo

WRITE_TASK = "Test the proposed configuration with nginx -t, then write it"
READ_TASK = "Check the inventory, read this host's nginx"
RESTART_TASK = "Restart nginx so that its workers get"
LATER_PORT = 18712
TLS_PORT = 18713


def role_tags():
    """Every tag the role's tasks carry, read from tasks/main.yml."""
    tasks = yaml.safe_load((REPO_ROOT / "roles" / "realtime_proxy" / "tasks" / "main.yml").read_text())
    return sorted({tag for task in tasks for tag in task.get("tags", [])})


def test_check_mode_on_a_fresh_host_reports_and_changes_nothing(host, name):
    assert not host.package("python3-apt").is_installed, "the scenario needs a host without python3-apt"
    run = run_role(name, {}, check=True, diff=True)
    assert run.rc == 0, run.messages[-4000:]
    assert run.stats[name]["changed"] > 0
    assert run.status("Report the packages a real run would install") == "changed"
    assert run.status(WRITE_TASK) == "changed"
    # The rendered files, shown as a diff against nothing.
    assert "after: /etc/nginx/nginx.conf" in run.messages
    assert "+worker_shutdown_timeout 30s;" in run.messages
    assert "+        proxy_buffering off;" in run.messages
    assert not host.package("nginx").is_installed
    assert not host.file("/etc/nginx").exists
    assert not host.file("/var/lib/realtime_nginx").exists


def test_the_real_run_then_converges_and_streams(host, name, base):
    run = run_role(name, {})
    assert run.rc == 0, run.messages[-4000:]
    assert host.service("nginx").is_running
    again = run_role(name, {})
    assert again.rc == 0 and again.stats[name]["changed"] == 0, again.messages[-4000:]
    result = asyncio.run(read_sse("http://%s/sse/stream?count=5&interval=0.2" % base, count=5, timeout=10))
    assert_streamed(result, expected=5)
    assert asyncio.run(ws_echo("ws://%s/ws/echo" % base, ["hello"])).echoes == ["hello"]


def test_role_tags_are_documented():
    tags = role_tags()
    assert tags == ["realtime_proxy", "realtime_proxy_check", "realtime_proxy_configure", "realtime_proxy_install",
                    "realtime_proxy_metrics", "realtime_proxy_verify"]
    readme = (REPO_ROOT / "README.md").read_text()
    for tag in tags:
        assert "`%s`" % tag in readme, "%s is not documented in the README" % tag


@pytest.mark.parametrize("tag", role_tags())
def test_each_tag_runs_alone_on_a_converged_host(name, tag):
    run = run_role(name, {}, tags=[tag])
    assert run.rc == 0, run.messages[-4000:]
    assert run.stats[name]["changed"] == 0, run.messages[-4000:]


def test_a_play_without_facts_runs(name):
    run = run_role(name, {}, gather_facts=False)
    assert run.rc == 0, run.messages[-4000:]
    assert run.stats[name]["changed"] == 0, run.messages[-4000:]


def test_key_material_is_never_printed_at_vvv(host, name, variables):
    material = self_signed_certificate()
    if material is None:
        pytest.skip("needs openssl on the controller")
    secret_lines = [line for line in material["key_pem"].splitlines() if line and not line.startswith("-----")]
    sites = variables["realtime_proxy_sites"] + [{
        "name": "secure", "tls": {"listen": ["127.0.0.1:%d" % TLS_PORT], "certificate_content": material["cert_pem"],
                                  "certificate_key_content": material["key_pem"]},
        "locations": [{"path": "/", "type": "http", "upstream": "app"}]}]
    for check, diff in ((True, True), (False, True)):
        run = run_role(name, {"realtime_proxy_sites": sites}, check=check, diff=diff, verbosity=3, callback="default")
        assert run.rc == 0, run.output[-4000:]
        for line in secret_lines:
            assert line not in run.output, "a line of the private key was printed (check=%s)" % check
    key = host.file("/etc/nginx/realtime_proxy/tls/secure.key")
    assert key.mode == 0o600
    assert key.content_string.strip() == material["key_pem"].strip()
    assert http_get("https://127.0.0.1:%d/api/info" % TLS_PORT, insecure=True).status == 200
    assert host.file("/var/lib/realtime_nginx").mode == 0o700


def later_site(variables):
    return variables["realtime_proxy_sites"] + [{
        "name": "later", "listen": ["127.0.0.1:%d" % LATER_PORT],
        "locations": [{"path": "/", "type": "http", "upstream": "app"}]}]


def test_a_run_killed_before_its_reload_is_completed_by_the_next(host, name, variables):
    sites = later_site(variables)
    killed = run_role(name, {"realtime_proxy_sites": sites}, kill_after_changed=WRITE_TASK)
    assert killed.rc == -9, "the controller was not killed after the write: %s" % killed.output[-2000:]
    # New files on disk, old configuration served: the state the next run must repair.
    assert host.file("/etc/nginx/realtime_proxy/sites/later.conf").exists
    assert not port_accepts(LATER_PORT)
    before = config_checksums(host)

    run = run_role(name, {"realtime_proxy_sites": sites})
    assert run.rc == 0, run.messages[-4000:]
    assert run.status(WRITE_TASK) == "changed"
    assert run.result(WRITE_TASK)["awaiting_activation"] is True
    assert run.result(WRITE_TASK)["changed_files"] == []
    assert config_checksums(host) == before
    assert wait_for_port(LATER_PORT, timeout=10)
    assert http_get("http://127.0.0.1:%d/api/info" % LATER_PORT).status == 200

    again = run_role(name, {"realtime_proxy_sites": sites})
    assert again.rc == 0 and again.stats[name]["changed"] == 0, again.messages[-4000:]


def test_nginx_killed_outright_serves_again_within_30_s(host, base):
    assert host.file("/etc/systemd/system/nginx.service.d/realtime_proxy.conf").contains("Restart=on-failure")
    master, workers = nginx_processes(host)
    # The master and its workers at once, as the OOM killer or `kill -9` would.
    host_python(host, "import os, sys\nfor pid in sys.argv[1:]:\n    os.kill(int(pid), 9)\n", master, *workers)
    killed_at = time.monotonic()
    deadline = killed_at + 30
    answer = None
    while time.monotonic() < deadline:
        answer = http_get("http://%s/api/info" % base, timeout=2)
        if answer.status == 200:
            break
        time.sleep(0.5)
    assert answer is not None and answer.status == 200, "nginx did not serve again within 30 s: %r" % answer
    assert nginx_processes(host)[0] != master
    print("nginx served again %.1f s after SIGKILL" % (time.monotonic() - killed_at))


def warnings_of(result):
    """The warning texts of one task result (ansible-core 2.19 sends structured events)."""
    return [w["event"]["msg"] if isinstance(w, dict) and "event" in w else str(w) for w in result.get("warnings") or []]


def test_a_raised_open_files_limit_is_warned_about_until_an_opted_in_restart(host, name, base):
    # nginx started with the drop-in's LimitNOFILE=4096 (the inventory's realtime_proxy_worker_rlimit_nofile).
    # The test hosts lack CAP_SYS_RESOURCE, as most containers do: no worker can raise its limit past 4096.
    assert host.run("systemctl restart nginx").rc == 0
    assert wait_for_port(18710, timeout=20)
    master = nginx_processes(host)[0]
    assert nginx_open_files(host)["master"] == (4096, 4096)

    # Raised: the role writes worker_rlimit_nofile 8192 and LimitNOFILE=8192 and reloads. The new workers
    # cannot get 8192 and keep 4096, and the run says so, naming the variable, without restarting nginx.
    offset = log_offset(host)
    raised = {"realtime_proxy_worker_rlimit_nofile": 8192}
    run = run_role(name, raised)
    assert run.rc == 0, run.messages[-4000:]
    warnings = warnings_of(run.result(READ_TASK))
    assert len(warnings) == 1 and warnings[0].startswith(
        "realtime_proxy_worker_rlimit_nofile: nginx's workers need 8192 open files, but the running master (PID %d) "
        "may give them at most 4096" % master), warnings
    assert run.status(RESTART_TASK) == "skipped"
    assert host.file("/etc/systemd/system/nginx.service.d/realtime_proxy.conf").contains("^LimitNOFILE=8192$")
    assert nginx_processes(host)[0] == master
    limits = nginx_open_files(host)
    assert limits["master"] == (4096, 4096) and limits["workers"] and set(limits["workers"]) == {(4096, 4096)}, limits
    assert "setrlimit(RLIMIT_NOFILE, 8192) failed (1: Operation not permitted)" in log_since(host, offset)

    # Opted in: one restart, after which master and workers have 8192; streams work.
    run = run_role(name, dict(raised, realtime_proxy_restart_for_open_files=True))
    assert run.rc == 0, run.messages[-4000:]
    assert run.status(RESTART_TASK) == "changed", run.messages[-4000:]
    assert wait_for_port(18710, timeout=20)
    restarted = nginx_processes(host)[0]
    assert restarted != master
    limits = nginx_open_files(host)
    assert limits["master"] == (8192, 8192) and set(limits["workers"]) == {(8192, 8192)}, limits
    result = asyncio.run(read_sse("http://%s/sse/stream?count=3&interval=0.2" % base, count=3, timeout=10))
    assert_streamed(result, expected=3)

    # Nothing left to warn about or restart for: no change, the same master.
    again = run_role(name, dict(raised, realtime_proxy_restart_for_open_files=True))
    assert again.rc == 0 and again.stats[name]["changed"] == 0, again.messages[-4000:]
    # Nothing for tasks/service.yml to do: it is not even included.
    assert warnings_of(again.result(READ_TASK)) == [] and again.status(RESTART_TASK) in (None, "skipped")
    assert nginx_processes(host)[0] == restarted
