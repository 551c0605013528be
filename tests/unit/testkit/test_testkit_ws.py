"""WebSocket clients against the real backend, modelled on nginx's proxy_websocket.t."""

import asyncio
import base64
import os
import socket

import httpx

from realtime_testkit.ws import (Frame, decode_server_frames, encode_client_frame,
                                 raw_handshake, ws_echo)

GOOD = {"Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13"}


def run(coro):
    return asyncio.run(coro)


def good_headers():
    return dict(GOOD, **{"Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()})


def test_text_and_binary_echo_keep_their_type(backend):
    sent = ["hello", b"\x00\xffbin"]
    res = run(ws_echo(backend.ws_base + "/ws/echo", sent, timeout=5))
    assert res.status == 101 and res.error is None
    assert res.headers["upgrade"].lower() == "websocket"
    assert res.echoes == sent
    assert isinstance(res.echoes[0], str) and isinstance(res.echoes[1], bytes)
    assert len(res.rtts) == 2 and all(0 < r < 1 for r in res.rtts)


def test_48k_and_1mib_frames_round_trip(backend):
    sent = [os.urandom(48 * 1024), "x" * (1024 * 1024)]
    res = run(ws_echo(backend.ws_base + "/ws/big", sent, timeout=10))
    assert res.status == 101
    assert len(res.echoes) == 2
    assert res.echoes[0] == sent[0] and res.echoes[1] == sent[1]


def test_interleaved_big_and_small_frames_stay_in_order(backend):
    sent = [("%d:" % i) + ("y" * (40000 if i % 2 else 3)) for i in range(10)]
    res = run(ws_echo(backend.ws_base + "/ws/echo", sent, timeout=10, pipeline=True))
    assert res.echoes == sent
    assert len(res.rtts) == 10


def test_refused_handshake_returns_status_instead_of_raising(backend):
    # /api is the JSON mirror: the upgrade is answered 200, not 101.
    res = run(ws_echo(backend.ws_base + "/api/nows", ["x"], timeout=5))
    assert res.status == 200 and res.echoes == []
    assert b'"path": "/api/nows"' in res.body


def test_unreachable_server_gives_status_0_and_error(free_port):
    # A port we hold bound but never listen on: connecting is refused for sure.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        port = holder.getsockname()[1]
        res = run(ws_echo("ws://127.0.0.1:%d/ws/echo" % port, ["x"], timeout=2))
    assert res.status == 0 and res.echoes == []
    assert "Connect" in res.error or "refused" in res.error.lower(), res.error


def test_bad_handshake_without_key_gets_400(backend):
    resp = run(raw_handshake("127.0.0.1", backend.port, "/ws/echo", dict(GOOD)))
    assert resp.status == 400
    assert b"handshake" in resp.body_prefix


def test_h2c_upgrade_gets_no_101_and_is_visible_in_seen(backend):
    hdrs = {"Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings",
            "HTTP2-Settings": "AAMAAABkAAQAoAAAAAIAAAAA"}
    on_ws = run(raw_handshake("127.0.0.1", backend.port, "/ws/echo", hdrs))
    assert on_ws.status == 400
    on_api = run(raw_handshake("127.0.0.1", backend.port, "/api/h2c", hdrs))
    assert on_api.status == 200  # not 101: the backend never switches protocols
    seen = httpx.get(backend.base + "/_backend/seen", trust_env=False).json()
    hits = [s for s in seen if s["path"] == "/api/h2c"]
    assert hits and hits[-1]["headers"]["Upgrade"] == "h2c"


def test_frame_pipelined_with_handshake_is_echoed(backend):
    frame = encode_client_frame(b"pipelined hello")
    resp = run(raw_handshake("127.0.0.1", backend.port, "/ws/echo", good_headers(),
                             extra_bytes=frame))
    assert resp.status == 101
    assert "sec-websocket-accept" in resp.headers
    assert decode_server_frames(resp.body_prefix)[:1] == [Frame(True, 1, b"pipelined hello")]


def test_frame_codec_boundaries():
    for n in (0, 125, 126, 65535, 65536):
        payload = os.urandom(n)
        wire = encode_client_frame(payload, opcode=2)
        assert wire[1] & 0x80  # client frames must be masked
        assert decode_server_frames(wire) == [Frame(True, 2, payload)]
        if n:
            assert decode_server_frames(wire[:-1]) == []  # truncated: not decoded
    # server-style unmasked frames, two back to back, plus a truncated third
    data = b"\x81\x02hi" + b"\x82\x7e\x00\x7e" + b"z" * 126 + b"\x81\x05ab"
    assert decode_server_frames(data) == [Frame(True, 1, b"hi"), Frame(True, 2, b"z" * 126)]
