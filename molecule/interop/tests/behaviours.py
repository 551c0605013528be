"""What the protocols promise, end to end through the role's locations: the traffic.

Each behaviour has a pair of its own, a client and a server (PAIRS), and all
of them run at once in the ``behaviours`` fixture (imported by conftest.py),
so the longest (an idle socket or stream past a 5 s read_timeout) sets the
time: about 10 s. test_websocket.py and test_sse.py judge the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from realtime_testkit.collection import REPO_ROOT
from matrix import HOST
from realtime_testkit.interop import Cell, curl, curl_answer, node_clients
from realtime_testkit.sse import read_sse
from websockets.asyncio.client import connect

# behaviour: (client, server, target). The target's host and origin are matrix.HOST and matrix.ORIGIN.
PAIRS = {
    "WebSocket: subprotocol": ("graphql-ws", "node", "http/1.1"),
    "WebSocket: permessage-deflate": ("python websockets", "aiohttp", "http/1.1 tls"),
    "WebSocket: close codes and reasons, both ways": ("chromium", "go", "http/1.1"),
    "WebSocket: pings keep an idle socket past read_timeout": ("node ws", "channels", "http/1.1"),
    "WebSocket: a 16 MiB message": ("python websockets", "go", "http/1.1"),
    "WebSocket: a fragmented message": ("node ws", "starlette", "http/1.1"),
    "SSE: Last-Event-ID on reconnect": ("node eventsource", "node", "http/1.1"),
    "SSE: retry honoured by the browser": ("chromium", "starlette", "http/2"),
    "SSE: comment heartbeats keep a quiet stream past read_timeout": ("httpx", "channels", "http/1.1"),
    "SSE: CRLF and CR line endings": ("node eventsource", "go", "http/1.1"),
    "SSE: a 1 MiB event": ("aioquic", "aiohttp", "http/3"),
    "SSE: 100 streams on one HTTP/2 connection": ("httpx", "node", "http/2"),
    "SSE: 100 streams on one HTTP/3 connection": ("aioquic", "go", "http/3"),
}
IDLE_MS = 8000  # longer than the /idle/ locations' read_timeout (5 s, molecule.yml)
SIXTEEN_MIB = os.urandom(16 * 1024 * 1024)
STREAMS = 100
SERVER_CLOSES = [[1000, "server normal"], [1001, "server going away"], [4000, "server 4000"], [4999, "server 4999"]]
PAGE_CLOSES = [[1000, "page normal"], [4001, "page 4001"], [4999, "page 4999"]]
RETRIES = (300, 2500)  # ms: both far from Chromium's own reconnection delay, 3 s


def _node_jobs(origins):
    plain, plain_ws = origins["http/1.1"], origins["http/1.1"].replace("http", "ws", 1)
    idle = dict(kind="websocket", url=plain_ws + "/idle/ws/?cell=behaviour-idle", origin=plain, idle=IDLE_MS,
                limit=IDLE_MS + 10000)
    return [
        dict(id="subprotocol", kind="graphql", url=plain_ws + "/node/graphql/?cell=behaviour-graphql", origin=plain),
        dict(idle, id="ping", ping=1000),
        dict(idle, id="no ping"),
        dict(id="fragmented", kind="websocket", url=plain_ws + "/starlette/ws/?cell=behaviour-fragmented", origin=plain,
             messages=[{"fragments": ["frag-a ", "frag-b ", "frag-c"]}]),
        dict(id="reconnect", kind="eventsource", count=6, reconnects=True,
             url=plain + "/node/sse/?count=2&interval=50&retry=300&cell=behaviour-reconnect"),
        dict(id="crlf", kind="eventsource", count=3, url=plain + "/go/sse/?eol=crlf&interval=50&cell=behaviour-crlf"),
        # One more event than read: Node's eventsource misses an event whose last CR ends the stream ("cr end").
        dict(id="cr", kind="eventsource", count=3, url=plain + "/go/sse/?eol=cr&count=4&interval=50&cell=behaviour-cr"),
        dict(id="cr end", kind="eventsource", count=3, limit=3000,
             url=plain + "/go/sse/?eol=cr&interval=50&cell=behaviour-cr-end"),
    ]


async def _deflate(url, origin, cafile):
    import ssl
    async with connect(url, origin=origin, compression="deflate", ssl=ssl.create_default_context(cafile=cafile),
                       proxy=None) as ws:
        hello = json.loads(await ws.recv())
        text = "compressible " * 10000
        await ws.send(text)
        echo = await ws.recv()
        return {"hello": hello, "client": ws.response.headers.get("Sec-WebSocket-Extensions"), "echo_ok": echo == text}


async def _sixteen_mib(url, origin):
    """Its own event loop (thread): framing and hashing 16 MiB in Python holds a loop for a while."""
    async with connect(url, origin=origin, max_size=None, proxy=None, compression=None) as ws:
        await ws.recv()  # the record
        started = time.monotonic()
        await ws.send(SIXTEEN_MIB)
        echo = await ws.recv()
        return {"sent": len(SIXTEEN_MIB), "echo": len(echo), "same": hashlib.sha256(echo).digest()
                == hashlib.sha256(SIXTEEN_MIB).digest(), "seconds": time.monotonic() - started}


async def _h2_streams(origin, cafile):
    import ssl
    async with httpx.AsyncClient(http2=True, verify=ssl.create_default_context(cafile=cafile), trust_env=False,
                                 timeout=30) as client:
        async def one(number):
            url = "%s/node/sse/?count=3&interval=200&cell=behaviour-h2-%d" % (origin, number)
            async with client.stream("GET", url) as response:
                body = b"".join([chunk async for chunk in response.aiter_raw()])
                return response.http_version, response.status_code, body.count(b"\nid: ")
        return await asyncio.gather(*(one(number) for number in range(STREAMS)))


async def _python(origins, cafile):
    plain = origins["http/1.1"]
    tls_ws = origins["http/2"].replace("https", "wss", 1)
    heartbeat = plain + "/idle/sse/?count=1&interval=%d&heartbeat=1000&cell=behaviour-heartbeat" % IDLE_MS
    silent = plain + "/idle/sse/?count=1&interval=%d&cell=behaviour-silent" % IDLE_MS
    names = ("deflate", "heartbeat", "no heartbeat", "h2 streams")
    answers = await asyncio.gather(
        _deflate(tls_ws + "/aiohttp/ws/?cell=behaviour-deflate", origins["http/2"], cafile),
        read_sse(heartbeat, count=2, timeout=IDLE_MS / 1000 + 10),
        read_sse(silent, count=2, timeout=IDLE_MS / 1000 + 10),
        _h2_streams(origins["http/2"], cafile), return_exceptions=True)
    return dict(zip(names, answers))


def _h3(origins, cafile, tools):
    port = int(origins["http/3"].rsplit(":", 1)[1])
    argv = [tools.python, "-m", "realtime_testkit.h3", "--port", str(port), "--cafile", cafile, "--timeout", "30"]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "tests"))
    big = subprocess.Popen(argv + ["--count", "2", "--path", "/aiohttp/sse/?count=1&size=%d&cell=behaviour-1mib"
                                   % (1024 * 1024)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    paths = ["/go/sse/?count=3&interval=200&cell=behaviour-h3-%d" % number for number in range(STREAMS)]
    many = subprocess.run(argv + ["--count", "4"] + [item for path in paths for item in ("--path", path)],
                          capture_output=True, text=True, timeout=90, check=False, env=env)
    out, err = big.communicate(timeout=90)
    assert big.returncode == 0 and many.returncode == 0, (err + many.stderr)[-3000:]
    return {"1 MiB": json.loads(out), "h3 streams": json.loads(many.stdout)}


def _browser(browser, origins):
    context = browser.new_context()
    try:
        page, leaving = context.new_page(), context.new_page()
        page.goto(origins["http/1.1"] + "/pages/index.html?tag=behaviour")
        seen = page.evaluate("([a, b]) => window.closeCodes('go', a, b)", [SERVER_CLOSES, PAGE_CLOSES])
        leaving.goto(origins["http/1.1"] + "/pages/index.html?tag=behaviour")
        leaving.evaluate("window.openAndLeave('go')")
        leaving.goto("about:blank")  # the browser closes the page's socket with 1001, going away
        retry = origins["http/2"] + "/pages/index.html?tag=behaviour"
        page.goto(retry)
        delays = page.evaluate("(retries) => Promise.all(retries.map((ms) => window.retryDelay('starlette', ms)))",
                               list(RETRIES))
        time.sleep(0.5)
        closes = page.evaluate("fetch('/go/closes').then((answer) => answer.json())")
        protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
    finally:
        context.close()
    return {"closes seen": seen, "closes received": closes, "retry delays": dict(zip(RETRIES, delays)),
            "retry page": protocol}


@pytest.fixture(scope="session")
def behaviours(servers, origins, cafile, tools, browser, access_logs):  # pylint: disable=unused-argument
    """Every behaviour's answers by what its client said, and both hosts' access logs afterwards."""
    plain = origins["http/1.1"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        node = pool.submit(node_clients, tools, _node_jobs(origins), cafile=cafile, timeout=90)
        python = pool.submit(asyncio.run, _python(origins, cafile))
        sixteen = pool.submit(asyncio.run, _sixteen_mib(plain.replace("http", "ws", 1) + "/go/ws/?cell=behaviour-16mib",
                                                        plain))
        h3 = pool.submit(_h3, origins, cafile, tools)
        raw_cr = curl(plain + "/go/sse/?eol=cr&count=2&interval=50&cell=behaviour-raw-cr")
        answers = _browser(browser, origins)  # Playwright's sync API stays on this thread
        for job in (node, python, h3):
            answers.update(job.result())
        answers["16 MiB"] = sixteen.result()
        answers["raw cr"] = curl_answer(raw_cr)
    return answers, access_logs()


@contextlib.contextmanager
def recorded(results, behaviour):
    """Record BEHAVIOUR's cell in the results: pass, or fail with the assertion's message."""
    client, server, target = PAIRS[behaviour]
    try:
        yield
    except AssertionError as exc:
        results.add(Cell(server, client, target, behaviour, "fail", str(exc)[:500], HOST[target], "behaviour"))
        raise
    results.add(Cell(server, client, target, behaviour, "pass", "", HOST[target], "behaviour"))
