"""type: socketio through nginx with real Socket.IO clients (python-socketio).

Clients start with long-polling and upgrade to WebSocket on the same path;
every request of a session must reach the backend process that holds it, or
that process answers 400 "Session ID unknown" and the session fails. The
upstream balances with ip_hash, which keys on the first three octets of the
client's address, so clients connect from 127.0.N.1 (all loopback) to land
on both backends.
"""

import asyncio
import copy

import aiohttp
import pytest
import socketio
from realtime_testkit.hosts import http_get
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.ws import raw_handshake

FOREIGN_ORIGIN = "https://evil.example"
CLIENT_SUBNETS = range(1, 9)
POLLING = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET = "/socket.io/?EIO=4&transport=websocket"
WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


async def _session(url, source, headers, messages=3):
    """One client from SOURCE: connect (polling first), wait for the upgrade, echo MESSAGES times.

    Returns the client's transport after the wait and the echo answers."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        await client.connect(url, headers=headers, transports=["polling", "websocket"], wait_timeout=10)
        try:
            await asyncio.sleep(1.0)
            answers = [await client.call("echo", {"from": source, "n": n}, timeout=10) for n in range(messages)]
            return client.transport(), answers
        finally:
            await client.disconnect()


async def _sessions(url, headers):
    return await asyncio.wait_for(asyncio.gather(
        *(_session(url, "127.0.%d.1" % subnet, headers) for subnet in CLIENT_SUBNETS)), 60)


def test_clients_poll_upgrade_and_each_stays_on_one_backend(proxy, allowed_origin, backend_names):
    results = asyncio.run(_sessions("http://" + proxy, {"Origin": allowed_origin}))
    used = set()
    for subnet, (transport, answers) in zip(CLIENT_SUBNETS, results):
        source = "127.0.%d.1" % subnet
        assert transport == "websocket", (source, transport)
        assert [answer["data"] for answer in answers] == [{"from": source, "n": n} for n in range(3)], answers
        # The backend saw the session upgraded, and every event on one process.
        assert {answer["transport"] for answer in answers} == {"websocket"}, answers
        backends = {answer["backend"] for answer in answers}
        assert len(backends) == 1 and backends <= backend_names, answers
        used |= backends
    assert used == backend_names, "ip_hash put every client on %s" % sorted(used)


def test_same_origin_client_without_origin_polls(proxy, backend_names):
    """No Origin: the polling requests pass (same-origin), the WebSocket handshake
    does not, so the client keeps polling, and its session stays on one backend."""
    transport, answers = asyncio.run(asyncio.wait_for(_session("http://" + proxy, "127.0.1.1", {}), 60))
    assert transport == "polling"
    assert {answer["transport"] for answer in answers} == {"polling"}, answers
    assert len({answer["backend"] for answer in answers}) == 1, answers


def test_foreign_origin_cannot_connect(proxy):
    async def connect():
        client = socketio.AsyncClient(reconnection=False)
        await client.connect("http://" + proxy, headers={"Origin": FOREIGN_ORIGIN},
                             transports=["polling", "websocket"], wait_timeout=5)
    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(connect())


@pytest.mark.parametrize("origin,status", [(FOREIGN_ORIGIN, 403), (None, 200), ("allowed", 200)])
def test_polling_request_origin(proxy, allowed_origin, origin, status):
    headers = {} if origin is None else {"Origin": allowed_origin if origin == "allowed" else origin}
    answer = http_get("http://%s%s" % (proxy, POLLING), headers=headers)
    assert answer.status == status, answer
    if status == 200:
        assert answer.body.startswith(b"0{"), answer.body[:200]  # Engine.IO's open packet


@pytest.mark.parametrize("origin,status", [(FOREIGN_ORIGIN, 403), (None, 403), ("allowed", 101)])
def test_websocket_handshake_origin(proxy, allowed_origin, origin, status):
    headers = dict(WS_HEADERS)
    if origin is not None:
        headers["Origin"] = allowed_origin if origin == "allowed" else origin
    host, port = proxy.split(":")
    answer = asyncio.run(raw_handshake(host, int(port), WEBSOCKET, headers))
    assert answer.status == status, answer


def test_round_robin_is_refused_before_the_host_is_touched(host, name, variables):
    """The negative control: the same two backends behind round_robin. The role
    refuses the inventory and names the fix; nothing on the host changes."""
    upstreams = copy.deepcopy(variables["realtime_proxy_upstreams"])
    del upstreams[0]["balance"]
    before = config_checksums(host)
    run = run_role(name, {"realtime_proxy_upstreams": upstreams})
    assert run.rc != 0, run.messages[-3000:]
    assert ("realtime_proxy_sites[0].locations[1].upstream: socketio needs every request of a session on one "
            "backend; upstream 'chat' has 2 servers and balance round_robin: set balance: ip_hash (or hash with "
            "hash_key) on realtime_proxy_upstreams[0]") in run.messages, run.messages[-3000:]
    assert config_checksums(host) == before
