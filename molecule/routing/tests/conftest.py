"""Fixtures shared by the routing scenario's tests.

Loopback ports of this scenario (see molecule.yml): 18950 the proxy, 18951
backend "a", 18952 backend "b".
"""

import json

import pytest
from realtime_testkit.fixtures import base, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import http_get
from realtime_testkit.playbook import config_checksums, run_role

BACKEND_A = "-18951"
BACKEND_B = "-18952"


def tail(output, size=4000):
    return output[-size:]


def flat(output):
    """Play output on one line, without JSON quoting, so a message is found whole."""
    return " ".join(output.replace('\\"', '"').split())


def mirrored(base, path):
    """(answer, what the backend reported: its name, the path it saw and the headers it got)."""
    answer = http_get("http://%s%s" % (base, path), timeout=5)
    assert answer.status == 200, (path, answer.status, answer.error, answer.body[:300])
    return answer, json.loads(answer.body)


@pytest.fixture
def unchanged(host, name):
    """The test must leave /etc/nginx as it was; the scenario's own inventory still applies cleanly after it."""
    before = config_checksums(host)
    yield before
    assert config_checksums(host) == before, "the test changed /etc/nginx"
    run = run_role(name, {})
    assert run.rc == 0, tail(run.output)
    assert config_checksums(host) == before
