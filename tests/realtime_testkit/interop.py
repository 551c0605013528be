"""The interop servers, what they must have received, and the results of a run.

The servers live in tests/interop/ (their contract: tests/interop/README.md
and contract.json) and run on the controller as their users run them:
``SERVERS`` holds each one's command line. tools/ensure-interop.sh installs
what they need and prints the paths ``Tools`` reads.

``record_problems`` is what every cell of the matrix asserts on a server's
record of a request: the Host with its port as the client asked, the
forwarded headers, no hop-by-hop header past nginx, the Origin as sent.
``Results`` collects the cells of a run into the JSON file that
docs/interop.md is generated from (tests/interop/report.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from .collection import REPO_ROOT
from .hosts import wait_for_port
from .processes import stop_process_groups
from .sse import SseParser

__all__ = ["CONTRACT", "INTEROP_DIR", "SERVERS", "HOP_BY_HOP", "HOP_BY_HOP_SENT", "Tools", "ensure_tools",
           "start_servers", "stop_servers", "record_problems", "AccessLine", "access_lines", "Cell", "Results",
           "CurlAnswer", "curl", "curl_answer", "node_clients", "socketio_session", "versions"]

INTEROP_DIR = REPO_ROOT / "tests" / "interop"
SERVERS_DIR = INTEROP_DIR / "servers"
CONTRACT = json.loads((INTEROP_DIR / "contract.json").read_text())

# Hop-by-hop request headers (RFC 9110 7.6.1, and the obsolete Proxy-Connection
# and Keep-Alive) that a client may send nginx and no backend may receive.
# Connection and Upgrade do reach the backend of a WebSocket handshake: nginx
# sets them itself for that hop.
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
              "http2-settings")
# What HTTP/1.1 clients of the matrix send on plain requests and streams, to be stripped.
HOP_BY_HOP_SENT = {"Connection": "keep-alive, TE, Upgrade", "Keep-Alive": "timeout=5", "TE": "trailers",
                   "Upgrade": "websocket", "Proxy-Connection": "keep-alive"}


@dataclass
class Tools:
    """Where tools/ensure-interop.sh put the servers' and clients' runtimes."""
    python: str
    bin: str
    node_path: str
    go_server: str


def ensure_tools(timeout: float = 900) -> Tools:
    """Run tools/ensure-interop.sh (seconds once installed) and read the paths it prints."""
    done = subprocess.run(["bash", str(REPO_ROOT / "tools" / "ensure-interop.sh")], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError("tools/ensure-interop.sh failed:\n%s" % done.stderr[-3000:])
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return Tools(**{key: values[key] for key in ("python", "bin", "node_path", "go_server")})


def _commands(tools: Tools, port: int) -> dict:
    """Each server's command line, as its users run it, on 127.0.0.1:PORT: {name: (argv, cwd, extra env)}."""
    return {
        "aiohttp": ([tools.python, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", str(port), "aiohttp_server:init"],
                    SERVERS_DIR, {}),
        "starlette": ([os.path.join(tools.bin, "uvicorn"), "--host", "127.0.0.1", "--port", str(port),
                       "--no-access-log", "starlette_server:app"], SERVERS_DIR, {}),
        "channels": ([os.path.join(tools.bin, "daphne"), "-b", "127.0.0.1", "-p", str(port),
                      "channels_server.asgi:application"], SERVERS_DIR,
                     {"DJANGO_SETTINGS_MODULE": "channels_server.settings", "PYTHONPATH": str(SERVERS_DIR)}),
        "node": (["node", "node_server.js", str(port)], SERVERS_DIR, {"NODE_PATH": tools.node_path}),
        "go": ([tools.go_server, "-listen", "127.0.0.1:%d" % port, "-contract", str(INTEROP_DIR / "contract.json")],
               SERVERS_DIR, {}),
        "socketio": (["node", "socketio_server.js", str(port)], SERVERS_DIR, {"NODE_PATH": tools.node_path}),
        # The browser pages: not a server under test, so the standard library's.
        "pages": ([tools.python, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                   str(INTEROP_DIR / "pages"), str(port)], INTEROP_DIR, {}),
    }


SERVERS = ("aiohttp", "starlette", "channels", "node", "go", "socketio", "pages")


def start_servers(tools: Tools, ports: dict, log_dir: str, timeout: float = 60) -> dict:
    """Start every server of PORTS ({name: port}), each in a process group of its own; {name: Popen}.

    Each one's output goes to LOG_DIR/NAME.log. Fails, naming the server and
    its log, when one does not accept connections within TIMEOUT seconds.
    """
    os.makedirs(log_dir, exist_ok=True)
    processes = {}
    try:
        for name, port in ports.items():
            argv, cwd, env = _commands(tools, port)[name]
            with open(os.path.join(log_dir, name + ".log"), "wb") as log:
                processes[name] = subprocess.Popen(argv, cwd=str(cwd), env=dict(os.environ, **env), stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        for name, port in ports.items():
            if not wait_for_port(port, timeout=max(1.0, deadline - time.monotonic())):
                with open(os.path.join(log_dir, name + ".log")) as log:
                    raise RuntimeError("the %s server did not listen on 127.0.0.1:%d:\n%s"
                                       % (name, port, log.read()[-2000:]))
    except BaseException:
        stop_servers(processes)
        raise
    return processes


def stop_servers(processes: dict) -> None:
    """Stop the servers start_servers started: their process groups, by id."""
    stop_process_groups(processes.values())


def record_problems(record: dict, *, host: str, scheme: str, websocket: bool = False,
                    origin: Optional[str] = None, client_address: str = "127.0.0.1") -> list:
    """What is wrong in a server's RECORD of a request that went through the role's nginx.

    HOST is the host and port the client asked for, SCHEME the one it used
    (http or https), ORIGIN the Origin it sent (None: it sent none).
    """
    headers = record.get("headers") or {}
    problems = []

    def expect(name, want):
        if headers.get(name) != want:
            problems.append("%s: %r, not %r" % (name, headers.get(name), want))

    expect("host", host)
    expect("x-forwarded-for", client_address)
    expect("x-real-ip", client_address)
    expect("x-forwarded-proto", scheme)
    expect("origin", origin)
    upgrade = ("connection", "upgrade") if websocket else ()
    leaked = sorted(name for name in HOP_BY_HOP if name in headers and name not in upgrade)
    if leaked:
        problems.append("hop-by-hop headers reached the server: %s" % ", ".join(
            "%s: %s" % (name, headers[name]) for name in leaked))
    if websocket:
        if (headers.get("connection") or "").lower() != "upgrade" or (headers.get("upgrade") or "").lower() != "websocket":
            problems.append("a WebSocket handshake without Connection: upgrade and Upgrade: websocket: %r, %r"
                            % (headers.get("connection"), headers.get("upgrade")))
    return problems


# The role's `realtime` access log format (templates/nginx.conf.j2).
_ACCESS = re.compile(r'^(?P<addr>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<uri>\S+) (?P<protocol>[^"]+)" '
                     r'(?P<status>\d+) (?P<bytes>\d+) rt=(?P<seconds>[\d.]+) .* conn=(?P<conn>\d+) reqs=(?P<reqs>\d+) host=(?P<host>\S*)$')


@dataclass
class AccessLine:
    uri: str
    protocol: str  # HTTP/1.1, HTTP/2.0, HTTP/3.0
    status: int
    conn: int  # $connection: one per HTTP/2 connection, but one per stream over HTTP/3
    reqs: int  # $connection_requests: counts the requests of one HTTP/2 or HTTP/3 (QUIC) connection
    seconds: float  # $request_time: how long the request (a stream, a socket) was open


def access_lines(text: str) -> list:
    """The requests of an access log in the role's `realtime` format."""
    out = []
    for line in text.splitlines():
        match = _ACCESS.match(line)
        if match:
            out.append(AccessLine(match["uri"], match["protocol"], int(match["status"]), int(match["conn"]),
                                  int(match["reqs"]), float(match["seconds"])))
    return out


@dataclass
class Cell:
    """One cell of the matrix: a server, a client, the HTTP version the request used, what was checked."""
    server: str
    client: str
    http_version: str
    check: str
    status: str = "pass"  # pass, fail, or n/a (the combination cannot work: reason says why)
    reason: str = ""
    host: str = ""  # the test host (nginx) that served it
    group: str = "matrix"  # matrix (server x client x version), behaviour (one protocol promise), or n/a


@dataclass
class Results:
    """The cells of one run, written as JSON for tests/interop/report.py."""
    cells: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def as_json(self, *, seconds: float) -> dict:
        order = ["pass", "fail", "n/a"]
        cells = sorted((asdict(cell) for cell in self.cells),
                       key=lambda c: (c["server"], c["client"], c["http_version"], c["check"], order.index(c["status"])))
        counts = {status: sum(1 for cell in cells if cell["status"] == status) for status in order}
        return {"cells": cells, "counts": counts, "versions": dict(sorted(self.versions.items())),
                "seconds": round(seconds)}

    def write(self, path: str, *, seconds: float) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump(self.as_json(seconds=seconds), handle, indent=1, sort_keys=True)
            handle.write("\n")


@dataclass
class CurlAnswer:
    status: int = 0
    http_version: str = ""  # as curl reports it: 1.1, 2
    body: str = ""
    events: list = field(default_factory=list)  # SseEvent for an event stream
    hello: Optional[dict] = None  # the contract's hello event of an event stream
    error: str = ""


def curl(url: str, *, http2: bool = False, cafile: Optional[str] = None, headers: Optional[dict] = None,
         timeout: float = 15.0) -> subprocess.Popen:
    """Start curl on URL (HTTP/2 by ALPN with HTTP2, else HTTP/1.1); read its answer with curl_answer()."""
    argv = ["curl", "--silent", "--show-error", "--no-buffer", "--max-time", str(timeout), "--noproxy", "*",
            "--http2" if http2 else "--http1.1", "--write-out", "\n%{response_code} %{http_version}"]
    if cafile:
        argv += ["--cacert", cafile]
    for name, value in (headers or {}).items():
        argv += ["--header", "%s: %s" % (name, value)]
    # Bytes: text mode would turn the CRs of an event stream into newlines.
    return subprocess.Popen(argv + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def curl_answer(process: subprocess.Popen) -> CurlAnswer:
    """What a curl() process got: status, HTTP version, body, and an event stream's events."""
    out, err = process.communicate(timeout=60)
    body, unused, trailer = out.decode(errors="replace").rpartition("\n")
    answer = CurlAnswer(body=body, error=err.decode(errors="replace").strip())
    status, unused, version = trailer.partition(" ")
    answer.status, answer.http_version = int(status or 0), version
    parser = SseParser()
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n") + [""]:
        item = parser.feed(line, time.time())
        if item is None or item == "comment":
            continue
        if item.event == CONTRACT["sse"]["hello_event"]:
            answer.hello = json.loads(item.data)
        else:
            answer.events.append(item)
    return answer


def node_clients(tools: Tools, jobs: list, *, cafile: str, timeout: float = 60) -> dict:
    """Run the Node clients (tests/interop/clients/node_clients.js) on JOBS at once: {job id: result}."""
    plan = os.path.join(os.path.dirname(tools.go_server), "node-jobs-%d.json" % os.getpid())
    with open(plan, "w") as handle:
        json.dump(jobs, handle)
    try:
        done = subprocess.run(["node", str(INTEROP_DIR / "clients" / "node_clients.js"), plan], capture_output=True,
                              text=True, timeout=timeout, check=False,
                              env=dict(os.environ, NODE_PATH=tools.node_path, NODE_EXTRA_CA_CERTS=cafile))
    finally:
        os.unlink(plan)
    if done.returncode != 0:
        raise RuntimeError("the Node clients failed:\n%s" % done.stderr[-3000:])
    return json.loads(done.stdout)


def socketio_session(url: str, *, origin: str, cell: str, cafile: Optional[str] = None,
                     timeout: float = 15.0) -> dict:
    """A python-socketio client's session: polling first, the upgrade, the server's hello and one echo."""
    import ssl

    import aiohttp
    import socketio  # the shared toolchain's python-socketio (requirements.txt)

    async def run():
        got = {}
        hello = asyncio.get_running_loop().create_future()
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=cafile)))
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        client.on(CONTRACT["socketio"]["hello_event"], lambda data: hello.done() or hello.set_result(data))
        await client.connect("%s?cell=%s" % (url, cell), headers={"Origin": origin},
                             transports=["polling", "websocket"], wait_timeout=timeout)
        try:
            got["hello"] = await asyncio.wait_for(hello, timeout)
            deadline = time.monotonic() + timeout
            while client.transport() != "websocket" and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            got["answer"] = await client.call(CONTRACT["socketio"]["echo_event"], "from python", timeout=timeout)
        finally:
            await client.disconnect()
            await http.close()
        return got

    try:
        return asyncio.run(asyncio.wait_for(run(), timeout * 2))
    except Exception as exc:  # pylint: disable=broad-except  # the cell reports it
        return {"error": repr(exc)}


# What the results name, by where its version is read.
PYTHON_PACKAGES = ("aiohttp", "starlette", "sse-starlette", "uvicorn", "Django", "channels", "daphne", "aioquic")
TOOLKIT_PACKAGES = ("python-socketio", "websockets", "httpx", "playwright")
NODE_PACKAGES = ("express", "ws", "eventsource", "socket.io", "socket.io-client", "graphql-ws")


def _first_line(argv) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def versions(tools: Tools, hosts: dict) -> dict:
    """The versions of everything a run used: {name: version}. HOSTS: {label: testinfra host} of the nginx hosts."""
    from importlib import metadata

    out = {"nginx on %s" % label: host.check_output("nginx -v 2>&1").split("/")[-1] for label, host in hosts.items()}
    script = "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in %r}))" % (
        PYTHON_PACKAGES,)
    out.update(json.loads(subprocess.run([tools.python, "-c", script], capture_output=True, text=True, timeout=60,
                                         check=True).stdout))
    out.update({name: metadata.version(name) for name in TOOLKIT_PACKAGES})
    for name in NODE_PACKAGES:
        with open(os.path.join(tools.node_path, name, "package.json")) as handle:
            out[name] = json.load(handle)["version"]
    out["node"] = _first_line(["node", "--version"]).lstrip("v")
    out["go"] = _first_line(["go", "version"]).split()[2].replace("go", "", 1)
    gorilla = "/usr/share/doc/golang-github-gorilla-websocket-dev/changelog.Debian.gz"
    out["gorilla/websocket"] = _first_line(["bash", "-c", "zcat %s | head -1" % gorilla]).split("(")[1].split(")")[0]
    out["chromium"] = _first_line(["chromium", "--version"]).split()[1]
    out["curl"] = _first_line(["curl", "--version"]).split()[1]
    return out
