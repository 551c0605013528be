"""A reload through the role while 200 SSE streams and 200 WebSockets are open.

Timeline (all stamps are wall clock; the container shares the test's kernel,
so times read from its /proc compare directly with the clients' stamps):

1. open the streams and sockets through nginx (127.0.0.1:18310) and keep them busy;
2. snapshot nginx's master and workers, and which worker holds which client port;
3. start a watcher inside the container that polls /proc every 50 ms for the
   new workers' start times and the moment each old worker exits;
4. start a paced loop of plain requests, each on a NEW connection;
5. apply a changed site with ``run_role`` (one more location): the role's
   handler reloads nginx;
6. wait for the old workers to exit, let the clients reconnect, then stop.

"The reload" (R below) is the start time of the first new worker, read from
/proc: the old workers are told to quit only after the new ones started, so
their shutdown timer cannot start earlier than R.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request

import pytest
from realtime_testkit.hosts import host_python
from realtime_testkit.load import hold_sse, hold_ws, request_loop
from realtime_testkit.playbook import run_role

N_SSE = 200
N_WS = 200
MIN_REQUESTS = 1000  # new-connection requests that must run during the reload
RATE = 150  # requests/s, on 8 connections at a time: over 1,000 even when the role applies a change in seconds
CUT_TOLERANCE = 0.25  # s: /proc start times tick every 10 ms
EXIT_SLACK = 5.0  # s after worker_shutdown_timeout for the old workers to be gone
RECONNECT_DELAY = 1.0  # s before a cut client reconnects (EventSource waits ~3 s)
SETTLE = 5.0  # s after the old workers left, for the reconnected clients to get going
# Upper bounds only, for a busy machine: the clients are stopped and the watcher
# returns as soon as the old workers are gone (typically 1-2 minutes in all).
HOLD_LIMIT = 480.0  # s: every client loop
WATCH_LIMIT = 420.0  # s: the watcher in the container
WATCH_STOP = "/run/realtime-reload-watch.stop"  # created to end the watcher early

# Runs in the container with its python3, after _proc.py (see host_python). argv: master
# pid, old worker pids, limit (s), stop file (the watcher returns when it appears).
WATCH = r"""
import json, os, sys, time
master, old, limit = int(sys.argv[1]), set(int(p) for p in sys.argv[2].split(",")), float(sys.argv[3])
stop_file = sys.argv[4]
hz = os.sysconf("SC_CLK_TCK")

def started_children(pid):
    return {child: info["start_ticks"] for child, info in process_table().items() if info["ppid"] == pid}

def boot():
    with open("/proc/uptime") as f:
        return time.time() - float(f.read().split()[0])

gone, new, seen_new = {}, {}, None
end = time.monotonic() + limit
polls = 0
while time.monotonic() < end:
    kids = started_children(master)
    now = time.time()
    polls += 1
    for pid in old:
        if pid not in kids and pid not in gone:
            gone[pid] = now
    for pid, ticks in kids.items():
        if pid not in old and pid not in new:
            new[pid] = boot() + ticks / float(hz)
            seen_new = seen_new or now
    if (new and len(gone) == len(old)) or os.path.exists(stop_file):
        break
    time.sleep(0.05)
print(json.dumps({"master": master, "master_alive": os.path.exists("/proc/%d" % master),
                  "gone": gone, "new": new, "seen_new": seen_new, "polls": polls,
                  "timed_out": len(gone) < len(old) or not new}))
"""

# After _proc.py too. argv: listen port. The master, its workers, and which worker holds each client port.
SNAPSHOT = r"""
import json, os, sys
port = int(sys.argv[1])
with open("/run/nginx.pid") as f:
    master = int(f.read())
workers = children(master)
peers = {}
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if int(f[1].split(":")[1], 16) == port and f[3] == "01":
        peers[f[9]] = int(f[2].split(":")[1], 16)
owners, fd_errors = {}, []
for pid in workers:
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError as exc:
        fd_errors.append("%d: %s" % (pid, exc))
        continue
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in peers:
            owners[peers[link[8:-1]]] = pid
print(json.dumps({"master": master, "workers": sorted(workers), "owners": owners,
                  "listening_peers": len(peers), "fd_errors": fd_errors}))
"""


def _python(host, script, *args):
    return json.loads(host_python(host, script, *args))


def _snapshot(host, port):
    snap = _python(host, SNAPSHOT, port)
    snap["owners"] = {int(k): v for k, v in snap["owners"].items()}
    return snap


def _marker(base):
    """X-Reload-Marker the backend received for /added/, or None."""
    with urllib.request.urlopen("http://%s/added/probe" % base, timeout=5) as resp:
        headers = json.load(resp)["headers"]
    return {k.lower(): v for k, v in headers.items()}.get("x-reload-marker")


def _rel(value, origin):
    return None if value is None or origin is None else round(value - origin, 3)


async def _drive(host, name, port, variables):
    base = "127.0.0.1:%d" % port
    sites = variables["realtime_proxy_sites"]
    # A fresh marker on every run, so the change (and the reload) happens even if
    # verify runs twice against the same host.
    marker = "reload-%d" % time.time()
    added = {"path": "/added/", "type": "http", "upstream": "app", "proxy_headers": {"X-Reload-Marker": marker}}
    changed = [dict(sites[0], locations=list(sites[0]["locations"]) + [added])] + list(sites[1:])

    stop_streams, stop_requests = asyncio.Event(), asyncio.Event()
    sse_ready, ws_ready = asyncio.Event(), asyncio.Event()
    sse_task = asyncio.ensure_future(hold_sse(
        "http://%s/sse/reload?count=0&interval=1&heartbeat=2" % base, N_SSE, duration=HOLD_LIMIT,
        connect_timeout=10, last_event_resume=True, resume_delay=RECONNECT_DELAY,
        stop=stop_streams, ready=sse_ready))
    ws_task = asyncio.ensure_future(hold_ws(
        "ws://%s/ws/reload" % base, N_WS, duration=HOLD_LIMIT, ping_interval=1.0, connect_timeout=10,
        reconnect=True, reconnect_delay=RECONNECT_DELAY, stop=stop_streams, ready=ws_ready))
    req_task = None
    ctx = {"marker": marker}
    try:
        await asyncio.wait_for(asyncio.gather(sse_ready.wait(), ws_ready.wait()), 60)
        await asyncio.sleep(2.0)  # events and echoes flow before anything changes
        ctx["before"] = await asyncio.to_thread(_snapshot, host, port)
        ctx["marker_before"] = await asyncio.to_thread(_marker, base)
        ctx["log_offset"] = int(host.check_output("stat -c %s /var/log/nginx/error.log"))
        host.run("rm -f %s" % WATCH_STOP)
        old = ",".join(str(p) for p in ctx["before"]["workers"])
        watch_task = asyncio.ensure_future(asyncio.to_thread(
            _python, host, WATCH, ctx["before"]["master"], old, WATCH_LIMIT, WATCH_STOP))
        req_task = asyncio.ensure_future(request_loop(
            "http://%s/api/reload-probe" % base, count=int(RATE * HOLD_LIMIT), duration=HOLD_LIMIT,
            concurrency=8, rate=RATE, stop=stop_requests, timeout=10))
        await asyncio.sleep(1.0)  # requests run before the change starts
        ctx["role_start"] = time.time()
        ctx["role"] = await asyncio.to_thread(run_role, name, {"realtime_proxy_sites": changed})
        ctx["role_end"] = time.time()
        if ctx["role"].rc != 0:
            host.run("touch %s" % WATCH_STOP)  # no reload is coming: do not wait for one
        ctx["watch"] = await watch_task
        ctx["watch_end"] = time.time()
        await asyncio.sleep(SETTLE)
        ctx["after"] = await asyncio.to_thread(_snapshot, host, port)
        ctx["marker_after"] = await asyncio.to_thread(_marker, base)
        ctx["error_log"] = host.run("tail -c +%d /var/log/nginx/error.log" % (ctx["log_offset"] + 1)).stdout
    finally:
        stop_requests.set()
        stop_streams.set()
        if req_task is not None:
            ctx["requests"] = await req_task
        ctx["sse"] = await sse_task
        ctx["ws"] = await ws_task
    return ctx


def _figures(ctx, timeout):
    watch = ctx["watch"]
    reload_at = min(watch["new"].values()) if watch["new"] else None
    gone = {int(k): v for k, v in watch["gone"].items()}
    last_gone = max(gone.values()) if gone else None
    before_cut = reload_at + timeout - CUT_TOLERANCE if reload_at else None
    window_end = max(ctx["role_end"], last_gone or 0.0)
    sse, ws, requests = ctx["sse"], ctx["ws"], ctx["requests"]
    new_workers = {int(p) for p in watch["new"]}
    old_workers = set(ctx["before"]["workers"])
    owners_before, owners_after = ctx["before"]["owners"], ctx["after"]["owners"]

    def held(result, owners, workers, resumed):
        records = [r.resume if resumed else r for r in result.streams]
        return sum(1 for r in records if r is not None and owners.get(r.local_port) in workers)

    def cuts(result):
        closes = [r.closed_at for r in result.streams if r.closed_at is not None]
        return {"cut": len(closes),
                "first_cut_after_reload_s": _rel(min(closes), reload_at) if closes else None,
                "last_cut_after_reload_s": _rel(max(closes), reload_at) if closes else None}

    log_lines = [line for line in ctx["error_log"].splitlines() if line.strip()]
    return {
        "worker_shutdown_timeout_s": timeout,
        "role": {"rc": ctx["role"].rc, "seconds": round(ctx["role_end"] - ctx["role_start"], 1),
                 "reload_after_role_start_s": _rel(reload_at, ctx["role_start"])},
        "change_applied": {"marker_before": ctx["marker_before"], "marker_after": ctx["marker_after"],
                           "expected": ctx["marker"]},
        "workers": {"master_before": ctx["before"]["master"], "master_after": ctx["after"]["master"],
                    "old": sorted(old_workers), "new": sorted(new_workers),
                    "after": ctx["after"]["workers"],
                    "old_exit_after_reload_s": {str(p): _rel(t, reload_at) for p, t in sorted(gone.items())},
                    "watcher_timed_out": watch["timed_out"], "watcher_polls": watch["polls"],
                    "snapshot_before": {k: ctx["before"][k] for k in ("listening_peers", "fd_errors")},
                    "snapshot_after": {k: ctx["after"][k] for k in ("listening_peers", "fd_errors")}},
        "sse": dict(sse.summary(before=before_cut).as_dict(), **cuts(sse),
                    held_by_old_workers_before=held(sse, owners_before, old_workers, False),
                    resumed_on_new_workers=held(sse, owners_after, new_workers, True)),
        "ws": dict(ws.summary(before=before_cut).as_dict(), **cuts(ws),
                   held_by_old_workers_before=held(ws, owners_before, old_workers, False),
                   reconnected_on_new_workers=held(ws, owners_after, new_workers, True)),
        "requests_total": requests.summary().as_dict(),
        "requests_during_reload": dict(requests.summary(ctx["role_start"], window_end).as_dict(),
                                       window="role start .. last old worker gone"),
        "requests_while_old_workers_drain": requests.summary(reload_at, last_gone).as_dict()
        if reload_at and last_gone else None,
        "error_log_since_reload": {"lines": len(log_lines),
                                   "alerts": [line for line in log_lines if "[alert]" in line
                                              or "[emerg]" in line][:10]},
        "_reload_at": reload_at,
    }


def _table(fig):
    sse, ws = fig["sse"], fig["ws"]
    during, drain = fig["requests_during_reload"], fig["requests_while_old_workers_drain"] or {}
    rows = [
        ("worker_shutdown_timeout", "%d s" % fig["worker_shutdown_timeout_s"]),
        ("run_role (with reload)", "rc %d in %.1f s, reload %.1f s after start" % (
            fig["role"]["rc"], fig["role"]["seconds"], fig["role"]["reload_after_role_start_s"] or -1)),
        ("change applied", "%s -> %s" % (fig["change_applied"]["marker_before"], fig["change_applied"]["marker_after"])),
        ("SSE opened / held by old", "%d/%d, %d" % (sse["opened"], sse["attempted"], sse["held_by_old_workers_before"])),
        ("SSE cut before timeout", "%d (first cut %s s, last %s s after reload)" % (
            sse["closed_early"], sse["first_cut_after_reload_s"], sse["last_cut_after_reload_s"])),
        ("SSE resumed at last+1", "%d/%d, on new workers %d" % (
            sse["resume_continued"], sse["resumed"], sse["resumed_on_new_workers"])),
        ("WS opened / held by old", "%d/%d, %d" % (ws["opened"], ws["attempted"], ws["held_by_old_workers_before"])),
        ("WS cut before timeout", "%d (first cut %s s, last %s s; codes %s)" % (
            ws["closed_early"], ws["first_cut_after_reload_s"], ws["last_cut_after_reload_s"], ws["close_codes"])),
        ("WS reconnected", "%d/%d, on new workers %d, echo rtt p50 %s ms p99 %s ms" % (
            ws["resume_opened"], ws["resumed"], ws["reconnected_on_new_workers"],
            ws["rtt_ms"].get("p50"), ws["rtt_ms"].get("p99"))),
        ("requests during reload", "%d, failed %d, p50 %s ms p99 %s ms, %s/s" % (
            during["attempted"], during["failed"], during["latency_ms"].get("p50"),
            during["latency_ms"].get("p99"), during["rate"])),
        ("  while old workers drain", "%s, failed %s" % (drain.get("attempted"), drain.get("failed"))),
        ("old workers exit after reload", ", ".join("%s s" % v for v in fig["workers"]["old_exit_after_reload_s"].values())),
        ("master pid", "%s -> %s" % (fig["workers"]["master_before"], fig["workers"]["master_after"])),
        ("error.log alerts", str(len(fig["error_log_since_reload"]["alerts"]))),
    ]
    width = max(len(k) for k, unused in rows)
    return "\n".join("%-*s  %s" % (width, k, v) for k, v in rows)


@pytest.fixture(scope="module")
def reload_run(host):
    variables = host.ansible.get_variables()
    name = host.backend.get_hostname()
    port = variables["realtime_test_proxy_port"]
    timeout = int(variables["realtime_proxy_worker_shutdown_timeout"])
    started = time.monotonic()
    ctx = asyncio.run(_drive(host, name, port, variables))
    fig = _figures(ctx, timeout)
    fig["verify_seconds"] = round(time.monotonic() - started, 1)
    shown = {k: v for k, v in fig.items() if not k.startswith("_")}
    text = json.dumps(shown, indent=1, sort_keys=True)
    out_dir = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if out_dir:
        with open(os.path.join(out_dir, "reload-figures.json"), "w") as handle:
            handle.write(text)
        with open(os.path.join(out_dir, "reload-role-output.txt"), "w") as handle:
            handle.write(ctx["role"].output)
    print("\n== reload with open streams: measured figures\n" + _table(fig) + "\n" + text, flush=True)
    if ctx["role"].rc != 0:
        print(ctx["role"].messages[-4000:])
    ctx["figures"] = fig
    ctx["timeout"] = timeout
    return ctx


def test_all_streams_opened_and_were_held_by_the_old_workers(reload_run):
    fig = reload_run["figures"]
    for kind, n in (("sse", N_SSE), ("ws", N_WS)):
        assert n >= 200
        assert (fig[kind]["opened"], fig[kind]["failed_to_open"]) == (n, 0), fig[kind]
        assert fig[kind]["held_by_old_workers_before"] == n, fig[kind]


def test_the_change_was_applied_by_a_reload_not_a_restart(reload_run):
    fig = reload_run["figures"]
    assert fig["role"]["rc"] == 0, reload_run["role"].messages[-3000:]
    applied = fig["change_applied"]
    assert applied["marker_before"] is None
    assert applied["marker_after"] == applied["expected"]
    workers = fig["workers"]
    assert workers["master_before"] == workers["master_after"]
    assert workers["new"] and not set(workers["new"]) & set(workers["old"])
    assert set(workers["after"]) == set(workers["new"])
    assert not fig["error_log_since_reload"]["alerts"], fig["error_log_since_reload"]


def test_no_stream_is_cut_before_worker_shutdown_timeout(reload_run):
    fig, timeout = reload_run["figures"], reload_run["timeout"]
    for kind, n in (("sse", N_SSE), ("ws", N_WS)):
        got = fig[kind]
        assert got["closed_early"] == 0, got
        assert got["mismatches"] == 0, got
        # Every stream was on an old worker, so every one is cut once the timeout ran out.
        assert got["cut"] == n, got
        assert got["first_cut_after_reload_s"] >= timeout - CUT_TOLERANCE, got
        assert got["last_cut_after_reload_s"] <= timeout + EXIT_SLACK, got


def test_new_connections_never_fail_during_the_reload(reload_run):
    fig = reload_run["figures"]
    during = fig["requests_during_reload"]
    assert during["attempted"] >= MIN_REQUESTS, during
    assert during["failed"] == 0, during
    assert fig["requests_while_old_workers_drain"]["failed"] == 0
    total = fig["requests_total"]
    assert total["failed"] == 0, total
    requests = reload_run["requests"]
    # The loop ran before the change started and after the old workers were gone.
    assert requests.records[0].started_at < reload_run["role_start"]
    assert requests.records[-1].started_at > reload_run["watch_end"]


def test_old_workers_exit_within_the_timeout(reload_run):
    fig, timeout = reload_run["figures"], reload_run["timeout"]
    workers = fig["workers"]
    assert not workers["watcher_timed_out"], workers
    exits = workers["old_exit_after_reload_s"]
    assert sorted(exits) == sorted(str(p) for p in workers["old"])
    assert all(0 < t <= timeout + EXIT_SLACK for t in exits.values()), exits


def test_cut_sse_clients_resume_at_the_next_id_on_the_new_workers(reload_run):
    fig = reload_run["figures"]
    sse = fig["sse"]
    assert (sse["resumed"], sse["resume_opened"], sse["resume_failed"]) == (N_SSE, N_SSE, 0), sse
    assert sse["resume_continued"] == N_SSE, sse
    assert sse["resumed_on_new_workers"] == N_SSE, sse
    reload_at = fig["_reload_at"]
    for rec in reload_run["sse"].streams:
        assert rec.resume.events >= 2, rec
        assert rec.resume.opened_at > reload_at + reload_run["timeout"] - CUT_TOLERANCE


def test_cut_websockets_reconnect_and_echo_on_the_new_workers(reload_run):
    ws = reload_run["figures"]["ws"]
    assert (ws["resumed"], ws["resume_opened"], ws["resume_failed"]) == (N_WS, N_WS, 0), ws
    assert ws["reconnected_on_new_workers"] == N_WS, ws
    assert all(rec.resume.events >= 2 for rec in reload_run["ws"].streams)
