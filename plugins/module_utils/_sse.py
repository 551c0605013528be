# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A minimal Server-Sent Events reader (standard library only).

Private to this collection. It records the arrival time of every event, so
the caller can tell a stream that is delivered promptly from one that nginx
buffered and released in one burst.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import codecs
import time
import zlib

from ansible_collections.realtime.nginx.plugins.module_utils._http import (
    BodyReader,
    Connection,
    Deadline,
    ProbeTimeout,
    build_request,
    read_response_head,
)


class SSEParser(object):
    """Incremental parser for the text/event-stream format (HTML Living Standard 9.2.6)."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder('utf-8')('replace')
        self._pending = ''
        self._first = True
        self._data = []
        self._event = ''
        self._id = None
        self.last_event_id = None
        self.retry = None

    def feed(self, chunk):
        """Feed bytes; return a list of ('event', dict) and ('comment', text) items."""
        text = self._decoder.decode(chunk)
        if self._first and text:
            if text.startswith(u'\ufeff'):
                text = text[1:]
            self._first = False
        self._pending += text
        out = []
        while True:
            idx_n = self._pending.find('\n')
            idx_r = self._pending.find('\r')
            if idx_n < 0 and idx_r < 0:
                break
            if idx_r >= 0 and (idx_n < 0 or idx_r < idx_n):
                if idx_r == len(self._pending) - 1:
                    # a CR at the end may be the first half of CRLF: wait for more
                    break
                line = self._pending[:idx_r]
                skip = 2 if self._pending[idx_r + 1] == '\n' else 1
                self._pending = self._pending[idx_r + skip:]
            else:
                line = self._pending[:idx_n]
                self._pending = self._pending[idx_n + 1:]
            item = self._line(line)
            if item is not None:
                out.append(item)
        return out

    def _line(self, line):
        if line == '':
            if not self._data:
                self._event = ''
                return None
            event = {
                'event': self._event or 'message',
                'data': '\n'.join(self._data),
                'id': self._id,
            }
            self._data = []
            self._event = ''
            return ('event', event)
        if line.startswith(':'):
            return ('comment', line[1:].lstrip(' '))
        if ':' in line:
            field, value = line.split(':', 1)
            if value.startswith(' '):
                value = value[1:]
        else:
            field, value = line, ''
        if field == 'data':
            self._data.append(value)
        elif field == 'event':
            self._event = value
        elif field == 'id':
            if '\0' not in value:
                self._id = value
                self.last_event_id = value
        elif field == 'retry':
            if value.isdigit():
                self.retry = int(value)
        return None


class SSEClient(object):
    """Open an event stream and read it with arrival timestamps."""

    def __init__(self, url, headers=None, timeout=10.0, validate_certs=True, ca_path=None,
                 ssl_context=None, last_event_id=None):
        self.url = url
        self.timeout = float(timeout)
        self.extra_headers = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
        self.last_event_id = last_event_id
        self.conn = Connection(url, timeout=timeout, ssl_context=ssl_context, secure_schemes=('https',),
                               plain_schemes=('http',), validate_certs=validate_certs, ca_path=ca_path)
        self.parser = SSEParser()
        self.status = None
        self.reason = None
        self.http_version = None
        self.headers = {}
        self.started = None
        self.connect_time = None
        self.response_time = None
        self.body = None
        self.eof = False
        self.eof_at = None
        self.bytes_read = 0
        self._decompressor = None

    def open(self):
        """Connect, send the request and read the response head."""
        self.started = time.monotonic()
        self.conn.connect()
        self.connect_time = self.conn.connect_time
        headers = [('Accept', 'text/event-stream'), ('Cache-Control', 'no-cache'),
                   ('Accept-Encoding', 'gzip, deflate, br')]
        if self.last_event_id is not None:
            headers.append(('Last-Event-ID', str(self.last_event_id)))
        overridden = set(name.lower() for name, dummy in self.extra_headers)
        headers = [(n, v) for n, v in headers if n.lower() not in overridden] + self.extra_headers
        self.conn.sendall(build_request('GET', self.conn.target, self.conn.host_header, headers))
        self.status, self.reason, self.http_version, self.headers = read_response_head(self.conn, Deadline(self.timeout))
        self.response_time = time.monotonic() - self.started
        self.body = BodyReader(self.conn, self.headers)
        encoding = self.headers.get('content-encoding', '').strip().lower()
        if encoding in ('gzip', 'x-gzip'):
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == 'deflate':
            self._decompressor = zlib.decompressobj()
        return self

    def read_items(self, until, max_events=None):
        """Read until the monotonic time `until`, EOF or max_events events.

        Returns a list of (seconds_since_request, kind, value) where kind is
        'event' (value a dict) or 'comment' (value the comment text).
        """
        items = []
        events = 0
        for dummy in range(1000000):
            if self.eof:
                break
            if max_events is not None and events >= max_events:
                break
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
            self.bytes_read += len(data)
            if self._decompressor is not None:
                try:
                    data = self._decompressor.decompress(data)
                except zlib.error:
                    data = b''
            for kind, value in self.parser.feed(data):
                items.append((now - self.started, kind, value))
                if kind == 'event':
                    events += 1
        return items

    def close(self):
        self.conn.close()
