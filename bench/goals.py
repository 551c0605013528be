"""The role's performance goals and the verdicts of a run's results on them."""

from __future__ import annotations

from typing import List, Optional, Tuple

from . import memory_goal
from .diagnostics import bounded_by
from .rig import Settings

GOAL_SSE_ADDED_P99_MS = 1.0
GOAL_STREAMS = 16000  # with the role as shipped (role-defaults)
GOAL_STREAMS_TUNED = 50000  # with settings the role exposes (role-tuned)
GOAL_NOOP_S = 10.0
# 6. scale: by sites (of 3 locations) and by hosts
GOAL_SCALE_SITES = 300
GOAL_SCALE_NOOP_S = 10.0
GOAL_SCALE_FIRST_S = 20.0
GOAL_SCALE_SLOPE_RATIO = 1.5  # controller CPU per added site, upper counts over lower counts
GOAL_SCALE_SLOPE_FLOOR_MS = 1.0  # below this per site, the lower slope is noise: compare with this
GOAL_FLEET_RATIO = 2.0


def fresh_kb(cap: dict, step: dict) -> Optional[float]:
    """RSS per held stream above the workers' RSS before the config's FIRST step (fresh workers).

    The per-step delta undercounts once earlier, larger steps left freed memory
    in the workers' allocator; this does not."""
    first = [s for s in cap["steps"] if s["config"] == step["config"]]
    if not first or not step["held"]:
        return None
    return round((step["nginx_rss_kb"] - first[0]["nginx_rss_idle_kb"]) / step["held"], 1)


def ceiling_reason(results: dict, name: str) -> Optional[str]:
    """What bounded configuration NAME, read again from its first failing step (the run recorded one too)."""
    cap = results["capacity"]
    c = cap["ceilings"].get(name, {})
    steps = [s for s in cap["steps"] if s["config"] == name and s["failed"]]
    return bounded_by(cap["configs"][name], steps[-1], results["machine"]) if steps else c.get("bounded_by")


def verdicts(results: dict) -> List[Tuple[str, str, bool]]:
    """(goal, what was measured, met) for every goal the results have figures for."""
    sse, cap, rel, conv = (results.get(k) for k in ("sse", "capacity", "reload", "converge"))
    out = []
    if sse and "added_median_round_p99_ms" in sse:
        v = sse["added_median_round_p99_ms"]
        med = sse["median_round_p99_ms"]
        out.append(("SSE: added delivery delay p99 <= %g ms over direct (median of the rounds' p99s)"
                    % GOAL_SSE_ADDED_P99_MS,
                    "%+.3f ms (%.3f ms through the role vs %.3f ms direct; %d rounds, %d events each)" % (
                        v, med["role"], med["direct"], len(sse["round_p99_ms"]["role"]),
                        sse["delay_ms"]["role"].get("n", 0)),
                    v <= GOAL_SSE_ADDED_P99_MS))
    elif sse and "added_ms" in sse:
        v = sse["added_ms"]["p99"]
        out.append(("SSE: added delivery delay p99 <= %g ms over direct" % GOAL_SSE_ADDED_P99_MS,
                    "%+.3f ms (p99 %.3f ms through the role vs %.3f ms direct)" % (
                        v, sse["delay_ms"]["role"]["p99"], sse["delay_ms"]["direct"]["p99"]),
                    v <= GOAL_SSE_ADDED_P99_MS))
    if cap:
        out += stream_verdicts(results)
    kb = kb_verdict(results.get("memory"))
    if kb:
        out.append(kb)
    if rel:
        nc = rel["new_connections"]
        out.append(("Reload: 0 streams dropped (before worker_shutdown_timeout), 0 failed new connections",
                    "%d dropped, %d of %d new connections failed" % (
                        rel["dropped_before_timeout"], nc["failed"], nc["attempted"]),
                    rel["dropped_before_timeout"] == 0 and nc["failed"] == 0))
    if conv and conv.get("noop"):
        v = conv["noop"]["wall_s"]
        out.append(("No-op re-run of the role under %g s" % GOAL_NOOP_S, "%.1f s (changed=%s)" % (
            v, conv["noop"]["recap"].get("changed")), v < GOAL_NOOP_S))
    if results.get("scale"):
        out += scale_verdicts(results["scale"])
    return out


def streams_goal(results: dict, name: str, target: int) -> Tuple[str, str, bool]:
    """The goal of holding TARGET streams with 0 failures through configuration NAME, and the run's verdict."""
    cap = results["capacity"]
    tuned = ""
    if name == "role-tuned":
        tuned = ": " + ", ".join("%s %s" % kv for kv in results["settings"]["tuned"].items())
    goal = "{:,} concurrent streams, 0 failures ({}{})".format(target, name, tuned)
    steps = [s for s in cap["steps"] if s["config"] == name and s["target"] >= target]
    if steps:
        return (goal, "%d held, %d failed (%s)" % (steps[0]["held"], steps[0]["failed"], ceiling_reason(results, name)),
                steps[0]["failed"] == 0)
    ceiling = cap["ceilings"].get(name, {})
    if ceiling.get("first_failing_step") is None:
        largest = max([s["target"] for s in cap["steps"] if s["config"] == name], default=0)
        return goal, "not measured: the run's largest step was {:,}".format(largest), False
    return goal, "step not reached: ceiling %d held (%s)" % (ceiling["held_max"], ceiling_reason(results, name)), False


def stream_verdicts(results: dict) -> List[Tuple[str, str, bool]]:
    """16,000 streams with the role as shipped, 50,000 with the role tuned."""
    return [streams_goal(results, name, target)
            for name, target in (("role-defaults", GOAL_STREAMS), ("role-tuned", GOAL_STREAMS_TUNED))
            if name in results["capacity"]["configs"]]


def kb_verdict(memory: Optional[dict]) -> Optional[Tuple[str, str, bool]]:
    """The memory goal (memory_goal.py): the shipped SSE and WebSocket presets within 15% of the smallest
    variant that keeps their throughput; None without the figures."""
    return memory_goal.verdict(memory)


def repeat_of(results: dict) -> dict:
    """What a later run's page shows of this one: its date and each goal's measured figure and verdict."""
    quick = results.get("settings", {}).get("scale_sites") == Settings().quick().scale_sites  # a --quick run
    return {"date": results.get("machine", {}).get("date"), "quick": quick,
            "verdicts": {goal: {"measured": measured, "met": met} for goal, measured, met in verdicts(results)}}


def same_verdicts(rows: List[Tuple[str, str, bool]], repeat: dict) -> bool:
    """Whether every goal of ROWS (verdicts()) has the same verdict in REPEAT (repeat_of()'s "verdicts")."""
    return all(goal in repeat and repeat[goal]["met"] == met for goal, unused, met in rows)


def site_slopes_ms(steps: List[dict], key: str = "noop") -> Optional[Tuple[float, float]]:
    """Controller CPU per added site (ms) of run KEY: from the first count to the one before the last, and
    from there to the last. None with fewer than three counts."""
    if len(steps) < 3:
        return None
    (a, b, c) = (steps[0], steps[-2], steps[-1])
    cpu = [x[key]["controller_cpu_s"] for x in (a, b, c)]
    return (round(1000 * (cpu[1] - cpu[0]) / (b["sites"] - a["sites"]), 1),
            round(1000 * (cpu[2] - cpu[1]) / (c["sites"] - b["sites"]), 1))


def scale_verdicts(scale: dict) -> List[Tuple[str, str, bool]]:
    """The goals of measurement 6: 300 sites fast, cost linear in sites, 8 hosts in under twice 1 host."""
    out = []
    steps = scale["sites"]["steps"]
    if steps:
        top = steps[-1]
        for key, label, limit in (("noop", "No-op re-run", GOAL_SCALE_NOOP_S),
                                  ("first", "First converge", GOAL_SCALE_FIRST_S)):
            goal = "%s with %d sites of 3 locations under %g s" % (label, GOAL_SCALE_SITES, limit)
            if top["sites"] < GOAL_SCALE_SITES:
                out.append((goal, "not measured: %d sites at most" % top["sites"], False))
                continue
            out.append((goal, "%.1f s (controller CPU %.1f s)" % (top[key]["wall_s"], top[key]["controller_cpu_s"]),
                        top[key]["wall_s"] < limit))
        slopes = site_slopes_ms(steps)
        if slopes:
            lower, upper = slopes
            out.append(("Run time grows linearly with sites: controller CPU per added site, %d-%d sites, at most "
                        "%g x that of %d-%d sites" % (steps[-2]["sites"], top["sites"], GOAL_SCALE_SLOPE_RATIO,
                                                      steps[0]["sites"], steps[-2]["sites"]),
                        "no-op: %.1f ms per site, then %.1f ms per site" % (lower, upper),
                        upper <= GOAL_SCALE_SLOPE_RATIO * max(lower, GOAL_SCALE_SLOPE_FLOOR_MS)))
    hosts = scale["hosts"]["steps"]
    if len(hosts) >= 2 and hosts[0]["hosts"] == 1:
        one, most = hosts[0]["noop"]["wall_s"], hosts[-1]["noop"]["wall_s"]
        per_host = (hosts[-1]["noop"]["controller_cpu_s"] - hosts[0]["noop"]["controller_cpu_s"]) / (
            hosts[-1]["hosts"] - 1)
        out.append(("No-op re-run on %d hosts under %g x that on 1 host (forks %d)" % (
            hosts[-1]["hosts"], GOAL_FLEET_RATIO, scale["hosts"]["forks"]),
            "%.1f s vs %.1f s (x%.2f); controller CPU %+.1f s per added host" % (most, one, most / one, per_host),
            most < GOAL_FLEET_RATIO * one))
    return out
