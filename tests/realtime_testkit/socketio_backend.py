#!/usr/bin/env python3
"""Socket.IO test backend for realtime.nginx: one Engine.IO server process.

Copied on its own into the Debian 12 test containers and run with the
distribution's python3-socketio (5.7.2), python3-engineio (4.3) and
python3-aiohttp (3.8.4), so it stays a single file that imports only the
standard library, aiohttp and socketio, and uses no API newer than those.

Serves Socket.IO on ``/socket.io/`` (long-polling and WebSocket). Events:

* ``echo`` (with an acknowledgement): answers ``{"data": <what was sent>,
  "backend": <--name>, "transport": <"polling" or "websocket", as this server
  sees the session>}``, so a test behind a balanced upstream sees which
  process holds each session and that the session was upgraded.

Origins are not checked here (``cors_allowed_origins="*"``): in the tests
nginx's allowed_origins is the one gate, so what passes it must not be
refused by the server for a reason of its own.
"""

import argparse
import sys

import socketio
from aiohttp import web


def make_app(name, ping_interval=25):
    server = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", ping_interval=ping_interval)
    app = web.Application()
    server.attach(app, socketio_path="socket.io")

    @server.on("echo")
    async def echo(sid, data):
        # The Engine.IO session of this Socket.IO one: python-socketio 5.7's
        # server.transport(sid) looks the Socket.IO sid up among Engine.IO ones.
        transport = server.eio.transport(server.manager.eio_sid_from_sid(sid, "/"))
        return {"data": data, "backend": name, "transport": transport}

    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18112)
    parser.add_argument("--name", default="socketio")
    parser.add_argument("--ping-interval", type=int, default=25,
                        help="Engine.IO's pingInterval in seconds (25, its default); a client that leaves while "
                             "polling waits up to this long for its last poll")
    args = parser.parse_args(argv)
    web.run_app(make_app(args.name, args.ping_interval), host=args.host, port=args.port, shutdown_timeout=1.0, access_log=None,
                print=lambda msg: print("socketio backend %s: listening on %s:%d" % (args.name, args.host, args.port),
                                        flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
