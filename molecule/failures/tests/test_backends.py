"""Backend failures: a dead upstream answers fast, is logged, and recovers without a reload.

The /flaky/ location (connect timeout 2 s) proxies to 127.0.0.1:18209, whose
backend unit prepare.yml leaves stopped; /blackhole/ (connect timeout 2 s)
proxies to 127.0.0.1:18210, where a test may hold a listener that never
completes a handshake.
"""

import re

import pytest
from conftest import backend_of
from realtime_testkit.hosts import (full_backlog_port, http_get, log_offset, log_since, nginx_processes,
                                    port_accepts, wait_for_port)

CONNECT_TIMEOUT = 2  # the locations' connect_timeout in molecule.yml


@pytest.fixture
def flaky(host, variables):
    """The flaky backend's unit name; it is stopped before and after the test."""
    port = variables["realtime_test_flaky_port"]
    unit = "realtime-test-backend@%d" % port
    host.run("systemctl stop %s" % unit)
    assert not port_accepts(port), "something else listens on the flaky backend's port %d" % port
    try:
        yield unit, port
    finally:
        host.run("systemctl stop %s" % unit)


def test_dead_upstream_answers_502_within_connect_timeout_and_recovers_without_reload(host, base, flaky):
    unit, port = flaky
    processes = nginx_processes(host)
    offset = log_offset(host)

    answer = http_get("http://%s/flaky/info" % base, timeout=CONNECT_TIMEOUT + 10)
    assert answer.status == 502, (answer.status, answer.error, answer.body[:300])
    assert answer.elapsed < CONNECT_TIMEOUT + 2, "the 502 took %.1f s" % answer.elapsed
    log = log_since(host, offset)
    assert re.search(r"\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream.*"
                     r'upstream: "http://127\.0\.0\.1:%d/flaky/info"' % port, log), log
    # The other locations are not affected.
    assert backend_of(http_get("http://%s/api/info" % base, timeout=5)).endswith("-18201")

    assert host.run("systemctl start %s" % unit).rc == 0
    assert wait_for_port(port, timeout=20), "%s did not come up" % unit
    answer = http_get("http://%s/flaky/info" % base, timeout=5)
    assert backend_of(answer).endswith("-%d" % port)
    assert nginx_processes(host) == processes, "nginx was reloaded or restarted; recovery must not need that"


def test_unreachable_upstream_times_out_within_connect_timeout(host, base, variables):
    """A backend that never completes the handshake costs connect_timeout, not the client's patience."""
    port = variables["realtime_test_blackhole_port"]
    offset = log_offset(host)
    with full_backlog_port(port) as black_holed:
        assert black_holed, "could not make 127.0.0.1:%d drop connections" % port
        answer = http_get("http://%s/blackhole/info" % base, timeout=CONNECT_TIMEOUT + 10)
    # nginx answers a connect timeout with 504 Gateway Time-out (a refusal is 502).
    assert answer.status in (502, 504), (answer.status, answer.error, answer.body[:300])
    assert CONNECT_TIMEOUT - 0.5 < answer.elapsed < CONNECT_TIMEOUT + 2, "the answer took %.1f s" % answer.elapsed
    log = log_since(host, offset)
    assert re.search(r"upstream timed out \(110: Connection timed out\) while connecting to upstream.*"
                     r'upstream: "http://127\.0\.0\.1:%d/blackhole/info"' % port, log), log
