"""The benchmark harness (bench/): its report from a recorded run, and a smoke run.

The report tests render the page from recorded_results.json (an earlier run,
of 2026-11-25, from before the memory, TLS and 50,000-stream measurements: it
also shows that an older run still renders) and check that the page's figures
come from the results: changing a value in the results changes the page. They
need neither Docker nor a run. The committed page's own figures are
docs/performance/results.json (test_committed_page.py).

``python -m bench run --smoke`` provisions its own container in a slot free
at run time (realtime-bench-smoke-N, ports from 20000 + 500 N, held under a
lock while it runs, so it never collides with a full ``make bench``, with
molecule's rtn-* hosts or with another checkout's smoke run), runs every measurement with
tiny counts and writes JSON, plots and a page into tmp_path. The smoke tests
check the harness works and its JSON has the expected keys with sane values;
they assert no timings beyond generous sanity bounds. They need a Docker
engine and the test image, and are skipped when none answers.
"""

import copy
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import diagnostics, facts, goals, heap, report  # noqa: E402
from bench.container import IMAGE, SMOKE_NAME, Container, docker_answers, take_smoke_slot  # noqa: E402

RECORDED = pathlib.Path(__file__).with_name("recorded_results.json")


def _recorded() -> dict:
    return json.loads(RECORDED.read_text())


def _set(results: dict, path: str, value) -> None:
    *parents, last = path.split("/")
    node = results
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value


# ------------------------------------------------------------------ the report, from recorded results


def test_report_shows_the_recorded_figures():
    results = _recorded()
    text = report.markdown(results)
    m, defaults = results["machine"], results["machine"]["role_defaults"]
    in_effect = results["capacity"]["configs"]["role-defaults"]
    sse_role = results["sse"]["delay_ms"]["role"]
    for expected in (
            "| CPUs (nproc) | %d |" % m["nproc"],
            "| memory | %s GiB |" % m["mem_gib"],
            "| nginx | %s (%s in a systemd container" % (m["nginx"], m["os_in_container"]),
            "| controller | Python %s, ansible-core %s |" % (m["python"], m["ansible_core"]),
            "| open files per process | {:,} hard limit".format(m["open_files_hard_limit"]),
            "| role | %d | %s | %s | %s | %s |" % (
                sse_role["n"], sse_role["p50"], sse_role["p90"], sse_role["p99"], sse_role["max"]),
            "| role-defaults | auto (%d) | %d | %d | %d |" % (m["nproc"], in_effect["worker_connections"],
                                                              in_effect["rlimit"],
                                                              results["capacity"]["ceilings"]["role-defaults"]["held_max"]),
            "`realtime_proxy_worker_connections: %d`" % defaults["worker_connections"],
            "`realtime_proxy_worker_rlimit_nofile: %d`" % defaults["worker_rlimit_nofile"],
            "`worker_processes %s`" % defaults["worker_processes"],
            "| no-op re-run | %.1f | %d | %d |" % (
                results["converge"]["noop"]["wall_s"], results["converge"]["noop"]["recap"]["ok"],
                results["converge"]["noop"]["recap"]["changed"]),
            "| %d / %d (latency" % (results["reload"]["new_connections"]["failed"],
                                    results["reload"]["new_connections"]["attempted"])):
        assert expected in text


@pytest.mark.parametrize("path, value, expected", [
    ("machine/nproc", 8, "| CPUs (nproc) | 8 |"),
    ("machine/nproc", 8, "on a shared 8-core machine"),
    ("machine/mem_gib", 64.0, "| memory | 64.0 GiB |"),
    ("machine/nginx", "nginx/1.26.0", "| nginx | nginx/1.26.0 ("),
    ("machine/ansible_core", "2.20.1", "ansible-core 2.20.1 |"),
    ("machine/open_files_hard_limit", 1048576, "| open files per process | 1,048,576 hard limit"),
    ("machine/role_defaults/worker_connections", 4096, "`realtime_proxy_worker_connections: 4096`"),
    ("machine/role_defaults/worker_rlimit_nofile", 9999, "`realtime_proxy_worker_rlimit_nofile: 9999`"),
    ("machine/role_defaults/worker_processes", 3, "`worker_processes 3`"),
    ("capacity/configs/role-defaults/worker_connections", 4096, "| role-defaults | auto (2) | 4096 |"),
    ("capacity/configs/debian-default/worker_connections", 1024, "(worker_connections 1024)"),
    ("capacity/steps/9/held", 15999, "| role-tuned | 16000 | 15999 |"),
    ("capacity/clients/batch", 300, "opened in batches of 300 every"),
    ("settings/tuned/realtime_proxy_worker_processes", 8, "`realtime_proxy_worker_processes: 8`"),
    ("sse/delay_ms/role/p99", 7.5, "| role | 1200 | 0.365 | 0.767 | 7.5 |"),
    ("ws/msgs_per_s/role", 1234.5, "| 1234.5 | 0 |"),
    ("reload/dropped_before_timeout", 7, "| dropped before worker_shutdown_timeout (30 s) | 7 |"),
    ("reload/worker_shutdown_timeout_s", 45, "| dropped before worker_shutdown_timeout (45 s) |"),
    ("converge/noop/wall_s", 12.5, "12.5 s (changed=0) | **not met** |"),
    ("runtime_s", 900.0, "| run time of the whole benchmark | 900 s |"),
    ("scale/sites/steps/3/noop/controller_cpu_s", 12.5, "12.5 s vs 3.7 s of controller CPU"),
    ("scale/sites/steps/3/first/wall_s", 25.5, "of controller CPU; wall 25.5 s"),
    ("scale/sites/steps/1/sites", 31, "| 31 | 90 |"),
    ("scale/hosts/steps/2/noop/wall_s", 99.5, "| 8 | 99.5 (99.5) |"),
    ("scale/conditions/loadavg_start", [9.5, 9.5, 9.5], "9.5 9.5 9.5 at the start"),
])
def test_report_follows_the_results(path, value, expected):
    base = report.markdown(_recorded())
    assert expected not in base
    results = _recorded()
    _set(results, path, value)
    assert expected in report.markdown(results)


def test_report_writes_page_and_plots(tmp_path):
    written = report.write(_recorded(), tmp_path)
    assert (tmp_path / "performance.md").read_text() == report.markdown(_recorded())
    for png in ("sse_delay", "ws_rtt", "capacity", "streams_cost", "reload", "converge", "scale"):
        assert (tmp_path / "performance" / (png + ".png")).stat().st_size > 1000
    assert len(written) == 9
    assert json.loads((tmp_path / "performance" / "results.json").read_text()) == report.figures(_recorded())


def test_scale_goals():
    """An older run (one run per count) still renders its scale goals; the fits are tested in
    test_scale_verdicts.py."""
    scale = _recorded()["scale"]
    verdicts = dict((goal, (measured, ok)) for goal, measured, ok in goals.scale_verdicts(scale))
    noop = verdicts["No-op re-run with 300 sites of 3 locations: controller CPU at most 3 x a no-op's with 1 site "
                    "(medians)"]
    steps = scale["sites"]["steps"]
    assert noop[1] == (steps[-1]["noop"]["controller_cpu_s"] <= 3 * steps[0]["noop"]["controller_cpu_s"])
    linear = [(m, ok) for goal, m, ok in goals.scale_verdicts(scale) if goal.startswith("Run time grows")]
    assert linear == [("not measured: 4 site counts, one run each", False)]
    small = copy.deepcopy(scale)
    small["sites"]["steps"] = small["sites"]["steps"][:2]
    texts = [m for g, m, ok in goals.scale_verdicts(small) if g.startswith("No-op re-run with")]
    assert texts == ["not measured: %d sites at most" % small["sites"]["steps"][-1]["sites"]]


def test_stream_goals():
    results = _recorded()
    found = {goal: (measured, ok) for goal, measured, ok in goals.stream_verdicts(results)}
    defaults, tuned = list(found)
    assert defaults == "16,000 concurrent streams, 0 failures (role-defaults)"
    assert tuned.startswith("50,000 concurrent streams, 0 failures (role-tuned: realtime_proxy_worker_processes ")
    assert found[defaults] == ("step not reached: ceiling 7678 held (%s)" % goals.ceiling_reason(
        results, "role-defaults"), False)
    assert found[tuned] == ("not measured: the run's largest step was 24,000", False)  # an older run
    steps = results["capacity"]["steps"]
    big = dict(copy.deepcopy(steps[-1]), target=50000, held=50000, failed=0)
    steps.append(big)
    assert goals.stream_verdicts(results)[1][2] is True
    big.update(held=49990, failed=10)
    assert goals.stream_verdicts(results)[1][1].startswith("49990 held, 10 failed") and \
        goals.stream_verdicts(results)[1][2] is False


def test_report_without_a_measurement():
    results = _recorded()
    for key in ("capacity", "reload"):
        del results[key]
    text = report.markdown(copy.deepcopy(results))
    assert "## 1. SSE" in text and "## 3. Concurrent" not in text and "## 4. Reload" not in text


def test_report_shows_the_fleet_rollout():
    fleet = report.recorded_fleet()
    good, bad = fleet["good_change"], fleet["breaking_change"]
    text = report.markdown(_recorded(), fleet)
    for expected in (
            "| rollout time | %s s | %s s |" % (good["rollout_s"], bad["rollout_s"]),
            "| proxies the playbook ran on | %d of %d | %d (rolled back" % (good["hosts"], fleet["proxies"], bad["hosts"]),
            "| plain requests: failed / made | %d / %d | %d / %d |" % (
                good["requests"]["failed"], good["requests"]["made"], bad["requests"]["failed"], bad["requests"]["made"]),
            "| SSE streams held: cut / held | %d / %d |" % (good["held_sse"]["cut"], good["held_sse"]["held"]),
            "| new WebSockets: failed / opened | %d / %d |" % (good["new_ws"]["failed"], good["new_ws"]["opened"])):
        assert expected in text
    changed = copy.deepcopy(fleet)
    changed["breaking_change"]["new_sse"]["failed"] = 7
    assert "| new SSE streams: failed / opened | %d / %d | 7 / %d |" % (
        good["new_sse"]["failed"], good["new_sse"]["opened"], bad["new_sse"]["opened"]) in report.markdown(_recorded(), changed)
    assert "## Fleet rollout" not in report.markdown(_recorded(), {})


def test_the_committed_page_shows_the_recorded_fleet_rollout():
    text = report.markdown(_recorded())
    section = text[text.index("## Fleet rollout"):text.index("## Reproducing")]
    assert section in (REPO / "docs" / "performance.md").read_text()


def test_role_defaults_come_from_the_role():
    defaults = facts.role_defaults()
    raw = yaml.safe_load((REPO / "roles/realtime_proxy/defaults/main/nginx.yml").read_text())
    assert defaults == {key: raw["realtime_proxy_" + key] for key in facts.GLOBALS}
    code = "\n".join(p.read_text() for p in (REPO / "bench").rglob("*") if p.suffix in (".py", ".j2"))
    for key in ("worker_connections", "worker_rlimit_nofile"):
        if not defaults[key]:
            continue  # 0 means "sized from the host": no figure the bench could repeat
        assert not re.search(r"\b%d\b" % defaults[key], code), "bench/ repeats the role's default %s" % key


def test_bound_names_the_machine_limits():
    step = {"nginx_log": {"too many open files": 3}, "client_errors": {}, "failed": 3, "ramp_s": 1.0}
    reason = diagnostics.bounded_by({"worker_connections": 10, "workers": "auto (4)", "rlimit": 100}, step,
                                    {"open_files_hard_limit": 1024, "nproc": 4})
    assert "the hard limit here is 1,024" in reason


def test_bench_containers_are_not_molecule_hosts():
    assert not SMOKE_NAME.startswith("rtn-")
    with pytest.raises(ValueError):
        Container("rtn-bench")
    assert Container(SMOKE_NAME).sample()["master"] is None  # not started: nothing to look at


# ------------------------------------------------------------------ the smoke run


def _skip_reason():
    why = docker_answers()
    if why:
        return why
    done = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        return "image %s is missing (make images)" % IMAGE
    return None


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    why = _skip_reason()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "smoke.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--smoke", "--out", str(out),
                           "--docs", str(tmp / "docs")],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), tmp / "docs"


def test_container_removed(smoke):
    name = smoke[0]["settings"]["name"]
    assert re.match(r"^%s-\d$" % re.escape(SMOKE_NAME), name), name
    done = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                          timeout=30, check=True)
    assert not [n for n in done.stdout.split() if n == name or n.startswith(name + "-scale-")]


def test_smoke_slots_are_never_shared(tmp_path):
    first = take_smoke_slot(str(tmp_path))
    second = take_smoke_slot(str(tmp_path))
    try:
        assert first[1] != second[1] and abs(first[2] - second[2]) >= 500
    finally:
        first[0].close()
    third = take_smoke_slot(str(tmp_path))  # the first slot, free again
    assert third[1:] == first[1:]
    second[0].close()
    third[0].close()


def test_machine_and_converge(smoke):
    results, unused = smoke
    machine = results["machine"]
    assert machine["nproc"] >= 1 and machine["mem_gib"] > 0
    assert machine["nginx"].startswith("nginx/")
    assert machine["role_defaults"] == facts.role_defaults()
    # The defaults of 0 are sized on the host: the capacity table shows what nginx runs with.
    in_effect = machine.get("role_in_effect", {}).get("worker_connections")
    assert results["capacity"]["configs"]["role-defaults"]["worker_connections"] == \
        (in_effect or machine["role_defaults"]["worker_connections"])
    run = results["converge"]["first"]  # the smoke run skips the no-op re-run to stay short
    assert run["wall_s"] > 0 and run["recap"]["failed"] == 0 and run["recap"]["changed"] > 0
    assert run["slowest_tasks"], "profile_tasks gave no timings"


def test_sse_delay(smoke):
    sse = smoke[0]["sse"]
    for name in ("direct", "role", "naive"):
        d = sse["delay_ms"][name]
        assert d["n"] >= 1 and 0 <= d["p50"] <= d["p99"] <= d["max"]
    # the only timing claim: the role streams and the naive location buffers
    assert sse["delay_ms"]["role"]["p50"] < 100
    assert sse["delay_ms"]["naive"]["max"] > sse["delay_ms"]["role"]["max"]
    assert set(sse["added_ms"]) == {"p50", "p99", "max"}


def test_ws_echo(smoke):
    ws = smoke[0]["ws"]
    for name in ("direct", "role"):
        assert ws["rtt_ms"][name]["n"] >= 1 and ws["msgs_per_s"][name] > 0 and ws["errors"][name] == 0


def test_capacity(smoke):
    cap = smoke[0]["capacity"]
    assert set(cap["ceilings"]) == {"debian-default", "role-defaults", "role-tuned"}
    steps = [s for s in cap["steps"] if s["config"] == "role-tuned"]
    assert steps, cap
    for s in steps:
        assert s["held"] == s["target"] and s["failed"] == 0, s
        assert s["nginx_rss_kb"] > 0 and s["nginx_workers"] >= 1
    for c in cap["ceilings"].values():
        assert c["bounded_by"]


def test_reload(smoke):
    rel = smoke[0]["reload"]
    assert rel["reloads"] >= 2 and rel["reload_rc"] == [0] * rel["reloads"]
    assert rel["opened"] == rel["streams"]
    assert rel["new_connections"]["attempted"] > 0
    assert rel["rss_kb_high_water"] >= rel["rss_kb_before_reload"] > 0
    assert len(rel["old_workers_exit_s"]) == rel["reloads"]
    for key in ("dropped_before_timeout", "cut_at_timeout", "reconnected"):
        assert rel[key] >= 0


def test_spread_over_workers(smoke):
    spread = smoke[0]["capacity"]["spread"]
    assert [s["config"] for s in spread] == ["spread/reuseport", "spread/neither", "spread/accept_mutex"]
    for s in spread:
        assert s["held"] == s["target"] and s["failed"] == 0, s
        assert len(s["worker_rss_added_kb"]) == s["nginx_workers"] >= 1


def test_memory_by_buffer_size(smoke):
    mem = smoke[0]["memory"]
    assert {"nginx-defaults", "role-defaults"} <= set(mem["variants"])
    for step in mem["steps"]:
        assert step["held"] == step["target"] and step["failed"] == 0, step
        assert step["nginx_rss_kb"] > 0 and step["nginx_workers"] == mem["workers"]["realtime_proxy_worker_processes"]
    for variant in mem["variants"].values():
        assert set(variant["kb_per_stream"]) == {"sse", "ws", "mixed_rss"}
        if heap.GDB:  # glibc's count, read from each worker: live bytes per stream, never more than the RSS added
            for kind in ("sse", "ws"):
                assert 0 < variant["kb_per_stream"][kind]["heap_in_use"] < variant["kb_per_stream"][kind]["rss"]
    for name, workload in mem["throughput"]["workloads"].items():
        assert set(workload["rounds"]) == set(mem["variants"]), name
        assert not any(workload["missing"].values()), workload
        for rates in workload["rounds"].values():
            assert len(rates) == mem["throughput"]["rounds"] and all(rate > 0 for rate in rates), name
    sizes = mem["by_event_size"]
    for kind, key in (("sse", "delay_ms"), ("ws", "rtt_ms")):
        for size in ("small", "large"):
            for name, d in sizes[kind][size][key].items():
                assert d["n"] >= 1, (kind, size, name)
    assert sizes["ws"]["large"]["size"] == sizes["ws_large"] and not any(sizes["ws"]["large"]["errors"].values())
    assert not any(sizes["sse"]["large"]["missing"].values())


def test_tls_and_http2(smoke):
    tls = smoke[0]["tls"]
    for step in tls["steps"]:
        assert step["held"] == step["target"] and step["failed"] == 0, step
    for name, variant in tls["variants"].items():
        expected = {"sse", "ws", "mixed_rss"} | ({"h2"} if name == "tls-role-defaults" else set())
        assert set(variant["kb_per_stream"]) == expected, name
    assert {"tls-role-defaults", "tls-buffer-1k"} <= set(tls["variants"])
    for workload in tls["throughput"]["workloads"].values():
        assert set(workload["rounds"]) == {"tls-role-defaults", "tls-buffer-1k"}
        assert not any(workload["missing"].values()), workload
    for name in ("direct", "role", "role-tls", "role-h2"):
        assert tls["sse_delay"]["delay_ms"][name]["n"] >= 1, name


def test_scale(smoke):
    scale = smoke[0]["scale"]
    assert [x["sites"] for x in scale["sites"]["steps"]] == [1]
    assert [x["hosts"] for x in scale["hosts"]["steps"]] == [2]
    assert scale["hosts"]["forks"] >= 8
    for step in scale["sites"]["steps"] + scale["hosts"]["steps"]:
        first, noop = step["first"], step["noop"]
        assert first["recap"]["failed"] == 0 and first["recap"]["changed"] > 0, step
        assert noop["recap"]["failed"] == 0 and noop["recap"]["changed"] == 0, step
        assert 0 < noop["controller_cpu_s"] < 600 and 0 < noop["wall_s"] < 600
    # both hosts ran the role: the recap sums them, so about twice the one host's tasks for the same single site
    one_host = scale["sites"]["steps"][0]["noop"]["recap"]["ok"]
    assert scale["hosts"]["steps"][0]["noop"]["recap"]["ok"] > 1.5 * one_host


def test_report_written(smoke):
    unused, docs = smoke
    text = (docs / "performance.md").read_text()
    for heading in ("## Machine", "## Goals", "## 1. SSE", "## 2. WebSocket", "## 3. Concurrent",
                    "## 4. Reload", "## 5. Role run time", "## Memory per held stream", "## Streams over TLS",
                    "## Spreading connections", "## 6. Role run time by sites and by hosts"):
        assert heading in text
    for png in ("sse_delay", "ws_rtt", "capacity", "streams_cost", "reload", "converge", "scale"):
        assert (docs / "performance" / (png + ".png")).stat().st_size > 1000
