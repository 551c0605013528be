# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal HTTP/1.1 plumbing shared by the SSE reader and the WebSocket client.

Private to this collection: standard library only, because it runs on the
managed host. Every read is bounded by a deadline.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 65536


class ProbeError(Exception):
    """A failure that the probe reports as a readable message."""


class ProbeTimeout(ProbeError):
    """A deadline ran out."""


def make_ssl_context(validate_certs=True, ca_path=None):
    """Return an SSLContext for https/wss URLs."""
    if validate_certs:
        if ca_path and os.path.isdir(ca_path):
            ctx = ssl.create_default_context(capath=ca_path)
        elif ca_path:
            ctx = ssl.create_default_context(cafile=ca_path)
        else:
            ctx = ssl.create_default_context()
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    # HTTP/1.1 only: WebSocket over HTTP/2 is not supported by nginx.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def split_url(url, secure_schemes=("https", "wss"), plain_schemes=("http", "ws")):
    """Return (secure, host, port, request_target, host_header)."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    if scheme in secure_schemes:
        secure = True
        default_port = 443
    elif scheme in plain_schemes:
        secure = False
        default_port = 80
    else:
        raise ProbeError("Unsupported URL scheme %r in %s (expected one of %s)"
                         % (scheme, url, ", ".join(tuple(plain_schemes) + tuple(secure_schemes))))
    host = parts.hostname
    if not host:
        raise ProbeError("No host in URL %s" % url)
    port = parts.port or default_port
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    host_header = host if ":" not in host else "[%s]" % host
    if port != default_port:
        host_header = "%s:%d" % (host_header, port)
    return secure, host, port, target, host_header


class Deadline:
    """A point in time after which reads fail."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return self.end - time.monotonic()

    def expired(self):
        return self.remaining() <= 0


class Connection:
    """A socket with a read buffer and deadline-bounded reads."""

    def __init__(self, url, timeout, secure_schemes, plain_schemes, validate_certs=True, ca_path=None):
        self.url = url
        self.timeout = float(timeout)
        (self.secure, self.host, self.port, self.target,
         self.host_header) = split_url(url, secure_schemes, plain_schemes)
        self.ssl_context = make_ssl_context(validate_certs, ca_path) if self.secure else None
        self.sock = None
        self.buf = b""
        self.eof = False
        self.connect_time = None

    def connect(self):
        start = time.monotonic()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise ProbeTimeout("Timed out connecting to %s:%s after %.1f s" % (self.host, self.port, self.timeout))
        except OSError as e:
            raise ProbeError("Cannot connect to %s:%s: %s" % (self.host, self.port, e))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connect_time = time.monotonic() - start
        if self.secure:
            try:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
            except ssl.SSLError as e:
                sock.close()
                raise ProbeError("TLS handshake with %s:%s failed: %s" % (self.host, self.port, e))
            except TimeoutError:
                sock.close()
                raise ProbeTimeout("Timed out during the TLS handshake with %s:%s" % (self.host, self.port))
        self.sock = sock
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def sendall(self, data):
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(data)
        except TimeoutError:
            raise ProbeTimeout("Timed out sending to %s:%s" % (self.host, self.port))
        except OSError as e:
            raise ProbeError("Sending to %s:%s failed: %s" % (self.host, self.port, e))

    def _fill(self, deadline):
        """Read more bytes into the buffer. Returns False at EOF."""
        if self.eof:
            return False
        remaining = deadline.remaining()
        if remaining <= 0:
            raise ProbeTimeout("deadline reached")
        self.sock.settimeout(max(remaining, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise ProbeTimeout("deadline reached")
        except ssl.SSLWantReadError:  # pragma: no cover
            return True
        except OSError as e:
            raise ProbeError("Reading from %s:%s failed: %s" % (self.host, self.port, e))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_until(self, sep, deadline, limit=MAX_HEADER_BYTES):
        """Return bytes up to and including sep, or None at EOF."""
        while True:
            idx = self.buf.find(sep)
            if idx >= 0:
                out = self.buf[:idx + len(sep)]
                self.buf = self.buf[idx + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ProbeError("Line longer than %d bytes from %s:%s" % (limit, self.host, self.port))
            if not self._fill(deadline):
                return None

    def read_exact(self, n, deadline):
        """Return exactly n bytes, or None at EOF."""
        while len(self.buf) < n:
            if not self._fill(deadline):
                return None
        out = self.buf[:n]
        self.buf = self.buf[n:]
        return out

    def read_some(self, deadline, limit=None):
        """Return what is buffered or else the next chunk, at most limit bytes; b"" at EOF."""
        if not self.buf and not self._fill(deadline):
            return b""
        n = len(self.buf) if limit is None else limit
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def build_request(method, target, host_header, headers):
    """Serialize a request head. headers is a list of (name, value) pairs."""
    lines = ["%s %s HTTP/1.1" % (method, target)]
    if "host" not in {name.lower() for name, dummy in headers}:
        lines.append("Host: %s" % host_header)
    for name, value in headers:
        if "\r" in str(name) or "\n" in str(name) or "\r" in str(value) or "\n" in str(value):
            raise ProbeError("Header %r contains a line break" % name)
        lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response_head(conn, deadline):
    """Read a status line and headers.

    Returns (status, reason, headers) where headers is a dict of lower-cased
    names to values (repeated headers joined with ", ").
    """
    try:
        head = conn.read_until(b"\r\n\r\n", deadline)
    except ProbeTimeout:
        raise ProbeTimeout("No response head from %s within the timeout" % conn.url)
    if head is None:
        raise ProbeError("Connection to %s closed before a complete response head arrived" % conn.url)
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ProbeError("Malformed status line from %s: %r" % (conn.url, status_line))
    try:
        status = int(parts[1])
    except ValueError:
        raise ProbeError("Malformed status line from %s: %r" % (conn.url, status_line))
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        name = name.strip().lower()
        value = value.strip()
        headers[name] = headers[name] + ", " + value if name in headers else value
    return status, reason, headers


class Exchange:
    """One GET request on a connection of its own, and the response head.

    The part the SSE reader and the WebSocket client share. Subclasses name
    the URL schemes they accept in SCHEMES, as (secure, plain).
    """

    SCHEMES = (("https",), ("http",))

    def __init__(self, url, headers=None, timeout=10.0, validate_certs=True, ca_path=None):
        self.url = url
        self.timeout = float(timeout)
        self.extra_headers = list((headers or {}).items())
        self.conn = Connection(url, timeout, self.SCHEMES[0], self.SCHEMES[1],
                               validate_certs=validate_certs, ca_path=ca_path)
        self.status = None
        self.reason = None
        self.headers = {}
        self.started = None
        self.connect_time = None
        self.response_time = None

    def request(self, headers):
        """Connect, send a GET and read the response head.

        headers: the request's own (name, value) pairs; an extra header of the
        same name, given by the user, replaces one of them.
        """
        self.started = time.monotonic()
        self.conn.connect()
        self.connect_time = self.conn.connect_time
        overridden = {name.lower() for name, dummy in self.extra_headers}
        headers = [(n, v) for n, v in headers if n.lower() not in overridden] + self.extra_headers
        self.conn.sendall(build_request("GET", self.conn.target, self.conn.host_header, headers))
        self.status, self.reason, self.headers = read_response_head(self.conn, Deadline(self.timeout))
        self.response_time = time.monotonic() - self.started


class BodyReader:
    """Decodes a response body (chunked, Content-Length or until close) incrementally."""

    def __init__(self, conn, headers):
        self.conn = conn
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.length = None
        if not self.chunked and "content-length" in headers:
            try:
                self.length = int(headers["content-length"])
            except ValueError:
                self.length = None
        self.chunk_left = 0
        self.done = False

    def read(self, deadline):
        """Return the next piece of body data, b"" when the body is complete."""
        if self.done:
            return b""
        if self.chunked:
            return self._read_chunked(deadline)
        if self.length is None:
            return self._read_part(deadline)
        if self.length <= 0:
            self.done = True
            return b""
        data = self._read_part(deadline, self.length)
        self.length -= len(data)
        return data

    def _read_part(self, deadline, limit=None):
        data = self.conn.read_some(deadline, limit)
        if not data:
            self.done = True
        return data

    def _read_chunked(self, deadline):
        if self.chunk_left == 0:
            line = self.conn.read_until(b"\r\n", deadline)
            if line == b"\r\n":
                # the CRLF that ends the previous chunk's data
                line = self.conn.read_until(b"\r\n", deadline)
            if line is None:
                self.done = True
                return b""
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProbeError("Malformed chunk size %r" % size_text)
            if size == 0:
                # trailers up to the empty line
                for dummy in range(100):
                    trailer = self.conn.read_until(b"\r\n", deadline)
                    if trailer is None or trailer == b"\r\n":
                        break
                self.done = True
                return b""
            self.chunk_left = size
        data = self._read_part(deadline, self.chunk_left)
        self.chunk_left -= len(data)
        return data
