# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes read from Linux's /proc: the one reader of the collection.

nginx_reload uses it on managed hosts to tell a new generation of workers
from the old one; the benchmarks and the molecule scenarios use the same
functions (the scenarios send this file's source into a test host). Standard
library only, and no Ansible import, so that the source runs on its own.
"""

import os

PROC = "/proc"


def read_stat(pid, proc=PROC):
    """(ppid, utime + stime in clock ticks, start time in ticks) of PID, or None when it is gone."""
    try:
        with open("%s/%s/stat" % (proc, pid)) as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name in parentheses may hold spaces; fields follow the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    if len(fields) < 20:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19])


def cmdline(pid, proc=PROC):
    """The command line of PID as one string ('' when it is gone)."""
    try:
        with open("%s/%s/cmdline" % (proc, pid), "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def process_table(proc=PROC, with_cmdline=False):
    """{pid: {"ppid", "cpu_ticks", "start_ticks"[, "cmd"]}} of every process visible in PROC."""
    table = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        stat = read_stat(entry, proc)
        if stat is None:
            continue
        info = {"ppid": stat[0], "cpu_ticks": stat[1], "start_ticks": stat[2]}
        if with_cmdline:
            info["cmd"] = cmdline(entry, proc)
        table[int(entry)] = info
    return table


def children(pid, table=None):
    """The set of PIDs whose parent is PID."""
    if table is None:
        table = process_table()
    return set(child for child, info in table.items() if info["ppid"] == int(pid))


def status_kb(pid, key, proc=PROC):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM, ...), 0 when absent."""
    return _field_kb("%s/%s/status" % (proc, pid), key)


def pss_kb(pid, proc=PROC):
    """The proportional set size of PID in kB, 0 when absent."""
    return _field_kb("%s/%s/smaps_rollup" % (proc, pid), "Pss")


def _field_kb(path, key):
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
