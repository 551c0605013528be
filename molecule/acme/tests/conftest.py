"""Fixtures of the acme scenario (ports: see molecule.yml).

Pebble runs on the controller from prepare to cleanup (prepare.yml,
tests/realtime_testkit/acme.py). Clients trust pebble's issuing root alone
(from its management port), and the site's names resolve to 127.0.0.1 in
this process only, as ``curl --resolve`` would do: no DNS knows them.
"""

import os

import pytest
from realtime_testkit import acme
from realtime_testkit.fixtures import inventory_host_fixture, variables_fixture
from realtime_testkit.hosts import resolved
from realtime_testkit.playbook import run_role
from realtime_testkit.tls import client_context

ISSUING = "rtn-acme-debian12"
FRESH = "rtn-acme-fresh"
NAMES = ("live.acme.test", "www.acme.test")
CERT_NAME = "realtime_proxy-live"

issuing = inventory_host_fixture(ISSUING)
fresh = inventory_host_fixture(FRESH)
issuing_variables = variables_fixture("issuing")


@pytest.fixture(scope="session")
def pebble_dir():
    """Where prepare.yml started pebble: its config, logs and listener certificate."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pebble")


@pytest.fixture(scope="session")
def pebble_ports(issuing_variables):
    return acme.PebblePorts(*issuing_variables["realtime_test_pebble_ports"])


@pytest.fixture(scope="session")
def pebble_root(pebble_dir, pebble_ports, tmp_path_factory):
    """A file with pebble's issuing root, the only certificate the clients trust."""
    path = tmp_path_factory.mktemp("pebble") / "root.pem"
    path.write_text(acme.root_pem(pebble_dir, pebble_ports.management))
    return str(path)


@pytest.fixture(scope="session")
def trust_pebble(pebble_root):
    """A client context that trusts pebble's root and nothing else."""
    return client_context(cafile=pebble_root)


@pytest.fixture(scope="session")
def tls_port(issuing_variables):
    return issuing_variables["realtime_test_tls_port"]


@pytest.fixture(scope="session")
def plain_port(issuing_variables):
    return issuing_variables["realtime_test_proxy_port"]


@pytest.fixture(scope="session", autouse=True)
def names_on_loopback():
    with resolved({name: "127.0.0.1" for name in NAMES}):
        yield


def assert_run_changes_nothing(pebble_dir):
    """Run the role on the converged host again: no change, and not one request to the CA."""
    offset = acme.log_offset(pebble_dir)
    run = run_role(ISSUING, {})
    assert run.rc == 0, run.messages[-3000:]
    assert run.stats[ISSUING]["changed"] == 0, run.messages[-3000:]
    assert run.status("Request each missing or changed certificate") == "ok"
    assert acme.log_since(pebble_dir, offset) == ""
