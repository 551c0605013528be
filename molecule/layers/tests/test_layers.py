"""Real traffic through two nginx layers that the role provisioned.

    client (127.0.0.1) -> edge 127.0.0.1:18520/18521 (Debian 13)
                       -> inner 127.0.0.1:18510 (Debian 12)
                       -> backend 127.0.0.1:18501

Every hop is on loopback, so every peer address is 127.0.0.1; the address
tests therefore send a forged X-Forwarded-For and check where each layer
appends and what it believes (see test_forwarded_chain_through_both_layers).
"""

import asyncio
import json
import re
import ssl
import uuid

import pytest
from realtime_testkit.hosts import http_get
from realtime_testkit.sse import assert_streamed, delays, read_sse
from realtime_testkit.ws import ws_echo

STREAM = "count=10&interval=0.2"  # 10 events, 200 ms apart: 1.8 s from first to last
# assert_streamed's bound (streamed_bound: 150 ms here) is under the 200 ms between events, so an event held back
# until the next one (a layer that flushes one read late) misses it, and a buffered stream (every event held
# until the end, 1.8 s) misses it by far.
FORGED_CLIENT = "203.0.113.7"  # TEST-NET-3: only ever a header value, never an address in use


def _insecure_tls():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the edge's self-signed test certificate
    return context


def _location_block(dump, path):
    """The text of `location PATH { ... }` in an `nginx -T` dump (locations here hold no nested blocks)."""
    match = re.search(r"location %s \{(.*?)\n\s*\}" % re.escape(path), dump, re.S)
    assert match, "no location %s in nginx -T" % path
    return match.group(1)


# --- both hosts -------------------------------------------------------------

def test_nginx_config_is_valid(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr


def test_nginx_is_running(host):
    assert host.service("nginx").is_running


def test_premise_of_the_naive_location(edge_host, inner_host):
    """The edge's /sse/naive/ and /sse/plain/ are plain http locations (nginx's
    buffering on) while /sse/ is an sse location, and only the inner's /sse/
    emits X-Accel-Buffering; otherwise the streaming tests below prove nothing."""
    edge_dump = edge_host.run("nginx -T").stdout
    for path in ("/sse/naive/", "/sse/plain/"):
        block = _location_block(edge_dump, path)
        assert "proxy_buffering" not in block and "X-Accel-Buffering" not in block, block
    assert "proxy_buffering off;" in _location_block(edge_dump, "/sse/")
    assert re.search(r"gzip_types [^;]*text/event-stream", edge_dump)
    inner_dump = inner_host.run("nginx -T").stdout
    assert "add_header X-Accel-Buffering no" in _location_block(inner_dump, "/sse/")
    assert "X-Accel-Buffering" not in _location_block(inner_dump, "/sse/plain/")
    assert not re.search(r"gzip_types [^;]*text/event-stream", inner_dump)


# --- SSE --------------------------------------------------------------------

def test_sse_streams_through_both_layers(edge):
    """sse on the edge -> sse on the inner: every event streamed although
    the edge gzips text/event-stream at http level (the sse location turns it off)."""
    result = asyncio.run(read_sse("http://%s/sse/stream?%s" % (edge, STREAM), count=10, timeout=10,
                                  headers={"Accept-Encoding": "gzip"}))
    assert result.status == 200, (result.error, result.body[:300])
    assert result.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in result.headers
    # The edge's own sse location re-emits it for a third layer.
    assert result.headers.get("x-accel-buffering") == "no"
    assert_streamed(result, expected=10)


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_naive_http_location_streams_thanks_to_x_accel_buffering(edge, encoding):
    """http on the edge -> sse on the inner. The edge keeps nginx's defaults
    (buffering on, gzip of text/event-stream on), yet the inner's
    X-Accel-Buffering: no turns the edge's buffering off for this response, so
    events still arrive streamed. With gzip, nginx flushes the
    compressor per upstream read when unbuffered; the stream arrives gzipped
    (the edge's configured choice) but on time. The negative control below
    differs only in the inner's location type."""
    result = asyncio.run(read_sse("http://%s/sse/naive/stream?%s" % (edge, STREAM), count=10, timeout=10,
                                  headers={"Accept-Encoding": encoding}))
    assert result.status == 200, (result.error, result.body[:300])
    assert result.headers["content-type"].startswith("text/event-stream")
    if encoding == "identity":
        assert "content-encoding" not in result.headers
    else:
        assert result.headers.get("content-encoding") == "gzip"
    # nginx hides X-Accel-* from its clients, and an http location does not re-emit it.
    assert "x-accel-buffering" not in result.headers
    assert_streamed(result, expected=10)


@pytest.mark.parametrize("accel", ["", "no"], ids=["backend-silent", "backend-says-no"])
def test_negative_control_buffered_without_reemitted_header(edge, accel):
    """http on the edge -> http on the inner: the same stream, the same edge
    settings, but nothing tells the edge to stop buffering, so with gzip the
    edge holds every event until the stream ends and the timing check fails.
    With ``accel=no`` the backend itself sends X-Accel-Buffering: no; the inner
    obeys it but hides it from the edge (pitfall 4), so the edge still buffers:
    only re-emitting the header, as the sse type does, reaches an outer layer."""
    url = "http://%s/sse/plain/stream?%s%s" % (edge, STREAM, "&accel=no" if accel else "")
    result = asyncio.run(read_sse(url, count=10, timeout=10, headers={"Accept-Encoding": "gzip"}))
    assert result.status == 200, (result.error, result.body[:300])
    assert result.headers["content-type"].startswith("text/event-stream")
    assert result.headers.get("content-encoding") == "gzip"
    assert len(result.events) == 10, (result.timed_out, result.error)
    with pytest.raises(AssertionError, match="arrived later than"):
        assert_streamed(result, expected=10)
    # Held until the stream ends, then released in one burst: the first event
    # (sent 1.8 s before the last) arrives more than a second late, and all
    # ten arrive together.
    ms = ["%.0f ms" % (d * 1000) for d in delays(result)]
    assert result.events[0].delay > 1.0, ms
    arrivals = [ev.arrival for ev in result.events]
    assert max(arrivals) - min(arrivals) < 0.1, ms


@pytest.mark.parametrize("path,accel_to_client", [
    ("/sse/stream?count=1", "no"),                  # sse type: re-emitted
    ("/sse/plain/stream?count=1&accel=no", None),   # http type: the backend's header is hidden
])
def test_inner_reemits_x_accel_buffering_only_from_sse_locations(inner, path, accel_to_client):
    result = asyncio.run(read_sse("http://%s%s" % (inner, path), count=1, timeout=5))
    assert result.status == 200, (result.error, result.body[:300])
    assert result.headers.get("x-accel-buffering") == accel_to_client


# --- WebSocket ---------------------------------------------------------------

MESSAGES = ["hello through two layers", b"\x00\x01binary\xff", "x" * 70000]


def test_websocket_echoes_through_both_layers(edge):
    result = asyncio.run(ws_echo("ws://%s/ws/echo" % edge, MESSAGES))
    assert result.status == 101, (result.error, result.body[:300])
    assert result.echoes == MESSAGES


def test_websocket_echoes_through_both_layers_over_tls(edge_tls):
    result = asyncio.run(ws_echo("wss://%s/ws/echo" % edge_tls, MESSAGES[:2], ssl=_insecure_tls()))
    assert result.status == 101, (result.error, result.body[:300])
    assert result.echoes == MESSAGES[:2]


# --- Forwarded headers ---------------------------------------------------------

def _seen_by_backend(backend, tag):
    answer = http_get("http://%s/_backend/seen" % backend, timeout=5)
    assert answer.status == 200, (answer.status, answer.error)
    matches = [entry for entry in json.loads(answer.body) if ("tag=%s" % tag) in entry["query"]]
    assert len(matches) == 1, "backend saw %d requests tagged %s" % (len(matches), tag)
    return {k.lower(): v for k, v in matches[0]["headers"].items()}


def _send(kind, base, tag, headers, tls=False):
    """One request of the given location type through the edge, tagged for /_backend/seen."""
    scheme = ("https" if tls else "http") if kind != "websocket" else ("wss" if tls else "ws")
    if kind == "http":
        url = "%s://%s/api/info?tag=%s" % (scheme, base, tag)
        assert not tls
        answer = http_get(url, timeout=5, headers=headers)
        assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    elif kind == "sse":
        url = "%s://%s/sse/stream?count=1&interval=0&tag=%s" % (scheme, base, tag)
        result = asyncio.run(read_sse(url, count=1, timeout=5, headers=headers, verify=not tls))
        assert result.status == 200 and len(result.events) == 1, (result.status, result.error)
    else:
        url = "%s://%s/ws/echo?tag=%s" % (scheme, base, tag)
        result = asyncio.run(ws_echo(url, ["hi"], headers=headers, timeout=5,
                                     ssl=_insecure_tls() if tls else None))
        assert result.status == 101 and result.echoes == ["hi"], (result.status, result.error)


# What the backend must see, per client request:
# - no forwarded headers from the client: the edge starts the chain with the
#   client's address (127.0.0.1), the inner believes it (the edge is trusted)
#   and appends the edge's address (127.0.0.1 again: every hop is loopback):
#   "127.0.0.1, 127.0.0.1" = "<client>, <edge>".
# - a forged X-Forwarded-For 203.0.113.7 and X-Forwarded-Proto https from the
#   client: the edge does not trust the client, so it keeps the forged value
#   only as the chain's history, appends the client's real address
#   ("203.0.113.7, 127.0.0.1"), sets X-Real-IP to the client's address and
#   X-Forwarded-Proto to its own scheme (http); see test_edge_does_not_believe_the_client.
#   The inner appends the edge: "203.0.113.7, 127.0.0.1, 127.0.0.1". Each
#   127.0.0.1 is a different hop (client, then edge); nothing is repeated (the
#   nginx idiom $proxy_add_x_forwarded_for would give "203.0.113.7, 127.0.0.1,
#   203.0.113.7" behind real_ip). X-Real-IP at the backend is 203.0.113.7:
#   the inner walks the chain from the right past every trusted address, and
#   here the client's real address (127.0.0.1) is itself a trusted address.
#   With a client on any other address it would stop there; on a loopback-only
#   test bed the two cannot be told apart.
CASES = {
    "plain": ({}, "127.0.0.1, 127.0.0.1", "127.0.0.1"),
    "forged": ({"X-Forwarded-For": FORGED_CLIENT, "X-Forwarded-Proto": "https", "X-Real-IP": "198.51.100.9"},
               FORGED_CLIENT + ", 127.0.0.1, 127.0.0.1", FORGED_CLIENT),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", ["http", "sse", "websocket"])
def test_forwarded_chain_through_both_layers(edge, backend, kind, case):
    client_headers, chain, real_ip = CASES[case]
    tag = uuid.uuid4().hex
    _send(kind, edge, tag, client_headers)
    seen = _seen_by_backend(backend, tag)
    assert seen.get("x-forwarded-for") == chain, seen
    assert seen.get("x-real-ip") == real_ip, seen
    # The edge's scheme, whatever the client claimed.
    assert seen.get("x-forwarded-proto") == "http", seen
    assert seen.get("host") == edge, seen


def test_edge_does_not_believe_the_client(edge, backend):
    """What the edge alone forwards (its /edge-direct/ location goes straight to
    the backend): the forged chain is kept and extended, never believed."""
    tag = uuid.uuid4().hex
    answer = http_get("http://%s/edge-direct/info?tag=%s" % (edge, tag), timeout=5,
                      headers=CASES["forged"][0])
    assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    seen = {k.lower(): v for k, v in json.loads(answer.body)["headers"].items()}
    assert seen.get("x-forwarded-for") == FORGED_CLIENT + ", 127.0.0.1", seen
    assert seen.get("x-real-ip") == "127.0.0.1", seen
    assert seen.get("x-forwarded-proto") == "http", seen


@pytest.mark.parametrize("kind", ["sse", "websocket"])
def test_inner_believes_the_edges_scheme(edge_tls, backend, kind):
    """Client -> edge over TLS -> inner over plain HTTP: the backend must see
    https, which only holds if the inner takes X-Forwarded-Proto from the
    trusted edge (its own scheme is http). The client's forged "http" is ignored."""
    tag = uuid.uuid4().hex
    _send(kind, edge_tls, tag, {"X-Forwarded-Proto": "http"}, tls=True)
    seen = _seen_by_backend(backend, tag)
    assert seen.get("x-forwarded-proto") == "https", seen
    assert seen.get("x-forwarded-for") == "127.0.0.1, 127.0.0.1", seen
