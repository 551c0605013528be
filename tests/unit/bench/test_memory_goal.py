"""The memory goal (bench/memory_goal.py), judged on synthetic figures: no run, no Docker."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import goals, heap, memory_goal, report  # noqa: E402
from bench.provision import replace_http_directives  # noqa: E402

RECORDED = pathlib.Path(__file__).with_name("recorded_results.json")


@pytest.mark.parametrize("mine, best, kept", [
    ([95, 96, 97], [100, 101, 102], True),  # within 90% of the best's median
    ([80, 81, 82], [100, 101, 102], False),  # below 90%, and even its best round is below the best's worst
    ([60, 85, 120], [100, 101, 102], True),  # below 90% at the median, but within the rounds' spread
    ([], [100], False),  # not measured: not kept
    ([None, None], [100], False),
    ([50], [], True),  # nothing to compare with
])
def test_a_variant_keeps_throughput_unless_it_loses_it_beyond_the_noise(mine, best, kept):
    assert memory_goal.keeps_throughput(mine, best) is kept


def test_the_best_variant_is_the_highest_median():
    assert memory_goal.best_variant({"a": [10, 50, 11], "b": [20, 21, 22], "c": [None]}) == "b"
    assert memory_goal.best_variant({}) is None


def _workloads(rates: dict) -> dict:
    """workload -> variant -> three rounds around RATES[workload][variant]."""
    return {w: {v: [r * 0.99, r, r * 1.01] for v, r in by_variant.items()} for w, by_variant in rates.items()}


# Three variants: "small" saves memory but loses large WebSocket messages; "mid" keeps everything.
KB = {"sse": {"small": 10.0, "mid": 11.0, "role-defaults": 12.0},
      "ws": {"small": 10.0, "mid": 12.0, "role-defaults": 15.0}}
RATES = {"sse-small": {"small": 1000, "mid": 1000, "role-defaults": 1000},
         "sse-large": {"small": 500, "mid": 510, "role-defaults": 505},
         "ws-small": {"small": 2000, "mid": 2000, "role-defaults": 2000},
         "ws-large": {"small": 300, "mid": 600, "role-defaults": 600}}


def test_the_smallest_variant_that_keeps_throughput():
    workloads = _workloads(RATES)
    lost = memory_goal.losses(workloads, memory_goal.WORKLOADS["ws"])
    assert lost == {"small": ["ws-large"], "mid": [], "role-defaults": []}
    assert memory_goal.smallest_keeping(KB["ws"], lost) == "mid"
    assert memory_goal.smallest_keeping(KB["sse"], memory_goal.losses(workloads, memory_goal.WORKLOADS["sse"])) \
        == "small"
    assert memory_goal.smallest_keeping({"small": None, "mid": 12.0}, {"small": [], "mid": []}) == "mid"
    assert memory_goal.smallest_keeping(KB["ws"], {"small": ["ws-large"]}) is None


def test_a_variant_missing_from_a_workload_loses_it():
    workloads = _workloads(RATES)
    del workloads["ws-large"]["mid"]
    assert memory_goal.losses(workloads, ("ws-small", "ws-large"))["mid"] == ["ws-large"]


@pytest.mark.parametrize("kind, preset_kb, met, smallest", [
    ("sse", 11.5, True, "small"),  # 11.5 / 10.0 = 1.15: at the margin
    ("sse", 11.6, False, "small"),
    ("ws", 13.8, True, "mid"),  # against "mid" (12.0), not "small", which loses 64 KiB messages
    ("ws", 13.9, False, "mid"),
])
def test_the_preset_within_15_percent_of_the_smallest_that_keeps_throughput(kind, preset_kb, met, smallest):
    kb = dict(KB[kind], **{"role-defaults": preset_kb})
    found = memory_goal.preset_judgement(kb, _workloads(RATES), kind)
    assert (found["met"], found["smallest"]) == (met, smallest)
    assert found["ratio"] == round(preset_kb / kb[smallest], 3)


def test_a_preset_that_is_itself_the_smallest_meets_the_goal():
    found = memory_goal.preset_judgement({"role-defaults": 9.0, "small": 10.0}, _workloads(RATES), "sse")
    assert found["smallest"] == "role-defaults" and found["ratio"] == 1.0 and found["met"] is True


def _memory(kb: dict, rates: dict) -> dict:
    variants = {name: {"kb_per_stream": {kind: {"rss": kb[kind][name]} for kind in kb}} for name in kb["sse"]}
    return {"streams_per_kind": 2000, "variants": variants,
            "throughput": {"rounds": 3, "workloads": {w: {"rounds": r} for w, r in _workloads(rates).items()}}}


def test_the_verdict_names_both_presets_and_their_reference():
    goal, measured, met = goals.kb_verdict(_memory(KB, RATES))
    assert goal.startswith("Memory: the shipped SSE and WebSocket presets within 15% of the smallest variant")
    assert measured == "SSE 12.0 KB vs 10.0 KB (small): x1.20; WebSocket 15.0 KB vs 12.0 KB (mid): x1.25"
    assert met is False
    close = {"sse": dict(KB["sse"], **{"role-defaults": 10.5}), "ws": dict(KB["ws"], **{"role-defaults": 12.5})}
    assert goals.kb_verdict(_memory(close, RATES))[2] is True
    results = dict(json.loads(RECORDED.read_text()), memory=_memory(KB, RATES))
    assert goal in [g for g, unused, unused_ok in goals.verdicts(results)]


def test_no_verdict_without_throughput_figures():
    assert goals.kb_verdict(None) is None
    assert goals.kb_verdict({"variants": {"role-defaults": {}}}) is None  # a run from before throughput rounds
    assert not [g for g, unused, ok in goals.verdicts(json.loads(RECORDED.read_text())) if g.startswith("Memory")]


def test_a_preset_without_figures_is_not_measured():
    memory = _memory(KB, RATES)
    memory["variants"]["role-defaults"]["kb_per_stream"]["ws"]["rss"] = None
    goal, measured, met = goals.kb_verdict(memory)
    assert measured.endswith("WebSocket: not measured") and met is False


def test_a_kind_where_every_variant_loses_a_workload_misses_the_goal():
    rates = {w: dict(r) for w, r in RATES.items()}
    rates["sse-small"] = {"small": 500, "mid": 1000, "role-defaults": 1000}
    rates["sse-large"] = {"small": 500, "mid": 100, "role-defaults": 100}
    goal, measured, met = goals.kb_verdict(_memory(KB, rates))
    assert measured.startswith("SSE 12.0 KB; no variant kept the throughput of every SSE workload") and met is False


def test_the_page_states_the_rule_and_the_judgement():
    committed = json.loads((REPO / "docs" / "performance" / "results.json").read_text())
    if "throughput" not in committed.get("memory", {}):
        pytest.skip("the committed run has no throughput rounds")
    text = report.markdown(committed)
    assert "at least %d%% of the best variant's median" % round(100 * memory_goal.KEEP_RATIO) in text
    for one in memory_goal.judgements(committed["memory"]):
        assert "`%s`" % one["smallest"] in text


def test_http_directives_replace_the_roles_line_or_join_the_http_block():
    conf = "http {\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_tickets off;\n}\n"
    out = replace_http_directives(conf, {"ssl_protocols": "TLSv1.3", "ssl_conf_command": "Options KTLS"})
    assert out == ("http {\n    ssl_conf_command Options KTLS;\n    ssl_protocols TLSv1.3;\n"
                   "    ssl_session_tickets off;\n}\n")


# glibc's malloc_info(): each arena's totals, then the process's (with mmapped chunks), in the same shape.
_ARENA = ('<total type="fast" count="2" size="96"/>\n<total type="rest" count="5" size="20480"/>\n{mmap}'
          '<system type="current" size="1048576"/>\n<system type="max" size="1048576"/>\n')
MALLOC_INFO = ('<malloc version="1">\n<heap nr="0">\n<sizes>\n</sizes>\n' + _ARENA.format(mmap="") + '</heap>\n'
               + _ARENA.format(mmap='<total type="mmap" count="1" size="135168"/>\n') + "</malloc>\n")


def test_glibc_malloc_info_totals():
    assert heap.parse_malloc_info(MALLOC_INFO) == {"arena": 1048576, "free": 20576, "mmap": 135168,
                                                   "in_use": 1048576 - 20576 + 135168}
    assert heap.parse_malloc_info("") is None
    assert heap.parse_malloc_info("<malloc/>") is None


def test_heap_figures_per_stream():
    step = {"held": 100, "nginx_rss_idle_kb": 1000, "nginx_rss_kb": 3000,
            "heap": {"before": {"in_use_kb": 500.0, "free_kb": 50.0},
                     "held": {"in_use_kb": 2300.0, "free_kb": 150.0, "rss_after_trim_kb": 2900}}}
    assert heap.per_stream(step) == {"heap_in_use": 18.0, "heap_free": 1.0, "rss_trimmed": 19.0}
    assert heap.per_stream(dict(step, heap={"before": None, "held": None})) == {}
    assert heap.per_stream({"held": 0}) == {}
