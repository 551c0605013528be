# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_info run as Ansible runs a module: a process of its own, arguments in a file, JSON out.

It reads this machine's real nginx binary (REALTIME_NGINX_BINARY) and /proc.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

MODULE = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules" / "nginx_info.py"
NGINX = os.environ.get("REALTIME_NGINX_BINARY", "/usr/sbin/nginx")


def run_module(tmp_path, **args) -> dict:
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True)}))
    done = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
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
