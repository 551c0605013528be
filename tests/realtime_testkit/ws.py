"""WebSocket clients: a well-behaved one (websockets) and a raw one for hostile handshakes.

``ws_echo`` never raises for a refused handshake or a network error: tests
about Origin allowlists (403), bad handshakes (400) or dead backends (502)
assert on ``status`` like any other value. ``raw_handshake`` speaks bytes so
tests can send what no library will (``Upgrade: h2c``, no key, a frame glued
to the handshake) and see exactly what the proxy answers.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Union

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

__all__ = ["WsResult", "ws_echo", "RawResponse", "raw_handshake", "Frame",
           "encode_client_frame", "decode_server_frames"]

_MAX_SIZE = 64 * 1024 * 1024
_BODY_CAP = 64 * 1024


@dataclass
class WsResult:
    status: int = 0
    headers: dict = field(default_factory=dict)  # lowercase keys
    echoes: list = field(default_factory=list)
    rtts: list = field(default_factory=list)
    body: bytes = b""  # response body of a refused handshake
    error: Optional[str] = None


def _lower(headers) -> dict:
    out: dict = {}
    for key, value in headers.raw_items():
        key = key.lower()
        out[key] = out[key] + ", " + value if key in out else value
    return out


async def ws_echo(url: str, messages, *, origin: Optional[str] = None,
                  headers: Optional[dict] = None, timeout: float = 10.0, ssl=None,
                  pipeline: bool = False, compression: Optional[str] = None) -> WsResult:
    """Send each message and collect what comes back, with round-trip times.

    ``pipeline=True`` sends everything before reading (interleaved frames must
    come back in order). Compression is off by default so frame sizes on the
    wire are the sizes the test chose.
    """
    result = WsResult()
    messages = list(messages)
    kwargs = dict(origin=origin, additional_headers=headers, open_timeout=timeout,
                  close_timeout=2, max_size=_MAX_SIZE, compression=compression,
                  proxy=None, ping_interval=None)
    if ssl is not None:
        kwargs["ssl"] = ssl

    async def run():
        async with connect(url, **kwargs) as ws:
            result.status = ws.response.status_code
            result.headers = _lower(ws.response.headers)
            if pipeline:
                sent_at = []
                for msg in messages:
                    sent_at.append(time.monotonic())
                    await ws.send(msg)
                for t in sent_at:
                    result.echoes.append(await ws.recv())
                    result.rtts.append(time.monotonic() - t)
            else:
                for msg in messages:
                    t = time.monotonic()
                    await ws.send(msg)
                    result.echoes.append(await ws.recv())
                    result.rtts.append(time.monotonic() - t)

    try:
        # wait_for (not asyncio.timeout) keeps 3.10 controllers working and
        # leaves the echoes collected so far in ``result``.
        await asyncio.wait_for(run(), timeout)
    except InvalidStatus as exc:
        result.status = exc.response.status_code
        result.headers = _lower(exc.response.headers)
        result.body = exc.response.body or b""
    except (InvalidHandshake, WebSocketException, OSError, asyncio.TimeoutError) as exc:
        result.error = repr(exc)
    return result


class RawResponse(NamedTuple):
    status: int  # 0: no parsable response (closed or timed out)
    headers: dict  # lowercase keys
    body_prefix: bytes  # for 101: raw frames sent by the server after the handshake


async def raw_handshake(host: str, port: int, path: str,
                        headers: Union[dict, list], extra_bytes: bytes = b"",
                        timeout: float = 5.0, idle: float = 0.5) -> RawResponse:
    """Send a GET with exactly ``headers`` (+ ``extra_bytes`` in the same write).

    ``Host`` is added when missing. After the head, the body is read up to
    Content-Length, else until the peer is quiet for ``idle`` s, closes, or
    64 KiB arrived; never raises on timeout.
    """
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if not any(k.lower() == "host" for k, unused in items):
        items.insert(0, ("Host", "%s:%d" % (host, port)))
    head = "GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in items) + "\r\n"
    deadline = time.monotonic() + timeout

    def left():
        return max(0.01, deadline - time.monotonic())

    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), left())
    except (OSError, asyncio.TimeoutError):
        return RawResponse(0, {}, b"")
    try:
        writer.write(head.encode("latin-1") + extra_bytes)
        await writer.drain()
        try:
            raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), left())
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError, OSError):
            return RawResponse(0, {}, b"")
        lines = raw_head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        resp_headers: dict = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                k = k.strip().lower()
                v = v.strip()
                resp_headers[k] = resp_headers[k] + ", " + v if k in resp_headers else v
        body = b""
        length = resp_headers.get("content-length", "")
        want = min(int(length), _BODY_CAP) if length.isdigit() and status != 101 else _BODY_CAP
        while len(body) < want and time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(reader.read(want - len(body)),
                                               min(idle, left()))
            except (asyncio.TimeoutError, OSError):
                break
            if not chunk:
                break
            body += chunk
        return RawResponse(status, resp_headers, body)
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError):
            pass


class Frame(NamedTuple):
    fin: bool
    opcode: int
    payload: bytes


def encode_client_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """One masked client frame (RFC 6455 §5.2); servers must reject unmasked ones."""
    first = (0x80 if fin else 0) | (opcode & 0x0F)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


def _mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    repeated = (key * (len(data) // 4 + 1))[:len(data)]
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return mixed.to_bytes(len(data), "big")


def decode_server_frames(data: bytes) -> list:
    """Complete frames in ``data`` as Frame tuples; a truncated trailing frame is ignored."""
    frames = []
    pos = 0
    while len(data) - pos >= 2:
        b0, b1 = data[pos], data[pos + 1]
        n = b1 & 0x7F
        cur = pos + 2
        if n == 126:
            if len(data) - cur < 2:
                break
            (n,) = struct.unpack_from("!H", data, cur)
            cur += 2
        elif n == 127:
            if len(data) - cur < 8:
                break
            (n,) = struct.unpack_from("!Q", data, cur)
            cur += 8
        key = None
        if b1 & 0x80:
            if len(data) - cur < 4:
                break
            key = data[cur:cur + 4]
            cur += 4
        if len(data) - cur < n:
            break
        payload = data[cur:cur + n]
        frames.append(Frame(bool(b0 & 0x80), b0 & 0x0F, _mask(payload, key) if key else payload))
        pos = cur + n
    return frames
