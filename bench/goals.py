"""The role's performance goals and the verdicts of a run's results on them."""

from __future__ import annotations

from typing import List, Optional, Tuple

from .diagnostics import bounded_by

GOAL_SSE_ADDED_P99_MS = 1.0
GOAL_STREAMS = 16000
GOAL_KB_PER_STREAM = 10.0
GOAL_NOOP_S = 10.0


def fresh_kb(cap: dict, step: dict) -> Optional[float]:
    """RSS per held stream above the workers' RSS before the config's FIRST step (fresh workers).

    The per-step delta undercounts once earlier, larger steps left freed memory
    in the workers' allocator; this does not."""
    first = [s for s in cap["steps"] if s["config"] == step["config"]]
    if not first or not step["held"]:
        return None
    return round((step["nginx_rss_kb"] - first[0]["nginx_rss_idle_kb"]) / step["held"], 1)


def ceiling_reason(results: dict, name: str) -> Optional[str]:
    """What bounded configuration NAME; a reason the run could not name is looked for again."""
    cap = results["capacity"]
    c = cap["ceilings"].get(name, {})
    if c.get("bounded_by") and not c["bounded_by"].startswith("see "):
        return c.get("bounded_by")
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
        for name in ("role-defaults", "role-tuned"):
            goal = "%d concurrent streams, 0 failures, <= %g KB nginx memory per stream (%s)" % (
                GOAL_STREAMS, GOAL_KB_PER_STREAM, name)
            steps = [s for s in cap["steps"] if s["config"] == name and s["target"] >= GOAL_STREAMS]
            if not steps:
                out.append((goal, "step not reached: ceiling %d held (%s)" % (
                    cap["ceilings"][name]["held_max"], ceiling_reason(results, name)), False))
                continue
            step = steps[0]
            kb = fresh_kb(cap, step)
            out.append((goal, "%d held, %d failed (%s); %s KB nginx RSS per held stream" % (
                step["held"], step["failed"], ceiling_reason(results, name), "n/a" if kb is None else "%.1f" % kb),
                step["failed"] == 0 and (kb or 1e9) <= GOAL_KB_PER_STREAM))
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
    return out
