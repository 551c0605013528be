"""The role refreshes a missing or stale package index before installing nginx.

A fresh host or container image often has no package index; installing
would then fail with "No package matching 'nginx' is available".
"""

from conftest import tail
from realtime_testkit.playbook import run_role

INSTALL = "Install the nginx package"


def refreshed_index(run) -> bool:
    """Whether the install task refreshed the package index (apt's cache_updated)."""
    result = run.result(INSTALL)
    assert result is not None and run.status(INSTALL) == "ok", tail(run.messages)
    return bool(result.get("cache_updated"))


def index_files(host):
    return host.check_output("find /var/lib/apt/lists -maxdepth 1 -type f -name '*_Packages*' | sort").split()


def test_missing_package_index_is_refreshed(host, name):
    assert index_files(host), "the scenario's host should start with a package index"
    # An image whose index was cleaned when it was built, a day ago: apt
    # dates the index by the lists directory (or APT's update-success stamp).
    host.run_expect([0], "find /var/lib/apt/lists -maxdepth 1 -type f -delete && "
                         "rm -f /var/lib/apt/periodic/update-success-stamp && "
                         "touch -d '1 day ago' /var/lib/apt/lists")
    assert not index_files(host)

    left_alone = run_role(name, {"realtime_proxy_package_index_max_age": 0})
    assert left_alone.rc == 0, tail(left_alone.messages)
    assert not refreshed_index(left_alone), tail(left_alone.messages)
    assert not index_files(host), "max age 0 must leave the index alone"

    refreshed = run_role(name, {})
    assert refreshed.rc == 0, tail(refreshed.messages)
    assert refreshed_index(refreshed), tail(refreshed.messages)
    assert index_files(host), "the package index was not refreshed"

    again = run_role(name, {})
    assert again.rc == 0, tail(again.messages)
    assert not refreshed_index(again), "a fresh index must not be refreshed again:\n" + tail(again.messages)
