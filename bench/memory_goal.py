"""The memory goal: the shipped presets within 15% of the smallest variant that keeps their throughput.

Pure logic over a run's figures (memory.py's variants and throughput rounds), so
that unit tests can judge synthetic data.

A variant *keeps the throughput* of a workload unless it loses it beyond the
noise: its median over the interleaved rounds is below KEEP_RATIO of the best
variant's median, AND even its best round is below the best variant's worst
round. A variant keeps a preset's throughput when it keeps every workload of
that kind (SSE: small and large events; WebSocket: small and 64 KiB messages).
Among those, the smallest is the one with the least worker RSS per held stream
of that kind, and the preset meets the goal when its own RSS per stream is at
most (1 + PRESET_MARGIN) times that.
"""

from __future__ import annotations

import statistics
from typing import Dict, List, Optional, Tuple

KEEP_RATIO = 0.9
PRESET_MARGIN = 0.15
PRESET = "role-defaults"  # the memory variant that is the role as shipped
# The workloads (throughput.py) that judge each kind's preset, and the kind's label on the page.
WORKLOADS = {"sse": ("sse-small", "sse-large"), "ws": ("ws-small", "ws-large")}
LABELS = {"sse": "SSE", "ws": "WebSocket"}


def median(values: List[float]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def best_variant(rounds: Dict[str, List[float]]) -> Optional[str]:
    """The variant with the highest median rate over its rounds (ROUNDS: variant -> rate per round)."""
    medians = {name: median(values) for name, values in rounds.items()}
    known = {name: m for name, m in medians.items() if m is not None}
    return max(known, key=known.get) if known else None


def keeps_throughput(mine: List[float], best: List[float], keep: float = KEEP_RATIO) -> bool:
    """Whether rates MINE (per round) keep the throughput of the best variant's BEST: a shortfall counts only
    when the median is below KEEP of the best's median and beyond the rounds' spread (its best round below the
    best's worst)."""
    mine_known, best_known = [v for v in mine if v is not None], [v for v in best if v is not None]
    if not mine_known:
        return False
    if not best_known:
        return True
    if median(mine_known) >= keep * median(best_known):
        return True
    return max(mine_known) >= min(best_known)


def losses(workloads: Dict[str, Dict[str, List[float]]], names: Tuple[str, ...],
           keep: float = KEEP_RATIO) -> Dict[str, List[str]]:
    """{variant: workloads of NAMES whose throughput it does not keep} over WORKLOADS (workload -> variant ->
    rate per round); a variant missing from a workload's rounds loses it."""
    out: Dict[str, List[str]] = {}
    variants = sorted({v for w in names if w in workloads for v in workloads[w]})
    for variant in variants:
        out[variant] = []
        for workload in names:
            rounds = workloads.get(workload, {})
            best = best_variant(rounds)
            if variant not in rounds or best is None or not keeps_throughput(rounds[variant], rounds[best], keep):
                out[variant].append(workload)
    return out


def lost_by_variant(throughput: Optional[dict], keep: float = KEEP_RATIO) -> Dict[str, List[str]]:
    """losses() over every workload of a run's THROUGHPUT figures (throughput.measure()); {} without them."""
    if not throughput:
        return {}
    workloads = {name: w["rounds"] for name, w in throughput["workloads"].items()}
    return losses(workloads, tuple(workloads), keep)


def smallest_keeping(kb: Dict[str, Optional[float]], lost: Dict[str, List[str]]) -> Optional[str]:
    """The variant with the least KB (variant -> KB per stream) among those that lose no workload (LOST)."""
    keepers = {name: value for name, value in kb.items()
               if value is not None and name in lost and not lost[name]}
    return min(keepers, key=keepers.get) if keepers else None


def preset_judgement(kb: Dict[str, Optional[float]], workloads: Dict[str, Dict[str, List[float]]], kind: str,
                     preset: str = PRESET, keep: float = KEEP_RATIO, margin: float = PRESET_MARGIN) -> dict:
    """The goal for KIND's preset: its KB per stream against the smallest variant that keeps KIND's throughput.

    Returns preset_kb, smallest, smallest_kb, ratio, met (None when not measured) and lost (variant ->
    workloads it loses)."""
    lost = losses(workloads, WORKLOADS[kind], keep)
    smallest = smallest_keeping(kb, lost)
    mine = kb.get(preset)
    out = {"kind": kind, "preset_kb": mine, "smallest": smallest, "lost": lost,
           "smallest_kb": kb.get(smallest) if smallest else None, "ratio": None, "met": None}
    if mine is None or smallest is None:
        return out
    out["ratio"] = round(mine / out["smallest_kb"], 3) if out["smallest_kb"] else None
    out["met"] = out["ratio"] is not None and out["ratio"] <= 1 + margin
    return out


def judgements(memory: Optional[dict]) -> Optional[List[dict]]:
    """preset_judgement() of the SSE and WebSocket presets from a run's memory figures; None without throughput."""
    if not memory or not memory.get("throughput") or not memory.get("variants"):
        return None
    workloads = {name: w["rounds"] for name, w in memory["throughput"]["workloads"].items()}
    out = []
    for kind in ("sse", "ws"):
        kb = {name: (v["kb_per_stream"].get(kind) or {}).get("rss") for name, v in memory["variants"].items()}
        out.append(preset_judgement(kb, workloads, kind))
    return out


def verdict(memory: Optional[dict]) -> Optional[Tuple[str, str, bool]]:
    """(goal, measured, met) of the memory goal; None without the figures."""
    found = judgements(memory)
    if found is None:
        return None
    goal = ("Memory: the shipped SSE and WebSocket presets within %d%% of the smallest variant that keeps their "
            "throughput (worker RSS per held stream)" % round(100 * PRESET_MARGIN))
    parts = []
    for one in found:
        label = LABELS[one["kind"]]
        if one["preset_kb"] is None:
            parts.append("%s: not measured" % label)
            continue
        if one["smallest"] is None:
            parts.append("%s %.1f KB; no variant kept the throughput of every %s workload" % (
                label, one["preset_kb"], label))
            continue
        parts.append("%s %.1f KB vs %.1f KB (%s): x%.2f"
                     % (label, one["preset_kb"], one["smallest_kb"], one["smallest"], one["ratio"]))
    return goal, "; ".join(parts), all(one["met"] is True for one in found)
