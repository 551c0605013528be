"""The role's proxy streams when the controller runs the oldest ansible-core.

converge and idempotence ran with the controller's ansible-core; these
tests check what the role left behind with the shared test kit's clients,
and run the collection's audit playbook (its action plugin runs on the
controller). The version matrix (noxfile.py) sets
REALTIME_NGINX_EXPECT_ANSIBLE_CORE, so a venv mix-up that ran a newer
ansible-core fails here instead of passing unnoticed.
"""

import asyncio
import os
import subprocess
import urllib.request

import ansible.release
import pytest

from realtime_testkit.fixtures import base, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo


def test_controller_runs_the_expected_ansible_core():
    expected = os.environ.get("REALTIME_NGINX_EXPECT_ANSIBLE_CORE")
    if not expected:
        pytest.skip("REALTIME_NGINX_EXPECT_ANSIBLE_CORE is not set (only the version matrix sets it)")
    assert ansible.release.__version__.startswith(expected + "."), ansible.release.__version__
    done = subprocess.run(["ansible-playbook", "--version"], capture_output=True, text=True, check=True)
    assert "core %s." % expected in done.stdout.splitlines()[0], done.stdout


def test_nginx_config_is_valid_and_running(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    assert host.service("nginx").is_running


def test_sse_and_websocket_pass_through(base):
    sse = asyncio.run(read_sse("http://%s/sse/stream?count=10&interval=0.2" % base, count=10, timeout=10))
    # gzip covers text/event-stream at http level here: the sse location turns it off.
    assert (sse.status, sse.headers.get("content-encoding")) == (200, None), sse.headers
    assert_streamed(sse, expected=10)
    ws = asyncio.run(ws_echo("ws://%s/ws/echo" % base, ["hello", b"\x00\x01binary\xff"]))
    assert (ws.status, ws.echoes) == (101, ["hello", b"\x00\x01binary\xff"])


def test_http_location_answers(base):
    with urllib.request.urlopen("http://%s/api/info" % base, timeout=5) as response:
        assert response.status == 200


def test_audit_playbook_finds_nothing(host):
    """realtime.nginx.audit: the action plugin and crossplane on this controller."""
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "realtime.nginx.audit",
               "-e", "realtime_audit_fail_on=low", "-e", "realtime_audit_become=false"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    name = host.backend.get_hostname()
    assert "nginx realtime audit of %s: 0 high, 0 medium, 0 low (" % name in output, output[-3000:]
