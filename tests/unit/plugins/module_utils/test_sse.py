# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSE parser (text/event-stream framing)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.realtime.nginx.plugins.module_utils._sse import SSEParser


def _feed_all(chunks):
    parser = SSEParser()
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return parser, out


def test_events_comments_and_fields():
    parser, out = _feed_all([b': heartbeat\n\nid: 7\nevent: tick\ndata: a\ndata: b\nretry: 3000\n\n'])
    assert out == [('comment', 'heartbeat'), ('event', {'event': 'tick', 'data': 'a\nb', 'id': '7'})]
    assert parser.last_event_id == '7' and parser.retry == 3000


def test_split_across_chunks_and_line_endings():
    raw = u'data: héllo\r\n\r\ndata: x\rdata:y\r\rdata: z\n\n'.encode('utf-8')
    chunks = [raw[i:i + 1] for i in range(len(raw))]
    dummy, out = _feed_all(chunks)
    assert [e['data'] for kind, e in out] == [u'héllo', 'x\ny', 'z']


def test_bom_and_empty_data_not_dispatched():
    dummy, out = _feed_all([b'\xef\xbb\xbfevent: x\n\ndata\n\n'])
    assert out == [('event', {'event': 'message', 'data': '', 'id': None})]
