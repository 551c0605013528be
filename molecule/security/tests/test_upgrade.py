"""Upgrade handling: h2c is never forwarded, the websocket token is matched case-insensitively.

h2c smuggling (nginx/nginx#1472): a proxy that forwards any Upgrade token
turns into a blind tunnel after the backend's 101, so `Upgrade: h2c` would
bypass nginx's own rules. The role forwards only `websocket`.
"""

import asyncio

import pytest
from realtime_testkit.ws import raw_handshake

H2C = {
    "Upgrade": "h2c",
    "Connection": "Upgrade, HTTP2-Settings",
    # An empty SETTINGS payload, base64url: what curl --http2 sends.
    "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA",
}


@pytest.mark.parametrize("path", ["/ws/echo", "/h2c/probe"], ids=["websocket-location", "http-location"])
def test_h2c_upgrade_is_refused_and_never_forwarded(port, seen, marker, path):
    answer = asyncio.run(raw_handshake("127.0.0.1", port, "%s?%s" % (path, marker), H2C))
    assert answer.status != 0, "no HTTP answer to the h2c upgrade"
    assert answer.status != 101, "nginx switched protocols for Upgrade: h2c: %r" % (answer.headers,)
    assert "upgrade" not in answer.headers, answer.headers
    entries = seen(marker)
    # The request itself is an ordinary GET and does reach the backend; only
    # its upgrade must not.
    assert len(entries) == 1, "expected the plain request to reach the backend once, saw %d" % len(entries)
    headers = entries[0]["headers"]
    assert "h2c" not in headers.get("upgrade", "").lower(), headers
    assert "upgrade" not in headers.get("connection", "").lower(), headers


@pytest.mark.parametrize("token", ["WebSocket", "WEBSOCKET"])
def test_websocket_token_is_case_insensitive(port, seen, marker, ws_handshake, token):
    headers, accept = ws_handshake(Upgrade=token)
    answer = asyncio.run(raw_handshake("127.0.0.1", port, "/ws/echo?%s" % marker, headers, idle=0.2))
    assert answer.status == 101, (answer.status, answer.headers, answer.body_prefix[:300])
    assert answer.headers.get("sec-websocket-accept") == accept
    assert answer.headers.get("upgrade", "").lower() == "websocket"
    forwarded = seen(marker)[0]["headers"]
    assert forwarded.get("upgrade", "").lower() == "websocket", forwarded
