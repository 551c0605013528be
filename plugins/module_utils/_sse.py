# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal Server-Sent Events reader, and the verdict on what it read.

Private to this collection, standard library only. The reader records the
arrival time of every event; stream_verdict() tells from those times a stream
that is delivered promptly from one that nginx buffered and released in one
burst.
"""

from __future__ import annotations

import codecs
import time
import zlib

from ansible_collections.realtime.nginx.plugins.module_utils._http import (
    BodyReader,
    Deadline,
    Exchange,
    ProbeTimeout,
)


class SSEParser:
    """Incremental parser for the text/event-stream format (HTML Living Standard 9.2.6)."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._first = True
        self._data = []
        self._event = ""
        self._id = None
        self.last_event_id = None
        self.retry = None

    def feed(self, chunk):
        """Feed bytes; return a list of ("event", dict) and ("comment", text) items."""
        text = self._decoder.decode(chunk)
        if self._first and text:
            if text.startswith("\ufeff"):
                text = text[1:]
            self._first = False
        self._pending += text
        out = []
        while True:
            idx_n = self._pending.find("\n")
            idx_r = self._pending.find("\r")
            if idx_n < 0 and idx_r < 0:
                break
            if idx_r >= 0 and (idx_n < 0 or idx_r < idx_n):
                if idx_r == len(self._pending) - 1:
                    # a CR at the end may be the first half of CRLF: wait for more
                    break
                line = self._pending[:idx_r]
                skip = 2 if self._pending[idx_r + 1] == "\n" else 1
                self._pending = self._pending[idx_r + skip:]
            else:
                line = self._pending[:idx_n]
                self._pending = self._pending[idx_n + 1:]
            item = self._line(line)
            if item is not None:
                out.append(item)
        return out

    def _line(self, line):
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = {
                "event": self._event or "message",
                "data": "\n".join(self._data),
                "id": self._id,
            }
            self._data = []
            self._event = ""
            return ("event", event)
        if line.startswith(":"):
            return ("comment", line[1:].lstrip(" "))
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
                self.last_event_id = value
        elif field == "retry":
            if value.isdigit():
                self.retry = int(value)
        return None


class SSEClient(Exchange):
    """Open an event stream and read it with arrival timestamps."""

    def __init__(self, url, **options):
        super().__init__(url, **options)
        self.parser = SSEParser()
        self.body = None
        self.eof = False
        self.eof_at = None
        self._decompressor = None

    def open(self):
        """Connect, send the request and read the response head."""
        self.request([("Accept", "text/event-stream"), ("Cache-Control", "no-cache"),
                      ("Accept-Encoding", "gzip, deflate, br")])
        self.body = BodyReader(self.conn, self.headers)
        encoding = self.headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decompressor = zlib.decompressobj()
        return self

    def read_items(self, until, max_events=None):
        """Read until the monotonic time `until`, EOF or max_events events.

        Returns a list of (seconds_since_request, kind, value) where kind is
        "event" (value a dict) or "comment" (value the comment text).
        """
        items = []
        events = 0
        while not self.eof and (max_events is None or events < max_events):
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            try:
                data = self.body.read(Deadline(remaining))
            except ProbeTimeout:
                break
            now = time.monotonic()
            if not data:
                self.eof = True
                self.eof_at = now - self.started
                break
            if self._decompressor is not None:
                try:
                    data = self._decompressor.decompress(data)
                except zlib.error:
                    data = b""
            for kind, value in self.parser.feed(data):
                items.append((now - self.started, kind, value))
                if kind == "event":
                    events += 1
        return items

    def close(self):
        self.conn.close()


def content_verdict(headers):
    """Judge a stream's response headers (names in lower case).

    Returns (problems, compressed): readable problems, and whether the body is
    compressed, which holds events back as a buffer does.
    """
    problems = []
    ctype = headers.get("content-type", "")
    if ctype.split(";", 1)[0].strip().lower() != "text/event-stream":
        problems.append("Content-Type is %r, expected text/event-stream" % (ctype or None))
    encoding = headers.get("content-encoding", "").strip().lower()
    compressed = bool(encoding) and encoding != "identity"
    if compressed:
        problems.append("the stream is compressed (Content-Encoding: %s): gzip holds events back until its "
                        "buffer fills. Set \"gzip off\" in the location or remove text/event-stream from "
                        "gzip_types" % encoding)
    return problems, compressed


def stream_verdict(times, ended_at, *, window, first_event_timeout, min_events, max_event_gap, burst_threshold):
    """Judge when a stream's events arrived: spread out as sent, or held back by a buffer.

    times: the arrival time of each event in order, in seconds since the request.
    ended_at: when the server ended the stream, or None if it was still open when
    reading stopped (after max(window, first_event_timeout) seconds).
    The other arguments are the realtime_probe options of the same names.

    Returns (problems, buffered): readable problems, and whether buffering is
    their likely cause.
    """
    problems = []
    buffered = False
    if not times:
        if ended_at is not None:
            problems.append("the stream ended after %.3f s without a single event" % ended_at)
        else:
            buffered = True
            problems.append("no event arrived within %.1f s" % max(window, first_event_timeout))
        return problems, buffered
    first = times[0]
    if first > first_event_timeout:
        buffered = True
        problems.append("the first event arrived only after %.3f s (limit %.1f s)" % (first, first_event_timeout))
    elif first > window:
        buffered = True
        problems.append("events arrived only after the %.1f s window (first at %.3f s)" % (window, first))
    elif (len(times) >= 2 and times[-1] - first <= burst_threshold and ended_at is not None
          and ended_at - times[-1] <= max(burst_threshold, 0.05)
          and first > max(4 * burst_threshold, 0.2)):
        # All at once, together with the end of the stream and not right at the
        # start: a buffer that was released when the stream ended.
        buffered = True
        problems.append("all %d events arrived in one burst at %.3f s, when the stream ended, instead "
                        "of as they were sent" % (len(times), first))
    in_window = len([t for t in times if t <= window])
    if in_window < min_events and not buffered:
        problems.append("only %d events arrived within the %.1f s window, expected at least %d"
                        % (in_window, window, min_events))
    gaps = [b - a for a, b in zip(times, times[1:])]
    if max_event_gap is not None and gaps and max(gaps) > max_event_gap:
        problems.append("the largest gap between events was %.3f s, more than %.3f s"
                        % (max(gaps), float(max_event_gap)))
    return problems, buffered
