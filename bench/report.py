"""Plots (matplotlib, Agg) and docs/performance.md from a results JSON."""

from __future__ import annotations

import pathlib
from typing import List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GOAL_SSE_ADDED_P99_MS = 1.0
GOAL_STREAMS = 16000
GOAL_KB_PER_STREAM = 10.0
GOAL_NOOP_S = 10.0
COLORS = {"direct": "#4c72b0", "role": "#55a868", "naive": "#c44e52",
          "debian-default": "#c44e52", "role-defaults": "#dd8452", "role-tuned": "#55a868"}


# ------------------------------------------------------------------ plots


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
    bx.axhline(GOAL_KB_PER_STREAM, color="grey", linestyle=":", label="goal %g KB" % GOAL_KB_PER_STREAM)
    bx.set_xlabel("streams held")
    bx.set_ylabel("nginx worker RSS per held stream (KB)")
    bx.set_title("nginx memory per stream", fontsize=10)
    bx.set_ylim(bottom=0)
    bx.legend(fontsize=8)
    bx.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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


# ------------------------------------------------------------------ markdown


def _met(ok) -> str:
    return "**met**" if ok else "**not met**"


def _fmt(v, unit="", nd=2):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return ("%%.%df%%s" % nd) % (v, unit)
    return "%s%s" % (v, unit)


def _steps_table(cap, steps) -> List[str]:
    lines = ["| configuration | opened | held | failed (SSE / WS) | ramp s | nginx RSS MB | RSS KB/stream (vs fresh workers) | "
             "RSS KB/stream (vs before the step) | PSS KB/stream (vs before the step) | CPU while holding | failures seen by clients |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in steps:
        lines.append("| %s | %d | %d | %d (%d / %d) | %s | %s | %s | %s | %s | %s%% | %s |" % (
            s["config"], s["target"], s["held"], s["failed"], s["by_kind"]["sse"]["failed"],
            s["by_kind"]["ws"]["failed"], _fmt(s["ramp_s"], nd=1),
            _fmt((s["nginx_rss_kb"] or 0) / 1024.0, nd=1),
            _fmt(_fresh_kb(cap, s), nd=1) if "/" not in s["config"] else "n/a",
            _fmt(s["rss_per_stream_kb"], nd=1),
            _fmt(s["pss_per_stream_kb"], nd=1), s["cpu_hold_pct"],
            "; ".join("%s x%d" % kv for kv in list(s["nginx_log"].items()) + list(s["client_errors"].items())[:2]) or "-"))
    return lines


def _bound(cap, name):
    c = cap["ceilings"].get(name, {})
    if c.get("bounded_by") and not c["bounded_by"].startswith("see "):
        return c.get("bounded_by")
    from .run import Bench
    steps = [s for s in cap["steps"] if s["config"] == name and s["failed"]]
    return Bench.bound(cap["configs"][name], steps[-1]) if steps else c.get("bounded_by")


def _fresh_kb(cap, step):
    """RSS per held stream above the workers' RSS before the config's FIRST step (fresh workers).

    The per-step delta undercounts once earlier, larger steps left freed memory
    in the workers' allocator; this does not."""
    first = [s for s in cap["steps"] if s["config"] == step["config"]]
    if not first or not step["held"]:
        return None
    return round((step["nginx_rss_kb"] - first[0]["nginx_rss_idle_kb"]) / step["held"], 1)


def markdown(results: dict) -> str:
    m = results["machine"]
    sse, ws, cap, rel, conv = (results.get(k) for k in ("sse", "ws", "capacity", "reload", "converge"))
    st = results["settings"]
    L = []
    add = L.append
    add("# Performance of the realtime_proxy role")
    add("")
    add("<!-- Generated by `make bench` (python -m bench run) from bench-results/results.json; "
        "do not edit by hand. -->")
    add("")
    add("Measured with `make bench` (`python -m bench run`, see [bench/README.md](../bench/README.md)) on "
        "%s. Every figure below comes from that one run; each comparison ran its configurations side by "
        "side in the same run, because this machine is shared and noisy: read the **ratios**, not the "
        "absolute numbers." % m["date"])
    add("")
    add("## Machine")
    add("")
    add("| | |")
    add("| --- | --- |")
    add("| CPUs (nproc) | %s |" % m["nproc"])
    add("| memory | %s GiB |" % m["mem_gib"])
    add("| kernel | %s |" % m["kernel"])
    add("| nginx | %s (%s in a systemd container, host network) |" % (m["nginx"], m["os_in_container"]))
    add("| controller | Python %s, ansible-core 2.19 |" % m["python"])
    add("| date | %s |" % m["date"])
    add("| load average at start / end | %s / %s |" % (
        " ".join("%.1f" % x for x in m["loadavg_start"]), " ".join("%.1f" % x for x in m.get("loadavg_end", []))))
    others = m.get("other_containers") or []
    if others:
        add("| other containers running | %d (%s): **the machine was loaded** by other test runs |" % (
            len(others), ", ".join(others[:8]) + (", ..." if len(others) > 8 else "")))
    else:
        add("| other containers running | none |")
    add("| open files per process | 20,000 hard limit (cannot be raised here) |")
    add("| run time of the whole benchmark | %.0f s |" % results["runtime_s"])
    add("")

    # goals
    goals = []
    if sse and "added_ms" in sse:
        v = sse["added_ms"]["p99"]
        goals.append(("SSE: added delivery delay p99 <= %g ms over direct" % GOAL_SSE_ADDED_P99_MS,
                      "%+.3f ms (p99 %.3f ms through the role vs %.3f ms direct)" % (
                          v, sse["delay_ms"]["role"]["p99"], sse["delay_ms"]["direct"]["p99"]),
                      v <= GOAL_SSE_ADDED_P99_MS, ""))
    if cap:
        for name in ("role-defaults", "role-tuned"):
            steps = [s for s in cap["steps"] if s["config"] == name and s["target"] >= GOAL_STREAMS]
            step = steps[0] if steps else None
            if step is None:
                goals.append(("%d concurrent streams, 0 failures, <= %g KB nginx memory per stream (%s)" % (
                    GOAL_STREAMS, GOAL_KB_PER_STREAM, name),
                    "step not reached: ceiling %d held (%s)" % (cap["ceilings"][name]["held_max"],
                                                                _bound(cap, name)), False, ""))
            else:
                kb = _fresh_kb(cap, step)
                ok = step["failed"] == 0 and (kb or 1e9) <= GOAL_KB_PER_STREAM
                goals.append(("%d concurrent streams, 0 failures, <= %g KB nginx memory per stream (%s)" % (
                    GOAL_STREAMS, GOAL_KB_PER_STREAM, name),
                    "%d held, %d failed (%s); %s KB nginx RSS per held stream" % (
                        step["held"], step["failed"], _bound(cap, name), _fmt(kb, nd=1)), ok, ""))
    if rel:
        ok = rel["dropped_before_timeout"] == 0 and rel["new_connections"]["failed"] == 0
        goals.append(("Reload: 0 streams dropped (before worker_shutdown_timeout), 0 failed new connections",
                      "%d dropped, %d of %d new connections failed" % (
                          rel["dropped_before_timeout"], rel["new_connections"]["failed"],
                          rel["new_connections"]["attempted"]), ok, ""))
    if conv and conv.get("noop"):
        v = conv["noop"]["wall_s"]
        goals.append(("No-op re-run of the role under %g s" % GOAL_NOOP_S, "%.1f s (changed=%s)" % (
            v, conv["noop"]["recap"].get("changed")), v < GOAL_NOOP_S, ""))
    add("## Goals")
    add("")
    add("| goal | measured | verdict |")
    add("| --- | --- | --- |")
    for goal, measured, ok, unused in goals:
        add("| %s | %s | %s |" % (goal, measured, _met(ok)))
    add("")
    add("Why, where a goal is not met, is in each section below.")
    add("")

    if sse:
        add("## 1. SSE delivery delay")
        add("")
        add("![SSE delivery delay](performance/sse_delay.png)")
        add("")
        add("The test backend (`tests/realtime_testkit/backend.py`) stamps every event with the time it "
            "sent it; the client (`realtime_testkit.sse.read_sse`) stamps its arrival. Per configuration: "
            "%d rounds of %d parallel streams of %d events, %g ms apart; configurations alternate round by "
            "round. **direct**: the backend itself; **role**: the role's `sse` location; **naive**: a "
            "hand-written `proxy_pass` with nginx's defaults in `conf.d/` of the same nginx." % (
                st["sse_rounds"], st["sse_streams"], st["sse_events"], st["sse_interval"] * 1000))
        add("")
        add("| configuration | events | p50 ms | p90 ms | p99 ms | max ms | first event of a stream, p50 ms |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in ("direct", "role", "naive"):
            d = sse["delay_ms"][name]
            add("| %s | %d | %s | %s | %s | %s | %s |" % (name, d.get("n", 0), d.get("p50"), d.get("p90"),
                                                          d.get("p99"), d.get("max"),
                                                          sse["first_event_delay_ms"][name].get("p50")))
        add("")
        if "added_ms" in sse:
            add("Added by the role over direct: p50 %+.3f ms, p99 %+.3f ms (ratio p50 x%s, p99 x%s). The naive "
                "location delivers nothing until the stream ends (HTTP/1.0 upstream and buffering on), so its "
                "delay grows with the stream's length: p50 %s ms for %g ms streams." % (
                    sse["added_ms"]["p50"], sse["added_ms"]["p99"], sse["ratio"]["p50"], sse["ratio"]["p99"],
                    sse["delay_ms"]["naive"].get("p50"), st["sse_events"] * st["sse_interval"] * 1000))
            add("")
            add("The tails (p90, p99) of every configuration, the direct one included, move with the load of "
                "the machine: on a shared 2-core machine an event that crosses one more process (nginx's "
                "worker) waits once more for a core. Compare p50s for nginx's own cost; repeat on an idle "
                "machine before reading the p99 goal as a property of the role.")
            add("")

    if ws:
        add("## 2. WebSocket echo")
        add("")
        add("![WebSocket echo](performance/ws_rtt.png)")
        add("")
        add("%d sockets in parallel, each sending %d messages of %d bytes one after another and waiting for "
            "each echo (`realtime_testkit.ws.ws_echo`), %d rounds alternating direct and through the role's "
            "`websocket` location." % (ws["sockets"], ws["messages_per_socket"], ws["size"], st["ws_rounds"]))
        add("")
        add("| configuration | echoes | RTT p50 ms | p90 ms | p99 ms | messages/s | errors |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in ("direct", "role"):
            d = ws["rtt_ms"][name]
            add("| %s | %d | %s | %s | %s | %s | %d |" % (name, d.get("n", 0), d.get("p50"), d.get("p90"),
                                                          d.get("p99"), ws["msgs_per_s"][name], ws["errors"][name]))
        add("")
        if "added_ms" in ws:
            add("Through the role: RTT p50 %+.3f ms (x%s), p99 %+.3f ms (x%s); throughput x%s of direct. "
                "nginx adds two loopback hops and a user-space copy in each direction." % (
                    ws["added_ms"]["p50"], ws["ratio"]["p50"], ws["added_ms"]["p99"], ws["ratio"]["p99"],
                    ws["throughput_ratio"]))
            add("")

    if cap:
        add("## 3. Concurrent streams held")
        add("")
        add("![Concurrent streams](performance/capacity.png)")
        add("")
        add("Each step opens the given number of streams, half SSE and half WebSocket, through nginx to %d "
            "lean backend processes (`bench/holdserver.py`: one event, then a heartbeat comment every 5 s; "
            "WebSocket echo), from load-client processes of at most %d streams each "
            "(`realtime_testkit.load.hold_sse`/`hold_ws`, opened in batches of 200 every 0.2 s), spread over "
            "4 listen ports. Streams are held %g s; every WebSocket sends a message every 5 s and checks its "
            "echo. A stream counts as held if it opened and nginx did not close it. Memory is the RSS summed "
            "over nginx's workers (from /proc) at the end of the hold minus before the step, divided by the "
            "streams held; PSS likewise. CPU is the workers' CPU time while holding, in %% of one core." % (
                st["hold_backends"], cap["per_process"], cap["hold_s"]))
        add("")
        add("Configurations, side by side in the same container (three nginx masters, same binary, same backends):")
        add("")
        add("| configuration | worker_processes | worker_connections | open files per worker | ceiling (held) | bounded by |")
        add("| --- | --- | ---: | --- | ---: | --- |")
        for name, info in cap["configs"].items():
            c = cap["ceilings"].get(name, {})
            add("| %s | %s | %s | %s | %s | %s |" % (name, info["workers"], info["worker_connections"],
                                                     info["rlimit"], c.get("held_max"), _bound(cap, name)))
        add("")
        add("* **debian-default**: Debian's own `nginx.conf` from the nginx-common package (worker_connections "
            "768) with the guide's SSE and WebSocket locations.")
        add("* **role-defaults**: the role as shipped (`realtime_proxy_worker_connections: 8192`, "
            "`realtime_proxy_worker_rlimit_nofile: 16384`, `worker_processes auto`), the systemd nginx the role "
            "manages.")
        add("* **role-tuned**: the role's templates rendered with %s, run as a second master." % ", ".join(
            "`%s: %s`" % kv for kv in st["tuned"].items()))
        add("")
        for line in _steps_table(cap, cap["steps"] + cap.get("per_kind", [])):
            add(line)
        add("")
        add("RSS per stream \"vs fresh workers\" counts from the workers' RSS before the configuration's first "
            "step, so memory that earlier steps freed into the workers' allocator and this step reused is "
            "counted; \"vs before the step\" undercounts for that reason, most for the pure-SSE and pure-WebSocket "
            "steps (`role-tuned/sse`, `role-tuned/ws`), which ran after the 16,000 step. The first, fresh steps "
            "give the honest figure per kind of mix: about 16-22 KB of worker RSS per proxied stream (two "
            "connections, a request pool, and a `proxy_buffer_size` buffer per direction in use). Kernel socket "
            "buffers are not in RSS.")
        add("")

    if rel:
        add("## 4. Reload under load")
        add("")
        add("![Reload under load](performance/reload.png)")
        add("")
        add("%d streams (half SSE, half WebSocket) held through the role's nginx, then %d reloads in a row, %g s "
            "apart, with `systemctl reload nginx` (what the role's handler does), while new connections arrive "
            "at %g per second (`realtime_testkit.load.request_loop`, a new TCP connection per request, to the "
            "`http` location). A stream the server closes reconnects once after 1 s (SSE with `Last-Event-ID`)." % (
                rel["streams"], rel["reloads"], rel["reload_gap_s"], rel["new_connections"]["rate_per_s"]))
        add("")
        nc = rel["new_connections"]
        exits = [x for x in rel["old_workers_exit_s"] if x is not None]
        add("| | |")
        add("| --- | --- |")
        add("| streams open before the first reload | %d of %d |" % (rel["opened"], rel["streams"]))
        add("| dropped before worker_shutdown_timeout (%d s) | %d |" % (rel["worker_shutdown_timeout_s"],
                                                                        rel["dropped_before_timeout"]))
        add("| cut when the timeout ran out | %d (reconnected: %d) |" % (rel["cut_at_timeout"], rel["reconnected"]))
        add("| new connections during the reloads: failed / made | %d / %d (latency p50 %s ms, p99 %s ms) |" % (
            nc["failed"], nc["attempted"], nc["latency_ms"].get("p50"), nc["latency_ms"].get("p99")))
        if exits:
            add("| the first reload's old workers (holding every stream) exited after | %.1f s |" % exits[0])
            add("| all old workers gone, after the last reload | %.1f s |" % exits[-1])
        add("| nginx RSS before the first reload | %s MB |" % _fmt((rel["rss_kb_before_reload"] or 0) / 1024.0, nd=1))
        add("| nginx RSS high-water mark during the reloads | %s MB (PSS %s MB), up to %s worker processes |" % (
            _fmt((rel["rss_kb_high_water"] or 0) / 1024.0, nd=1), _fmt((rel["pss_kb_high_water"] or 0) / 1024.0, nd=1),
            rel["max_workers"]))
        add("")
        add("The first reload's old workers hold every stream, so they live until `worker_shutdown_timeout` "
            "and then cut what they still hold (clients reconnect to the new workers). At most %s worker "
            "processes were alive at once across %d reloads, so the later generations, which hold no stream, "
            "did not pile up; the memory high-water mark is the stream-holding old generation plus the new "
            "one, and the timeout is what bounds it." % (rel["max_workers"], rel["reloads"]))
        add("")

    if conv:
        add("## 5. Role run time")
        add("")
        add("![Role run time](performance/converge.png)")
        add("")
        add("`ansible-playbook molecule/resources/converge.yml` against the bench container with the "
            "`community.docker.docker` connection%s and `ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks`. "
            "The first run installs nginx from Debian's mirror." % (
                ", pipelining on" if str(conv.get("pipelining", "True")).lower() in ("", "true", "1") else ""))
        add("")
        add("| run | wall s | ok | changed | dominant tasks (s) |")
        add("| --- | ---: | ---: | ---: | --- |")
        for key, label in (("first", "first converge"), ("noop", "no-op re-run")):
            c = conv.get(key)
            if not c:
                continue
            add("| %s | %.1f | %s | %s | %s |" % (label, c["wall_s"], c["recap"].get("ok"), c["recap"].get("changed"),
                                                  "; ".join("%s %.1f" % (t["task"].replace("realtime.nginx.realtime_proxy : ", ""),
                                                                         t["seconds"]) for t in c["slowest_tasks"][:4])))
        add("")
    add("## Reproducing")
    add("")
    add("```sh")
    add("make setup     # once: venv, Docker engine, test images (README.md)")
    add("make bench     # python -m bench run: about 15 minutes; writes bench-results/results.json and this page")
    add("python -m bench run --smoke --docs /tmp/x   # a 2-minute check that the harness works")
    add("```")
    add("")
    return "\n".join(L) + "\n"


def write(results: dict, docs: pathlib.Path) -> List[pathlib.Path]:
    pics = docs / "performance"
    pics.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name, fn in (("sse", "sse_delay.png", _sse_plot), ("ws", "ws_rtt.png", _ws_plot),
                          ("capacity", "capacity.png", _capacity_plot), ("reload", "reload.png", _reload_plot),
                          ("converge", "converge.png", _converge_plot)):
        if results.get(key):
            fn(results[key], pics / name)
            written.append(pics / name)
    md = docs / "performance.md"
    md.write_text(markdown(results))
    written.append(md)
    return written
