"""Fixtures of the demo's browser test: the demo's addresses, read from its
inventory (docs/examples/group_vars/all.yml, with the scenario's
realtime_demo_port), and Debian's Chromium for pytest-playwright."""

import pytest
from realtime_testkit.browser import launch_args
from realtime_testkit.fixtures import variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.render import templated_inventory


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # pylint: disable=redefined-outer-name
    return launch_args(browser_type_launch_args)


@pytest.fixture(scope="module")
def settings(variables):  # pylint: disable=redefined-outer-name
    """The host's realtime_* variables as the role sees them: their Jinja (the ports from realtime_demo_port)
    rendered."""
    return templated_inventory(variables, "realtime_")


def _site_origin(settings, name):  # pylint: disable=redefined-outer-name
    site = next(site for site in settings["realtime_proxy_sites"] if site["name"] == name)
    return "http://%s" % site["listen"][0]


@pytest.fixture(scope="module")
def demo_origin(settings):  # pylint: disable=redefined-outer-name
    """The demo page's origin: the site `demo`."""
    return _site_origin(settings, "demo")


@pytest.fixture(scope="module")
def other_origin(settings):  # pylint: disable=redefined-outer-name
    """The origin of the second page, which the guarded locations do not list."""
    return _site_origin(settings, "other-origin")


@pytest.fixture(scope="module")
def backend_base(settings):  # pylint: disable=redefined-outer-name
    return "http://127.0.0.1:%d" % settings["realtime_test_backend_ports"][0]
