"""SSE over HTTP/3 where the installed nginx has QUIC (Debian 13), and a
refusal by name where it has not (Debian 12), before the host is touched."""

import json
import os
import ssl
import subprocess

import httpx

import pytest
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.sse import SseEvent, SseResult, assert_streamed

INTERVAL = 0.2  # the backend's default gap between events (backend.py, /sse/)
COUNT = 8
# The role's first task on the host refuses what its nginx cannot serve.
PLAN_TASK = "Check the inventory, read this host's nginx and refuse settings it cannot serve"


def test_sse_events_arrive_over_quic_one_interval_apart(host, variables, clients_python, tls_port, cafile):
    if not variables["realtime_test_http3"]:
        pytest.skip("HTTP/3 is on for the Debian 13 host only")
    tests_dir = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests")
    done = subprocess.run([clients_python, "-m", "realtime_testkit.h3", "--port", str(tls_port),
                           "--path", "/sse/?count=%d" % COUNT, "--count", str(COUNT), "--cafile", cafile],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=tests_dir))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    result = SseResult(status=answer["status"], headers=answer["headers"],
                       events=[SseEvent(**event) for event in answer["events"]], timed_out=answer["timed_out"])
    assert_streamed(result, expected=COUNT)
    arrivals = [event.arrival for event in result.events]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert all(abs(gap - INTERVAL) <= 0.1 for gap in gaps), gaps


def test_tcp_responses_advertise_http3(variables, tls_port, cafile):
    # trust_env=False: no proxy between the test and nginx. Over HTTP/2 on TCP, as a browser first connects.
    with httpx.Client(verify=_context(cafile), http2=True, trust_env=False, timeout=10) as client:
        for path in ("/", "/sse/?count=1"):
            answer = client.get("https://127.0.0.1:%d%s" % (tls_port, path))
            assert answer.status_code == 200 and answer.http_version == "HTTP/2", (path, answer)
            if variables["realtime_test_http3"]:
                assert answer.headers.get("alt-svc") == 'h3=":%d"; ma=86400' % tls_port, path
            else:
                assert "alt-svc" not in answer.headers, path


def _context(cafile):
    # The certificate names localhost; the test connects to 127.0.0.1.
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    return context


def test_http3_without_quic_is_refused_by_name_before_the_host_is_touched(host, name, variables):
    if variables["realtime_test_http3"]:
        pytest.skip("Debian 13's nginx has QUIC")
    before = config_checksums(host)
    result = run_role(name, {"realtime_test_http3": True})
    assert result.rc != 0
    assert result.status(PLAN_TASK) == "failed", result.messages
    message = "\n".join(result.result(PLAN_TASK)["msg"])
    assert "realtime_proxy_sites[0].tls.http3: " in message
    assert "nginx 1.22.1" in message and "http_v3" in message
    for task in ("Install the nginx package", "Test the proposed configuration"):
        assert result.status(task) is None, task
    assert config_checksums(host) == before
