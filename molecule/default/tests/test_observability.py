"""What operators see: the realtime access log format and stub_status.

Debian 12's demo site has logs of its own (own_logs); Debian 13's logs to the
shared access log. Both serve stub_status on loopback.
"""

import asyncio
import re
import socket
import threading
import time
import uuid

import pytest

from realtime_testkit.fixtures import base, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import http_get
from realtime_testkit.load import hold_sse
from realtime_testkit.sse import read_sse

LINE = re.compile(r'"GET (?P<uri>\S+) HTTP/1\.1" (?P<status>\d+) (?P<bytes>\d+) rt=(?P<rt>[\d.]+) '
                  r'uct=(?P<uct>[\d.]+) uht=(?P<uht>[\d.]+) urt=(?P<urt>[\d.]+) ua=(?P<ua>\S+) conn=(?P<conn>\d+) ')


@pytest.fixture(scope="module")
def access_log(variables):
    own = any(site.get("own_logs") for site in variables["realtime_proxy_sites"])
    return "/var/log/nginx/realtime_proxy-demo.access.log" if own else "/var/log/nginx/access.log"


def test_an_sse_stream_logs_its_duration_and_upstream_times(host, base, variables, access_log):
    marker = uuid.uuid4().hex
    started = time.monotonic()
    result = asyncio.run(read_sse("http://%s/sse/stream?count=5&interval=0.2&m=%s" % (base, marker), count=5, timeout=10))
    held = time.monotonic() - started
    assert result.status == 200
    line = None
    for dummy in range(20):  # nginx writes the line when the stream closes
        found = [text for text in host.file(access_log).content_string.splitlines() if marker in text]
        if found:
            line = found[-1]
            break
        time.sleep(0.2)
    assert line, "no access log line for the stream in %s" % access_log
    fields = LINE.search(line)
    assert fields, line
    assert fields["status"] == "200"
    # The stream was open about 1 s (5 events 0.2 s apart); its line says so.
    assert 0.7 <= float(fields["rt"]) <= held + 0.5, line
    assert float(fields["uct"]) < 1.0 and float(fields["uht"]) < 1.0, line
    assert 0.7 <= float(fields["urt"]) <= float(fields["rt"]) + 0.01, line
    assert fields["ua"] == variables["realtime_proxy_upstreams"][0]["servers"][0], line
    assert int(fields["bytes"]) > 0


def active_connections(port):
    answer = http_get("http://127.0.0.1:%d/nginx_status" % port)
    assert answer.status == 200, answer
    return int(re.search(rb"Active connections: (\d+)", answer.body).group(1))


def test_stub_status_counts_open_streams(base, variables):
    port = variables["realtime_test_stub_status_port"]
    idle = active_connections(port)
    streams = 20
    ready = threading.Event()
    outcome = {}

    def hold():
        async def run():
            opened = asyncio.Event()
            task = asyncio.ensure_future(hold_sse("http://%s/sse/stream?count=1000&interval=0.5" % base, streams,
                                                  duration=4.0, ready=opened))
            await opened.wait()
            ready.set()
            outcome["result"] = await task
        asyncio.run(run())

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert ready.wait(15), "the streams did not open"
        busy = active_connections(port)
    finally:
        thread.join(20)
    assert busy >= idle + streams, "stub_status saw %d active connections with %d streams open (idle: %d)" % (
        busy, streams, idle)
    assert http_get("http://127.0.0.1:%d/other" % port).status == 404


def test_stub_status_is_refused_to_other_addresses(variables):
    """127.0.0.2 is loopback too, but not in realtime_proxy_stub_status_allow."""
    port = variables["realtime_test_stub_status_port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0)) as conn:
        conn.sendall(b"GET /nginx_status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert active_connections(port) >= 1
