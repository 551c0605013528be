"""Fixtures of the interop scenario (ports: see molecule.yml).

The servers start once per test session on the controller, each as its users
run it (realtime_testkit.interop.SERVERS), and stop at its end; the clients
reach them through the role's nginx on both hosts:

- ``http/1.1``: Debian 12's plain site, http://localhost:17410
- ``http/2``: Debian 12's TLS site, https://localhost:17411 (WebSocket there is HTTP/1.1 over TLS)
- ``http/3``: Debian 13's TLS site, https://localhost:17461 over QUIC

Every cell a test checks goes into build/interop/results.json at the end of
the session (tests/interop/report.py turns it into docs/interop.md).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time

import pytest
from realtime_testkit.browser import CHROMIUM_ARGS, launch_args
from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.fixtures import inventory_host_fixture, variables_fixture
from realtime_testkit.interop import Cell, Results, ensure_tools, start_servers, stop_servers, versions
from matrix import NOT_APPLICABLE
from behaviours import behaviours  # noqa: F401  # pylint: disable=unused-import  # for test_websocket.py, test_sse.py
from traffic import access_logs, traffic  # noqa: F401  # pylint: disable=unused-import  # the matrix's traffic, for every test file

debian12 = inventory_host_fixture("rtn-interop-debian12")
debian13 = inventory_host_fixture("rtn-interop-debian13")
debian12_variables = variables_fixture("debian12")
debian13_variables = variables_fixture("debian13")

RESULTS = REPO_ROOT / "build" / "interop" / "results.json"
STARTED = []


def pytest_sessionstart(session):  # pylint: disable=unused-argument
    STARTED.append(time.monotonic())


@pytest.fixture(scope="session")
def tools():
    """The servers' and clients' runtimes (tools/ensure-interop.sh; prepare.yml ran it already)."""
    return ensure_tools()


@pytest.fixture(scope="session")
def servers(tools, debian12_variables):
    """Every server, started once for the session: {name: port}."""
    ports = debian12_variables["realtime_test_server_ports"]
    processes = start_servers(tools, ports, str(REPO_ROOT / "build" / "interop" / "logs"))
    yield ports
    stop_servers(processes)


@pytest.fixture(scope="session")
def origins(debian12_variables, debian13_variables):
    """The origins clients ask for, by the HTTP version they get there."""
    return {
        "http/1.1": "http://localhost:%d" % debian12_variables["realtime_test_proxy_port"],
        "http/2": "https://localhost:%d" % debian12_variables["realtime_test_tls_port"],
        "http/3": "https://localhost:%d" % debian13_variables["realtime_test_tls_port"],
    }


@pytest.fixture(scope="session")
def cafile():
    """The self-signed certificate prepare.yml wrote and the inventory hands to the role on both hosts."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "tls", "cert.pem")


@pytest.fixture(scope="session")
def spki(cafile):
    """The certificate's SPKI sha256 in base64, for Chromium's --ignore-certificate-errors-spki-list."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(cafile, "rb") as handle:
        key = x509.load_pem_x509_certificate(handle.read()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, origins, spki):  # pylint: disable=redefined-outer-name
    """Debian's Chromium, QUIC on for the HTTP/3 origin only (as after an Alt-Svc), trusting the certificate."""
    quic = origins["http/3"].split("//", 1)[1]
    args = launch_args(browser_type_launch_args)
    args["args"] = [arg for arg in CHROMIUM_ARGS if arg != "--disable-quic"] + [
        "--origin-to-force-quic-on=%s" % quic,
        "--ignore-certificate-errors-spki-list=%s" % spki,
        # localhost is also ::1, where nothing listens: QUIC would fail there.
        "--host-resolver-rules=MAP localhost 127.0.0.1",
    ]
    return args


@pytest.fixture(scope="session")
def results(tools, debian12, debian13):
    """The cells of this run, written to build/interop/results.json when the session ends, with the
    combinations that cannot work (matrix.NOT_APPLICABLE) and the versions of everything that took part."""
    collected = Results()
    yield collected
    for server, client, target, check, reason in NOT_APPLICABLE:
        collected.add(Cell(server, client, target, check, "n/a", reason, group="n/a"))
    collected.versions.update(versions(tools, {"Debian 12": debian12, "Debian 13": debian13}))
    collected.write(str(RESULTS), seconds=time.monotonic() - STARTED[0])
