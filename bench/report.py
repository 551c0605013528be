"""docs/performance.md and its plots, from a results JSON and nothing else.

The page is bench/templates/performance.md.j2, rendered with the results as
``r``; every figure on it, machine facts and the role's defaults included, is
read from the results, which the run recorded when it measured. What this file
adds are the few figures derived from several results (goals, memory against
fresh workers) and the formats of numbers.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import List

import jinja2

from . import memory_goal, plots
from .goals import ceiling_reason, earlier_runs, fresh_kb, same_verdicts, verdicts
from .goals import (host_fit, median_of, scale_agreement, scale_runs, scale_summary, scale_verdicts, site_linearity,
                    tasks_per_host)

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
# The fleet rollout is measured by the molecule scenario `fleet`, not by a
# bench run, so its figures come from their own committed file.
FLEET = TEMPLATES.parents[1] / "docs" / "performance" / "fleet.json"
TASK_PREFIX = "realtime.nginx.realtime_proxy : "
# Raw series the plots draw from and the page never states; the figures committed beside the page leave them out.
RAW = frozenset(plots.RAW_SERIES.values())


def _fmt(v, nd=2, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return ("%%.%df%%s" % nd) % (v, unit)
    return "%s%s" % (v, unit)


def _failures(step: dict) -> str:
    seen = list(step["nginx_log"].items()) + list(step["client_errors"].items())[:2]
    return "; ".join("%s x%d" % kv for kv in seen) or "-"


def _dominant(run: dict) -> str:
    return "; ".join("%s %.1f" % (t["task"].replace(TASK_PREFIX, ""), t["seconds"]) for t in run["slowest_tasks"][:4])


FILTERS = {
    "fmt": lambda v, nd=2: _fmt(v, nd=nd),
    "mb": lambda kb: _fmt((kb or 0) / 1024.0, nd=1),
    "g": lambda v: "%g" % v,
    "signed": lambda v: "%+.3f" % v,
    "thousands": "{:,}".format,
    "loads": lambda values: " ".join("%.1f" % x for x in values),
    "failures": _failures,
    "dominant": _dominant,
    "med": lambda step, key, figure: "%.1f" % median_of(step, key, figure) if scale_runs(step, key) else "-",
    "each": lambda step, key, figure: " / ".join("%.1f" % run[figure] for run in scale_runs(step, key)) or "-",
    "tasks": lambda step, hosts=1: "%g / %g" % tasks_per_host(step["noop"], hosts),
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)  # markdown, not HTML
    env.filters.update(FILTERS)
    return env


def _derived(results: dict) -> dict:
    """Figures the page states that combine several results."""
    out = {"verdicts": verdicts(results), "minutes": max(1, round(results["runtime_s"] / 60.0)),
           "fresh_range": None, "largest_step": None}
    out["runs"] = earlier_runs(results)
    # A goal newer than an earlier run is "not measured" there, not a verdict that differs.
    out["same_verdicts"] = all(same_verdicts([row for row in out["verdicts"] if row[0] in run["verdicts"]],
                                             run["verdicts"]) for run in out["runs"])
    out["newer_goals"] = len([row for row in out["verdicts"]
                              if any(row[0] not in run["verdicts"] for run in out["runs"])])
    out.update(memory_figures(results))
    out.update(_scale_derived(results.get("scale")))
    cap = results.get("capacity")
    if cap:
        out["fresh_kb"] = lambda step: fresh_kb(cap, step)
        out["ceiling_reason"] = lambda name: ceiling_reason(results, name)
        firsts = {}
        for step in cap["steps"]:
            firsts.setdefault(step["config"], step["rss_per_stream_kb"])
        known = [kb for kb in firsts.values() if kb is not None]
        if known:
            out["fresh_range"] = (math.floor(min(known)), round(max(known)))
        out["largest_step"] = max([s["target"] for s in cap["steps"]], default=0)
    return out


def memory_figures(results: dict) -> dict:
    """The memory goal's judgements and rule, and which variants lose throughput (memory and TLS sections)."""
    return {"memory_goal": memory_goal.judgements(results.get("memory")), "keep_ratio": memory_goal.KEEP_RATIO,
            "preset_margin": memory_goal.PRESET_MARGIN,
            "memory_lost": memory_goal.lost_by_variant((results.get("memory") or {}).get("throughput")),
            "tls_lost": memory_goal.lost_by_variant((results.get("tls") or {}).get("throughput"))}


def _scale_derived(scale: dict | None) -> dict:
    """The fits the scale section states, and the earlier runs' verdicts on its goals."""
    if not scale:
        return {"scale_fit": None, "host_fit": None}
    return {"scale_fit": site_linearity(scale["sites"]["steps"]), "host_fit": host_fit(scale["hosts"]["steps"]),
            "scale_rows": scale_verdicts(scale), "scale_summary": scale_summary(scale),
            "scale_agree": scale_agreement(scale)}


def recorded_fleet() -> dict | None:
    """The fleet scenario's recorded figures (docs/performance/fleet.json), None when there are none."""
    return json.loads(FLEET.read_text()) if FLEET.is_file() else None


def markdown(results: dict, fleet: dict | None = None) -> str:
    """The page for RESULTS, with FLEET (default: the recorded fleet figures) in its fleet section."""
    fleet = recorded_fleet() if fleet is None else fleet
    return environment().get_template("performance.md.j2").render(r=results, fleet=fleet, **_derived(results))


def figures(results):
    """RESULTS without the raw series (RAW): what the page is rendered from, small enough to commit."""
    if isinstance(results, dict):
        return {key: figures(value) for key, value in results.items() if key not in RAW}
    if isinstance(results, list):
        return [figures(value) for value in results]
    return results


def write(results: dict, docs: pathlib.Path) -> List[pathlib.Path]:
    """The plots, the page, and beside them the figures the page was rendered from (performance/results.json)."""
    written = plots.write(results, docs / "performance")
    md = docs / "performance.md"
    md.write_text(markdown(results))
    source = docs / "performance" / "results.json"
    source.write_text(json.dumps(figures(results), indent=1, default=str) + "\n")
    written += [md, source]
    return written
