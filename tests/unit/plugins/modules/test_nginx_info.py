# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_info run as Ansible runs a module: a process of its own, arguments in a file, JSON out.

It reads this machine's real nginx binary (REALTIME_NGINX_BINARY) and /proc.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.realtime.nginx.plugins.module_utils import _open_files

MODULE = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules" / "nginx_info.py"
NGINX = os.environ.get("REALTIME_NGINX_BINARY", "/usr/sbin/nginx")


def run_module(tmp_path, **args) -> dict:
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True)}))
    # The collection's module_utils, which Ansible would send along with the module: the folder that holds
    # ansible_collections/realtime/nginx, wherever this test run imports the collection from.
    collections_root = pathlib.Path(_open_files.__file__).parents[5]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(collections_root)] + sys.path))
    done = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True, text=True, timeout=60,
                          check=False, env=env)
    assert done.stdout.lstrip().startswith("{"), done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="needs the nginx binary at %s" % NGINX)
def test_an_installed_nginx_is_described_with_the_hosts_open_files(tmp_path):
    out = run_module(tmp_path, nginx=NGINX)
    assert out["installed"] is True and out["changed"] is False, out
    assert out["binary"] == NGINX
    assert out["build"].startswith("nginx version: nginx/"), out["build"][:200]
    assert "configure arguments:" in out["build"]
    assert "Max open files" in out["limits"]
    assert int(out["nr_open"]) >= 1024


@pytest.mark.parametrize("name", ["/nonexistent/sbin/nginx", "realtime-nginx-no-such-binary"])
def test_a_missing_nginx_is_reported_not_failed(tmp_path, name):
    out = run_module(tmp_path, nginx=name)
    assert out.get("failed") is not True, out
    assert (out["installed"], out["binary"], out["build"]) == (False, "", "")
    assert "Max open files" in out["limits"]


def test_a_directory_is_not_an_nginx(tmp_path):
    out = run_module(tmp_path, nginx=str(tmp_path))
    assert out["installed"] is False, out


MASTER_CONF = """%(user)sworker_processes 1;
worker_rlimit_nofile %(rlimit)d;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log;
daemon off;
events { worker_connections 64; }
http {
    access_log off;
%(temp_paths)s    server { listen unix:%(tmp)s/nginx.sock; }
}
"""


@pytest.fixture
def nginx_master(tmp_path, private_temp_paths):
    """nginx_master(hard, rlimit): a real nginx master started with a hard open-files limit of HARD and its workers
    asked for RLIMIT (worker_rlimit_nofile), without CAP_SYS_RESOURCE (setpriv drops it from the bounding set, as
    a container does); returns its PID file once its worker runs."""
    started = []

    def start(hard, rlimit):
        conf = tmp_path / "nginx.conf"
        conf.write_text(MASTER_CONF % {"tmp": tmp_path, "rlimit": rlimit, "temp_paths": private_temp_paths(str(tmp_path)),
                                       "user": "user nobody nogroup;\n" if os.geteuid() == 0 else ""})
        proc = subprocess.Popen(["setpriv", "--bounding-set", "-sys_resource", NGINX, "-p", str(tmp_path), "-c", str(conf)],
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        deadline = time.monotonic() + 20
        while not (tmp_path / "nginx.sock").exists() or "worker process" not in _children_titles(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "error.log").read_text()
            time.sleep(0.05)
        return str(tmp_path / "nginx.pid")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=20)


def _children_titles(pid):
    titles = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                titles.append((entry / "cmdline").read_bytes().decode(errors="replace"))
        except OSError:
            continue
    return " ".join(titles)


needs_setpriv = pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")


@needs_setpriv
@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="needs the nginx binary at %s" % NGINX)
def test_a_master_that_cannot_give_its_workers_their_limit_is_warned_about_in_check_mode(tmp_path, nginx_master):
    pid_file = nginx_master(hard=2048, rlimit=4096)
    out = run_module(tmp_path, nginx=NGINX, pid_file=pid_file, worker_rlimit_nofile=4096, worker_connections=1024)
    master = out["open_files"]["master"]
    assert master == {"pid": int(pathlib.Path(pid_file).read_text()), "soft": 1024, "hard": 2048, "can_raise": False}, out
    assert out["open_files"]["rlimit"] == 4096
    shortfall = out["open_files"]["shortfall"]
    assert shortfall.startswith("realtime_proxy_worker_rlimit_nofile: nginx's workers need 4096 open files, but the "
                                "running master (PID %d) may give them at most 2048" % master["pid"]), shortfall
    # ansible-core 2.19 sends each warning as a structured event with its message.
    warnings = [warning["event"]["msg"] if isinstance(warning, dict) else warning for warning in out["warnings"]]
    assert warnings == [shortfall], out["warnings"]
    # What it warns about: nginx's worker could not raise its limit and kept the master's 1024.
    assert "setrlimit(RLIMIT_NOFILE, 4096) failed (1: Operation not permitted)" in (tmp_path / "error.log").read_text()


@needs_setpriv
@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="needs the nginx binary at %s" % NGINX)
def test_a_master_whose_hard_limit_suffices_is_not_warned_about(tmp_path, nginx_master):
    pid_file = nginx_master(hard=4096, rlimit=4096)
    out = run_module(tmp_path, nginx=NGINX, pid_file=pid_file, worker_rlimit_nofile=4096)
    assert out["open_files"]["master"]["hard"] == 4096
    assert out["open_files"]["shortfall"] == "" and "warnings" not in out, out
    assert "setrlimit" not in (tmp_path / "error.log").read_text()


def test_no_running_master_is_none(tmp_path):
    (tmp_path / "stale.pid").write_text("%d\n" % os.getpid())  # a live process, but no nginx master
    for pid_file in (str(tmp_path / "stale.pid"), str(tmp_path / "missing.pid")):
        out = run_module(tmp_path, nginx=NGINX, pid_file=pid_file, worker_rlimit_nofile=1 << 30)
        assert out["open_files"]["master"] is None and out["open_files"]["shortfall"] == "", out
        assert out["open_files"]["errors"], out  # more than the host allows: refused, not warned about


def test_the_workers_are_sized_from_the_host(tmp_path):
    out = run_module(tmp_path, nginx=NGINX)
    plan = out["open_files"]
    assert plan["host_limit"] >= 1024 and plan["rlimit"] == min(plan["host_limit"], 65536), plan
    assert plan["connections"] == plan["rlimit"] - max(256, plan["rlimit"] // 20) and plan["errors"] == []
    assert out["page_size"] == os.sysconf("SC_PAGE_SIZE")


def test_what_the_role_left_on_the_host_is_read_back(tmp_path):
    unit = tmp_path / "nginx.service.d"
    unit.mkdir(mode=0o755)
    unit.chmod(0o755)
    dropin = unit / "realtime_proxy.conf"
    dropin.write_text("[Service]\nLimitNOFILE=20000\n")
    dropin.chmod(0o644)
    key = tmp_path / "privkey.pem"
    key.write_text("secret")
    out = run_module(tmp_path, nginx="/nonexistent/nginx",
                     files=[str(unit), str(dropin), str(tmp_path / "metrics.json")],
                     exists=[str(key), str(tmp_path / "fullchain.pem")])
    assert out["files"] == {str(unit): {"mode": "0755"},
                            str(dropin): {"mode": "0644", "content": "[Service]\nLimitNOFILE=20000\n"},
                            str(tmp_path / "metrics.json"): None}
    # A path asked for by existence only is never read.
    assert out["exists"] == {str(key): True, str(tmp_path / "fullchain.pem"): False}
    assert "secret" not in json.dumps(out)


def test_installed_packages_come_from_the_package_managers_answer(tmp_path):
    # A stand-in for dpkg-query --show --showformat='${Package} ${db:Status-Status}\n': rc 1 for a package it
    # has never heard of, whose line it leaves out.
    query = tmp_path / "query"
    query.write_text("#!/bin/sh\necho 'nginx installed'\necho 'certbot config-files'\necho 'no-such-package' >&2\n"
                     "exit 1\n")
    query.chmod(0o755)
    out = run_module(tmp_path, nginx="/nonexistent/nginx", packages=["nginx", "certbot", "no-such-package"],
                     package_status=[str(query)])
    assert out["installed_packages"] == ["nginx"], out


def test_a_package_manager_that_fails_fails_the_read(tmp_path):
    query = tmp_path / "query"
    query.write_text("#!/bin/sh\necho 'database locked' >&2\nexit 2\n")
    query.chmod(0o755)
    out = run_module(tmp_path, nginx="/nonexistent/nginx", packages=["nginx"], package_status=[str(query)])
    assert out.get("failed") is True and "database locked" in out["msg"], out


def test_a_service_is_described_as_systemctl_prints_it(tmp_path):
    # A stand-in systemctl first on PATH: is-active and is-enabled print the unit's state, exit 3 and 1 when not.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text('#!/bin/sh\ncase "$1" in is-active) echo active;; is-enabled) echo disabled; '
                                       'exit 1;; esac\n')
    (bin_dir / "systemctl").chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = "%s:%s" % (bin_dir, path)
    try:
        out = run_module(tmp_path, nginx="/nonexistent/nginx", service="nginx")
        unasked = run_module(tmp_path, nginx="/nonexistent/nginx")
    finally:
        os.environ["PATH"] = path
    assert out["service"] == {"active": "active", "enabled": "disabled"}, out
    assert unasked["service"] == {}
