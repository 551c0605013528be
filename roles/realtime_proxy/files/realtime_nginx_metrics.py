# ---- realtime-nginx-metrics: roles/realtime_proxy/files/realtime_nginx_metrics.py of realtime.nginx
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's stream capacity as Prometheus gauges, for the node exporter's textfile collector.

The realtime.nginx.realtime_proxy role installs this file after the collection's
/proc reader (plugins/module_utils/_proc.py), whose process_table() it uses, and
runs it as the realtime-nginx-metrics service when realtime_proxy_metrics is on.
Every INTERVAL seconds it reads nginx's master and workers from /proc and the
worker settings from nginx.conf, and replaces OUTPUT (atomically, as the
textfile collector asks) with:

  realtime_nginx_worker_processes      workers of the current generation, counted
                                       (worker_processes auto is the host's cores)
  realtime_nginx_worker_connections    worker_connections in nginx.conf
  realtime_nginx_connection_capacity   the two multiplied: connections nginx can
                                       hold, two for each proxied stream
  realtime_nginx_worker_open_files_limit
                                       the lowest open-files limit of a current
                                       worker (/proc/PID/limits), the real ceiling
  realtime_nginx_worker_shutdown_timeout_seconds
  realtime_nginx_retiring_workers      old workers still shutting down after a reload
  realtime_nginx_retiring_since_timestamp_seconds
                                       with retiring workers: a time by which the
                                       oldest of them was already shutting down

Each carries the label realtime_proxy="LABEL", as the nginx exporter's series do.
When a reload retires workers is not in /proc; what is: the current generation
of workers started at the last reload, which retired the workers shutting down
then or earlier. So when this process first sees a worker shutting down, it
notes the start of the current generation (or now, without one) and keeps that
across later reloads. That is never before the true moment, so the age derived
from it never overstates how long old workers have lingered.
Standard library only.
"""

import argparse
import os
import re
import sys
import time

try:
    from ansible_collections.realtime.nginx.plugins.module_utils._proc import PROC, process_table
except ImportError:
    pass  # installed on a host: _proc.py's source comes first in the same file

WORKER = "nginx: worker process"
RETIRING = WORKER + " is shutting down"
# nginx's own default, when nginx.conf sets none.
DEFAULT_CONNECTIONS = 512
TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
GAUGES = (
    ("worker_processes", "Worker processes of nginx's current generation (worker_processes auto: the host's cores)."),
    ("worker_connections", "worker_connections in nginx.conf: connections per worker, two for each proxied stream."),
    ("connection_capacity", "worker_processes x worker_connections: the connections nginx holds, two per proxied "
                            "stream; the stub_status active connections count one per stream."),
    ("worker_open_files_limit", "The lowest open-files limit of a current worker; each connection is one file."),
    ("worker_shutdown_timeout_seconds", "worker_shutdown_timeout in nginx.conf: how long old workers keep their "
                                        "streams after a reload."),
    ("retiring_workers", "Old workers still shutting down after a reload."),
    ("retiring_since_timestamp_seconds", "A time by which the oldest retiring worker was already shutting down "
                                         "(never earlier than the reload that retired it)."),
)


def directive(text, name):
    """The argument of the first simple directive NAME in nginx configuration TEXT, or None."""
    match = re.search(r"(?m)^[ \t]*%s[ \t]+([^;#\s]+)[ \t]*;" % re.escape(name), text)
    return match.group(1) if match else None


def seconds(value):
    """An nginx time ("30s", "1m", "500ms", "30") in seconds, or None."""
    match = re.match(r"^(\d+)(ms|[smhdwMy]?)$", value or "")
    if not match:
        return None
    return int(match.group(1)) * TIME_UNITS.get(match.group(2) or "s")


def read_conf(path):
    """{worker_connections, worker_shutdown_timeout} from nginx.conf at PATH (None where it sets none)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return {"worker_connections": None, "worker_shutdown_timeout": None}
    connections = directive(text, "worker_connections")
    return {"worker_connections": int(connections) if connections and connections.isdigit() else DEFAULT_CONNECTIONS,
            "worker_shutdown_timeout": seconds(directive(text, "worker_shutdown_timeout"))}


def read_master(pid_file, table):
    """nginx's master PID from PID_FILE, when that process runs; else None."""
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return pid if pid in table and table[pid].get("cmd", "").startswith("nginx: master") else None


def boot_time(proc):
    with open("%s/stat" % proc) as handle:
        for line in handle:
            if line.startswith("btime "):
                return int(line.split()[1])
    raise ValueError("no btime in %s/stat" % proc)


def open_files_limit(pid, proc):
    """The soft 'Max open files' limit of PID, or None."""
    try:
        with open("%s/%s/limits" % (proc, pid)) as handle:
            for line in handle:
                if line.startswith("Max open files"):
                    soft = line.split()[3]
                    return None if soft == "unlimited" else int(soft)
    except (OSError, ValueError, IndexError):
        pass
    return None


def gauges(pid_file, conf_path, seen, now, proc=PROC, ticks=None):
    """{gauge name: value} of nginx now. SEEN maps (pid, start ticks) of retiring workers to when this
    process first saw them retiring; it is updated (and pruned) in place. NOW is the wall clock."""
    ticks = ticks or os.sysconf("SC_CLK_TCK")
    table = process_table(proc, with_cmdline=True)
    conf = read_conf(conf_path)
    master = read_master(pid_file, table)
    current, retiring = [], []
    for pid, info in table.items():
        if master is not None and info["ppid"] == master:
            if info["cmd"] == WORKER:
                current.append((pid, info["start_ticks"]))
            elif info["cmd"] == RETIRING:
                retiring.append((pid, info["start_ticks"]))
    values = {"worker_processes": len(current), "worker_connections": conf["worker_connections"] or 0,
              "connection_capacity": len(current) * (conf["worker_connections"] or 0),
              "retiring_workers": len(retiring)}
    limits = [limit for limit in (open_files_limit(pid, proc) for pid, dummy in current) if limit is not None]
    if limits:
        values["worker_open_files_limit"] = min(limits)
    if conf["worker_shutdown_timeout"] is not None:
        values["worker_shutdown_timeout_seconds"] = conf["worker_shutdown_timeout"]
    for key in list(seen):
        if key not in retiring:
            del seen[key]
    if retiring:
        # When a worker is first seen shutting down, it has been since the current generation started, at
        # the latest; later reloads start newer generations, but what was seen stays.
        bound = now
        if current:
            bound = min(bound, boot_time(proc) + min(start for dummy, start in current) / ticks)
        for key in retiring:
            seen.setdefault(key, bound)
        values["retiring_since_timestamp_seconds"] = round(min(seen.values()), 3)
    return values


def exposition(values, label):
    """VALUES as Prometheus's text format, every series labelled realtime_proxy=LABEL."""
    lines = []
    for name, text in GAUGES:
        if name in values:
            metric = "realtime_nginx_" + name
            lines += ["# HELP %s %s" % (metric, text), "# TYPE %s gauge" % metric,
                      '%s{realtime_proxy="%s"} %s' % (metric, label, values[name])]
    return "\n".join(lines) + "\n"


def write(path, text):
    """Replace PATH with TEXT atomically (a temporary file in the same directory, renamed), mode 0644."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="nginx's stream capacity as Prometheus gauges, for the node exporter's textfile collector")
    parser.add_argument("--pid-file", default="/run/nginx.pid")
    parser.add_argument("--conf", default="/etc/nginx/nginx.conf")
    parser.add_argument("--output", required=True, help="the .prom file in the node exporter's textfile directory")
    parser.add_argument("--label", required=True, help="the realtime_proxy label's value")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--once", action="store_true", help="write once and exit")
    parser.add_argument("--proc", default=PROC, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seen = {}
    while True:
        try:
            write(args.output, exposition(gauges(args.pid_file, args.conf, seen, time.time(), args.proc), args.label))
        except OSError as exc:
            # The textfile directory went away (a package purged it): the gauges go stale, which an alert
            # sees, and the next write may work again.
            if args.once:
                raise
            print("realtime-nginx-metrics: cannot write %s: %s" % (args.output, exc), file=sys.stderr, flush=True)
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
