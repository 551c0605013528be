"""Inventory the role refuses stops the play before the host is touched.

Each inventory is wrong in one place. The play must fail with a message that
names that variable, before any task changes the host: every file under
/etc/nginx keeps its checksum, nginx keeps its workers, and no task after
the input checks ran.
"""

import copy

import pytest
from conftest import assert_serving_old_config, flat, tail
from realtime_testkit.hosts import nginx_processes
from realtime_testkit.playbook import config_checksums, run_role

from realtime_testkit.collection import ensure_importable

ensure_importable()
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import location_types  # noqa: E402  pylint: disable=wrong-import-position


def _site_change(change):
    def make(variables):
        sites = copy.deepcopy(variables["realtime_proxy_sites"])
        change(sites[0])
        return {"realtime_proxy_sites": sites}
    return make


def _location(**values):
    return _site_change(lambda site: site["locations"][0].update(values))


BAD = {
    # (inventory, what the message must say: the role's own checks name the
    # variable's full path; ansible-core's argument spec names the option
    # and the variables it sits in)
    "cors-number": (_location(cors=0), "realtime_proxy_sites[0].locations[0].cors: must be a mapping"),
    "tls-number": (_site_change(lambda site: site.update(tls=5)), "realtime_proxy_sites[0].tls: must be a mapping"),
    "unknown-type": (_location(type="grpc"),
                     "type must be one of: %s, got: grpc found in realtime_proxy_sites -> locations"
                     % ", ".join(location_types())),
    "undefined-upstream": (_location(upstream="nowhere"),
                           "realtime_proxy_sites[0].locations[0].upstream: 'nowhere' is not a present upstream"),
    "injected-server-name": (_site_change(lambda site: site.update(server_name="a.test; return 200")),
                             "realtime_proxy_sites[0].server_name: 'a.test; return 200' is not a host name"),
    "wrong-type": (lambda variables: {"realtime_proxy_worker_connections": "many"},
                   "'realtime_proxy_worker_connections' is of type str and we were unable to convert to int"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_stops_the_play_before_the_host_is_touched(host, name, variables, base, case):
    make_vars, message = BAD[case]
    before = config_checksums(host)
    workers = nginx_processes(host)

    run = run_role(name, make_vars(variables))

    assert run.rc != 0, "the role accepted %s:\n%s" % (case, tail(run.messages))
    assert message in flat(run.messages), "the play does not say %r:\n%s" % (message, tail(run.messages))
    assert "Traceback" not in run.messages and "not iterable" not in run.messages, tail(run.messages)
    for later in ("Refresh the package index", "Install the nginx package", "Test the proposed configuration"):
        assert run.status(later) is None, "%r ran after bad input:\n%s" % (later, tail(run.messages))
    assert config_checksums(host) == before
    assert nginx_processes(host) == workers
    assert_serving_old_config(base)
