"""Heartbeats against the read timeout: /sse/short/ has read_timeout 3 (heartbeat_interval 1)."""

import asyncio

from realtime_testkit.hosts import log_offset, log_since
from realtime_testkit.sse import read_sse


def test_heartbeats_keep_a_stream_open_past_the_read_timeout(base):
    result = asyncio.run(read_sse("http://%s/sse/short/beat?events=0&heartbeat=1" % base,
                                  count=None, timeout=10.5))
    assert result.status == 200, (result.status, result.error, result.body[:300])
    assert result.timed_out and not result.closed_by_server, (
        "the stream ended after %.1f s (error=%s)" % (result.elapsed, result.error))
    assert result.elapsed >= 10
    assert result.comments >= 8, "only %d heartbeats arrived in %.1f s" % (result.comments, result.elapsed)


def test_silent_stream_closes_at_the_read_timeout(host, base):
    offset = log_offset(host)
    result = asyncio.run(read_sse("http://%s/sse/short/idle?events=0&heartbeat=0" % base,
                                  count=None, timeout=15))
    assert result.status == 200, (result.status, result.error, result.body[:300])
    assert result.closed_by_server and not result.timed_out, result
    assert 2.5 <= result.elapsed <= 6.5, "closed after %.2f s, expected about 3 s" % result.elapsed
    assert "upstream timed out" in log_since(host, offset)
