"""pytest fixtures every molecule scenario's tests share.

A scenario's conftest imports the ones it uses:
``from realtime_testkit.fixtures import base, name, variables  # noqa: F401``.
"""

import pytest


@pytest.fixture(scope="module")
def name(host):
    """The test host's inventory name, for run_role(limit=...)."""
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def variables(host):
    """The test host's inventory variables."""
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def base(variables):
    """host:port of the host's proxy on loopback."""
    return "127.0.0.1:%d" % variables["realtime_test_proxy_port"]
