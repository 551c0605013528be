"""Fixtures of the balancing scenario.

Loopback ports (see molecule.yml): 17101 and 17102 test backends A and B,
17109 a dead server, 17110 the proxy; test backend C listens on a Unix
socket. Each backend names itself (``<host>-<port>``, ``<host>-unix``) in
the JSON mirror's ``backend`` and in every SSE event, so a test sees which
server nginx chose.
"""

import http.client
import json
import socket
import time

import pytest
from realtime_testkit.fixtures import base, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import http_get


def backend_of(answer):
    """The name of the backend that served an http_get() answer (AssertionError for anything but 200)."""
    assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    return json.loads(answer.body)["backend"]


def short(name):
    """'<host>-17101' -> '17101', '<host>-unix' -> 'unix'."""
    return name.rsplit("-", 1)[-1]


@pytest.fixture(scope="module")
def served_by(base):
    """served_by(path, headers=None) -> short name of the backend that answered one GET through the proxy."""
    def get(path, headers=None):
        return short(backend_of(http_get("http://%s%s" % (base, path), timeout=10, headers=headers)))
    return get


@pytest.fixture(scope="module")
def served_from(variables):
    """served_from(source, path) -> short name of the backend that answered one GET sent from loopback address SOURCE.

    http_get() cannot choose its source address; ip_hash keys on it (the
    first three octets), so these requests go through http.client.
    """
    return lambda source, path: _get_from(source, variables["realtime_test_proxy_port"], path)


def _get_from(source, port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read(1024 * 1024)
        assert response.status == 200, (response.status, body[:300])
        return short(json.loads(body)["backend"])
    finally:
        connection.close()


@pytest.fixture
def open_stream(variables):
    """SSE streams through the proxy that stay open until the test ends:
    ``open_stream(path)`` returns (short backend name, socket) from the
    stream's first event; ``open_stream.close(sock)`` ends one early."""
    opened = []

    def open_one(path):
        sock = socket.create_connection(("127.0.0.1", variables["realtime_test_proxy_port"]), timeout=10)
        opened.append(sock)
        sock.sendall(("GET %s HTTP/1.1\r\nHost: balancing\r\nAccept: text/event-stream\r\n\r\n" % path).encode())
        data = b""
        deadline = time.monotonic() + 10
        while b"\ndata: " not in data or not data.split(b"\ndata: ", 1)[1].count(b"\n"):
            assert time.monotonic() < deadline, data[:500]
            chunk = sock.recv(4096)
            assert chunk, data[:500]
            data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:500]
        event = json.loads(data.split(b"\ndata: ", 1)[1].split(b"\n", 1)[0])
        return short(event["backend"]), sock

    def close(sock):
        sock.close()
        opened.remove(sock)

    open_one.close = close
    yield open_one
    for sock in opened:
        sock.close()
