# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many files an nginx worker may open on a host, and the worker settings sized from it.

Every proxied stream holds two connections in a worker, one file each, so the
open-files limit bounds the streams a worker holds. A worker raises its own
limit to ``worker_rlimit_nofile`` before it drops root, but never above the
hard limit its master inherited unless it has CAP_SYS_RESOURCE: nginx then
logs an alert and runs on with the soft limit (1024 under systemd). The hard
limit systemd gives a service is at most PID 1's own, and no process gets more
than ``fs.nr_open``; the smaller of the two is what the host allows. Pure
functions, so the unit tests run them on recorded /proc texts.
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
    match = LIMITS_RE.search(str(limits_text))
    if not match:
        raise ValueError("no 'Max open files' line in %r" % str(limits_text)[:200])
    hard = match.group(2)
    return nr_open if hard == "unlimited" else min(int(hard), nr_open)


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
