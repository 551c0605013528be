"""Fixtures shared by the security scenario's tests.

Loopback ports of this scenario (see molecule.yml): 18410 main site (plain
HTTP), 18411 backend, 18420 the TLS site's plain port (redirects), 18421 the
TLS site, 18499 a control TLS server that the TLS tests open on the
controller for a moment.

Every request carries a fresh marker in its query string, so a test can find
exactly its own requests in the backend's ``/_backend/seen`` record (or prove
that none arrived).
"""

import base64
import hashlib
import json
import os
import uuid

import pytest
from realtime_testkit.fixtures import base, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import http_get

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture(scope="module")
def port(variables):
    return variables["realtime_test_proxy_port"]


@pytest.fixture(scope="module")
def backend_port(variables):
    return variables["realtime_test_backend_ports"][0]


@pytest.fixture(scope="module")
def tls_port(variables):
    return variables["realtime_test_tls_port"]


@pytest.fixture(scope="module")
def tls_dir():
    # The same directory prepare.yml wrote and the inventory reads.
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "tls")


@pytest.fixture(scope="module")
def cafile(tls_dir):
    path = os.path.join(tls_dir, "cert.pem")
    assert os.path.exists(path), "prepare.yml did not generate %s" % path
    return path


@pytest.fixture
def marker():
    return "m-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def seen(backend_port):
    """A function returning the backend's recorded requests whose query contains MARKER."""
    def lookup(marker):
        answer = http_get("http://127.0.0.1:%d/_backend/seen" % backend_port, timeout=5)
        assert answer.status == 200, (answer.status, answer.error)
        entries = [e for e in json.loads(answer.body) if marker in (e.get("query") or "")]
        for entry in entries:
            entry["headers"] = {k.lower(): v for k, v in entry["headers"].items()}
        return entries
    return lookup


@pytest.fixture(scope="module")
def ws_handshake():
    """A function returning (headers, expected Sec-WebSocket-Accept) for a fresh key; EXTRA headers win."""
    def make(**extra):
        key = base64.b64encode(os.urandom(16)).decode()
        headers = {"Upgrade": "websocket", "Connection": "Upgrade",
                   "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        headers.update(extra)
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        return headers, accept
    return make
