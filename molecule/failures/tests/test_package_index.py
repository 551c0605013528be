"""The role refreshes a missing or stale package index before it installs a package.

A fresh host or container image often has no package index; installing
would then fail with "No package matching 'nginx' is available". A run with
nothing to install does not ask the package manager at all (tasks/plan.yml
reads which of the role's packages are installed), so it leaves the index
alone however old it is.
"""

from conftest import tail
from realtime_testkit.playbook import run_role

INSTALL = "Install the nginx package"


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

    # Nothing to install: apt is not asked, the index stays as it is.
    untouched = run_role(name, {})
    assert untouched.rc == 0, tail(untouched.messages)
    assert untouched.status(INSTALL) is None, tail(untouched.messages)
    assert not index_files(host), "a run with nothing to install must leave the index alone"

    # nginx's package removed (nginx stops; the configuration files, nginx-common's, stay): now the run installs it
    # again, which needs the index.
    host.run_expect([0], "dpkg --remove nginx")
    left_alone = run_role(name, {"realtime_proxy_package_index_max_age": 0})
    assert left_alone.rc != 0 and left_alone.status(INSTALL) == "failed", tail(left_alone.messages)
    assert not index_files(host), "max age 0 must leave the index alone"

    refreshed = run_role(name, {})
    assert refreshed.rc == 0, tail(refreshed.messages)
    assert refreshed.status(INSTALL) == "changed", tail(refreshed.messages)
    assert refreshed.result(INSTALL).get("cache_updated"), tail(refreshed.messages)
    assert index_files(host), "the package index was not refreshed"
    assert host.package("nginx").is_installed

    again = run_role(name, {})
    assert again.rc == 0 and again.stats[name]["changed"] == 0, tail(again.messages)
    assert again.status(INSTALL) is None, tail(again.messages)
