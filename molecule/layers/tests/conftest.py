"""Fixtures of the layers scenario: client -> edge -> inner -> backend.

Ports (see molecule.yml): 18501 backend on the inner host, 18510 inner nginx,
18520 edge nginx (plain HTTP), 18521 edge nginx (TLS). Tests that are about
one host read its variables through these fixtures; tests that take ``host``
run on both hosts.
"""

import pytest
import testinfra

INNER = "rtn-layers-inner"
EDGE = "rtn-layers-edge"


def _host(pytestconfig, name):
    return testinfra.get_host("ansible://%s" % name,
                              ansible_inventory=pytestconfig.option.ansible_inventory)


@pytest.fixture(scope="session")
def inner_host(pytestconfig):
    return _host(pytestconfig, INNER)


@pytest.fixture(scope="session")
def edge_host(pytestconfig):
    return _host(pytestconfig, EDGE)


@pytest.fixture(scope="session")
def inner_vars(inner_host):
    return inner_host.ansible.get_variables()


@pytest.fixture(scope="session")
def edge_vars(edge_host):
    return edge_host.ansible.get_variables()


@pytest.fixture(scope="session")
def edge(edge_vars):
    """The edge's plain HTTP address, where the tests' client connects."""
    return "127.0.0.1:%d" % edge_vars["realtime_test_proxy_port"]


@pytest.fixture(scope="session")
def edge_tls(edge_vars):
    return "127.0.0.1:%d" % edge_vars["realtime_test_proxy_tls_port"]


@pytest.fixture(scope="session")
def inner(inner_vars):
    return "127.0.0.1:%d" % inner_vars["realtime_test_proxy_port"]


@pytest.fixture(scope="session")
def backend(inner_vars):
    return "127.0.0.1:%d" % inner_vars["realtime_test_backend_ports"][0]
