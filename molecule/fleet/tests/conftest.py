"""Fixtures of the fleet scenario: clients -> edge -> four proxies -> their backends.

Ports (see molecule.yml): 17300 the edge; proxy N listens on 173N0 and its
test backend on 173N1; nothing listens on 17399. The tests take no ``host``
(which would run each test once per host): they name the hosts they look at.
"""

import pytest
from realtime_testkit.fixtures import address_fixture, inventory_host, inventory_host_fixture, variables_fixture

EDGE = "rtn-fleet-edge"
PROXIES = ("rtn-fleet-proxy1", "rtn-fleet-proxy2", "rtn-fleet-proxy3", "rtn-fleet-proxy4")

edge_host = inventory_host_fixture(EDGE)
edge_vars = variables_fixture("edge_host")
edge = address_fixture("realtime_test_proxy_port", of="edge_vars", scope="session",
                       doc="The edge's address, where every client of the tests connects.")


@pytest.fixture(scope="session")
def proxy_hosts(pytestconfig):
    """{inventory name: testinfra host} of the proxies, in rollout order."""
    return {name: inventory_host(pytestconfig, name) for name in PROXIES}
