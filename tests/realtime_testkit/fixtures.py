"""pytest fixtures every molecule scenario's tests share.

A scenario's conftest imports the ones it uses:
``from realtime_testkit.fixtures import base, name, variables  # noqa: F401``,
and makes its own named addresses and hosts with the factories below, e.g.
``naive = address_fixture("realtime_test_naive_port")``.
"""

import pytest
import testinfra


def loopback(port: int) -> str:
    """host:port of a test port: every scenario listens on loopback only."""
    return "127.0.0.1:%d" % port


@pytest.fixture(scope="module")
def name(host):
    """The test host's inventory name, for run_role(limit=...)."""
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def variables(host):
    """The test host's inventory variables."""
    return host.ansible.get_variables()


def address_fixture(key: str, *, of: str = "variables", index: int | None = None, scope: str = "module",
                    doc: str | None = None):
    """A fixture: the loopback address of the port in variable KEY (its INDEXth
    entry when KEY is a list) of the host whose variables fixture is OF.

    With OF "variables" (the host under test, parametrized by testinfra) the
    fixture asks for ``variables`` by name, so pytest makes one per host; a
    ``getfixturevalue`` call cannot see that parameter. Other OFs are
    session fixtures of one named host (variables_fixture())."""
    def pick(values):
        port = values[key]
        return loopback(port if index is None else port[index])

    if of == "variables":
        def address(variables):  # pylint: disable=redefined-outer-name
            return pick(variables)
    else:
        def address(request):
            return pick(request.getfixturevalue(of))
    address.__doc__ = doc or "127.0.0.1 and %s%s of %s." % (key, "" if index is None else "[%d]" % index, of)
    return pytest.fixture(scope=scope)(address)


def inventory_host(pytestconfig, inventory_name: str):
    """The testinfra host INVENTORY_NAME of the scenario's inventory."""
    return testinfra.get_host("ansible://%s" % inventory_name, ansible_inventory=pytestconfig.option.ansible_inventory)


def inventory_host_fixture(inventory_name: str):
    """A session fixture: the testinfra host INVENTORY_NAME of the scenario, for
    tests about more than one host (``host`` runs a test on each host in turn)."""
    @pytest.fixture(scope="session")
    def host_fixture(pytestconfig):
        return inventory_host(pytestconfig, inventory_name)
    return host_fixture


def variables_fixture(host_fixture: str):
    """A session fixture: the inventory variables of the host fixture HOST_FIXTURE."""
    @pytest.fixture(scope="session")
    def host_variables(request):
        return request.getfixturevalue(host_fixture).ansible.get_variables()
    return host_variables


base = address_fixture("realtime_test_proxy_port", doc="host:port of the host's proxy on loopback.")
