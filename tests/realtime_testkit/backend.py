#!/usr/bin/env python3
"""Demo backend for realtime.nginx: SSE streams, a WebSocket echo and a header mirror.

This file is copied on its own into Debian 12/13 containers and run with the
distribution's python3-aiohttp (3.8.4 on bookworm), so it must stay a single
file that imports only the standard library and aiohttp, and it must use no
aiohttp API newer than 3.8.

Endpoints (all paths are matched by prefix so any nginx location layout works):

* ``GET /sse/...``   text/event-stream; query ``count`` (10, 0 = endless),
  ``interval`` (0.2 s), ``heartbeat`` (0 = none, else ``: heartbeat`` comments
  every N s), ``events`` (1; 0 = heartbeats only), ``accel`` (``no`` adds
  ``X-Accel-Buffering: no``; by default it is NOT sent, so a test proves that
  the nginx configuration alone turns buffering off), ``pad`` (0; N adds a
  ``pad`` field of N characters to each event, at most 1 MiB). Event ids run
  1..count; ``Last-Event-ID: N`` resumes at N+1. Never compressed.
* ``GET /ws/...``    WebSocket echo (text stays text, binary stays binary);
  a request that is not a valid handshake gets 400.
* ``GET /demo/...``  with ``--pages DIR`` only: the files in DIR (``/demo/`` is
  its ``index.html``), the demo's browser pages; a missing file gets 404.
* ``GET /_backend/seen``  the last 200 requests that reached this process, so a
  test can prove what nginx forwarded (or stripped, e.g. ``Upgrade: h2c``).
* anything else      JSON mirror of path, method and headers, with the
  backend's ``--name`` (as SSE events carry it too), so a test behind a
  balanced upstream sees which backend answered.

``--unix PATH`` listens on a Unix socket (mode 0666) instead of a TCP port.

Header names are reported as they arrived on the wire (nginx sends them in the
case used by ``proxy_set_header``); duplicated headers are joined with ", ".
"""

import argparse
import asyncio
import collections
import json
import os
import socket
import stat
import sys
import time

from aiohttp import WSMsgType, web

SEEN = collections.deque(maxlen=200)
SOCKETS = set()
MAX_WS_MESSAGE = 16 * 1024 * 1024


def _headers(request):
    out = {}
    for key, value in request.headers.items():
        out[key] = out[key] + ", " + value if key in out else value
    return out


def _peer_port(request):
    # The proxy's source port: the same port on two requests means nginx
    # reused its keepalive connection to this backend.
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return peer[1] if peer else None


def _log(request, status, started):
    # One line per request, flushed, so container logs show traffic live.
    peer = request.remote or "-"
    took = (time.monotonic() - started) * 1000
    print("%s %s %s %s %s %.1fms" % (
        time.strftime("%Y-%m-%dT%H:%M:%S"), peer, request.method,
        request.path_qs, status, took), flush=True)


def _request_facts(request):
    """What the backend tells about a request it received (recorded and mirrored)."""
    return {
        "path": request.path,
        "query": request.query_string,
        "method": request.method,
        "headers": _headers(request),
        "remote": request.remote,
        "peer_port": _peer_port(request),
    }


@web.middleware
async def record_and_log(request, handler):
    started = time.monotonic()
    if request.path != "/_backend/seen":
        SEEN.append(dict(_request_facts(request), time=time.time()))
    status = "-"
    try:
        response = await handler(request)
        status = getattr(response, "status", "-")
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        _log(request, status, started)


def _closing(request):
    transport = request.transport
    return transport is None or transport.is_closing()


def _param(request, name, default, kind):
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="bad %s=%r\n" % (name, raw))
    if value < 0:
        raise web.HTTPBadRequest(text="negative %s\n" % name)
    return value


async def sse(request):
    app = request.app
    count = _param(request, "count", 10, int)
    interval = _param(request, "interval", 0.2, float)
    heartbeat = _param(request, "heartbeat", 0.0, float)
    events = _param(request, "events", 1, int)
    pad = "x" * min(_param(request, "pad", 0, int), 1 << 20)
    seq = 1
    last_id = request.headers.get("Last-Event-ID", "").strip()
    if last_id.isdigit():
        seq = int(last_id) + 1

    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    if request.query.get("accel") == "no":
        headers["X-Accel-Buffering"] = "no"
    resp = web.StreamResponse(status=200, headers=headers)
    await resp.prepare(request)

    loop = asyncio.get_event_loop()
    inf = float("inf")
    now = loop.time()
    next_event = now if events else inf
    next_beat = now + heartbeat if heartbeat > 0 else inf
    try:
        while True:
            if events and count and seq > count:
                break
            now = loop.time()
            if now >= next_event:
                data = json.dumps({"seq": seq, "sent": time.time(), "backend": app["name"], **({"pad": pad} if pad else {})})
                await resp.write(("id: %d\ndata: %s\n\n" % (seq, data)).encode())
                seq += 1
                next_event += interval
            elif now >= next_beat:
                await resp.write(b": heartbeat\n\n")
                next_beat += heartbeat
            else:
                # Short naps so a silent stream still notices that the client left
                # (aiohttp >= 3.9 no longer cancels handlers on disconnect).
                if _closing(request):
                    return resp
                await asyncio.sleep(min(next_event, next_beat, now + 0.25) - now)
        await resp.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass
    return resp


async def ws_echo(request):
    ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, autoping=True, compress=False)
    if not ws.can_prepare(request).ok:
        return web.json_response({"error": "not a valid websocket handshake"}, status=400)
    await ws.prepare(request)
    SOCKETS.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        SOCKETS.discard(ws)
    return ws


async def seen(request):
    return web.json_response(list(SEEN))


async def page(request):
    # The demo's static pages. The name must be a plain file directly in the
    # pages directory, so no request can read anything else of the host.
    name = request.path[len("/demo/"):] or "index.html"
    path = os.path.join(request.app["pages"], name)
    if "/" in name or name.startswith(".") or not os.path.isfile(path):
        raise web.HTTPNotFound(text="no page %r\n" % name)
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


async def mirror(request):
    body = await request.read()
    return web.json_response(dict(_request_facts(request), body_bytes=len(body), backend=request.app["name"]))


def _under(path, prefix):
    return path == prefix or path.startswith(prefix + "/")


async def dispatch(request):
    # One catch-all route: prefix routing works whatever location layout
    # nginx uses, and wrong methods fall through to the mirror instead of 405.
    path = request.path
    if request.method == "GET":
        if _under(path, "/sse"):
            return await sse(request)
        if _under(path, "/ws"):
            return await ws_echo(request)
        if path == "/_backend/seen":
            return await seen(request)
        if request.app["pages"] and _under(path, "/demo"):
            if path == "/demo":
                raise web.HTTPFound("/demo/")
            return await page(request)
    return await mirror(request)


async def close_sockets(app):
    for ws in list(SOCKETS):
        await ws.close(code=1001, message=b"server shutdown")


def make_app(name, pages=None):
    app = web.Application(middlewares=[record_and_log])
    app["name"] = name
    app["pages"] = pages
    app.router.add_route("*", "/{tail:.*}", dispatch)
    app.on_shutdown.append(close_sockets)
    return app


def unix_listener(path):
    """A listening socket at PATH that any local user may connect to (a proxy
    usually runs as another user). A stale socket file from a killed run is
    replaced; any other file there is left alone (the bind fails)."""
    if os.path.exists(path) and stat.S_ISSOCK(os.lstat(path).st_mode):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.listen(1024)
    return sock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18111)
    parser.add_argument("--name", default="backend")
    parser.add_argument("--unix", metavar="PATH",
                        help="listen on this Unix socket instead of --host/--port (made writable for all, "
                             "so a proxy running as another user can connect)")
    parser.add_argument("--pages", metavar="DIR",
                        help="serve the files of DIR under /demo/ (the demo's browser pages)")
    args = parser.parse_args(argv)
    if args.unix:
        where = {"sock": unix_listener(args.unix)}
        shown = "unix:%s" % args.unix
    else:
        where = {"host": args.host, "port": args.port}
        shown = "%s:%d" % (args.host, args.port)
    # run_app turns SIGTERM/SIGINT into a graceful exit; a short shutdown
    # timeout keeps endless streams from delaying it by the default 60 s.
    web.run_app(make_app(args.name, args.pages), shutdown_timeout=1.0, access_log=None,
                print=lambda msg: print("backend %s: listening on %s" % (args.name, shown), flush=True),
                **where)
    return 0


if __name__ == "__main__":
    sys.exit(main())
