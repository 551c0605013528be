# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SSE parser (text/event-stream framing) and the verdicts on a stream."""

from __future__ import annotations

import pytest

from ansible_collections.realtime.nginx.plugins.module_utils._sse import SSEParser, content_verdict, stream_verdict


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
    raw = 'data: héllo\r\n\r\ndata: x\rdata:y\r\rdata: z\n\n'.encode('utf-8')
    chunks = [raw[i:i + 1] for i in range(len(raw))]
    dummy, out = _feed_all(chunks)
    assert [e['data'] for kind, e in out] == ['héllo', 'x\ny', 'z']


def test_bom_and_empty_data_not_dispatched():
    dummy, out = _feed_all([b'\xef\xbb\xbfevent: x\n\ndata\n\n'])
    assert out == [('event', {'event': 'message', 'data': '', 'id': None})]


# -- stream_verdict: hand-made arrival times, in seconds since the request ----------

LIMITS = {'window': 5.0, 'first_event_timeout': 5.0, 'min_events': 1, 'max_event_gap': None,
          'burst_threshold': 0.05}


def _judge(times, ended_at=None, **limits):
    return stream_verdict(times, ended_at, **dict(LIMITS, **limits))


def test_events_spread_out_as_sent_pass():
    times = [0.004 + 0.2 * i for i in range(10)]
    assert _judge(times) == ([], False)
    assert _judge(times, ended_at=times[-1] + 0.2) == ([], False)


def test_events_released_together_with_the_end_are_one_burst():
    problems, buffered = _judge([2.0, 2.0005, 2.001], ended_at=2.002)
    assert buffered
    assert problems == ['all 3 events arrived in one burst at 2.000 s, when the stream ended, instead of as '
                        'they were sent']


@pytest.mark.parametrize('times, ended_at', [
    ([0.01, 0.011, 0.012], 0.013),  # a quick backend that sends everything at once, right at the start
    ([2.0, 2.0005, 2.001], None),   # still open: nothing says a buffer was flushed
    ([2.0, 2.0005, 2.001], 3.0),    # the end came long after the events
    ([2.0, 2.2, 2.4], 2.41),        # spread wider than burst_threshold
    ([2.0], 2.001),                 # one event is no burst
])
def test_not_a_burst(times, ended_at):
    assert _judge(times, ended_at) == ([], False)


def test_burst_threshold_widens_the_burst():
    # It also sets how far from the start a burst must lie: after more than 4 x 0.5 s.
    assert _judge([2.0, 2.2, 2.4], ended_at=2.41, burst_threshold=0.5) == ([], False)
    problems, buffered = _judge([3.0, 3.2, 3.4], ended_at=3.41, burst_threshold=0.5)
    assert buffered and 'one burst' in problems[0]


def test_no_event_while_the_stream_stays_open_is_buffering():
    assert _judge([], window=2.0, first_event_timeout=3.0) == (['no event arrived within 3.0 s'], True)


def test_stream_that_ends_without_events_is_not_buffering():
    assert _judge([], ended_at=0.5) == (['the stream ended after 0.500 s without a single event'], False)


def test_first_event_after_its_limit_is_buffering():
    problems, buffered = _judge([1.9, 1.95], ended_at=2.0, first_event_timeout=1.5, window=3.0)
    assert buffered
    assert problems == ['the first event arrived only after 1.900 s (limit 1.5 s)']


def test_events_after_the_window_are_buffering():
    problems, buffered = _judge([3.0, 3.2], window=2.0, first_event_timeout=4.0)
    assert buffered
    assert problems == ['events arrived only after the 2.0 s window (first at 3.000 s)']


def test_too_few_events_in_the_window():
    problems, buffered = _judge([0.1, 0.5, 2.5], window=1.0, first_event_timeout=1.0, min_events=3)
    assert not buffered
    assert problems == ['only 2 events arrived within the 1.0 s window, expected at least 3']


def test_too_few_events_is_not_repeated_when_buffering_explains_it():
    problems, buffered = _judge([2.0, 2.0005], ended_at=2.001, min_events=5)
    assert buffered and len(problems) == 1 and 'one burst' in problems[0]


def test_largest_gap_over_the_limit():
    problems, buffered = _judge([0.1, 0.2, 1.7], max_event_gap=1)
    assert not buffered
    assert problems == ['the largest gap between events was 1.500 s, more than 1.000 s']
    assert _judge([0.1, 0.2, 1.7], max_event_gap=2) == ([], False)


# -- content_verdict -----------------------------------------------------------------

def test_event_stream_headers_pass():
    assert content_verdict({'content-type': 'text/event-stream; charset=utf-8'}) == ([], False)
    assert content_verdict({'content-type': 'text/event-stream', 'content-encoding': 'identity'}) == ([], False)


def test_wrong_content_type():
    problems, compressed = content_verdict({'content-type': 'text/html'})
    assert problems == ["Content-Type is 'text/html', expected text/event-stream"] and not compressed
    assert content_verdict({})[0] == ['Content-Type is None, expected text/event-stream']


def test_compressed_stream():
    problems, compressed = content_verdict({'content-type': 'text/event-stream', 'content-encoding': 'gzip'})
    assert compressed
    assert len(problems) == 1 and 'Content-Encoding: gzip' in problems[0] and 'gzip off' in problems[0]
