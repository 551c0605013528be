"""Fixtures shared by the failures scenario's tests.

Every test that applies a changed inventory with run_role() asks for
``good_inventory``: after the test it applies the scenario's own inventory
again and checks that /etc/nginx is byte for byte what it was before, so
the tests do not depend on their order.

Loopback ports of this scenario (see molecule.yml): 18200 main site,
18201 and 18203 backends, 18202 second site, 18209 flaky backend (down unless
a test starts it), 18210 black-holed backend, 18220 held by a test, 18230
new site, 18240 duplicate default servers, 18250 custom site the role does
not own, 18299 unresolvable upstream.
"""

import asyncio
import json

import pytest
from realtime_testkit.fixtures import base, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.hosts import http_get
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo


# Files the role does not own, written by prepare.yml (keep-me.conf owned by www-data).
FOREIGN = ["/etc/nginx/conf.d/keep-me.conf", "/etc/nginx/sites-available/custom"]


def tail(output, size=4000):
    return output[-size:]


def flat(output):
    """Play output on one line, without JSON quoting, so a message is found whole."""
    return " ".join(output.replace('\\"', '"').split())


@pytest.fixture
def good_inventory(host, name):
    """Put the scenario's inventory back after the test, and prove it restores the same tree."""
    before = config_checksums(host)
    yield before
    run = run_role(name, {})
    assert run.rc == 0, tail(run.messages)
    after = config_checksums(host)
    assert after == before, "restoring the scenario's inventory changed %s" % sorted(
        path for path in set(before) | set(after) if before.get(path) != after.get(path))


def backend_of(answer):
    """The name of the backend that answered a mirrored request."""
    assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    return json.loads(answer.body)["backend"]


def assert_serving_old_config(base):
    """The main site still proxies plain HTTP, streams SSE and echoes WebSocket."""
    answer = http_get("http://%s/api/info" % base, timeout=5)
    assert backend_of(answer).endswith("-18201")
    sse = asyncio.run(read_sse("http://%s/sse/stream?count=5&interval=0.2" % base, count=5, timeout=10))
    assert_streamed(sse, expected=5)
    ws = asyncio.run(ws_echo("ws://%s/ws/echo" % base, ["still here"], timeout=5))
    assert ws.status == 101 and ws.echoes == ["still here"], (ws.status, ws.error)
