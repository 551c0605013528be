"""The role's post-deploy verification (verify_url) with realtime_probe.

Converge already applied the inventory with verify_url on the good sse and
websocket locations, so its passing run is the first proof. Here a change adds
one websocket and one sse location whose verify_url cannot pass: the play
fails and names exactly those locations, and not the good ones, which are
checked in the same run. A change that nginx -t accepts but that breaks the
existing SSE location (its upstream moved to a port where nothing listens) is
rolled back: the live files are byte-identical to before, streams through
that location still work, and the play fails naming it. Then the scenario's
own inventory is applied again (a change, so verification runs) and passes.
"""

import asyncio
import copy

import pytest
from realtime_testkit.playbook import config_checksums, result_status, run_role
from realtime_testkit.sse import assert_streamed, read_sse

PROBE = "Probe each location that has a verify_url"
ROLLBACK = "Put the previous configuration back and reload it"
REPORT = "Report locations whose check failed"
DEAD_PORT = 18699  # nothing listens here


@pytest.fixture(scope="module")
def sites(variables):
    return copy.deepcopy(variables["realtime_proxy_sites"])


def test_unverifiable_locations_fail_the_play_and_are_named(name, sites, good):
    locations = sites[0]["locations"]
    first_bad = len(locations)
    locations.extend([
        # the backend only upgrades under /ws/; /plain/ reaches the http
        # location and gets a JSON 200 instead of 101
        {"path": "/ws/plain/", "type": "websocket", "upstream": "app",
         "verify_url": "ws://%s/plain/" % good},
        # a JSON document, not an event stream
        {"path": "/sse/info/", "type": "sse", "upstream": "app",
         "verify_url": "http://%s/api/info" % good},
    ])
    run = run_role(name, {"realtime_proxy_sites": sites})
    assert run.rc != 0, run.messages[-3000:]
    ws_where = "realtime_proxy_sites[0].locations[%d] (/ws/plain/ on site probe)" % first_bad
    sse_where = "realtime_proxy_sites[0].locations[%d] (/sse/info/ on site probe)" % (first_bad + 1)
    assert ws_where + " failed its check through nginx: WebSocket ws://%s/plain/ failed the upgrade check" % good \
        in run.messages, run.messages[-3000:]
    # The role wrote the location, so the message names the backend's plain answer, not nginx's headers.
    ws_report = [line for line in run.result(REPORT)["msg"] if line.startswith(ws_where)]
    assert len(ws_report) == 1 and "200 OK means the upstream answered without upgrading" in ws_report[0], ws_report
    assert "proxy_http_version" not in ws_report[0], ws_report
    assert sse_where + " failed its check through nginx: SSE http://%s/api/info failed: Content-Type is" % good \
        in run.messages, run.messages[-3000:]
    assert run.status(REPORT) == "failed", run.messages[-3000:]
    report = "\n".join(run.result(REPORT)["msg"])
    for index in range(1, first_bad):
        assert "realtime_proxy_sites[0].locations[%d] " % index not in report, report[-3000:]


def test_a_change_that_breaks_a_stream_is_rolled_back(host, name, variables, good):
    before = config_checksums(host)
    upstreams = copy.deepcopy(variables["realtime_proxy_upstreams"])
    upstreams[0]["servers"] = ["127.0.0.1:%d" % DEAD_PORT]  # nginx -t accepts it; every stream gets 502
    run = run_role(name, {"realtime_proxy_upstreams": upstreams})
    assert run.rc != 0, run.messages[-3000:]
    assert run.status("Test the proposed configuration") == "changed", run.messages[-3000:]
    assert run.status(ROLLBACK) == "changed", run.messages[-3000:]
    assert run.result(ROLLBACK)["rolled_back"] is True
    report = run.result(REPORT)["msg"]
    assert any(line.startswith("realtime_proxy_sites[0].locations[1] (/sse/ on site probe) failed its check")
               for line in report), report
    assert "the previous configuration was put back and nginx serves it" in report
    # Byte-identical to before the change, and served: streams go through again.
    assert config_checksums(host) == before
    result = asyncio.run(read_sse("http://%s/sse/stream?count=5&interval=0.2" % good, count=5, timeout=10))
    assert result.status == 200
    assert_streamed(result, expected=5)
    # Nothing awaits activation: the next run with the same inventory is a no-op.
    again = run_role(name, {})
    assert again.rc == 0 and again.stats[name]["changed"] == 0, again.messages[-3000:]


def test_good_locations_pass_the_verification(name, variables, good):
    """The scenario's inventory with one timeout changed: a change, so every location is checked, and passes.
    (The failed changes above were rolled back, so the inventory alone would change nothing.)"""
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites[0]["locations"][1]["read_timeout"] = 3599
    run = run_role(name, {"realtime_proxy_sites": sites})
    assert run.rc == 0, run.messages[-3000:]
    assert run.status(PROBE) == "ok", run.messages[-3000:]
    probed = {item["item"]["where"].split(" ")[0]: item for item in run.result(PROBE)["results"]}
    for index, url in ((1, "http://%s/sse/verify?count=10&interval=0.2" % good),
                       (2, "ws://%s/ws/verify" % good),
                       (3, "ws://%s/ws/guarded/verify" % good)):
        item = probed["realtime_proxy_sites[0].locations[%d]" % index]
        assert result_status(item) == "ok", item
        assert item["item"]["location"]["verify_url"] == url
    assert run.status(REPORT) is None
    assert "failed its check" not in run.messages
