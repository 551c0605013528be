"""held_streams() and resolved() against the real backend: streams busy in the block, results after it."""

import asyncio
import socket
import time

from realtime_testkit.hosts import resolved
from realtime_testkit.load import held_streams


def test_streams_are_open_in_the_block_and_stopped_with_their_results_after_it(backend):
    ws_base = backend.ws_base

    async def drive():
        async with held_streams(backend.base + "/sse/held?count=0&interval=0.1", 5, ws_base + "/ws/held", 3,
                                duration=30, ws_options={"ping_interval": 0.2}) as held:
            assert held.sse is None  # filled in when the block ends
            held.start_requests(backend.base + "/api/held", rate=50, concurrency=2)
            await asyncio.sleep(1.0)
        return held

    started = time.monotonic()
    held = asyncio.run(drive())
    assert time.monotonic() - started < 10, "the clients stop with the block, not at their duration"
    sse, ws, requests = held.sse.summary(), held.ws.summary(), held.requests.summary()
    assert (sse.opened, sse.closed_early, sse.still_open) == (5, 0, 5), sse
    assert (ws.opened, ws.closed_early, ws.mismatches) == (3, 0, 0) and ws.events >= 6, ws
    assert requests.attempted >= 20 and requests.failed == 0, requests


def test_a_name_resolves_to_the_given_address_in_the_block_only(backend):
    port = backend.port
    with resolved({"held.acme.test": "127.0.0.1"}):
        assert socket.getaddrinfo("held.acme.test", port, socket.AF_INET)[0][4] == ("127.0.0.1", port)
        done = asyncio.run(_one_request("http://held.acme.test:%d/api/x" % port))
        assert done.summary().failed == 0
    try:
        socket.getaddrinfo("held.acme.test", port)
        resolves_after = True
    except socket.gaierror:
        resolves_after = False
    assert not resolves_after


async def _one_request(url):
    from realtime_testkit.load import request_loop
    return await request_loop(url, count=1, duration=10, concurrency=1)
