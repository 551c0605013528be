"""Setup: the backends on the host, the container, and the three nginx masters compared.

* the role's systemd nginx (applied by converge.py, with a naive ``proxy_pass``
  server in conf.d/, which the role includes and never touches);
* the role's own templates rendered with the tuned variables, under
  /etc/nginx-tuned/, as a second master;
* Debian's own nginx.conf from the nginx-common package, with the guide's SSE
  and WebSocket locations, under /etc/nginx-debian/, as a third master.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile
from typing import Optional

from realtime_testkit.render import render_tree

from . import converge
from .container import REPO, sh
from .rig import Rig, Settings, log, wait_port

HERE = pathlib.Path(__file__).resolve().parent
BACKEND = REPO / "tests" / "realtime_testkit" / "backend.py"
HOLD_HEARTBEAT_S = 15  # holdserver.py's heartbeat comment on every idle SSE stream (3,333 a second at 50,000)


def role_vars(s: Settings) -> dict:
    hold = {"name": "hold", "servers": ["127.0.0.1:%d" % p for p in s.hold_ports]}
    return {
        "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:%d" % s.app_port],
                                      "keepalive": 16}, hold],
        "realtime_proxy_sites": [{
            "name": "bench", "server_name": "_",
            "listen": ["127.0.0.1:%d" % p for p in s.role_ports],
            "locations": [
                {"path": "/", "type": "http", "upstream": "app"},
                {"path": "/sse/", "type": "sse", "upstream": "app"},
                {"path": "/ws/", "type": "websocket", "upstream": "app"},
                {"path": "/hold/sse/", "type": "sse", "upstream": "hold"},
                {"path": "/hold/ws/", "type": "websocket", "upstream": "hold"},
            ]}],
        "realtime_proxy_worker_shutdown_timeout": s.shutdown_timeout,
    }


def start_backends(rig: Rig) -> None:
    s = rig.settings
    rig.procs.start([sys.executable, str(BACKEND), "--host", "127.0.0.1", "--port", str(s.app_port),
                     "--name", "bench-app"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in s.hold_ports:
        rig.procs.start([sys.executable, str(HERE / "holdserver.py"), "--port", str(port),
                         "--heartbeat", str(HOLD_HEARTBEAT_S), "--lifetime", "3600"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in [s.app_port] + s.hold_ports:
        wait_port(port)


def provision(rig: Rig) -> None:
    """Start the container, apply the role (measuring its run time), start the other two masters."""
    s, c = rig.settings, rig.container
    log("starting container %s" % s.name)
    c.start()
    # The naive location goes to conf.d before the first converge: the
    # role includes conf.d/ and validates it with its own files.
    naive = (HERE / "files" / "naive.conf").read_text().replace("@NAIVE_PORT@", str(s.naive_port)) \
        .replace("@APP_PORT@", str(s.app_port))
    c.put("/etc/nginx/conf.d/bench-naive.conf", naive)
    rig.results["converge"] = converge.measure(c, role_vars(s), noop=not s.smoke)
    start_tuned(rig)
    rig.results["debian_conf"] = start_debian(rig)
    for port in s.role_ports + s.tuned_ports + s.debian_ports + [s.naive_port]:
        wait_port(port)


def start_tuned(rig: Rig) -> None:
    """The role's own templates rendered with the tuned variables, run as a second master."""
    s = rig.settings
    settings = role_vars(s)
    settings["realtime_proxy_sites"][0]["listen"] = ["127.0.0.1:%d" % p for p in s.tuned_ports]
    settings.update(s.tuned)
    start_master(rig, "nginx-tuned", settings)


def start_master(rig: Rig, name: str, settings: dict, events: str = "", http: Optional[dict] = None) -> None:
    """The role's templates rendered with SETTINGS into /etc/NAME/, run as a master of its own (pid /run/NAME.pid).

    EVENTS: directives added to the events block, which no role variable sets (accept_mutex).
    HTTP: {directive: value} at http level, in place of the role's own line for it (a fixed setting of the
    role, such as its TLS profile, that the bench compares with another value)."""
    s, c = rig.settings, rig.container
    with tempfile.TemporaryDirectory(prefix="realtime-bench-%s-" % name) as tmp:
        render_tree(settings, tmp)
        conf = pathlib.Path(tmp, "nginx.conf")
        text, n = re.subn(r"(?m)^pid\s[^;]*;", "pid /run/%s.pid;" % name, conf.read_text())
        assert n == 1, "no pid line in the rendered nginx.conf"
        text, n = re.subn(r"(?m)^events \{\n", lambda m: m.group(0) + "".join("    %s\n" % d for d in events.split("\n") if d),
                          text)
        assert n == 1, "no events block in the rendered nginx.conf"
        conf.write_text(replace_http_directives(text, http or {}))
        c.exec("rm -rf /etc/{0} && cp -a /etc/nginx /etc/{0} && "
               "rm -rf /etc/{0}/realtime_proxy /etc/{0}/conf.d/*".format(name))
        sh(["docker", "cp", tmp + "/.", "%s:/etc/%s/" % (s.name, name)])
    c.exec("nginx -t -q -c /etc/{0}/nginx.conf && nginx -c /etc/{0}/nginx.conf".format(name))


def replace_http_directives(conf: str, directives: dict) -> str:
    """CONF with each http-level directive of DIRECTIVES set to its value: the role's line for it replaced, or a
    line added at the top of the http block."""
    for name, value in directives.items():
        line = "%s %s;" % (name, value)
        conf, n = re.subn(r"(?m)^    %s\s[^;]*;" % re.escape(name), lambda m, line=line: "    " + line, conf)
        if n == 0:
            conf, n = re.subn(r"(?m)^http \{\n", lambda m, line=line: m.group(0) + "    %s\n" % line, conf)
            assert n == 1, "no http block in the rendered nginx.conf"
    return conf


def stop_master(rig: Rig, name: str) -> None:
    """Stop the master start_master() started as NAME, and wait until its workers are gone."""
    rig.container.exec("nginx -s stop -c /etc/{0}/nginx.conf; for i in $(seq 50); do "
                       "[ -e /run/{0}.pid ] || break; sleep 0.1; done".format(name), check=False)


def start_debian(rig: Rig) -> dict:
    """Debian's own nginx.conf with a site of the guide's locations; returns its global settings."""
    s, c = rig.settings, rig.container
    c.exec(
        "set -e; mkdir -p /tmp/deb && cd /tmp/deb; "
        "deb=$(ls /var/cache/apt/archives/nginx-common_*.deb 2>/dev/null | head -n1); "
        "if [ -z \"$deb\" ]; then apt-get download -q nginx-common >/dev/null; deb=$(ls nginx-common_*.deb); fi; "
        "dpkg-deb --fsys-tarfile \"$deb\" | tar -x ./etc/nginx/nginx.conf; "
        "mkdir -p /etc/nginx-debian; cp etc/nginx/nginx.conf /etc/nginx-debian/nginx.conf.dist", timeout=300)
    dist = c.exec("cat /etc/nginx-debian/nginx.conf.dist").stdout
    text, n1 = re.subn(r"(?m)^pid\s[^;]*;", "pid /run/nginx-debian.pid;", dist)
    text, n2 = re.subn(r"(?m)^(\s*)include /etc/nginx/conf.d/\*\.conf;", r"\1include /etc/nginx-debian/site.conf;", text)
    text, n3 = re.subn(r"(?m)^(\s*)include /etc/nginx/sites-enabled/\*;", r"\1# (sites-enabled: not for the bench)", text)
    assert (n1, n2, n3) == (1, 1, 1), "Debian's nginx.conf changed shape: %r" % ((n1, n2, n3),)
    site = (HERE / "files" / "debian-site.conf").read_text() \
        .replace("@HOLD_SERVERS@", "\n".join("    server 127.0.0.1:%d;" % p for p in s.hold_ports)) \
        .replace("@LISTENS@", "\n".join("    listen 127.0.0.1:%d;" % p for p in s.debian_ports))
    c.put("/etc/nginx-debian/nginx.conf", text)
    c.put("/etc/nginx-debian/site.conf", site)
    # This master is started from `docker exec`, so without worker_rlimit_nofile
    # its workers keep the open-files limit of that shell.
    inherited = c.exec("ulimit -n", check=False).stdout.strip()
    c.exec("nginx -t -q -c /etc/nginx-debian/nginx.conf && nginx -c /etc/nginx-debian/nginx.conf")
    return {"worker_connections": _directive(text, "worker_connections"),
            "worker_processes": _directive(text, "worker_processes"),
            "worker_rlimit_nofile": _directive(text, "worker_rlimit_nofile"),
            "inherited_nofile": int(inherited) if inherited.isdigit() else inherited or None}


def _directive(conf: str, name: str):
    """The value of an uncommented global directive NAME in CONF (an int when it is one), None if absent."""
    m = re.search(r"(?m)^\s*%s\s+([^;\s]+);" % re.escape(name), conf)
    if not m:
        return None
    return int(m.group(1)) if m.group(1).isdigit() else m.group(1)
