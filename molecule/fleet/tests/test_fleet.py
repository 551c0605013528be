"""Rolling changes out to four proxies behind an edge, while clients use the edge.

Both tests run the shipped playbook ``realtime.nginx.rolling_update`` against
the group ``proxies`` (one host per batch) in a thread, while the event loop
drives clients through the edge (127.0.0.1:17300) from before the rollout
starts until it ends:

* SSE streams and WebSockets opened before the rollout and held through it
  (a stream the server closes is "cut"; worker_shutdown_timeout, 600 s in the
  inventory, is longer than any hold, so a cut is a failure);
* new SSE streams and new WebSockets, a few each second (each must open,
  stream its events or echo its message);
* plain requests at a fixed rate, each on a new connection.

The edge's upstream leaves a proxy out for ``fail_timeout`` after a failed
attempt and passes the request to the next proxy (``next_upstream``), so a
proxy whose streams break for the seconds before its rollback costs no client
anything. Every client loop is bounded in count and time; the counts are
asserted exactly, timings only against generous bounds.

With REALTIME_NGINX_FLEET_RECORD set to a path (relative to the repository),
the figures are written there as JSON; docs/performance/fleet.json is the
recorded run that docs/performance.md shows (``python -m bench report``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pathlib
import re
import time

import pytest
from conftest import PROXIES
from realtime_testkit.hosts import http_get, log_offset, log_since
from realtime_testkit.load import hold_sse, hold_ws, request_loop
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.sse import read_sse
from realtime_testkit.ws import ws_echo

PLAYBOOK = "realtime.nginx.rolling_update"
ROLLOUT = {"realtime_rollout_hosts": "proxies"}
ROLLBACK = "Put the previous configuration back and reload it"
DEAD_PORT = 17399  # nothing listens here
N_SSE = 40  # streams held through the rollout
N_WS = 20  # WebSockets held through the rollout, each echoing once a second
RATE = 10  # plain requests per second, each on a new connection
NEW_RATE = 2  # new SSE streams and new WebSockets per second, each
NEW_SSE_EVENTS = 3
HOLD_LIMIT = 400.0  # s: every client loop ends by then, even if the rollout hangs (worker_shutdown_timeout is 600)
ROLLOUT_LIMIT = 300  # s: the playbook's own bound; four hosts take one to two minutes on a busy machine
SETTLE = 2.0  # s of client traffic before the rollout starts and after it ends
ACCESS_LOG = "/var/log/nginx/access.log"
# $upstream_addr in the edge's access log lists every proxy a request was sent to.
PASSED_ON = re.compile(r" ua=[^ ]+, ")


@pytest.fixture(scope="module")
def release():
    """The X-Fleet-Release the good change sets: new on every run, so it is always a change."""
    return "fleet-%d" % time.time()


@pytest.fixture(scope="module")
def figures(proxy_hosts):
    """What the tests measured; written to REALTIME_NGINX_FLEET_RECORD at the end, when set."""
    variables = proxy_hosts[PROXIES[0]].ansible.get_variables()
    # A stream the server closes is a cut, never the end of worker_shutdown_timeout.
    assert HOLD_LIMIT < variables["realtime_proxy_worker_shutdown_timeout"]
    found = {"proxies": len(PROXIES), "new_per_s": NEW_RATE, "date": time.strftime("%Y-%m-%d"),
             "load_average": [round(load, 2) for load in os.getloadavg()],
             "worker_shutdown_timeout_s": variables["realtime_proxy_worker_shutdown_timeout"]}
    yield found
    target = os.environ.get("REALTIME_NGINX_FLEET_RECORD")
    if target and {"good_change", "breaking_change"} <= set(found):
        path = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"], target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")


async def _paced(open_one, *, stop: asyncio.Event) -> list:
    """Start OPEN_ONE() NEW_RATE times a second until STOP (at most HOLD_LIMIT s); their results.

    Each OPEN_ONE is bounded by its own timeout, so gathering them ends too."""
    tasks = []
    while not stop.is_set() and len(tasks) < NEW_RATE * HOLD_LIMIT:
        tasks.append(asyncio.ensure_future(open_one()))
        try:
            await asyncio.wait_for(stop.wait(), 1.0 / NEW_RATE)
        except asyncio.TimeoutError:
            pass
    return await asyncio.gather(*tasks)


async def _new_sse(edge):
    result = await read_sse("http://%s/sse/new?count=%d&interval=0.1" % (edge, NEW_SSE_EVENTS),
                            count=NEW_SSE_EVENTS, timeout=10)
    return result.status == 200 and len(result.events) == NEW_SSE_EVENTS and result.error is None, result


async def _new_ws(edge):
    result = await ws_echo("ws://%s/ws/new" % edge, ["hello"], timeout=10)
    return result.status == 101 and result.echoes == ["hello"] and result.error is None, result


async def _rollout_under_load(edge, extra_vars):
    """Run the rolling update while the clients use EDGE; the run, its wall time and the clients' results.

    The clients' results are keyed held_sse, held_ws (HoldResult), requests
    (RequestLoopResult), new_sse and new_ws (lists of (ok, result))."""
    stop_held, stop_new = asyncio.Event(), asyncio.Event()
    sse_ready, ws_ready = asyncio.Event(), asyncio.Event()
    held_sse = asyncio.ensure_future(hold_sse(
        "http://%s/sse/held?count=0&interval=1&heartbeat=5" % edge, N_SSE, duration=HOLD_LIMIT,
        connect_timeout=10, stop=stop_held, ready=sse_ready))
    held_ws = asyncio.ensure_future(hold_ws(
        "ws://%s/ws/held" % edge, N_WS, duration=HOLD_LIMIT, ping_interval=1.0, connect_timeout=10,
        stop=stop_held, ready=ws_ready))
    loops = {"held_sse": held_sse, "held_ws": held_ws}
    try:
        await asyncio.wait_for(asyncio.gather(sse_ready.wait(), ws_ready.wait()), 60)
        loops["requests"] = asyncio.ensure_future(request_loop(
            "http://%s/api/fleet" % edge, count=int(RATE * HOLD_LIMIT), duration=HOLD_LIMIT, concurrency=4,
            rate=RATE, stop=stop_new, timeout=10))
        loops["new_sse"] = asyncio.ensure_future(_paced(lambda: _new_sse(edge), stop=stop_new))
        loops["new_ws"] = asyncio.ensure_future(_paced(lambda: _new_ws(edge), stop=stop_new))
        await asyncio.sleep(SETTLE)
        started = time.monotonic()
        run = await asyncio.to_thread(run_role, None, dict(ROLLOUT, **extra_vars), playbook=PLAYBOOK,
                                      timeout=ROLLOUT_LIMIT)
        rollout_s = time.monotonic() - started
        await asyncio.sleep(SETTLE)
    finally:
        stop_new.set()
        stop_held.set()
        clients = {key: await task for key, task in loops.items()}
    return run, rollout_s, clients


def _client_figures(clients, edge_log: str) -> dict:
    """Counts of the clients' results, and how many requests the edge passed on to another proxy (EDGE_LOG)."""
    requests = clients["requests"].summary()
    held = {kind: clients[kind].summary() for kind in ("held_sse", "held_ws")}
    out = {"requests": {"made": requests.attempted, "failed": requests.failed, "rate_per_s": RATE,
                        "errors": requests.error_samples},
           "passed_on_by_edge": sum(1 for line in edge_log.splitlines() if PASSED_ON.search(line))}
    for kind, summary in held.items():
        out[kind] = {"attempted": summary.attempted, "held": summary.opened, "cut": summary.closed_by_server,
                     "failed_to_open": summary.failed_to_open, "mismatches": summary.mismatches,
                     "events": summary.events, "errors": summary.error_samples}
    for kind in ("new_sse", "new_ws"):
        failed = [repr(result)[:300] for ok, result in clients[kind] if not ok]
        out[kind] = {"opened": len(clients[kind]), "failed": len(failed), "errors": failed[:3]}
    return out


def _assert_no_client_failed(found):
    assert found["requests"]["failed"] == 0, found["requests"]
    assert found["requests"]["made"] > 0
    for kind in ("held_sse", "held_ws"):
        held = found[kind]
        assert (held["held"], held["cut"], held["failed_to_open"], held["mismatches"]) \
            == (held["attempted"], 0, 0, 0), (kind, held)
        assert held["events"] > 0, (kind, held)
    for kind in ("new_sse", "new_ws"):
        assert found[kind]["failed"] == 0 and found[kind]["opened"] > 0, (kind, found[kind])


def _show(title, found):
    print("\n%s: %s" % (title, json.dumps(found, sort_keys=True)))


def _release_seen(variables):
    """The X-Fleet-Release a proxy's backend receives for a plain request to the proxy itself."""
    answer = http_get("http://127.0.0.1:%d/api/release" % variables["realtime_test_proxy_port"], timeout=10)
    assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    headers = {key.lower(): value for key, value in json.loads(answer.body)["headers"].items()}
    return headers.get("x-fleet-release")


def test_a_good_change_reaches_every_proxy_and_no_client_notices(edge, edge_host, proxy_hosts, release, figures):
    before = {name: config_checksums(host) for name, host in proxy_hosts.items()}
    offset = log_offset(edge_host, ACCESS_LOG)
    run, rollout_s, clients = asyncio.run(_rollout_under_load(edge, {"realtime_test_fleet_release": release}))
    found = dict(_client_figures(clients, log_since(edge_host, offset, ACCESS_LOG)), rollout_s=round(rollout_s, 1),
                 hosts=len(run.stats))
    _show("good change, rolled out to %d proxies" % len(PROXIES), found)
    assert run.rc == 0, run.messages[-3000:]
    assert sorted(run.stats) == sorted(PROXIES), run.stats
    for name, host in proxy_hosts.items():
        assert run.stats[name]["changed"] > 0 and run.stats[name]["failures"] == 0, (name, run.stats[name])
        assert config_checksums(host) != before[name], name
        assert _release_seen(host.ansible.get_variables()) == release, name
    assert rollout_s < ROLLOUT_LIMIT
    _assert_no_client_failed(found)
    figures["good_change"] = found


def test_a_change_that_breaks_streams_stops_at_the_first_proxy(edge, edge_host, proxy_hosts, release, figures):
    first, *others = PROXIES
    before = {name: config_checksums(host) for name, host in proxy_hosts.items()}
    upstreams = copy.deepcopy(proxy_hosts[first].ansible.get_variables()["realtime_proxy_upstreams"])
    streams = next(upstream for upstream in upstreams if upstream["name"] == "streams")
    streams["servers"] = ["127.0.0.1:%d" % DEAD_PORT]  # nginx -t accepts it; the SSE location's probe fails
    offset = log_offset(edge_host, ACCESS_LOG)
    # The release of the good change stays, so the streams' upstream is all that differs.
    run, rollout_s, clients = asyncio.run(_rollout_under_load(
        edge, {"realtime_test_fleet_release": release, "realtime_proxy_upstreams": upstreams}))
    found = dict(_client_figures(clients, log_since(edge_host, offset, ACCESS_LOG)), rollout_s=round(rollout_s, 1),
                 hosts=len(run.stats))
    _show("breaking change, stopped at %s" % first, found)
    assert run.rc != 0, run.messages[-3000:]
    assert list(run.stats) == [first], run.stats
    assert run.status(ROLLBACK, first) == "changed", run.messages[-3000:]
    assert run.result(ROLLBACK, first)["rolled_back"] is True
    assert "/sse/ on site fleet" in run.messages, run.messages[-3000:]
    for name, host in proxy_hosts.items():
        assert config_checksums(host) == before[name], name
    assert rollout_s < ROLLOUT_LIMIT
    _assert_no_client_failed(found)
    figures["breaking_change"] = dict(found, rolled_back=True, untouched=len(others))
