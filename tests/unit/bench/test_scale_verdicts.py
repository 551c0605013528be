"""The scale goals judged from fits over repeated runs (bench/fits.py, bench/goals.py), on synthetic runs.

A verdict must hold from run to run: linear growth with noise passes, a
quadratic one fails, and noise that pulls the lower slope below zero does not
flip it (as a slope from two points did).
"""

from __future__ import annotations

import json
import pathlib
import random
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import fits, goals  # noqa: E402
from bench.__main__ import main  # noqa: E402
from bench.report import markdown  # noqa: E402

COUNTS = (1, 100, 200, 300)
HOSTS = [1, 4, 8]


def LINEAR(n: int) -> float:  # pylint: disable=invalid-name
    """Today's shape: 3.5 s of controller CPU per run, 12 ms per site."""
    return 3.5 + 0.012 * n


def _run(cpu: float, round_: int, hosts: int = 1) -> dict:
    return {"wall_s": round(cpu * 1.4, 2), "controller_cpu_s": round(cpu, 3), "round": round_, "at_s": 0.0,
            "recap": {"ok": 14 * hosts, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 7 * hosts},
            "slowest_tasks": []}


def scale(site_cpu=LINEAR, host_cpu=lambda h: 2.2 + 2.0 * h, noise=0.0, seed=0, rounds=3, host_rounds=2,
          counts=COUNTS) -> dict:
    """A scale measurement as bench/scale.py records it, with controller CPU from SITE_CPU(sites) and
    HOST_CPU(hosts), plus gaussian NOISE (s) per run."""
    rng = random.Random(seed)
    steps = []
    for n in counts:
        noops = [_run(site_cpu(n) + rng.gauss(0, noise), r) for r in range(rounds)]
        firsts = [_run(site_cpu(n) * 1.1 + rng.gauss(0, noise), 0)] if n in (counts[0], counts[-1]) else []
        steps.append({"sites": n, "locations": 3 * n, "noops": noops, "firsts": firsts,
                      "noop": noops[0], "first": firsts[0] if firsts else None})
    hsteps = []
    for h in HOSTS:
        noops = [_run(host_cpu(h) + rng.gauss(0, noise), r, h) for r in range(host_rounds)]
        hsteps.append({"hosts": h, "noops": noops, "noop": noops[0], "first": _run(30, 0, h) if h == 8 else None})
    return {"sites": {"locations_per_site": 3, "install": _run(5, 0), "steps": steps, "rounds": rounds},
            "hosts": {"sites_per_host": 30, "forks": 8, "steps": hsteps, "rounds": host_rounds},
            "conditions": {"date": "2026-12-07 22:00 UTC", "loadavg_start": [1, 1, 1], "loadavg_end": [2, 2, 2],
                           "other_containers": []}}


def verdict(sc: dict, start: str) -> tuple:
    rows = [(measured, met) for goal, measured, met in goals.scale_verdicts(sc) if goal.startswith(start)]
    assert len(rows) == 1, goals.scale_verdicts(sc)
    return rows[0]


# ------------------------------------------------------------------ fits


def test_a_line_through_exact_points_has_its_slope_and_no_spread():
    fit = fits.line([(x, 2 + 0.5 * x) for x in (0, 1, 2, 3)])
    assert fit.slope == pytest.approx(0.5) and fit.intercept == pytest.approx(2) and fit.slope_se == pytest.approx(0)
    assert fits.line([(0, 1), (1, 2)]).slope_se is None  # two points: no spread to tell
    assert fits.line([(0, 1), (1, 2)], sigma=0.1).slope_se == pytest.approx(0.1 / 0.5 ** 0.5)  # sigma / sqrt(Sxx)
    with pytest.raises(ValueError):
        fits.line([(1, 1), (1, 2)])


def test_the_noise_of_one_run_comes_from_the_repeats_not_from_the_curve():
    sd, dof = fits.repeat_sd([(1, 1.0), (1, 3.0), (2, 10.0), (2, 12.0), (3, 99.0)])
    assert dof == 2 and sd == pytest.approx(2 ** 0.5)
    assert fits.repeat_sd([(1, 1.0), (2, 5.0), (3, 30.0)]) == (None, 0)
    # a parabola measured without noise has none, however far it is from a line
    assert fits.repeat_sd([(x, x * x) for x in COUNTS for unused in range(3)])[0] == 0


def test_linearity_needs_four_counts_and_repeats():
    assert fits.linearity([(x, x) for x in (1, 2, 3) for unused in range(3)], 1.5, 0.001) is None
    assert fits.linearity([(x, x) for x in COUNTS], 1.5, 0.001) is None
    fit = fits.linearity([(x, 1 + x + 0.1 * r) for x in COUNTS for r in range(3)], 1.5, 0.001)
    assert (fit.lower_counts, fit.upper_counts) == ((1, 100), (200, 300))
    assert fit.lower.slope == pytest.approx(1) and fit.upper.slope == pytest.approx(1) and fit.linear
    fit5 = fits.linearity([(x, x + 0.1 * r) for x in (1, 2, 3, 4, 5) for r in range(2)], 1.5, 0.001)
    assert (fit5.lower_counts, fit5.upper_counts) == ((1, 2, 3), (3, 4, 5))  # the middle count is in both


# ------------------------------------------------------------------ the linearity goal


@pytest.mark.parametrize("seed", range(40))
def test_linear_growth_with_noise_passes(seed):
    measured, met = verdict(scale(noise=0.3, seed=seed), "Run time grows linearly")
    assert met, measured


@pytest.mark.parametrize("seed", range(40))
def test_quadratic_growth_fails(seed):
    # today's 12 ms per site, and a cost that grows with the square of the sites: 7 s more at 300 sites,
    # the 300-site no-op twice as long
    quadratic = scale(site_cpu=lambda n: 3.5 + 0.012 * n + 7 * (n / 300.0) ** 2, noise=0.2, seed=seed)
    measured, met = verdict(quadratic, "Run time grows linearly")
    assert not met, measured


def test_noise_that_makes_the_lower_slope_negative_does_not_flip_the_verdict():
    negative = two_point_flips = flips = 0
    for seed in range(400):  # noise of 0.8 s per run: 2.4 s, twice the cost of 100 sites, from run to run
        sc = scale(noise=0.8, seed=seed)
        fit = goals.site_linearity(sc["sites"]["steps"])
        if fit.lower.slope < 0:
            assert fit.linear, (seed, fit)
            negative += 1
        flips += not fit.linear
        # the slope from two points of one round, as the goal was judged before, flips on some of the same runs
        cpu = {s["sites"]: s["noops"][0]["controller_cpu_s"] for s in sc["sites"]["steps"]}
        lower, upper = (cpu[100] - cpu[1]) / 99, (cpu[300] - cpu[200]) / 100
        two_point_flips += upper > 1.5 * max(lower, 0.001)
    assert negative >= 3, "no run had a negative lower slope: raise the noise"
    assert flips <= 4 and two_point_flips >= 134  # at most 1 % of the runs against more than a third


def test_a_two_point_slope_flips_where_the_fit_does_not():
    # the runs of the issue: -1.1 ms per site from 1 to 150 sites, then 18.5 ms per site to 300, one run each;
    # measured three times with the spread those numbers imply, the fit calls them linear
    points = {1: [5.2, 3.4, 3.9], 100: [4.6, 5.6, 4.9], 200: [6.4, 5.8, 6.1], 300: [7.3, 7.9, 6.6]}
    sc = scale()
    for step in sc["sites"]["steps"]:
        for run, cpu in zip(step["noops"], points[step["sites"]]):
            run["controller_cpu_s"] = cpu
    fit = goals.site_linearity(sc["sites"]["steps"])
    assert fit.linear and fit.lower.slope > 0
    first_runs = {n: cpus[0] for n, cpus in points.items()}
    assert (first_runs[100] - first_runs[1]) < 0  # the two-point slope of the first round alone is negative


def test_the_linearity_verdict_says_what_it_measured():
    measured, met = verdict(scale(noise=0.1), "Run time grows linearly")
    assert met and "ms per site over 1-100" in measured and "ms over 200-300" in measured
    single = scale(rounds=1)
    measured, met = verdict(single, "Run time grows linearly")
    assert (measured, met) == ("not measured: 4 site counts, one run each", False)
    three = scale(counts=[1, 150, 300])
    assert verdict(three, "Run time grows linearly") == ("not measured: 3 site counts, 4 needed", False)


# ------------------------------------------------------------------ 300 sites, against 1 site in the same run


def test_300_sites_are_judged_against_one_site_in_the_same_run():
    measured, met = verdict(scale(noise=0.2), "No-op re-run with 300 sites")
    assert met and measured.startswith("x2.0")
    # the same code on a machine twice as loaded: every run costs twice the CPU, the ratio holds
    loaded = scale(site_cpu=lambda n: 2 * (3.5 + 0.012 * n), noise=0.2)
    assert verdict(loaded, "No-op re-run with 300 sites")[1] is True
    # sites that cost three times as much: a regression, over the limit
    slower = scale(site_cpu=lambda n: 3.5 + 0.036 * n, noise=0.2)
    assert verdict(slower, "No-op re-run with 300 sites")[1] is False
    first = verdict(scale(), "First converge with 300 sites")
    assert first[1] is True and first[0].startswith("x2.2")  # one first converge, 1.1 x the no-op


def test_one_disturbed_round_does_not_decide():
    sc = scale()
    sc["sites"]["steps"][-1]["noops"][1]["controller_cpu_s"] = 40.0  # one run in a burst of load
    assert verdict(sc, "No-op re-run with 300 sites")[1] is True


# ------------------------------------------------------------------ per host


@pytest.mark.parametrize("per_host, met", [(2.0, False), (0.8, True), (1.0, True), (1.3, False)])
def test_controller_cpu_per_added_host_is_a_fit_over_the_host_counts(per_host, met):
    sc = scale(host_cpu=lambda h: 2.2 + per_host * h, noise=0.05, seed=3)
    measured, ok = verdict(sc, "A no-op run's controller CPU per added host")
    assert ok is met, measured
    assert "21 tasks per host (14 ran, 7 skipped)" in measured
    fit = goals.host_fit(sc["hosts"]["steps"])
    assert fit.slope == pytest.approx(per_host, abs=0.05) and fit.slope_se < 0.05


def test_tasks_per_host_divide_the_recap_by_the_hosts():
    run = _run(10, 0, hosts=8)
    assert goals.tasks_per_host(run, 8) == (14, 7)


# ------------------------------------------------------------------ three runs, compared


def _results(sc: dict) -> dict:
    return {"settings": {"scale_rounds": 3, "scale_hosts": HOSTS}, "scale": sc}


def test_compare_records_every_earlier_runs_scale_verdicts(tmp_path, capsys):
    paths = []
    for i in range(3):
        path = tmp_path / ("run%d.json" % i)
        path.write_text(json.dumps(_results(scale(noise=0.2, seed=i))))
        paths.append(str(path))
    assert main(["compare", paths[0], paths[1], "--record"]) == 0
    assert main(["compare", paths[1], paths[2], "--record"]) == 0
    assert capsys.readouterr().out.count("every goal has the same verdict") == 2
    last = json.loads(pathlib.Path(paths[2]).read_text())
    assert len(last["scale"]["repeats"]) == 2 and goals.scale_agreement(last["scale"]) is True
    assert set(last["scale"]["repeats"][0]["verdicts"]) == {g for g, unused, unused2 in goals.scale_verdicts(
        last["scale"])}
    flipped = json.loads(pathlib.Path(paths[2]).read_text())
    goal = next(iter(flipped["scale"]["repeats"][0]["verdicts"]))
    flipped["scale"]["repeats"][0]["verdicts"][goal]["met"] = not flipped["scale"]["repeats"][0]["verdicts"][goal][
        "met"]
    assert goals.scale_agreement(flipped["scale"]) is False


def test_the_page_shows_the_runs_and_their_agreement(tmp_path):
    earlier = scale(noise=0.2, seed=1)
    later = scale(noise=0.2, seed=2)
    later["repeats"] = [goals.scale_repeat(_results(earlier))]
    results = json.loads((pathlib.Path(__file__).with_name("recorded_results.json")).read_text())
    results["scale"] = later
    text = markdown(results)
    assert "### The same verdicts in 2 runs" in text
    assert "**the same verdict on every scale goal in every run**" in text
    assert "| 2026-12-07 22:00 UTC (this page) |" in text
    assert "### How the scale goals are judged" in text
