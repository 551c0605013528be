"""Fixtures of the demo's browser test: the demo's addresses, read from its
inventory (docs/examples/group_vars/all.yml), and Debian's Chromium for
pytest-playwright."""

import pytest
from realtime_testkit.browser import launch_args
from realtime_testkit.fixtures import variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # pylint: disable=redefined-outer-name
    return launch_args(browser_type_launch_args)


def _site_origin(variables, name):  # pylint: disable=redefined-outer-name
    site = next(site for site in variables["realtime_proxy_sites"] if site["name"] == name)
    return "http://%s" % site["listen"][0]


@pytest.fixture(scope="module")
def demo_origin(variables):  # pylint: disable=redefined-outer-name
    """The demo page's origin: the site `demo`."""
    return _site_origin(variables, "demo")


@pytest.fixture(scope="module")
def other_origin(variables):  # pylint: disable=redefined-outer-name
    """The origin of the second page, which the guarded locations do not list."""
    return _site_origin(variables, "other-origin")


@pytest.fixture(scope="module")
def backend_base(variables):  # pylint: disable=redefined-outer-name
    return "http://127.0.0.1:%d" % variables["realtime_test_backend_ports"][0]
