"""Helpers for scenario tests that look at nginx on a test host and at loopback ports.

Everything here is bounded in time: every wait has a deadline, every socket a
timeout. Ports are loopback ports of the calling scenario; the test hosts
share the machine's network, so a socket opened here is seen by nginx in the
container.
"""

from __future__ import annotations

import base64
import contextlib
import shlex
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Optional

from .collection import REPO_ROOT

__all__ = ["HttpAnswer", "http_get", "host_python", "nginx_processes", "port_accepts", "wait_for_port",
           "held_port", "full_backlog_port", "file_state", "log_offset", "log_since", "resolved"]


@dataclass
class HttpAnswer:
    status: int = 0          # 0: no HTTP answer at all, see error
    body: bytes = b""
    headers: dict = field(default_factory=dict)  # lowercase keys
    elapsed: float = 0.0
    error: Optional[str] = None


class _NoProxy(urllib.request.ProxyHandler):
    def __init__(self):
        super().__init__({})  # a stray HTTP_PROXY must never sit in front of the nginx under test


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx itself is the answer


_OPENER = urllib.request.build_opener(_NoProxy())
_NO_REDIRECT_OPENER = urllib.request.build_opener(_NoProxy(), _NoRedirect())
# For the test hosts' self-signed certificates.
_INSECURE_OPENER = urllib.request.build_opener(_NoProxy(), urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
PROC_SOURCE = REPO_ROOT / "plugins" / "module_utils" / "_proc.py"


def http_get(url: str, *, timeout: float = 10.0, headers: Optional[dict] = None, insecure: bool = False,
             follow_redirects: bool = True) -> HttpAnswer:
    """GET URL; HTTP error statuses are answers, not exceptions. Never raises for network errors.
    INSECURE accepts any certificate (the test hosts' self-signed ones); without FOLLOW_REDIRECTS a
    redirect is the answer (its status and Location)."""
    answer = HttpAnswer()
    started = time.monotonic()
    request = urllib.request.Request(url, headers=headers or {})
    try:
        opener = _INSECURE_OPENER if insecure else _OPENER if follow_redirects else _NO_REDIRECT_OPENER
        with opener.open(request, timeout=timeout) as response:
            answer.status = response.status
            answer.headers = {k.lower(): v for k, v in response.headers.items()}
            answer.body = response.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        answer.status = exc.code
        answer.headers = {k.lower(): v for k, v in exc.headers.items()}
        answer.body = exc.read(1024 * 1024)
    except (OSError, urllib.error.URLError) as exc:
        answer.error = repr(exc)
    answer.elapsed = time.monotonic() - started
    return answer


def host_python(host, script: str, *args) -> str:
    """Run SCRIPT with the testinfra host's python3 and ARGS as sys.argv[1:]; its stdout.

    The collection's /proc reader (plugins/module_utils/_proc.py: read_stat,
    process_table, children, ...) is defined before SCRIPT runs: its source is
    sent as is, so a test reads processes the way nginx_reload does.
    """
    source = PROC_SOURCE.read_text() + "\n# ---- the test's script\n" + script
    code = base64.b64encode(source.encode()).decode()
    done = host.run("python3 -c \"import base64; exec(base64.b64decode('%s'))\" %s"
                    % (code, " ".join(shlex.quote(str(arg)) for arg in args)))
    assert done.rc == 0, "script on the test host failed: %s %s" % (done.stdout, done.stderr)
    return done.stdout


def nginx_processes(host, pid_file: str = "/run/nginx.pid") -> tuple:
    """(master PID, frozenset of its children's PIDs) of nginx on a testinfra host, read from /proc."""
    out = host_python(host, "import sys\n"
                            "master = int(open(sys.argv[1]).read())\n"
                            "print(master, *sorted(children(master)))\n", pid_file).split()
    return int(out[0]), frozenset(int(pid) for pid in out[1:])


def nginx_open_files(host, pid_file: str = "/run/nginx.pid") -> dict:
    """{"master": (soft, hard), "workers": [(soft, hard), ...]}: the open-files limits of nginx's master and of its
    serving workers (those shutting down after a reload left out) on a testinfra host, from /proc."""
    out = host_python(host, "import sys\n"
                            "def limit(pid):\n"
                            "    for line in open('/proc/%d/limits' % pid):\n"
                            "        if line.startswith('Max open files'):\n"
                            "            return ' '.join(line.split()[3:5])\n"
                            "master = int(open(sys.argv[1]).read())\n"
                            "print(limit(master))\n"
                            "for pid in sorted(children(master)):\n"
                            "    if cmdline(pid) == 'nginx: worker process':\n"
                            "        print(limit(pid))\n", pid_file).splitlines()
    limits = [tuple(int(value) for value in line.split()) for line in out]
    return {"master": limits[0], "workers": limits[1:]}


def port_accepts(port: int, *, timeout: float = 2.0) -> bool:
    """Whether something accepts a TCP connection on 127.0.0.1:PORT within TIMEOUT."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(port: int, *, timeout: float = 20.0) -> bool:
    """Poll 127.0.0.1:PORT every 0.2 s until it accepts, for at most TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_accepts(port, timeout=1.0):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def held_port(port: int):
    """Listen on 127.0.0.1:PORT in this process for the block, like a foreign service would.

    nginx cannot bind the address while this socket listens. SO_REUSEADDR is
    set so that connections accepted here leave no TIME_WAIT that would still
    block nginx's bind() after the block. Yields the listening socket (timeout
    5 s) so a test can accept on it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        sock.settimeout(5)
        yield sock
    finally:
        sock.close()


@contextlib.contextmanager
def full_backlog_port(port: int):
    """A listener on 127.0.0.1:PORT whose accept queue is full, so new SYNs are dropped.

    Linux drops a SYN for a listener whose accept queue is full, so a connect()
    to the port neither succeeds nor is refused: it hangs until the client's
    own timeout, like a black-holed backend, without leaving loopback. Yields
    True when a probe connect indeed timed out.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers = []
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(0)  # accept queue of one connection
        for unused in range(2):  # the first fills the queue, the second's SYN is already dropped
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        yield not port_accepts(port, timeout=1.0)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def file_state(host, path: str) -> str:
    """sha256, mode, owner, inode and mtime of PATH on a testinfra host, in one comparable line."""
    return host.check_output("sha256sum %s | cut -d' ' -f1; stat -c '%%a %%U:%%G inode=%%i mtime=%%Y' %s"
                             % (shlex.quote(path), shlex.quote(path))).replace("\n", " ")


def log_offset(host, path: str = "/var/log/nginx/error.log") -> int:
    """Current size of a log file on the host (0 if missing), to read what is written after it."""
    return int(host.check_output("stat -c %%s %s 2>/dev/null || echo 0" % shlex.quote(path)).strip() or 0)


def log_since(host, offset: int, path: str = "/var/log/nginx/error.log") -> str:
    """What was written to a log file on the host after OFFSET."""
    return host.check_output("tail -c +%d %s" % (offset + 1, shlex.quote(path)))


@contextlib.contextmanager
def resolved(names: dict):
    """Resolve each host name in NAMES to its address in this process, as ``curl --resolve`` does.

    For test names that no DNS knows (the acme scenario's live.acme.test):
    every client of the test kit connects to the address and still sends the
    name, in the URL's Host and in TLS (SNI and certificate verification).
    Other names resolve as before.
    """
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        key = host.decode() if isinstance(host, bytes) else host
        return original(names.get(key, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original
