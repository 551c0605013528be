"""An HTTP/3 (QUIC) client built on aioquic, run as a script.

aioquic is not part of the shared toolchain: tools/ensure-tls-clients.sh
(and tools/ensure-interop.sh) install it into a private venv, and tests run
this file with that venv's python (``python -m realtime_testkit.h3 ...`` with
tests/ on PYTHONPATH). The bytes of an event-stream body go through the test
kit's own SseParser, so "an event" means the same as over HTTP/1.1 and
HTTP/2. For one ``--path`` it prints one JSON document: status, headers and
events (id, data, arrival, sent, delay), or ``body`` for any other content
type. Several ``--path`` options are sent as concurrent requests on ONE QUIC
connection, and it prints a list of such documents, in the same order.

    python -m realtime_testkit.h3 --host 127.0.0.1 --port 18871 --path '/sse/?count=5' \\
        --count 5 --cafile cert.pem --server-name localhost
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration

from .sse import SseParser

_MAX_BODY = 4 * 1024 * 1024


class _H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.streams: dict = {}  # stream id -> asyncio.Queue of its HTTP/3 events

    def quic_event_received(self, event):
        for h3_event in self.h3.handle_event(event):
            queue = self.streams.get(getattr(h3_event, "stream_id", None))
            if queue is not None:
                queue.put_nowait(h3_event)

    def request(self, authority: str, path: str, headers: dict) -> asyncio.Queue:
        """Send a GET of PATH; the queue of the events answering it."""
        stream_id = self._quic.get_next_available_stream_id()
        self.streams[stream_id] = queue = asyncio.Queue()
        self.h3.send_headers(stream_id, [(b":method", b"GET"), (b":scheme", b"https"),
                                         (b":authority", authority.encode()), (b":path", path.encode())]
                             + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
                             end_stream=True)
        self.transmit()
        return queue


async def _response(queue: asyncio.Queue, count: int, deadline: float) -> dict:
    """Read one response: up to COUNT events of an event stream, or the whole body, until DEADLINE."""
    result = {"status": 0, "headers": {}, "events": [], "comments": 0, "timed_out": False}
    parser, pending, body = SseParser(), b"", b""
    while not (result["events"] and len(result["events"]) >= count):
        try:
            event = await asyncio.wait_for(queue.get(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            result["timed_out"] = True
            break
        if isinstance(event, HeadersReceived):
            headers = {k.decode(): v.decode() for k, v in event.headers}
            result["status"] = int(headers.pop(":status", "0"))
            result["headers"].update(headers)
        elif isinstance(event, DataReceived):
            if not result["headers"].get("content-type", "").startswith("text/event-stream"):
                body = (body + event.data)[:_MAX_BODY]
            else:
                pending += event.data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    item = parser.feed(line.decode().rstrip("\r"), time.time())
                    if item == "comment":
                        result["comments"] += 1
                    elif item is not None:
                        result["events"].append(dataclasses.asdict(item))
        if getattr(event, "stream_ended", False):
            break
    if body:
        result["body"] = body.decode(errors="replace")
    return result


async def get_h3(host, port, paths, count, cafile, server_name, timeout, headers=None):
    """GET each of PATHS at once on one QUIC connection, within TIMEOUT seconds: one result each.

    An event stream is read until COUNT events arrived or it ended; any other
    body until it ended. HEADERS are sent with every request.
    """
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=server_name)
    configuration.load_verify_locations(cafile)
    deadline = time.monotonic() + timeout
    async with connect(host, port, configuration=configuration, create_protocol=_H3Client) as client:
        authority = "%s:%d" % (server_name, port)
        queues = [client.request(authority, path, dict(headers or {}, accept="text/event-stream"))
                  if "/sse/" in path else client.request(authority, path, headers or {}) for path in paths]
        answers = await asyncio.gather(*(_response(queue, count, deadline) for queue in queues))
        client.close()
    return answers


async def read_sse_h3(host, port, path, count, cafile, server_name, timeout):
    """Up to COUNT events of PATH over HTTP/3, within TIMEOUT seconds."""
    return (await get_h3(host, port, [path], count, cafile, server_name, timeout))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True, action="append", help="repeat for concurrent requests")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--header", action="append", default=[], help="NAME: VALUE, sent with every request")
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    headers = dict(tuple(part.strip() for part in header.split(":", 1)) for header in args.header)
    answers = asyncio.run(get_h3(args.host, args.port, args.path, args.count, args.cafile, args.server_name,
                                 args.timeout, headers))
    print(json.dumps(answers[0] if len(args.path) == 1 else answers))


if __name__ == "__main__":
    main()
