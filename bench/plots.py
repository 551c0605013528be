"""The plots of docs/performance.md (matplotlib, Agg), one per measurement, from a results JSON."""

from __future__ import annotations

import pathlib
from typing import List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position

from .goals import (  # noqa: E402  pylint: disable=wrong-import-position
    GOAL_NOOP_S)
from .goals import (  # noqa: E402  pylint: disable=wrong-import-position
    GOAL_SCALE_NOOP_RATIO, host_fit, median_of, scale_runs, site_linearity)

COLORS = {"direct": "#4c72b0", "role": "#55a868", "naive": "#c44e52",
          "debian-default": "#c44e52", "role-defaults": "#dd8452", "role-tuned": "#55a868"}


def _sse_plot(r, path):
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, label in (("direct", "direct to backend"), ("role", "role's sse location"),
                        ("naive", "naive proxy_pass (nginx defaults)")):
        data = sorted(r["samples_ms"].get(name) or [])
        if not data:
            continue
        ys = [(i + 1) / len(data) for i in range(len(data))]
        ax.step(data, ys, where="post", label="%s (p99 %.2f ms)" % (label, r["delay_ms"][name]["p99"]),
                color=COLORS[name])
    ax.set_xscale("log")
    ax.set_xlabel("delivery delay: arrival - sent (ms, log scale)")
    ax.set_ylabel("fraction of events")
    ax.set_title("SSE delivery delay, %d events per configuration" % r["events_per_config"]["role"])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ws_plot(r, path):
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    names = ["direct", "role"]
    ax.boxplot([r["samples_ms"][n] or [0] for n in names], tick_labels=["direct", "through the role"],
               showfliers=False, whis=(1, 99))
    ax.set_ylabel("echo round trip (ms), whiskers p1-p99")
    ax.set_title("WebSocket echo, %d B messages, %d sockets" % (r["size"], r["sockets"]), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    bx.bar(["direct", "role"], [r["msgs_per_s"][n] for n in names], color=[COLORS[n] for n in names])
    bx.set_ylabel("messages/s")
    bx.set_title("throughput", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _capacity_plot(r, path):
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for name in r["configs"]:
        steps = [s for s in r["steps"] if s["config"] == name]
        if not steps:
            continue
        ax.plot([s["target"] for s in steps], [s["held"] for s in steps], "o-", label=name, color=COLORS.get(name))
        fails = [s for s in steps if s["failed"]]
        ax.plot([s["target"] for s in fails], [s["held"] for s in fails], "x", color="black", markersize=9)
        mem = [s for s in steps if s["rss_per_stream_kb"] is not None and s["held"] >= 500]
        bx.plot([s["held"] for s in mem], [s["rss_per_stream_kb"] for s in mem], "o-", label=name,
                color=COLORS.get(name))
    top = max([s["target"] for s in r["steps"]] or [1])
    ax.plot([0, top], [0, top], ":", color="grey", label="every stream held")
    ax.set_xlabel("streams opened (half SSE, half WebSocket)")
    ax.set_ylabel("streams held for %g s" % r["hold_s"])
    ax.set_title("Concurrent streams (x: step with failures)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    bx.set_xlabel("streams held")
    bx.set_ylabel("nginx worker RSS per held stream (KB)")
    bx.set_title("nginx memory per stream", fontsize=10)
    bx.set_ylim(bottom=0)
    _save(fig, path, bx)


def _save(fig, path, *legended):
    """Legend and grid on the LEGENDED axes, then FIG written to PATH and closed."""
    for axes in legended:
        axes.legend(fontsize=8)
        axes.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _streams_cost_plot(r, path):
    """The cost curve: nginx workers' RSS and CPU while holding, against streams held, per configuration."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("role-defaults", "role-tuned"):
        steps = [s for s in r["steps"] if s["config"] == name]
        for axes, key, scale in ((ax, "nginx_rss_kb", 1 / 1024.0), (bx, "cpu_hold_pct", 1.0)):
            axes.plot([s["held"] for s in steps], [(s[key] or 0) * scale for s in steps], "o-", label=name,
                      color=COLORS[name])
            fails = [s for s in steps if s["failed"]]
            axes.plot([s["held"] for s in fails], [(s[key] or 0) * scale for s in fails], "x", color="black",
                      markersize=9)
    for axes, label, title in ((ax, "nginx workers' RSS (MB)", "Memory"),
                               (bx, "nginx workers' CPU while holding (% of one core)", "CPU")):
        axes.set_xlabel("streams held (half SSE, half WebSocket)")
        axes.set_ylabel(label)
        axes.set_title("%s against streams held (x: step with failures)" % title, fontsize=10)
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)
    _save(fig, path, ax, bx)


def _reload_plot(r, path):
    tl = r["timeline"]
    t0 = tl["t0"]
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    events = [(t, +1) for t in tl["opens"]] + [(t, -1) for t in tl["closes"]] + [(t, +1) for t in tl["resumes"]]
    events.sort()
    xs, ys, n = [], [], 0
    for t, d in events:
        n += d
        xs.append(t - t0)
        ys.append(n)
    ax.step(xs, ys, where="post", color=COLORS["role"])
    ax.set_ylabel("open streams (client view)")
    ax.set_title("%d reloads %g s apart with %d streams open; worker_shutdown_timeout %d s" % (
        r["reloads"], r["reload_gap_s"], r["streams"], r["worker_shutdown_timeout_s"]), fontsize=10)
    samples = tl["samples"]
    bx.plot([s[0] - t0 for s in samples], [s[1] / 1024 for s in samples], color="#4c72b0", label="nginx RSS (MB)")
    bx.set_ylabel("nginx RSS, all processes (MB)")
    cx = bx.twinx()
    cx.step([s[0] - t0 for s in samples], [s[2] for s in samples], where="post", color="#c44e52",
            label="worker processes")
    cx.set_ylabel("worker processes", color="#c44e52")
    for a in (ax, bx):
        for t in tl["reloads"]:
            a.axvline(t - t0, color="grey", alpha=0.4, linewidth=0.8)
        a.axvline(r["worker_shutdown_timeout_s"], color="black", linestyle=":", linewidth=1)
        a.grid(True, alpha=0.3)
    bx.set_xlabel("seconds after the first reload (grey: reloads, dotted: first reload + worker_shutdown_timeout)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _converge_plot(r, path):
    fig, ax = plt.subplots(figsize=(6, 2.6))
    names = ["first converge"] + (["no-op re-run"] if r.get("noop") else [])
    vals = [r["first"]["wall_s"]] + ([r["noop"]["wall_s"]] if r.get("noop") else [])
    ax.barh(names, vals, color=["#4c72b0", "#55a868"])
    ax.axvline(GOAL_NOOP_S, color="grey", linestyle=":", label="goal for a no-op: %g s" % GOAL_NOOP_S)
    for i, v in enumerate(vals):
        ax.text(v, i, " %.1f s" % v, va="center")
    ax.set_xlabel("wall time (s)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scale_series(ax, steps, count, fit):
    """Medians of the first converge and of the no-op against COUNT, wall time (solid) and controller CPU
    (dashed); every no-op run's controller CPU as a dot, and FIT, the line fitted through those."""
    for key, label, color in (("first", "first converge", "#4c72b0"), ("noop", "no-op re-run", "#55a868")):
        measured = [x for x in steps if scale_runs(x, key)]
        xs = [x[count] for x in measured]
        ax.plot(xs, [median_of(x, key, "wall_s") for x in measured], "o-", color=color, label="%s, wall" % label)
        ax.plot(xs, [median_of(x, key, "controller_cpu_s") for x in measured], "x--", color=color,
                label="%s, controller CPU" % label)
    runs = [(x[count], run["controller_cpu_s"]) for x in steps for run in scale_runs(x, "noop")]
    ax.plot([p[0] for p in runs], [p[1] for p in runs], ".", color="black", markersize=3,
            label="each no-op run, controller CPU")
    if fit is not None:
        ends = [steps[0][count], steps[-1][count]]
        ax.plot(ends, [fit.intercept + fit.slope * x for x in ends], "-", color="grey", linewidth=0.8,
                label="least-squares line, %s per %s" % (
                    "%.1f ms" % (1000 * fit.slope) if count == "sites" else "%.2f s" % fit.slope, count[:-1]))
    ax.set_ylabel("seconds")
    ax.grid(True, alpha=0.3)


def _scale_plot(r, path):
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    sites = r["sites"]["steps"]
    if sites:
        linear = site_linearity(sites)
        _scale_series(ax, sites, "sites", linear.overall if linear else None)
        ax.axhline(GOAL_SCALE_NOOP_RATIO * median_of(sites[0], "noop", "controller_cpu_s"), color="#55a868",
                   linestyle=":", label="goal at %d sites: controller CPU %g x the %d-site no-op" % (
                       sites[-1]["sites"], GOAL_SCALE_NOOP_RATIO, sites[0]["sites"]))
    ax.set_xlabel("sites of %d locations, one host" % r["sites"]["locations_per_site"])
    ax.set_title("By sites", fontsize=10)
    ax.legend(fontsize=6)
    hosts = r["hosts"]["steps"]
    if hosts:
        _scale_series(bx, hosts, "hosts", host_fit(hosts))
        bx.set_xticks([x["hosts"] for x in hosts])
    bx.set_xlabel("hosts, %d sites each, forks %d" % (r["hosts"]["sites_per_host"], r["hosts"]["forks"]))
    bx.set_title("By hosts (first converge installs nginx)", fontsize=10)
    bx.legend(fontsize=6)
    for axes in (ax, bx):
        axes.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PLOTS = (("sse", "sse_delay.png", _sse_plot), ("ws", "ws_rtt.png", _ws_plot),
         ("capacity", "capacity.png", _capacity_plot), ("capacity", "streams_cost.png", _streams_cost_plot),
         ("reload", "reload.png", _reload_plot),
         ("converge", "converge.png", _converge_plot), ("scale", "scale.png", _scale_plot))


RAW_SERIES = {"sse": "samples_ms", "ws": "samples_ms", "reload": "timeline"}  # what these plots are drawn from


def write(results: dict, directory: pathlib.Path) -> List[pathlib.Path]:
    """Draw the plot of every measurement in RESULTS into DIRECTORY; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name, draw in PLOTS:
        # figures without their raw series (docs/performance/results.json) keep the plots drawn from them
        if results.get(key) and (key not in RAW_SERIES or RAW_SERIES[key] in results[key]):
            draw(results[key], directory / name)
            written.append(directory / name)
    return written
