"""The role's performance goals and the verdicts of a run's results on them."""

from __future__ import annotations

import statistics
from typing import List, Optional, Tuple

from . import memory_goal
from . import fits
from .diagnostics import bounded_by
from .rig import Settings

GOAL_SSE_ADDED_P99_MS = 1.0
GOAL_STREAMS = 16000  # with the role as shipped (role-defaults)
GOAL_STREAMS_TUNED = 50000  # with settings the role exposes (role-tuned)
GOAL_NOOP_S = 10.0
# 6. scale: by sites (of 3 locations) and by hosts
GOAL_SCALE_SITES = 300
# The 300-site runs against a 1-site no-op of the same run (controller CPU, medians of the rounds): a ratio
# within one run holds when the load of the machine changes, and today's is about 2.
GOAL_SCALE_NOOP_RATIO = 3.0
GOAL_SCALE_FIRST_RATIO = 3.0
GOAL_SCALE_SLOPE_RATIO = 1.5  # controller CPU per added site, upper counts over lower counts
GOAL_SCALE_SLOPE_FLOOR_MS = 1.0  # below this per site, the lower slope is noise: compare with this
GOAL_HOST_CPU_S = 1.0  # a no-op run's controller CPU per added host


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
    settings, quick = results.get("settings", {}), Settings().quick()
    quick = (settings.get("scale_rounds"), settings.get("scale_hosts")) == (quick.scale_rounds, quick.scale_hosts)
    date = results.get("machine", {}).get("date") or results.get("scale", {}).get("conditions", {}).get("date")
    return {"date": date, "quick": quick,
            "verdicts": {goal: {"measured": measured, "met": met} for goal, measured, met in verdicts(results)}}


def earlier_runs(results: dict) -> List[dict]:
    """Every earlier run that `compare --record` kept in RESULTS (repeat_of() each), oldest first; an older
    results file kept one, as "repeat"."""
    return results.get("repeats") or ([results["repeat"]] if results.get("repeat") else [])


def same_verdicts(rows: List[Tuple[str, str, bool]], repeat: dict) -> bool:
    """Whether every goal of ROWS (verdicts()) has the same verdict in REPEAT (repeat_of()'s "verdicts")."""
    return all(goal in repeat and repeat[goal]["met"] == met for goal, unused, met in rows)


def scale_runs(step: dict, key: str) -> List[dict]:
    """Every run of KEY ("first", "noop") at a scale step: its repeats, or the one run of an older results file."""
    return step.get(key + "s") or ([step[key]] if step.get(key) else [])


def scale_points(steps: List[dict], count: str, key: str = "noop") -> List[fits.Point]:
    """(COUNT of the step, controller CPU s) of every run of KEY at STEPS."""
    return [(step[count], run["controller_cpu_s"]) for step in steps for run in scale_runs(step, key)]


def median_of(step: dict, key: str, figure: str) -> float:
    return statistics.median(run[figure] for run in scale_runs(step, key))


def _runs_text(step: dict, key: str, figure: str) -> str:
    values = [run[figure] for run in scale_runs(step, key)]
    return "%.1f s" % values[0] if len(values) == 1 else "median %.1f s of %s" % (
        statistics.median(values), " / ".join("%.1f" % v for v in values))


def tasks_per_host(run: dict, hosts: int) -> Tuple[float, float]:
    """(tasks that ran, tasks skipped) per host of RUN, from its recap (the sum over the hosts)."""
    recap = run["recap"]
    return (recap.get("ok", 0) + recap.get("failed", 0)) / hosts, recap.get("skipped", 0) / hosts


def site_linearity(steps: List[dict]) -> Optional[fits.Linearity]:
    """The no-op's controller CPU per added site over the lower and the upper site counts (fits.linearity)."""
    return fits.linearity(scale_points(steps, "sites"), GOAL_SCALE_SLOPE_RATIO, GOAL_SCALE_SLOPE_FLOOR_MS / 1000)


def host_fit(steps: List[dict]) -> Optional[fits.Fit]:
    """The no-op's controller CPU per added host: a least-squares line over every run at every host count."""
    points = scale_points(steps, "hosts")
    return fits.line(points) if len(fits.by_x(points)) >= 2 else None


def site_verdicts(sites: dict) -> List[Tuple[str, str, bool]]:
    """300 sites fast (median of the repeats), and the cost per site linear (a fit over the counts)."""
    out: List[Tuple[str, str, bool]] = []
    steps = sites["steps"]
    if not steps:
        return out
    top, base = steps[-1], steps[0]
    for key, label, onto, limit in (("noop", "No-op re-run", "", GOAL_SCALE_NOOP_RATIO),
                                    ("first", "First converge", " onto a host with none of them",
                                     GOAL_SCALE_FIRST_RATIO)):
        goal = "%s with %d sites of 3 locations%s: controller CPU at most %g x a no-op's with %d site%s (medians)" % (
            label, GOAL_SCALE_SITES, onto, limit, base["sites"], "" if base["sites"] == 1 else "s")
        if top["sites"] < GOAL_SCALE_SITES or len(steps) < 2 or not scale_runs(top, key):
            out.append((goal, "not measured: %d sites at most" % top["sites"], False))
            continue
        ratio = median_of(top, key, "controller_cpu_s") / median_of(base, "noop", "controller_cpu_s")
        out.append((goal, "x%.2f: %s vs %s of controller CPU; wall %s" % (
            ratio, _runs_text(top, key, "controller_cpu_s"), _runs_text(base, "noop", "controller_cpu_s"),
            _runs_text(top, key, "wall_s")), ratio <= limit))
    counts = [step["sites"] for step in steps]
    half = (len(counts) + 1) // 2
    goal = ("Run time grows linearly with sites: a no-op's controller CPU per added site, fitted over %s sites, "
            "at most %g x that over %s sites (at least half that over all), beyond %g standard errors" % (
                _span(counts[len(counts) // 2:]), GOAL_SCALE_SLOPE_RATIO, _span(counts[:half]), fits.SIGMAS))
    fit = site_linearity(steps)
    if fit is None:
        out.append((goal, "not measured: %d site counts, %s" % (
            len(counts), "one run each" if len(counts) >= 4 else "4 needed"), False))
        return out
    out.append((goal, "%s ms per site over %s, %s ms over %s (excess %+.1f ms, %g standard errors %.1f ms); "
                "all counts: %s ms per site; one run's noise %.2f s (%d degrees of freedom)" % (
                    _ms(fit.lower), _span(fit.lower_counts), _ms(fit.upper), _span(fit.upper_counts),
                    1000 * fit.excess, fits.SIGMAS, 1000 * fits.SIGMAS * fit.error, _ms(fit.overall),
                    fit.sigma, fit.dof), fit.linear))
    return out


def _span(counts) -> str:
    return "%g-%g" % (counts[0], counts[-1])


def _ms(fit: fits.Fit) -> str:
    return "%.1f +/- %.1f" % (1000 * fit.slope, 1000 * fit.slope_se)


def host_verdicts(hosts: dict) -> List[Tuple[str, str, bool]]:
    """Controller CPU per added host, a fit over the host counts. The wall time of 8 hosts against 1 host is
    no goal: the hosts here share the controller's cores, so that ratio measures the machine and its load."""
    out: List[Tuple[str, str, bool]] = []
    steps = hosts["steps"]
    fit = host_fit(steps)
    if fit is not None:
        ran, skipped = tasks_per_host(steps[0]["noop"], steps[0]["hosts"])
        spread = "" if fit.slope_se is None else " +/- %.2f" % fit.slope_se
        out.append(("A no-op run's controller CPU per added host at most %.1f s (least-squares fit over the host "
                    "counts, %d sites each)" % (GOAL_HOST_CPU_S, hosts["sites_per_host"]),
                    "%+.2f%s s per host (medians %s s at %s hosts); %g tasks per host (%g ran, %g skipped)" % (
                        fit.slope, spread, " / ".join("%.1f" % median_of(s, "noop", "controller_cpu_s")
                                                      for s in steps),
                        " / ".join(str(s["hosts"]) for s in steps), ran + skipped, ran, skipped),
                    fit.slope <= GOAL_HOST_CPU_S))
    return out


def scale_verdicts(scale: dict) -> List[Tuple[str, str, bool]]:
    """The goals of measurement 6, judged over every run of each step (bench/fits.py)."""
    return site_verdicts(scale["sites"]) + host_verdicts(scale["hosts"])


def scale_summary(scale: dict) -> dict:
    """The figures the scale goals are judged on, one number each (None where the run has no figure)."""
    sites, hosts = scale["sites"]["steps"], scale["hosts"]["steps"]
    linear, per_host = site_linearity(sites), host_fit(hosts)
    top = sites[-1] if sites and sites[-1]["sites"] >= GOAL_SCALE_SITES else None
    one = hosts[0] if hosts and hosts[0]["hosts"] == 1 else None

    def ms(part):
        return None if linear is None else round(1000 * getattr(linear, part).slope, 1)

    def med(step, key, figure):
        return None if step is None or not scale_runs(step, key) else round(median_of(step, key, figure), 2)
    base = sites[0] if sites else None
    return {
        "noop_cpu_s": med(top, "noop", "controller_cpu_s"), "noop_wall_s": med(top, "noop", "wall_s"),
        "first_cpu_s": med(top, "first", "controller_cpu_s"), "base_cpu_s": med(base, "noop", "controller_cpu_s"),
        "noop_ratio": _ratio(med(top, "noop", "controller_cpu_s"), med(base, "noop", "controller_cpu_s")),
        "first_ratio": _ratio(med(top, "first", "controller_cpu_s"), med(base, "noop", "controller_cpu_s")),
        "site_ms": ms("overall"), "lower_ms": ms("lower"), "upper_ms": ms("upper"),
        "sigma_s": None if linear is None else round(linear.sigma, 3),
        "host_s": None if per_host is None else round(per_host.slope, 2),
        "host_se_s": None if per_host is None or per_host.slope_se is None else round(per_host.slope_se, 2),
        "fleet_ratio": None if one is None or len(hosts) < 2 else round(
            median_of(hosts[-1], "noop", "wall_s") / median_of(one, "noop", "wall_s"), 2),
    }


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or not b else round(a / b, 2)


def scale_repeat(results: dict) -> dict:
    """What a later run records of this run's scale measurement: when, under what load, its figures and verdicts."""
    scale = results["scale"]
    cond = scale.get("conditions", {})
    return {"date": cond.get("date"), "loadavg": [cond.get("loadavg_start"), cond.get("loadavg_end")],
            "summary": scale_summary(scale),
            "verdicts": {goal: {"measured": measured, "met": met} for goal, measured, met in scale_verdicts(scale)}}


def scale_agreement(scale: dict) -> Optional[bool]:
    """Whether every earlier run recorded in SCALE (its "repeats") has this run's verdict on every scale goal;
    None when none is recorded."""
    repeats = scale.get("repeats") or []
    if not repeats:
        return None
    rows = scale_verdicts(scale)
    return all(same_verdicts(rows, earlier["verdicts"]) for earlier in repeats)
