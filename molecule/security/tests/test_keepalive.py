"""Upstream keepalive: sequential requests reuse one connection to the backend.

The backend reports the source port of the connection each request arrived on
(`peer_port`). The requests share one client connection, so one nginx worker
serves them all and takes the backend connection from its own keepalive cache.
A `Connection: close` to the backend (the guide's `'' close` map) would make
every port different.
"""

import http.client
import json

import httpx

ROUNDS = 5


def test_http_location_reuses_the_upstream_connection(port, seen, marker):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    ports = []
    try:
        for i in range(ROUNDS):
            conn.request("GET", "/keepalive/http?%s&i=%d" % (marker, i))
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:300])
            ports.append(json.loads(body)["peer_port"])
    finally:
        conn.close()
    entries = seen(marker)
    assert len(entries) == ROUNDS
    assert [e["headers"].get("connection", "").lower() for e in entries if "close" in e["headers"].get("connection", "").lower()] == []
    assert len(set(ports)) == 1, "each request came over a new backend connection: peer ports %s" % ports


def test_sse_location_reuses_the_upstream_connection(port, seen, marker):
    with httpx.Client(trust_env=False, timeout=10) as client:
        for i in range(ROUNDS):
            url = "http://127.0.0.1:%d/sse/keepalive?%s&i=%d&count=2&interval=0.05" % (port, marker, i)
            with client.stream("GET", url) as response:
                assert response.status_code == 200
                body = b"".join(response.iter_raw())
            assert body.count(b"data: ") == 2, body
    entries = seen(marker)
    assert len(entries) == ROUNDS
    closes = [e["headers"] for e in entries if "close" in e["headers"].get("connection", "").lower()]
    assert closes == [], "the backend saw Connection: close"
    ports = [e["peer_port"] for e in entries]
    assert len(set(ports)) == 1, "each SSE stream came over a new backend connection: peer ports %s" % ports
