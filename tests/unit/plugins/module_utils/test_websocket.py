# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WebSocket client against a REAL server (the websockets library) on loopback."""

from __future__ import annotations

import asyncio
import os
import struct
import threading

import pytest

from ansible_collections.realtime.nginx.plugins.module_utils import _websocket as wsmod
from ansible_collections.realtime.nginx.plugins.module_utils._websocket import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_TEXT,
    WebSocketClient,
    WebSocketHandshakeError,
    accept_for_key,
    encode_frame,
)

websockets_sync = pytest.importorskip('websockets.sync.server')

# Port 0: the kernel picks a free loopback port, so these servers never meet a scenario's ports.


def _handler(conn):
    path = conn.request.path
    if path == '/ping':
        pong = conn.ping(b'server-ping')
        ok = pong.wait(5)
        conn.send('pong-ok' if ok else 'pong-missing')
        conn.recv(timeout=5)
        return
    if path == '/fragments':
        conn.send(['frag-', 'mented-', 'text'])
        conn.send([b'\x00\x01', b'\x02\x03'])
        conn.recv(timeout=5)
        return
    if path == '/server-close':
        conn.close(4001, 'bye')
        return
    for dummy in range(10000):
        try:
            message = conn.recv(timeout=10)
        except Exception:  # pylint: disable=broad-except
            return
        conn.send(message)


def _serve(**options):
    """Run _handler on a websockets server in a thread; yield its base URL."""
    server = websockets_sync.serve(_handler, '127.0.0.1', 0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'ws://127.0.0.1:%d' % server.socket.getsockname()[1]
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope='module')
def ws_server():
    yield from _serve(max_size=2 ** 22, compression=None)


@pytest.fixture(scope='module')
def origin_server():
    yield from _serve(origins=['https://good.example'])


@pytest.fixture(scope='module')
def bad_key_server():
    """A tiny raw asyncio server that answers 101 with a wrong accept key."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state = {}

    async def handle(reader, writer):
        try:
            await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 5)
            writer.write(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                         b'Sec-WebSocket-Accept: ' + accept_for_key('AAAAAAAAAAAAAAAAAAAAAA==').encode() + b'\r\n\r\n')
            await writer.drain()
        finally:
            writer.close()

    async def start():
        state['server'] = await asyncio.start_server(handle, '127.0.0.1', 0)
        started.set()

    def run():
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(5)
    yield 'ws://127.0.0.1:%d' % state['server'].sockets[0].getsockname()[1]

    def stop():
        state['server'].close()
        loop.stop()
    loop.call_soon_threadsafe(stop)
    thread.join(5)


def _client(url, **kw):
    return WebSocketClient(url, timeout=5, **kw).connect()


def test_accept_key_rfc_example():
    # RFC 6455 section 1.3
    assert accept_for_key('dGhlIHNhbXBsZSBub25jZQ==') == 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='


def test_frame_lengths_and_masking():
    mask = b'\x01\x02\x03\x04'
    small = encode_frame(OP_TEXT, b'abc', mask_key=mask)
    assert small[0] == 0x81 and small[1] == 0x80 | 3
    assert wsmod.mask_payload(mask, small[6:]) == b'abc'
    mid = encode_frame(OP_BINARY, b'x' * 300, mask_key=mask)
    assert mid[1] == 0x80 | 126 and struct.unpack('!H', mid[2:4])[0] == 300
    big = encode_frame(OP_BINARY, b'x' * 70000, mask_key=mask)
    assert big[1] == 0x80 | 127 and struct.unpack('!Q', big[2:10])[0] == 70000
    assert encode_frame(OP_TEXT, b'', mask_key=mask) == b'\x81\x80' + mask


def test_handshake_uses_random_key(ws_server):
    a = WebSocketClient(ws_server + '/echo')
    b = WebSocketClient(ws_server + '/echo')
    assert a.key != b.key
    assert len(__import__('base64').b64decode(a.key)) == 16


def test_echo_text_and_binary(ws_server):
    ws = _client(ws_server + '/echo')
    assert ws.status == 101
    ws.send_frame(OP_TEXT, 'héllo')
    assert ws.recv_message() == (OP_TEXT, 'héllo')
    payload = os.urandom(100)
    ws.send_frame(OP_BINARY, payload)
    assert ws.recv_message() == (OP_BINARY, payload)
    assert ws.close() == 1000


@pytest.mark.parametrize('size', [125, 126, 65535, 48 * 1024, 70 * 1024])
def test_large_frames(ws_server, size):
    # 48 KiB uses the 16-bit length, 70 KiB the 64-bit length
    ws = _client(ws_server + '/echo')
    payload = os.urandom(size)
    ws.send_frame(OP_BINARY, payload)
    assert ws.recv_message() == (OP_BINARY, payload)
    ws.close()


def test_fragmented_client_message(ws_server):
    # The probe sends whole messages; the frames it encodes can still carry a
    # message in pieces (a first frame, then continuations, the last with FIN).
    ws = _client(ws_server + '/echo')
    message = b'a fragmented message'
    pieces = [message[i:i + 5] for i in range(0, len(message), 5)]
    for idx, piece in enumerate(pieces):
        ws.conn.sendall(encode_frame(OP_TEXT if idx == 0 else OP_CONT, piece, fin=idx == len(pieces) - 1))
    assert ws.recv_message() == (OP_TEXT, 'a fragmented message')
    ws.close()


def test_fragmented_server_message(ws_server):
    ws = _client(ws_server + '/fragments')
    assert ws.recv_message() == (OP_TEXT, 'frag-mented-text')
    assert ws.recv_message() == (OP_BINARY, b'\x00\x01\x02\x03')
    ws.close()


def test_server_ping_is_answered(ws_server):
    ws = _client(ws_server + '/ping')
    assert ws.recv_message() == (OP_TEXT, 'pong-ok')
    assert ws.pings_received == [b'server-ping']
    ws.close()


def test_client_ping_gets_pong(ws_server):
    ws = _client(ws_server + '/echo')
    ws.ping(b'hi')
    ws.send_frame(OP_TEXT, 'after-ping')
    assert ws.recv_message() == (OP_TEXT, 'after-ping')
    assert ws.pongs_received == [b'hi']
    ws.close()


def test_ping_round_trip_waits_for_the_pong(ws_server):
    ws = _client(ws_server + '/echo')
    assert 0 < ws.ping_round_trip() < 5
    assert len(ws.pongs_received) == 1
    ws.send_frame(OP_TEXT, 'still open')
    assert ws.recv_message() == (OP_TEXT, 'still open')
    ws.close()


def test_close_handshake_initiated_by_server(ws_server):
    ws = _client(ws_server + '/server-close')
    opcode, payload = ws.recv_message()
    assert opcode == OP_CLOSE
    assert ws.close_code == 4001 and ws.close_reason == 'bye'
    ws.close()


def test_close_handshake_initiated_by_client(ws_server):
    ws = _client(ws_server + '/echo')
    assert ws.close(code=1000, reason='done') == 1000
    assert ws.conn.sock is None


def test_wrong_accept_key_detected(bad_key_server):
    with pytest.raises(WebSocketHandshakeError) as info:
        _client(bad_key_server + '/')
    assert info.value.status == 101
    assert 'Sec-WebSocket-Accept' in str(info.value)


def test_forbidden_origin_gives_403(origin_server):
    with pytest.raises(WebSocketHandshakeError) as info:
        _client(origin_server + '/echo', origin='https://evil.example')
    assert info.value.status == 403
    ws = _client(origin_server + '/echo', origin='https://good.example')
    ws.send_frame(OP_TEXT, 'ok')
    assert ws.recv_message() == (OP_TEXT, 'ok')
    ws.close()
