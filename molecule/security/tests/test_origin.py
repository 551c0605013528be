"""Origin allowlist on a websocket location (cross-site WebSocket hijacking).

/ws/guarded/ allows only https://app.example.test. Anything else, including
no Origin at all, gets 403 from nginx and never reaches the backend.
"""

import asyncio

import pytest
from realtime_testkit.ws import raw_handshake, ws_echo


@pytest.mark.parametrize("origin", [
    "https://evil.example.test",
    "https://app.example.test.evil.example",  # suffix trick
    "http://app.example.test",                # wrong scheme
    "https://app.example.test:8443",          # wrong port
    "null",                                   # sandboxed iframe, file://
])
def test_foreign_origin_is_refused_before_the_backend(base, seen, marker, origin):
    result = asyncio.run(ws_echo("ws://%s/ws/guarded/echo?%s" % (base, marker), ["hi"], origin=origin, timeout=5))
    assert result.status == 403, (result.status, result.error)
    assert result.echoes == []
    assert seen(marker) == [], "a refused handshake reached the backend"


def test_missing_origin_is_refused_before_the_backend(port, seen, marker, ws_handshake):
    headers, unused = ws_handshake()
    answer = asyncio.run(raw_handshake("127.0.0.1", port, "/ws/guarded/echo?%s" % marker, headers))
    assert answer.status == 403, (answer.status, answer.headers)
    assert seen(marker) == [], "a handshake without Origin reached the backend"


def test_allowed_origin_upgrades_and_echoes(base, seen, marker, variables):
    origin = variables["realtime_test_allowed_origin"]
    result = asyncio.run(ws_echo("ws://%s/ws/guarded/echo?%s" % (base, marker), ["hello", b"\x00\xff"],
                                 origin=origin, timeout=5))
    assert result.status == 101, (result.status, result.error)
    assert result.echoes == ["hello", b"\x00\xff"]
    entries = seen(marker)
    assert len(entries) == 1 and entries[0]["headers"].get("origin") == origin
