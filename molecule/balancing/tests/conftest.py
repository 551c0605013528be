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


# A plain request that names the worker answering it (the site's X-Worker-Pid);
# on the same keepalive connection the stream that follows is taken by the same worker.
WORKER_PROBE = "/unix/worker"


class Stream:
    """One SSE request through the proxy: its status, the backend of its first event (None unless 200),
    the worker that took it and the socket that holds it open."""

    def __init__(self, status, backend, worker, sock):
        self.status, self.backend, self.worker, self.sock = status, backend, worker, sock

    def __repr__(self):
        return "Stream(%s, %s, worker %s)" % (self.status, self.backend, self.worker)


def _read_head(sock, data=b""):
    """(status, headers, bytes after the head) of the next response on SOCK."""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, data[:500]
        chunk = sock.recv(4096)
        assert chunk, data[:500]
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines[1:])
    headers = {key.strip().lower(): value.strip() for key, unused, value in fields}
    return int(lines[0].split()[1]), headers, rest


def _connect_to_worker(port, worker):
    """A keepalive connection that WORKER (a PID, or None for any) serves: (socket, worker PID)."""
    for unused in range(100):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(("GET %s HTTP/1.1\r\nHost: balancing\r\n\r\n" % WORKER_PROBE).encode())
        status, headers, rest = _read_head(sock)
        assert status == 200 and "content-length" in headers, (status, headers)
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(4096)
            assert chunk, rest[:500]
            rest += chunk
        if worker is None or headers["x-worker-pid"] == worker:
            return sock, headers["x-worker-pid"]
        sock.close()  # the kernel gave this connection to the other worker (reuseport): try again
    raise AssertionError("no connection reached worker %s in 100 tries" % worker)


@pytest.fixture(scope="module")
def workers(variables):
    """The PIDs of nginx's two workers, as they answer through the proxy."""
    seen = []
    for unused in range(100):
        sock, worker = _connect_to_worker(variables["realtime_test_proxy_port"], None)
        sock.close()
        if worker not in seen:
            seen.append(worker)
        if len(seen) == 2:
            return seen
    raise AssertionError("only worker %s answered in 100 connections" % seen)


@pytest.fixture
def open_stream(variables):
    """SSE streams through the proxy that stay open until the test ends:
    ``open_stream(path, worker=None)`` opens one on a connection that WORKER
    (a PID from the ``workers`` fixture) serves, and returns a Stream: the
    backend of its first event (short name), or the status nginx answered
    instead of 200. ``open_stream.close(stream)`` ends one early."""
    opened = []

    def open_one(path, worker=None):
        sock, served_by = _connect_to_worker(variables["realtime_test_proxy_port"], worker)
        opened.append(sock)
        sock.sendall(("GET %s HTTP/1.1\r\nHost: balancing\r\nAccept: text/event-stream\r\n\r\n" % path).encode())
        status, headers, data = _read_head(sock)
        assert headers.get("x-worker-pid") == served_by, (headers, served_by)
        if status != 200:
            return Stream(status, None, served_by, sock)
        deadline = time.monotonic() + 10
        while b"data: " not in data or not data.split(b"data: ", 1)[1].count(b"\n"):
            assert time.monotonic() < deadline, data[:500]
            chunk = sock.recv(4096)
            assert chunk, data[:500]
            data += chunk
        event = json.loads(data.split(b"data: ", 1)[1].split(b"\n", 1)[0])
        return Stream(200, short(event["backend"]), served_by, sock)

    def close(stream):
        stream.sock.close()
        opened.remove(stream.sock)

    open_one.close = close
    yield open_one
    for sock in opened:
        sock.close()
