"""Smoke run of the benchmark harness (bench/): tiny counts, real container, real nginx.

``python -m bench run --smoke`` provisions its own container (rtn-bench-smoke,
ports 19500-19999, so it never collides with a full ``make bench``), runs
every measurement with tiny counts and writes JSON, plots and a page into
tmp_path. This test checks the harness works and its JSON has the expected
keys with sane values; it asserts no timings beyond generous sanity bounds.
It needs a Docker engine and the test image, and is skipped when none answers.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench.container import IMAGE, docker_answers  # noqa: E402


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
    done = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                          timeout=30, check=True)
    assert "rtn-bench-smoke" not in done.stdout.split()


def test_machine_and_converge(smoke):
    results, unused = smoke
    machine = results["machine"]
    assert machine["nproc"] >= 1 and machine["mem_gib"] > 0
    assert machine["nginx"].startswith("nginx/")
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


def test_report_written(smoke):
    unused, docs = smoke
    text = (docs / "performance.md").read_text()
    for heading in ("## Machine", "## Goals", "## 1. SSE", "## 2. WebSocket", "## 3. Concurrent",
                    "## 4. Reload", "## 5. Role run time"):
        assert heading in text
    for png in ("sse_delay", "ws_rtt", "capacity", "reload", "converge"):
        assert (docs / "performance" / (png + ".png")).stat().st_size > 1000
