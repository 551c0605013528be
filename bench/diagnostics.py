"""Why a capacity step failed: nginx's error log and the clients' errors, read into one reason."""

from __future__ import annotations

from .container import Container

ERROR_LOG = "/var/log/nginx/error.log"
# error-log text -> the reason recorded for a step
LOG_PATTERNS = {
    "worker_connections are not enough": "worker_connections are not enough",
    "Too many open files": "too many open files",
    "Cannot assign requested address": "ephemeral ports exhausted",
    "upstream timed out": "upstream timed out",
    "no live upstreams": "no live upstreams",
    "Connection refused": "backend refused",
}


def log_offset(container: Container) -> int:
    """The size of nginx's error log now: what a later ``log_reasons`` starts after."""
    return int(container.exec("stat -c %%s %s 2>/dev/null || echo 0" % ERROR_LOG, check=False)
               .stdout.strip() or 0)


def log_reasons(container: Container, offset: int) -> dict:
    """{reason: count} of the known failures nginx logged after OFFSET."""
    text = container.exec("tail -c +%d %s 2>/dev/null | head -c 20000000" % (offset + 1, ERROR_LOG),
                          check=False, timeout=60).stdout
    return {label: text.count(key) for key, label in LOG_PATTERNS.items() if key in text}


def bounded_by(config_info: dict, step: dict, machine: dict) -> str:
    """What bounded a configuration, from its settings, its first failing STEP and the MACHINE facts."""
    logs = step["nginx_log"]
    errs = " ".join(step["client_errors"])
    connections = "worker_connections: %s per worker x %s workers" % (
        config_info["worker_connections"], config_info["workers"])
    if "worker_connections are not enough" in logs:
        return connections + ", and every proxied stream takes two connections (client + upstream)"
    if "too many open files" in logs:
        return "open files per worker (worker_rlimit_nofile %s; the hard limit here is %s)" % (
            config_info.get("rlimit"), "{:,}".format(machine["open_files_hard_limit"]))
    if "ephemeral ports exhausted" in logs or "Cannot assign requested address" in errs:
        return "ephemeral ports (32768-60999 per destination)"
    if "Too many open files" in errs:
        return "open files in a load-client process"
    resets = sum(c for e, c in step["client_errors"].items()
                 if "disconnected" in e or "reset by peer" in e or "valid HTTP response" in e)
    if resets and resets >= step["failed"] // 2:
        room = _connections(config_info)
        if room and 2 * step["target"] > room:
            return (connections + ", 2 connections per stream: %s streams need more than the workers' %s "
                    "connections; nginx resets what a worker that is out of connections accepts" % (
                        "{:,}".format(step["target"]), "{:,}".format(room)))
        return (connections + ", 2 connections per stream; nginx resets what a worker that is out of "
                "connections accepts (connections are not spread evenly over the workers)")
    if step["ramp_s"] is None or "no response head" in errs or "handshake" in errs or "Timeout" in errs:
        return "connection setup timed out (accept backlog / CPU of this %s-core machine)" % machine["nproc"]
    return "see client_errors and nginx_log"


def _connections(config_info: dict):
    """worker_connections x workers of a configuration (workers as ``4`` or ``auto (2)``); None if unknown."""
    try:
        workers = int(str(config_info["workers"]).rstrip(")").rsplit("(", 1)[-1])
        return int(config_info["worker_connections"]) * workers
    except (KeyError, TypeError, ValueError):
        return None
