# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""realtime_probe end to end: REAL nginx (from a temp config) in front of a REAL aiohttp backend.

Ports: free loopback ports the kernel chooses at run time (_free_port).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from ansible_collections.realtime.nginx.plugins.modules.realtime_probe import run_probe

NGINX = os.environ.get('REALTIME_NGINX_BINARY', '/usr/sbin/nginx')


def _free_port():
    """A loopback port nothing listens on now, chosen by the kernel (never one of the scenarios' fixed ports),
    so two checkouts can run these tests at once."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


NGINX_PORT, BACKEND_PORT, DEAD_PORT = _free_port(), _free_port(), _free_port()  # nothing listens on DEAD_PORT

pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason='needs the nginx binary at %s' % NGINX)
web = pytest.importorskip('aiohttp.web')

NGINX_CONF = """
worker_processes 1;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log off;
%(temp_paths)s    default_type application/octet-stream;

    map $http_upgrade $connection_upgrade {
        default "";
        "~*^websocket$" upgrade;
    }
    map $http_upgrade $upgrade_allowed {
        default "";
        "~*^websocket$" websocket;
    }
    map $http_origin $origin_denied {
        default 1;
        "http://good.example" 0;
    }
    upstream backend {
        server 127.0.0.1:%(backend)d;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:%(port)d;
        # the guide's SSE block
        location /good/sse/ {
            proxy_pass http://backend/sse/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_cache off;
            gzip off;
            proxy_read_timeout 3600s;
        }
        # nginx defaults: HTTP/1.0 upstream, buffering on
        location /bad/sse/ {
            proxy_pass http://127.0.0.1:%(backend)d/sse/;
        }
        # HTTP/1.1 and buffering on, but gzip of text/event-stream
        location /gzip/sse/ {
            proxy_pass http://backend/sse/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            gzip on;
            gzip_proxied any;
            gzip_min_length 1;
            gzip_types text/event-stream;
        }
        location /good/ws/ {
            proxy_pass http://backend/ws/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $upgrade_allowed;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 300s;
        }
        location /origin/ws/ {
            if ($origin_denied) {
                return 403;
            }
            proxy_pass http://backend/ws/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $upgrade_allowed;
            proxy_set_header Connection $connection_upgrade;
        }
        location = /nowhere {
            return 404;
        }
        # no Upgrade/Connection forwarding
        location /bad/ws/ {
            proxy_pass http://backend/ws/;
            proxy_http_version 1.1;
        }
        # the backend has no route there: its own 404
        location /missing/ws/ {
            proxy_pass http://backend/missing/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $upgrade_allowed;
            proxy_set_header Connection $connection_upgrade;
        }
        # nothing listens on the upstream's port: 502
        location /dead/ws/ {
            proxy_pass http://127.0.0.1:%(dead)d/ws/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $upgrade_allowed;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
"""


async def _sse(request):
    count = int(request.query.get('n', '10'))
    interval = float(request.query.get('interval', '0.2'))
    resp = web.StreamResponse(headers={'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'})
    await resp.prepare(request)
    for i in range(count):
        await resp.write(('id: %d\ndata: tick %d\n\n' % (i, i)).encode())
        await asyncio.sleep(interval)
    await resp.write_eof()
    return resp


async def _ws(request):
    ws = web.WebSocketResponse(max_msg_size=2 ** 22)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == web.WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == web.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def _wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope='module')
def backend():
    loop = asyncio.new_event_loop()
    state = {}
    ready = threading.Event()

    async def start():
        app = web.Application()
        app.router.add_get('/sse/{tail:.*}', _sse)
        app.router.add_get('/ws/{tail:.*}', _ws)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, '127.0.0.1', BACKEND_PORT).start()
        state['runner'] = runner
        ready.set()

    def run():
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), 'backend did not start'
    yield 'http://127.0.0.1:%d' % BACKEND_PORT
    fut = asyncio.run_coroutine_threadsafe(state['runner'].cleanup(), loop)
    fut.result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(scope='module')
def nginx(backend, private_temp_paths):
    tmp = tempfile.mkdtemp(prefix='realtime-probe-nginx-')
    conf = os.path.join(tmp, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(NGINX_CONF % {'tmp': tmp, 'port': NGINX_PORT, 'backend': BACKEND_PORT, 'dead': DEAD_PORT, 'temp_paths': private_temp_paths(tmp)})
    cmd = [NGINX, '-p', tmp, '-c', conf, '-g', 'daemon off; master_process on; pid %s/nginx.pid;' % tmp]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not _wait_port(NGINX_PORT):
            proc.kill()
            out = proc.communicate(timeout=5)[0]
            pytest.fail('nginx did not start: %s' % out.decode('utf-8', 'replace'))
        yield 'http://127.0.0.1:%d' % NGINX_PORT
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


def test_direct_backend_sse_passes(backend):
    result = run_probe({'url': backend + '/sse/clock', 'window': 3, 'min_events': 5})
    assert not result['failed'], result['msg']
    assert result['events'] == 10


def test_good_sse_location_passes(nginx):
    result = run_probe({'url': nginx + '/good/sse/clock', 'window': 3, 'min_events': 5})
    assert not result['failed'], result['msg']
    assert result['status'] == 200
    assert result['headers']['content-type'].startswith('text/event-stream')
    assert result['events'] == 10
    assert result['timings']['first_event'] < 1.0
    assert result['gaps']['min'] > 0.1  # events came one by one, 200 ms apart


def test_buffering_sse_location_fails(nginx):
    result = run_probe({'url': nginx + '/bad/sse/clock', 'window': 3, 'first_event_timeout': 1.5})
    assert result['failed']
    assert 'Buffering is the likely cause' in result['msg']
    assert result['timings']['first_event'] >= 1.5  # everything arrived at the end (~2 s)


def test_buffering_detected_as_burst_when_limits_are_loose(nginx):
    result = run_probe({'url': nginx + '/bad/sse/clock', 'window': 4, 'first_event_timeout': 4})
    assert result['failed'], result
    assert 'one burst' in result['msg'] and 'Buffering is the likely cause' in result['msg']


def test_gzip_sse_location_fails(nginx):
    result = run_probe({'url': nginx + '/gzip/sse/clock?n=5', 'window': 2, 'first_event_timeout': 1.5})
    assert result['failed']
    assert 'Content-Encoding: gzip' in result['msg']
    assert 'Buffering is the likely cause' in result['msg']


def test_sse_status_check(nginx):
    result = run_probe({'url': nginx + '/nowhere', 'mode': 'sse', 'timeout': 5})
    assert result['failed'] and 'status 404' in result['msg']
    result = run_probe({'url': nginx + '/nowhere', 'mode': 'sse', 'status_code': 404})
    assert not result['failed']


def test_good_websocket_location_passes(nginx):
    url = nginx.replace('http://', 'ws://') + '/good/ws/echo'
    result = run_probe({'url': url, 'messages': 3, 'binary_size': 70 * 1024})
    assert not result['failed'], result['msg']
    assert result['status'] == 101 and result['accept_valid']
    assert result['rtt']['count'] == 6
    assert result['close_code'] == 1000


def test_websocket_ping_without_echo_passes(nginx):
    url = nginx.replace('http://', 'ws://') + '/good/ws/echo'
    result = run_probe({'url': url, 'expect_echo': False, 'timeout': 3})
    assert not result['failed'], result['msg']
    assert result['rtt']['count'] == 1 and result['close_code'] == 1000


def test_websocket_location_without_upgrade_fails(nginx):
    url = nginx.replace('http://', 'ws://') + '/bad/ws/echo'
    result = run_probe({'url': url})
    assert result['failed']
    assert 'upgrade check' in result['msg'] and 'expected 101' in result['msg'].lower()
    assert result['status'] != 101


def test_websocket_refusal_says_the_upgrade_may_be_dropped_only_when_it_may(nginx):
    ws = nginx.replace('http://', 'ws://')
    # the backend saw a plain GET: it answers 400, which a proxy dropping Upgrade causes
    result = run_probe({'url': ws + '/bad/ws/echo'})
    assert result['failed'] and result['status'] == 400
    assert '400 Bad Request means the backend (or the proxy) rejected the handshake' in result['msg']
    assert 'may not forward the upgrade' in result['msg']
    # the upgrade was forwarded, but the backend has no such route: its 404 is named, without the hint
    result = run_probe({'url': ws + '/missing/ws/echo'})
    assert result['failed'] and result['status'] == 404
    assert '404 Not Found means nothing answers this path' in result['msg']
    assert 'proxy_http_version' not in result['msg']
    # nothing listens behind the location: nginx's 502 is named as an unreachable upstream
    result = run_probe({'url': ws + '/dead/ws/echo'})
    assert result['failed'] and result['status'] == 502
    assert '502 Bad Gateway means the proxy could not reach the upstream' in result['msg']
    assert 'proxy_http_version' not in result['msg']


def test_websocket_h2c_token_not_upgraded(nginx):
    # the allowlist map drops any token but websocket, so the request is not upgraded
    url = nginx + '/good/ws/echo'
    result = run_probe({'url': url, 'mode': 'websocket', 'headers': {'Upgrade': 'h2c'}})
    assert result['failed'] and result['status'] != 101


def test_websocket_origin_allowlist(nginx):
    url = nginx.replace('http://', 'ws://') + '/origin/ws/echo'
    result = run_probe({'url': url, 'origin': 'https://evil.example', 'status_code': 403})
    assert not result['failed'], result['msg']
    assert result['status'] == 403
    # a foreign origin that is NOT refused must fail when 403 is expected
    result = run_probe({'url': url, 'origin': 'http://good.example', 'status_code': 403})
    assert result['failed'] and 'expected status 403' in result['msg']
    result = run_probe({'url': url, 'origin': 'http://good.example', 'messages': 1})
    assert not result['failed'], result['msg']


def test_unreachable_port_fails_cleanly():
    result = run_probe({'url': 'ws://127.0.0.1:18999/ws', 'timeout': 2})
    assert result['failed'] and 'Cannot connect' in result['msg']
