"""A lean backend for the capacity and reload benchmarks: many idle streams, little CPU.

``tests/realtime_testkit/backend.py`` polls every open SSE stream four times a
second (so that it notices a client that left); with tens of thousands of
streams that alone would saturate this machine's two cores, and the benchmark
would measure the backend instead of nginx. This server is a bare
``asyncio.Protocol``: per connection it answers once and then only wakes up
when bytes arrive or when the shared heartbeat timer fires.

* A request with ``Upgrade: websocket`` gets ``101`` and an echo of every text
  or binary frame (pings get pongs, a close frame is answered and closes).
* Any other request gets a ``text/event-stream`` response that never ends: one
  event (``id: 1``, JSON data with ``sent`` and ``backend``) and then a
  ``: heartbeat`` comment on every stream every ``--heartbeat`` seconds.

Usage: ``python bench/holdserver.py --port 19010 [--port 19011 ...] --heartbeat 5
--lifetime 1800``. It exits by itself after ``--lifetime`` seconds (a bound, in
case the harness dies) and on SIGTERM/SIGINT. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import signal
import struct
import sys
import time

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEAD = 16 * 1024
_MAX_FRAME = 1 << 20


class Hold(asyncio.Protocol):
    sse_streams: set = set()

    def __init__(self, name: str):
        self.name = name
        self.transport = None
        self.buf = b""
        self.mode = "head"  # head -> sse | ws

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        Hold.sse_streams.discard(self.transport)

    def data_received(self, data):
        self.buf += data
        if self.mode == "head":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self.transport.close()
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
            headers = {}
            for line in head.split("\r\n")[1:]:
                key, unused, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            if headers.get("upgrade", "").lower() == "websocket" and "sec-websocket-key" in headers:
                accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + _GUID).digest())
                self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                self.mode = "ws"
            else:
                data = json.dumps({"seq": 1, "sent": time.time(), "backend": self.name})
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                     b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
                                     + ("id: 1\ndata: %s\n\n" % data).encode())
                self.mode = "sse"
                Hold.sse_streams.add(self.transport)
                self.buf = b""
                return
        if self.mode == "ws":
            self._frames()
        else:
            self.buf = b""  # an SSE client has nothing more to say

    def _frames(self):
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, pos = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
            if n > _MAX_FRAME:
                self.transport.close()
                return
            masked = b1 & 0x80
            if len(buf) < pos + (4 if masked else 0) + n:
                break
            key = buf[pos:pos + 4] if masked else None
            pos += 4 if masked else 0
            payload = buf[pos:pos + n]
            buf = buf[pos + n:]
            if key:
                payload = bytes(c ^ key[i & 3] for i, c in enumerate(payload)) if n < 64 else \
                    (int.from_bytes(payload, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
            opcode = b0 & 0x0F
            if opcode == 8:  # close: answer and close
                self.transport.write(_frame(8, payload[:2]))
                self.transport.close()
                return
            if opcode == 9:  # ping -> pong
                self.transport.write(_frame(10, payload))
            elif opcode in (0, 1, 2):
                self.transport.write(bytes([b0]) + _length(n) + payload)
        self.buf = buf


def _length(n: int) -> bytes:
    if n < 126:
        return bytes([n])
    if n < 1 << 16:
        return bytes([126]) + struct.pack("!H", n)
    return bytes([127]) + struct.pack("!Q", n)


def _frame(opcode: int, payload: bytes) -> bytes:
    return bytes([0x80 | opcode]) + _length(len(payload)) + payload


async def heartbeats(interval: float):
    while True:
        await asyncio.sleep(interval)
        for transport in list(Hold.sse_streams):
            if not transport.is_closing():
                transport.write(b": heartbeat\n\n")


async def serve(ports, heartbeat: float, lifetime: float, name: str):
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(lambda p=port: Hold("%s-%d" % (name, p)), "127.0.0.1", port,
                                        backlog=4096, reuse_address=True)
               for port in ports]
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    beat = asyncio.ensure_future(heartbeats(heartbeat))
    print("holdserver listening on %s" % ",".join(map(str, ports)), flush=True)
    try:
        await asyncio.wait_for(done.wait(), lifetime)
    except asyncio.TimeoutError:
        pass
    beat.cancel()
    for server in servers:
        server.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--port", type=int, action="append", required=True)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--lifetime", type=float, default=1800.0)
    parser.add_argument("--name", default="hold")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.heartbeat, args.lifetime, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
