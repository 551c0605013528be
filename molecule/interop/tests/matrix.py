"""The interop matrix: which client reaches which server over which HTTP version, and what cannot work.

A target is where a client connects and how:

- ``http/1.1``: Debian 12's plain site;
- ``http/1.1 tls``: Debian 12's TLS site, by a client that speaks only HTTP/1.1 (and every WebSocket);
- ``http/2``: Debian 12's TLS site, negotiated by ALPN;
- ``http/3``: Debian 13's TLS site over QUIC.

Each cell's requests carry ``cell=TAG`` in their query, so a test finds them
in nginx's access log (the protocol nginx saw, the connection).
"""

from __future__ import annotations

from typing import NamedTuple

SERVERS = ("aiohttp", "starlette", "channels", "node", "go")
# What a cell of each check proves, as the results name it.
CHECK_NAMES = {"request": "Plain request: headers", "sse": "SSE: headers, 3 events",
               "websocket": "WebSocket: headers, subprotocol, echo",
               "socketio": "Socket.IO: headers, polling, upgrade, echo"}
# What nginx logs as the request's protocol on each target.
PROTOCOL = {"http/1.1": "HTTP/1.1", "http/1.1 tls": "HTTP/1.1", "http/2": "HTTP/2.0", "http/3": "HTTP/3.0"}
HOST = {"http/1.1": "debian12", "http/1.1 tls": "debian12", "http/2": "debian12", "http/3": "debian13"}
# The origin a client asks for on each target (conftest's origins fixture): http/1.1 tls shares http/2's.
ORIGIN = {"http/1.1": "http/1.1", "http/1.1 tls": "http/2", "http/2": "http/2", "http/3": "http/3"}

# (client, check): the targets it is run on. Chromium's WebSocket cells are
# opened from its pages over HTTP/2 and HTTP/3, and go over HTTP/1.1 with TLS.
CLIENTS = {
    ("curl", "request"): ("http/1.1", "http/2"),
    ("curl", "sse"): ("http/1.1", "http/2"),
    ("aioquic", "request"): ("http/3",),
    ("aioquic", "sse"): ("http/3",),
    ("chromium", "request"): ("http/1.1", "http/2", "http/3"),
    ("chromium", "sse"): ("http/1.1", "http/2", "http/3"),
    ("chromium", "websocket"): ("http/1.1", "http/2", "http/3"),
    ("node eventsource", "sse"): ("http/1.1", "http/1.1 tls"),
    ("node ws", "websocket"): ("http/1.1", "http/1.1 tls"),
}
# The Node socket.io server, by its clients.
SOCKETIO_CLIENTS = {
    "python-socketio": ("http/1.1", "http/1.1 tls"),
    "node socket.io-client": ("http/1.1", "http/1.1 tls"),
    "chromium": ("http/1.1", "http/2", "http/3"),
}

NO_WEBSOCKET_OVER_H2 = ("nginx does not implement WebSocket over HTTP/2 (RFC 8441, extended CONNECT): the browser opens "
                        "the socket over HTTP/1.1 with TLS beside its HTTP/2 connection (the chromium websocket cell "
                        "from the HTTP/2 page)")
NO_WEBSOCKET_OVER_H3 = ("nginx does not implement WebSocket over HTTP/3 (RFC 9220), nor does Chromium: the socket goes "
                        "over HTTP/1.1 with TLS on TCP (the chromium websocket cell from the HTTP/3 page)")
# Combinations that cannot work, with the reason: (server, client, target, check, reason); server "*" is every server.
NOT_APPLICABLE = (
    ("*", "*", "http/2", "websocket", NO_WEBSOCKET_OVER_H2),
    ("*", "*", "http/3", "websocket", NO_WEBSOCKET_OVER_H3),
    ("*", "curl", "http/3", "*", "Debian 12's curl (7.88) is built without HTTP/3"),
    ("*", "node eventsource", "http/2", "sse", "Node's fetch (undici), which eventsource uses, speaks HTTP/1.1 unless "
                                               "given a dispatcher with allowH2"),
    ("*", "node ws", "http/2", "websocket", NO_WEBSOCKET_OVER_H2),
    ("*", "*", "*", "no hop-by-hop header: those that Connection names",
     "nginx forwards a header that the client's Connection header names (RFC 9110 7.6.1 says to drop it): no "
     "directive drops names it does not know in advance. The fixed hop-by-hop headers are dropped (every cell)"),
    ("socket.io", "python-socketio", "http/2", "socketio", "python-socketio's HTTP client (aiohttp) speaks HTTP/1.1 only"),
    ("socket.io", "node socket.io-client", "http/2", "socketio", "engine.io-client's Node transports speak HTTP/1.1 "
                                                                 "only"),
)


class Cell(NamedTuple):
    server: str
    client: str
    target: str
    check: str

    @property
    def tag(self) -> str:
        """The cell's tag in its requests' query: chromium-http2-aiohttp-sse."""
        return "-".join(_clean(part) for part in (self.client, self.target, self.server, self.check))

    @property
    def id(self) -> str:
        return "%s|%s|%s|%s" % self


def _clean(part: str) -> str:
    return part.replace(" ", "").replace("/", "").replace(".", "")


def page_tag(target: str) -> str:
    """The tag of a Chromium page on TARGET; interop.js appends -SERVER-CHECK to it for each request."""
    return "chromium-" + _clean(target)


CELLS = [Cell(server, client, target, check) for (client, check), targets in CLIENTS.items()
         for target in targets for server in SERVERS]
CELLS += [Cell("socket.io", client, target, "socketio") for client, targets in SOCKETIO_CLIENTS.items()
          for target in targets]
