"""An HTTP/3 (QUIC) SSE client built on aioquic, run as a script.

aioquic is not part of the shared toolchain: tools/ensure-tls-clients.sh
installs it into build/tls-clients-venv, and tests run this file with that
venv's python (``python -m realtime_testkit.h3 ...`` with tests/ on
PYTHONPATH). The bytes of the response body go through the test kit's own
SseParser, so "an event" means the same as over HTTP/1.1 and HTTP/2. Prints
one JSON document: status, headers and events (id, data, arrival, sent, delay).

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


class _H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.events: asyncio.Queue = asyncio.Queue()

    def quic_event_received(self, event):
        for h3_event in self.h3.handle_event(event):
            self.events.put_nowait(h3_event)


async def read_sse_h3(host, port, path, count, cafile, server_name, timeout):
    """Up to COUNT events of PATH over HTTP/3, within TIMEOUT seconds."""
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=server_name)
    configuration.load_verify_locations(cafile)
    result = {"status": 0, "headers": {}, "events": [], "timed_out": False}
    async with connect(host, port, configuration=configuration, create_protocol=_H3Client) as client:
        stream_id = client._quic.get_next_available_stream_id()  # pylint: disable=protected-access
        client.h3.send_headers(stream_id, [(b":method", b"GET"), (b":scheme", b"https"),
                                           (b":authority", ("%s:%d" % (server_name, port)).encode()),
                                           (b":path", path.encode()), (b"accept", b"text/event-stream")],
                               end_stream=True)
        client.transmit()
        parser, pending = SseParser(), b""
        deadline = time.monotonic() + timeout
        while len(result["events"]) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result["timed_out"] = True
                break
            try:
                event = await asyncio.wait_for(client.events.get(), remaining)
            except asyncio.TimeoutError:
                result["timed_out"] = True
                break
            if isinstance(event, HeadersReceived):
                headers = {k.decode(): v.decode() for k, v in event.headers}
                result["status"] = int(headers.pop(":status", "0"))
                result["headers"].update(headers)
            elif isinstance(event, DataReceived):
                pending += event.data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    item = parser.feed(line.decode().rstrip("\r"), time.time())
                    if item is not None and item != "comment":
                        result["events"].append(dataclasses.asdict(item))
                if event.stream_ended:
                    break
        client.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    result = asyncio.run(read_sse_h3(args.host, args.port, args.path, args.count, args.cafile, args.server_name,
                                     args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
