# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many files an nginx worker may open on a host, and the worker settings sized from it.

Every proxied stream holds two connections in a worker, one file each, so the
open-files limit bounds the streams a worker holds. A worker raises its own
limit to ``worker_rlimit_nofile`` before it drops root, but never above the
hard limit its master inherited unless it has CAP_SYS_RESOURCE: nginx then
logs an alert and runs on with the soft limit (1024 under systemd). The hard
limit systemd gives a service is at most PID 1's own, and no process gets more
than ``fs.nr_open``; the smaller of the two is what the host allows.

A running master keeps the limits it started with (the unit's LimitNOFILE)
through every reload, so a higher worker_rlimit_nofile reaches workers that
cannot raise their own limit only once nginx restarts: master_shortfall()
says when. Pure functions on /proc texts, standard library only: nginx_info
runs them on the host, the realtime_proxy_open_files filter on the
controller, the unit tests on recorded texts.
"""

from __future__ import annotations

import re

# worker_rlimit_nofile when the inventory leaves it at 0, on hosts that allow
# more: 65,536 files hold about 32,000 streams per worker, and every
# worker_connections slot costs a worker about 0.5 KB of memory at start.
RLIMIT_CAP = 65536
# Files a worker needs besides its connections (logs, temporary files):
# worker_connections leaves this many of worker_rlimit_nofile free.
RESERVE_MIN = 256
RESERVE_SHARE = 20  # one in twenty

LIMITS_RE = re.compile(r"(?m)^Max open files\s+(\S+)\s+(\S+)")


def host_limit(limits_text, nr_open_text):
    """The open-files limit a service may have: PID 1's hard limit (/proc/1/limits), at most fs.nr_open."""
    nr_open = int(str(nr_open_text).strip())
    hard = process_open_files(limits_text)[1]
    return nr_open if hard is None else min(hard, nr_open)


def connections_for(rlimit):
    """worker_connections for a worker allowed RLIMIT open files: all but a reserve for logs and temporary files."""
    return rlimit - max(RESERVE_MIN, rlimit // RESERVE_SHARE)


def open_files_plan(limit, rlimit=0, connections=0):
    """{host_limit, rlimit, connections, errors}: the worker settings for a host that allows LIMIT open files.

    RLIMIT and CONNECTIONS are the inventory's realtime_proxy_worker_rlimit_nofile and
    realtime_proxy_worker_connections; 0 sizes them from LIMIT.
    """
    rlimit, connections = int(rlimit or 0), int(connections or 0)
    errors = []
    if rlimit > limit:
        errors.append("realtime_proxy_worker_rlimit_nofile: %d is more open files than this host allows nginx (%d: "
                      "the hard limit of PID 1, at most fs.nr_open); nginx's workers could not raise their limit "
                      "and would run with 1024. Set it to at most %d, or to 0 to size it from the host"
                      % (rlimit, limit, limit))
    rlimit = rlimit or min(limit, RLIMIT_CAP)
    connections = connections or connections_for(rlimit)
    if connections > rlimit:
        errors.append("realtime_proxy_worker_connections: %d is more than the %d open files a worker may have "
                      "(realtime_proxy_worker_rlimit_nofile, or this host's limit when that is 0); set it to at "
                      "most %d, or to 0 to size it from that limit" % (connections, rlimit, connections_for(rlimit)))
    return {"host_limit": limit, "rlimit": rlimit, "connections": connections, "errors": errors}


# A worker sets soft and hard limit to worker_rlimit_nofile; above the hard
# limit of its master that takes CAP_SYS_RESOURCE, and without it nginx logs
# "setrlimit(RLIMIT_NOFILE, N) failed (1: Operation not permitted)" and the
# worker keeps the master's soft limit.
CAP_SYS_RESOURCE = 24
CAP_EFFECTIVE_RE = re.compile(r"(?m)^CapEff:\s*([0-9a-fA-F]+)\s*$")


def process_open_files(limits_text):
    """(soft, hard) 'Max open files' of a /proc/PID/limits text; 'unlimited' is None."""
    match = LIMITS_RE.search(str(limits_text))
    if not match:
        raise ValueError("no 'Max open files' line in %r" % str(limits_text)[:200])
    return tuple(None if value == "unlimited" else int(value) for value in match.groups())


def can_raise_limits(status_text):
    """Whether the process of a /proc/PID/status text holds CAP_SYS_RESOURCE in its effective set."""
    match = CAP_EFFECTIVE_RE.search(str(status_text))
    return bool(match) and bool(int(match.group(1), 16) >> CAP_SYS_RESOURCE & 1)


def master_shortfall(rlimit, master):
    """Why the workers of a running nginx master cannot get RLIMIT open files until nginx restarts, or None.

    MASTER is {pid, soft, hard, can_raise} of the running master (hard None: unlimited), or None when none runs.
    """
    if not master or master["can_raise"] or master["hard"] is None or master["hard"] >= rlimit:
        return None
    return ("realtime_proxy_worker_rlimit_nofile: nginx's workers need %d open files, but the running master "
            "(PID %d) may give them at most %d, its hard limit, and cannot raise it (it lacks CAP_SYS_RESOURCE): "
            "its workers keep %d files. The systemd drop-in's LimitNOFILE=%d applies only when nginx restarts, and "
            "the role reloads. Set realtime_proxy_restart_for_open_files: true to have the role restart nginx once, "
            "which closes every open SSE stream and WebSocket, or restart nginx yourself when that suits you"
            % (rlimit, master["pid"], master["hard"], master["soft"] if master["soft"] is not None else master["hard"],
               rlimit))
