"""Fixtures of the socketio scenario.

Ports (see molecule.yml): 18651 and 18652 the Socket.IO backends, 18660 the
role's site. Clients run on the controller and reach nginx on loopback.
"""

import pytest
from realtime_testkit.fixtures import address_fixture, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures

proxy = address_fixture("realtime_test_proxy_port", doc="The role's site.")


@pytest.fixture(scope="module")
def allowed_origin(variables):
    return variables["realtime_test_allowed_origin"]


@pytest.fixture(scope="module")
def backend_names(variables):
    """The names the backends answer with (socketio_backend.py --name, set in prepare.yml)."""
    return {"sio-%d" % port for port in variables["realtime_test_socketio_ports"]}
