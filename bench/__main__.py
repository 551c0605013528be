"""``python -m bench run [--smoke]``: measure the realtime_proxy role; see bench/README.md."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

from .container import NAME, REPO, SMOKE_NAME, docker_answers, take_smoke_slot


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="provision, measure, write JSON, plots and docs/performance.md")
    run.add_argument("--smoke", action="store_true", help="tiny counts (< 2 minutes): checks the harness works")
    run.add_argument("--name", default=None, help="container name (%s; with --smoke, %s-N of a slot free at run time)" % (NAME, SMOKE_NAME))
    run.add_argument("--port-base", type=int, default=None,
                     help="first of the harness's loopback ports (19000; with --smoke, the free slot's)")
    run.add_argument("--out", default=None, help="results JSON (bench-results/results.json)")
    run.add_argument("--docs", default=None,
                     help="directory for performance.md and performance/*.png (docs/; none with --smoke)")
    run.add_argument("--steps", default=None, help="capacity steps, comma separated (1000,2000,...)")
    run.add_argument("--hold", type=float, default=None, help="seconds each capacity step is held")
    run.add_argument("--quick", action="store_true", help="fewer scale runs: 2 rounds over the sites; 1 and 8 hosts")
    scale = sub.add_parser("scale", help="only measurement 6, the role's run time by sites and hosts; write JSON")
    scale.add_argument("--smoke", action="store_true", help="tiny counts: 1 site, then 2 hosts")
    scale.add_argument("--quick", action="store_true", help="fewer runs: 2 rounds over the site counts; 1 and 8 hosts")
    scale.add_argument("--sites", default=None, help="site counts, comma separated (1,100,200,300; 0: none)")
    scale.add_argument("--rounds", type=int, default=None,
                       help="rounds over the site counts, each a first converge and a no-op per count (3)")
    scale.add_argument("--host-rounds", type=int, default=None, help="rounds of no-op runs over the host counts (2)")
    scale.add_argument("--hosts", default=None, help="host counts, comma separated (1,4,8; 0: none)")
    scale.add_argument("--out", default=None, help="results JSON (bench-results/scale.json)")
    scale.add_argument("--name", default=None, help="prefix of the containers' names (%s)" % NAME)
    scale.add_argument("--port-base", type=int, default=None, help="hosts listen on this + 200 + N (19000)")
    mem = sub.add_parser("memory", help="only the memory and TLS measurements (memory per stream, throughput); "
                                        "write JSON")
    mem.add_argument("--smoke", action="store_true", help="tiny counts, fewer variants")
    mem.add_argument("--parts", default="memory,tls", help="comma separated: memory, tls (both)")
    mem.add_argument("--hold", type=float, default=None, help="seconds each step is held (10)")
    mem.add_argument("--out", default=None, help="results JSON (bench-results/memory.json)")
    mem.add_argument("--name", default=None, help="container name (%s-memory)" % NAME)
    mem.add_argument("--port-base", type=int, default=None,
                     help="first of the harness's loopback ports (24000: clear of full and smoke runs)")
    cmp_ = sub.add_parser("compare", help="each goal's verdict in two runs; exit 1 when a verdict differs")
    cmp_.add_argument("first", help="results JSON of the other run")
    cmp_.add_argument("second", help="results JSON of the run whose page shows both")
    cmp_.add_argument("--record", action="store_true",
                      help="record the other run's verdicts into the second JSON (its page shows both)")
    rep = sub.add_parser("report", help="regenerate plots and docs from an existing results JSON")
    rep.add_argument("--results", default=str(REPO / "bench-results" / "results.json"))
    rep.add_argument("--docs", default=str(REPO / "docs"))
    args = parser.parse_args(argv)

    if args.cmd == "compare":
        return _compare(pathlib.Path(args.first), pathlib.Path(args.second), args.record)
    if args.cmd == "report":
        from . import report
        results = json.loads(pathlib.Path(args.results).read_text())
        report.write(results, pathlib.Path(args.docs))
        return 0

    why = docker_answers()
    if why:
        print("bench: %s (run `make setup` first, see bench/README.md)" % why, file=sys.stderr)
        return 2
    from .rig import Settings
    from .run import Bench

    settings = Settings.smoke_settings() if args.smoke else Settings()
    settings.name, settings.port_base = NAME, 19000
    if args.smoke:
        # Held until this process ends: another checkout's smoke run takes another slot.
        slot_lock, settings.name, settings.port_base = take_smoke_slot()  # noqa: F841 pylint: disable=unused-variable
    if getattr(args, "quick", False):
        settings.quick()
    settings.name = args.name or settings.name
    settings.port_base = args.port_base or settings.port_base
    if args.cmd == "scale":
        return _scale_only(settings, args)
    if args.cmd == "memory":
        return _memory_only(settings, args)
    if args.steps:
        settings.steps = [int(x) for x in args.steps.split(",") if x.strip()]
    if args.hold:
        settings.hold_s = args.hold
    out = pathlib.Path(args.out or REPO / "bench-results" / ("smoke.json" if args.smoke else "results.json"))
    docs = args.docs if args.docs is not None else (None if args.smoke else str(REPO / "docs"))

    results = Bench(settings).run()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print("bench: results in %s (%.0f s)" % (out, results["runtime_s"]))
    if docs:
        from . import report
        written = report.write(results, pathlib.Path(docs))
        print("bench: wrote %s" % ", ".join(os.path.relpath(p, os.getcwd()) for p in written))
    return 0


def _scale_only(settings, args) -> int:
    from . import scale
    if args.sites:
        settings.scale_sites = [int(x) for x in args.sites.split(",") if int(x or 0) > 0]
    if args.hosts:
        settings.scale_hosts = [int(x) for x in args.hosts.split(",") if int(x or 0) > 0]
    settings.scale_rounds = args.rounds or settings.scale_rounds
    settings.scale_host_rounds = args.host_rounds or settings.scale_host_rounds
    out = pathlib.Path(args.out or REPO / "bench-results" / "scale.json")
    results = {"settings": dict(vars(settings)), "scale": scale.measure(settings)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print("bench: results in %s" % out)
    return 0


def _memory_only(settings, args) -> int:
    from . import memory_run
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(memory_run.PARTS))
    if unknown:
        print("bench: unknown part(s) %s (known: %s)" % (", ".join(unknown), ", ".join(memory_run.PARTS)),
              file=sys.stderr)
        return 2
    if not args.smoke:
        settings.name = args.name or NAME + "-memory"
        settings.port_base = args.port_base or 24000
    if args.hold:
        settings.hold_s = args.hold
    out = pathlib.Path(args.out or REPO / "bench-results" / "memory.json")
    results = memory_run.run(settings, parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print("bench: results in %s (%.0f s); its %s key(s) go into a results JSON as they are" % (
        out, results["runtime_s"], ", ".join(parts)))
    return 0


def _compare(first: pathlib.Path, second: pathlib.Path, record: bool) -> int:
    """Print each goal's verdict in FIRST and SECOND; with RECORD, keep FIRST's in SECOND, after the earlier
    runs FIRST kept, so that a page shows every run's verdicts."""
    from .goals import earlier_runs, repeat_of, same_verdicts, scale_repeat, verdicts
    earlier, later = (json.loads(p.read_text()) for p in (first, second))
    repeat = repeat_of(earlier)
    rows = verdicts(later)
    same = same_verdicts(rows, repeat["verdicts"])
    for goal, measured, met in rows:
        before = repeat["verdicts"].get(goal)
        agree = same_verdicts([(goal, measured, met)], repeat["verdicts"])
        print("%-9s %-9s %s\n          now: %s\n          before: %s" % (
            "same" if agree else "DIFFERS", "met" if met else "not met", goal, measured,
            before["measured"] if before else "not measured"))
    if record:
        later.pop("repeat", None)
        later["repeats"] = earlier_runs(earlier) + [repeat]
        if earlier.get("scale") and later.get("scale"):  # every earlier run's scale verdicts, for section 6
            later["scale"]["repeats"] = earlier["scale"].get("repeats", []) + [scale_repeat(earlier)]
        second.write_text(json.dumps(later, indent=1, default=str))
    print("bench: %s" % ("every goal has the same verdict in both runs" if same else "verdicts differ"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
