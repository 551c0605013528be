"""Balanced upstreams with real traffic through the role's nginx.

Backends A (17101) and B (17102) answer with their names; counts are
bounded and the ratios generous, so only a wrong method or parameter fails.
"""

import asyncio
import collections
import json
import time

from realtime_testkit.hosts import http_get
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo

A, B = "17101", "17102"


def test_upstream_files_render_the_balancing(host):
    fewest = host.file("/etc/nginx/realtime_proxy/upstreams/fewest.conf").content_string
    assert "least_conn;" in fewest
    by_header = host.file("/etc/nginx/realtime_proxy/upstreams/by_header.conf").content_string
    assert "hash $http_x_user_id consistent;" in by_header
    weighted = host.file("/etc/nginx/realtime_proxy/upstreams/weighted.conf").content_string
    assert "server 127.0.0.1:17101 weight=4;" in weighted
    site = host.file("/etc/nginx/realtime_proxy/sites/balancing.conf").content_string
    assert "proxy_next_upstream error timeout;" in site and "proxy_next_upstream_tries 2;" in site


def test_every_upstream_has_a_shared_zone(host):
    for name, servers in (("fewest", 2), ("capped_alone", 1)):
        text = host.file("/etc/nginx/realtime_proxy/upstreams/%s.conf" % name).content_string
        assert "    zone realtime_proxy_upstream_%s %dk;\n" % (name, 32 + 2 * servers) in text, text


def test_least_conn_puts_new_streams_on_the_less_loaded_backend_whatever_worker_takes_them(open_stream, workers):
    # Four streams through one worker, which least_conn spreads two and two;
    # then the two on B end. A still holds two open streams, B none. The next
    # two streams, through the OTHER worker, both go to B: that worker sees
    # the first one's streams in the shared zone. Without it, it would see no
    # stream anywhere and spread them one and one.
    first_worker, other_worker = workers
    path = "/sse/fewest/stream?count=0&interval=0.5"
    first = [open_stream(path, first_worker) for unused in range(4)]
    assert collections.Counter(stream.backend for stream in first) == {A: 2, B: 2}, first
    for stream in first:
        if stream.backend == B:
            open_stream.close(stream)
    time.sleep(1.5)  # nginx notices the closed clients at their next event and drops their upstream connections
    later = [open_stream(path, other_worker) for unused in range(2)]
    assert [stream.backend for stream in later] == [B, B], later


def test_max_conns_holds_across_workers(open_stream, workers):
    # Six streams, three through each worker, on A (max_conns 2) and B: A
    # takes exactly two in all and B the other four. Per worker, A would take
    # two through each, four in all.
    streams = [open_stream("/sse/capped/stream?count=0&interval=0.5", workers[n % 2]) for n in range(6)]
    assert {stream.worker for stream in streams} == set(workers)
    assert collections.Counter(stream.backend for stream in streams) == {A: 2, B: 4}, streams


def test_when_every_server_is_at_max_conns_nginx_answers_502(open_stream, workers):
    # A alone, max_conns 2: four streams, two through each worker. Exactly two
    # reach A; nginx answers the others 502 ("no live upstreams").
    streams = [open_stream("/sse/capped-alone/stream?count=0&interval=0.5", workers[n % 2]) for n in range(4)]
    assert sorted((stream.status, stream.backend) for stream in streams) == [
        (200, A), (200, A), (502, None), (502, None)], streams


def test_least_conn_streams_arrive_unbuffered(base):
    result = asyncio.run(read_sse("http://%s/sse/fewest/events?count=5&interval=0.2" % base, count=5, timeout=10))
    assert_streamed(result, expected=5)


def test_ip_hash_keeps_a_client_address_on_one_backend(served_from):
    for source in ("127.0.0.1", "127.0.7.1"):
        seen = {served_from(source, "/by-address/x") for unused in range(10)}
        assert len(seen) == 1, (source, seen)
    # ip_hash keys on the first three octets: other /24s spread over both.
    spread = {served_from("127.0.%d.1" % third, "/by-address/x") for third in range(1, 17)}
    assert spread == {A, B}


def test_hash_on_a_header_keeps_a_user_on_one_backend(served_by):
    for user in ("alice", "bob"):
        seen = {served_by("/by-header/x", {"X-User-Id": user}) for unused in range(10)}
        assert len(seen) == 1, (user, seen)
    spread = {served_by("/by-header/x", {"X-User-Id": "user-%d" % n}) for n in range(16)}
    assert spread == {A, B}


def test_hash_on_a_cookie_keeps_a_session_on_one_backend(served_by):
    for session in ("s1", "s2"):
        seen = {served_by("/by-cookie/x", {"Cookie": "theme=dark; session_id=%s" % session}) for unused in range(10)}
        assert len(seen) == 1, (session, seen)
    spread = {served_by("/by-cookie/x", {"Cookie": "session_id=session-%d" % n}) for n in range(16)}
    assert spread == {A, B}


def test_weight_sends_more_requests_to_the_heavier_backend(served_by):
    counts = collections.Counter(served_by("/weighted/x") for unused in range(50))
    # weight 4 against 1: 40 and 10 with one worker; generous bounds.
    assert set(counts) == {A, B}, counts
    assert counts[A] >= 2.5 * counts[B], counts


def test_backup_gets_nothing_while_the_primary_serves(served_by):
    counts = collections.Counter(served_by("/with-backup/x") for unused in range(20))
    assert counts == {A: 20}, counts


def test_backup_takes_over_from_a_dead_primary(served_by):
    counts = collections.Counter(served_by("/backup-takes-over/x") for unused in range(10))
    assert counts == {B: 10}, counts


def test_down_server_gets_nothing(served_by):
    counts = collections.Counter(served_by("/one-down/x") for unused in range(20))
    assert counts == {B: 20}, counts


def test_unix_socket_backend_serves_http(served_by):
    assert served_by("/unix/x") == "unix"


def test_unix_socket_backend_streams_sse(base):
    result = asyncio.run(read_sse("http://%s/sse/unix/events?count=5&interval=0.2" % base, count=5, timeout=10))
    assert_streamed(result, expected=5)
    assert all(json.loads(event.data)["backend"].endswith("-unix") for event in result.events), result.events


def test_unix_socket_backend_echoes_websocket(base):
    result = asyncio.run(ws_echo("ws://%s/ws/unix/echo" % base, ["over a unix socket", b"\x00\x01\xff"]))
    assert result.status == 101, result
    assert result.echoes == ["over a unix socket", b"\x00\x01\xff"]


def test_next_upstream_survives_a_dead_server(base):
    answers = [http_get("http://%s/survives/x" % base, timeout=10) for unused in range(20)]
    assert [answer.status for answer in answers] == [200] * 20, [(a.status, a.error) for a in answers]


def test_without_next_upstream_the_dead_server_fails_requests(base):
    # The control: the same servers with next_upstream off. Round robin
    # sends every other request to the dead server, which now answers 502.
    statuses = collections.Counter(http_get("http://%s/fails/x" % base, timeout=10).status for unused in range(20))
    assert statuses[502] >= 5 and statuses[200] >= 5, statuses
