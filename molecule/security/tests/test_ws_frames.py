"""WebSocket frames through the tunnel, modelled on nginx's own proxy_websocket.t."""

import asyncio
import os

from realtime_testkit.ws import decode_server_frames, encode_client_frame, raw_handshake, ws_echo


def test_48k_frame_round_trips_intact(base):
    payload = os.urandom(48 * 1024)
    text = "x" * (48 * 1024 - 7) + "the end"
    result = asyncio.run(ws_echo("ws://%s/ws/echo" % base, [payload, text], timeout=10))
    assert result.status == 101, (result.status, result.error)
    assert len(result.echoes) == 2
    assert result.echoes[0] == payload, "binary 48 KB frame came back altered"
    assert result.echoes[1] == text, "text 48 KB frame came back altered"


def test_interleaved_big_and_small_frames_keep_their_order(base):
    messages = []
    for i in range(10):
        if i % 2 == 0:
            messages.append(bytes([i]) * (32 * 1024 + i))
        else:
            messages.append("small %d" % i)
    result = asyncio.run(ws_echo("ws://%s/ws/echo" % base, messages, pipeline=True, timeout=10))
    assert result.status == 101, (result.status, result.error)
    assert [len(m) for m in result.echoes] == [len(m) for m in messages]
    assert result.echoes == messages


def test_frame_pipelined_with_the_handshake_is_echoed(port, seen, marker, ws_handshake):
    headers, accept = ws_handshake()
    frame = encode_client_frame(b"pipelined with the handshake", opcode=1)
    answer = asyncio.run(raw_handshake("127.0.0.1", port, "/ws/echo?%s" % marker, headers,
                                       extra_bytes=frame, idle=1.0))
    assert answer.status == 101, (answer.status, answer.headers)
    assert answer.headers.get("sec-websocket-accept") == accept
    frames = decode_server_frames(answer.body_prefix)
    assert [(f.opcode, f.payload) for f in frames][:1] == [(1, b"pipelined with the handshake")], frames
    assert len(seen(marker)) == 1
