"""Connection and request limits: over them a client gets 429.

The role's limits are global (every site's server block, per client address),
so molecule.yml sets them for the whole scenario where no other test reaches
them: 5 open requests per client, 20 requests a second with a burst of 40.
These tests go over them on purpose. Both 429s look the same to a client, so
nginx's error log tells which limit said no.
"""

import asyncio
import time

from realtime_testkit.hosts import http_get, log_offset, log_since
from realtime_testkit.sse import read_sse

CONN_LIMIT = 5
BURST = 40
RATE = 20  # per second


def test_limits_are_rendered_in_every_site(host):
    dump = host.check_output("nginx -T 2>/dev/null")
    # In both sites' proxying server blocks (secure's redirect-only server has none).
    assert dump.count("limit_conn realtime_proxy_conn %d;" % CONN_LIMIT) == 2, dump
    assert dump.count("limit_req zone=realtime_proxy_req burst=%d nodelay;" % BURST) == 2
    assert "rate=%dr/s" % RATE in dump


def test_limit_conn_refuses_streams_over_the_limit(host, base):
    offset = log_offset(host)

    async def open_streams():
        return await asyncio.gather(*[
            read_sse("http://%s/sse/limit?count=2&interval=1.5&n=%d" % (base, n), count=2, timeout=10)
            for n in range(8)])

    results = asyncio.run(open_streams())
    statuses = sorted(r.status for r in results)
    assert statuses == [200] * CONN_LIMIT + [429] * (8 - CONN_LIMIT), statuses
    assert all(len(r.events) == 2 for r in results if r.status == 200)
    log = log_since(host, offset)
    assert 'limiting connections by zone "realtime_proxy_conn"' in log, log[-2000:]
    assert "limiting requests" not in log, "the rate limit, not the connection limit, refused: " + log[-2000:]


def test_limit_req_refuses_requests_over_the_rate(host, base):
    drain = BURST / RATE + 0.5
    time.sleep(drain)  # an empty bucket, whatever ran before
    offset = log_offset(host)
    statuses = []
    deadline = time.monotonic() + 15
    # Sequential (never more than one open request), bounded in count and
    # time, until a few requests after the first 429.
    for i in range(6 * BURST):
        statuses.append(http_get("http://%s/api/limit?i=%d" % (base, i), timeout=5).status)
        if statuses.count(429) >= 3 or time.monotonic() > deadline:
            break
    assert statuses[:BURST] == [200] * BURST, statuses
    assert 429 in statuses, statuses
    assert set(statuses) <= {200, 429}, statuses
    assert "limiting requests" in log_since(host, offset)
    # Leave an empty bucket for the tests that follow, and show the rate lets
    # requests through again.
    time.sleep(drain)
    assert http_get("http://%s/api/limit?after=1" % base, timeout=5).status == 200
