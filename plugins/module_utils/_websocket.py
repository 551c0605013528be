# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal RFC 6455 WebSocket client (standard library only).

Private to this collection. It supports the opening handshake with a random
key and verification of Sec-WebSocket-Accept, masked client frames, 7/16/64-bit
payload lengths, fragmented messages (continuation frames) from the server,
ping/pong and the closing handshake.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time

from ansible_collections.realtime.nginx.plugins.module_utils._http import (
    Deadline,
    Exchange,
    ProbeError,
    ProbeTimeout,
)

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

OPCODE_NAMES = {
    OP_CONT: "continuation", OP_TEXT: "text", OP_BINARY: "binary",
    OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong",
}

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class WebSocketError(ProbeError):
    """Protocol violation or unexpected condition."""


class WebSocketHandshakeError(WebSocketError):
    """The server did not accept the upgrade as expected."""

    def __init__(self, message, status=None, reason=None, headers=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def make_key():
    """A random 16-byte nonce, base64-encoded (RFC 6455 4.1)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_for_key(key):
    """The Sec-WebSocket-Accept value a server must answer for key."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def mask_payload(mask, payload):
    """XOR payload with the 4-byte mask (fast for large payloads)."""
    n = len(payload)
    if n == 0:
        return b""
    repeated = (mask * (n // 4 + 1))[:n]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(n, "big")


def encode_frame(opcode, payload, fin=True, mask=True, mask_key=None, rsv=0):
    """Serialize one frame. Client frames are always masked (RFC 6455 5.3)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    first = (0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F)
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if mask:
        if mask_key is None:
            mask_key = os.urandom(4)
        return head + mask_key + mask_payload(mask_key, payload)
    return head + payload


class Frame:
    def __init__(self, fin, opcode, payload, rsv=0):
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
        self.rsv = rsv

    def __repr__(self):
        return "Frame(fin=%r, opcode=%s, len=%d)" % (self.fin, OPCODE_NAMES.get(self.opcode, self.opcode), len(self.payload))


class WebSocketClient(Exchange):
    """A blocking WebSocket client with deadline-bounded reads.

    Usage::

        ws = WebSocketClient("ws://127.0.0.1:8080/ws/echo", timeout=5)
        ws.connect()
        ws.send_frame(OP_TEXT, "hello")
        opcode, data = ws.recv_message()
        ws.close()
    """

    SCHEMES = (("wss", "https"), ("ws", "http"))

    def __init__(self, url, origin=None, **options):
        super().__init__(url, **options)
        self.origin = origin
        self.key = make_key()
        self.closed = False
        self.close_code = None
        self.close_reason = None
        self.pings_received = []
        self.pongs_received = []
        self._fragments = None
        self._fragment_opcode = None

    # -- handshake ---------------------------------------------------------------
    def connect(self):
        """Open the connection and perform the opening handshake.

        Raises WebSocketHandshakeError if the server does not answer 101 with
        a correct Sec-WebSocket-Accept (the status and headers are attached).
        """
        headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self.key),
            ("Sec-WebSocket-Version", "13"),
        ]
        if self.origin:
            headers.append(("Origin", self.origin))
        self.request(headers)
        if self.status != 101:
            self.conn.close()
            raise WebSocketHandshakeError(
                "Expected 101 Switching Protocols from %s, got %s %s" % (self.url, self.status, self.reason),
                status=self.status, reason=self.reason, headers=self.headers)
        problems = []
        if self.headers.get("upgrade", "").lower() != "websocket":
            problems.append('Upgrade header is %r, not "websocket"' % self.headers.get("upgrade"))
        connection_tokens = [t.strip().lower() for t in self.headers.get("connection", "").split(",")]
        if "upgrade" not in connection_tokens:
            problems.append('Connection header is %r, without "upgrade"' % self.headers.get("connection"))
        expected = accept_for_key(self.key)
        got = self.headers.get("sec-websocket-accept")
        if got != expected:
            problems.append("Sec-WebSocket-Accept is %r, expected %r" % (got, expected))
        if problems:
            self.conn.close()
            raise WebSocketHandshakeError("Invalid handshake response from %s: %s" % (self.url, "; ".join(problems)),
                                          status=self.status, reason=self.reason, headers=self.headers)
        return self

    # -- sending -----------------------------------------------------------------
    def send_frame(self, opcode, payload, fin=True):
        """Send one frame; a str payload is sent as UTF-8."""
        if self.closed:
            raise WebSocketError("Connection already closed")
        self.conn.sendall(encode_frame(opcode, payload, fin=fin))

    def ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def pong(self, payload=b""):
        self.send_frame(OP_PONG, payload)

    # -- receiving -----------------------------------------------------------------
    def recv_frame(self, deadline):
        head = self.conn.read_exact(2, deadline)
        if head is None:
            raise WebSocketError("Connection closed by %s without a close frame" % self.url)
        b1, b2 = struct.unpack("!BB", head)
        fin = bool(b1 & 0x80)
        rsv = (b1 >> 4) & 0x7
        opcode = b1 & 0x0F
        masked = bool(b2 & 0x80)
        n = b2 & 0x7F
        if n == 126:
            ext = self.conn.read_exact(2, deadline)
            if ext is None:
                raise WebSocketError("Connection closed inside a frame header")
            n = struct.unpack("!H", ext)[0]
        elif n == 127:
            ext = self.conn.read_exact(8, deadline)
            if ext is None:
                raise WebSocketError("Connection closed inside a frame header")
            n = struct.unpack("!Q", ext)[0]
        if n > MAX_MESSAGE_BYTES:
            raise WebSocketError("Frame of %d bytes exceeds the %d byte limit" % (n, MAX_MESSAGE_BYTES))
        if masked:
            raise WebSocketError("Server sent a masked frame (RFC 6455 5.1 forbids it)")
        if rsv:
            raise WebSocketError("Server set reserved bits %d without a negotiated extension" % rsv)
        if opcode >= 0x8 and (not fin or n > 125):
            raise WebSocketError("Invalid control frame (fragmented or longer than 125 bytes)")
        payload = self.conn.read_exact(n, deadline) if n else b""
        if payload is None:
            raise WebSocketError("Connection closed inside a frame payload")
        return Frame(fin, opcode, payload, rsv)

    def recv_message(self, timeout=None, return_pongs=False):
        """Return (opcode, payload) of the next data message.

        Pings are answered with pongs and recorded, pongs are recorded (and
        returned as (OP_PONG, payload) with return_pongs), and fragmented
        messages are reassembled. A close frame from the server is answered,
        and returned as (OP_CLOSE, payload).
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = Deadline(timeout)
        for dummy in range(100000):
            try:
                frame = self.recv_frame(deadline)
            except ProbeTimeout:
                raise ProbeTimeout("No WebSocket message from %s within %.1f s" % (self.url, timeout))
            if frame.opcode == OP_PING:
                self.pings_received.append(frame.payload)
                if not self.closed:
                    self.pong(frame.payload)
                continue
            if frame.opcode == OP_PONG:
                self.pongs_received.append(frame.payload)
                if return_pongs:
                    return OP_PONG, frame.payload
                continue
            if frame.opcode == OP_CLOSE:
                self._handle_close(frame.payload)
                return OP_CLOSE, frame.payload
            if frame.opcode == OP_CONT:
                if self._fragments is None:
                    raise WebSocketError("Continuation frame without a message to continue")
                self._fragments.append(frame.payload)
            elif frame.opcode in (OP_TEXT, OP_BINARY):
                if self._fragments is not None:
                    raise WebSocketError("New data frame while a fragmented message is unfinished")
                self._fragments = [frame.payload]
                self._fragment_opcode = frame.opcode
            else:
                raise WebSocketError("Unknown opcode 0x%x" % frame.opcode)
            if frame.fin:
                data = b"".join(self._fragments)
                opcode = self._fragment_opcode
                self._fragments = None
                self._fragment_opcode = None
                if opcode == OP_TEXT:
                    try:
                        return opcode, data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise WebSocketError("Text message is not valid UTF-8")
                return opcode, data
        raise WebSocketError("Too many frames without a complete message")  # pragma: no cover

    def ping_round_trip(self, timeout=None):
        """Send a ping and wait for its pong; return the round trip in seconds.

        Data messages that arrive meanwhile are dropped.
        """
        timeout = self.timeout if timeout is None else timeout
        payload = os.urandom(8)
        start = time.monotonic()
        self.ping(payload)
        deadline = start + timeout
        while payload not in self.pongs_received:
            try:
                opcode = self.recv_message(timeout=max(0.001, deadline - time.monotonic()), return_pongs=True)[0]
            except ProbeTimeout:
                raise ProbeTimeout("no pong within %.1f s" % timeout)
            if opcode == OP_CLOSE:
                raise WebSocketError("server closed the connection (code %s)" % self.close_code)
        return time.monotonic() - start

    def _record_close(self, payload):
        if len(payload) >= 2:
            self.close_code = struct.unpack("!H", payload[:2])[0]
            self.close_reason = payload[2:].decode("utf-8", "replace")
        else:
            self.close_code = 1005
            self.close_reason = ""

    def _handle_close(self, payload):
        self._record_close(payload)
        if not self.closed:
            # echo the close frame (RFC 6455 5.5.1)
            try:
                self.conn.sendall(encode_frame(OP_CLOSE, payload[:2]))
            except ProbeError:
                pass
            self.closed = True

    def close(self, code=1000, reason="", timeout=None):
        """Run the closing handshake. Returns the server's close code (or None)."""
        if self.conn.sock is None:
            return self.close_code
        try:
            if not self.closed:
                payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
                self.conn.sendall(encode_frame(OP_CLOSE, payload))
                self.closed = True
                deadline = Deadline(self.timeout if timeout is None else timeout)
                for dummy in range(1000):
                    frame = self.recv_frame(deadline)
                    if frame.opcode == OP_CLOSE:
                        self._record_close(frame.payload)
                        break
        except ProbeError:
            pass
        finally:
            self.conn.close()
        return self.close_code

    def abort(self):
        self.conn.close()
