# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""URL splitting, request heads and response bodies, over a local socket pair."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.realtime.nginx.plugins.module_utils._http import (
    BodyReader,
    Connection,
    Deadline,
    ProbeError,
    build_request,
    read_response_head,
    split_url,
)


@pytest.fixture
def wire():
    """(connection, peer): a Connection whose socket is one end of a pair, and the other end."""
    ours, peer = socket.socketpair()
    conn = Connection('http://127.0.0.1/', 2, ('https',), ('http',))
    conn.sock = ours
    yield conn, peer
    conn.close()
    peer.close()


def _body(conn, headers):
    reader = BodyReader(conn, headers)
    pieces = []
    for dummy in range(100):
        piece = reader.read(Deadline(2))
        if not piece:
            return pieces
        pieces.append(piece)
    raise AssertionError('the body did not end')


def test_split_url():
    assert split_url('wss://example.com/ws/echo?x=1') == (True, 'example.com', 443, '/ws/echo?x=1', 'example.com')
    assert split_url('http://[::1]:8080') == (False, '::1', 8080, '/', '[::1]:8080')
    with pytest.raises(ProbeError, match='Unsupported URL scheme'):
        split_url('ftp://example.com/', ('https',), ('http',))


def test_build_request_adds_host_and_refuses_line_breaks():
    assert build_request('GET', '/', 'h:81', [('Accept', '*/*')]) == b'GET / HTTP/1.1\r\nHost: h:81\r\nAccept: */*\r\n\r\n'
    assert b'Host: h:81' not in build_request('GET', '/', 'h:81', [('host', 'other')])
    with pytest.raises(ProbeError, match='line break'):
        build_request('GET', '/', 'h', [('X-Bad', 'a\r\nInjected: 1')])


def test_response_head_then_content_length_body(wire):
    conn, peer = wire
    peer.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloEXTRA')
    status, reason, headers = read_response_head(conn, Deadline(2))
    assert (status, reason, headers) == (200, 'OK', {'content-length': '5', 'x-a': '1, 2'})
    assert b''.join(_body(conn, headers)) == b'hello'
    assert conn.buf == b'EXTRA'  # what follows the body stays for the next reader


def test_chunked_body_with_extensions_and_trailers(wire):
    conn, peer = wire
    peer.sendall(b'4;ext=1\r\ndata\r\n6\r\n: more\r\n0\r\nTrailer: x\r\n\r\nNEXT')
    assert b''.join(_body(conn, {'transfer-encoding': 'chunked'})) == b'data: more'
    assert conn.buf == b'NEXT'


def test_body_until_close(wire):
    conn, peer = wire
    peer.sendall(b'all of it')
    peer.shutdown(socket.SHUT_WR)
    assert b''.join(_body(conn, {})) == b'all of it'


def test_malformed_status_line(wire):
    conn, peer = wire
    peer.sendall(b'SSH-2.0-OpenSSH\r\n\r\n')
    with pytest.raises(ProbeError, match='Malformed status line'):
        read_response_head(conn, Deadline(2))
