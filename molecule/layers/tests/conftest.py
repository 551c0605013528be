"""Fixtures of the layers scenario: client -> edge -> inner -> backend.

Ports (see molecule.yml): 18501 backend on the inner host, 18510 inner nginx,
18520 edge nginx (plain HTTP), 18521 edge nginx (TLS). Tests that are about
one host read its variables through these fixtures; tests that take ``host``
run on both hosts.
"""

from realtime_testkit.fixtures import address_fixture, inventory_host_fixture, variables_fixture

INNER = "rtn-layers-inner"
EDGE = "rtn-layers-edge"

inner_host = inventory_host_fixture(INNER)
edge_host = inventory_host_fixture(EDGE)
inner_vars = variables_fixture("inner_host")
edge_vars = variables_fixture("edge_host")
edge = address_fixture("realtime_test_proxy_port", of="edge_vars", scope="session",
                       doc="The edge's plain HTTP address, where the tests' client connects.")
edge_tls = address_fixture("realtime_test_proxy_tls_port", of="edge_vars", scope="session")
inner = address_fixture("realtime_test_proxy_port", of="inner_vars", scope="session")
backend = address_fixture("realtime_test_backend_ports", of="inner_vars", index=0, scope="session")
