"""Real traffic through the realtime_proxy role's nginx on each test host.

The hosts share the machine's network, so every request goes to a loopback
port that belongs to one host (see molecule.yml).
"""

import asyncio
import json
import urllib.request

from realtime_testkit.fixtures import base, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo


def test_nginx_config_is_valid(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr


def test_nginx_is_enabled_and_running(host):
    service = host.service("nginx")
    assert service.is_running
    assert service.is_enabled


def test_sse_events_arrive_unbuffered(base):
    result = asyncio.run(read_sse("http://%s/sse/stream?count=10&interval=0.2" % base, count=10, timeout=10))
    assert result.status == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    # gzip is on for text/event-stream at http level in this scenario; the
    # sse location must turn it off for itself.
    assert "content-encoding" not in result.headers
    assert result.headers.get("x-accel-buffering") == "no"
    assert_streamed(result, expected=10)


def test_websocket_upgrades_and_echoes(base):
    result = asyncio.run(ws_echo("ws://%s/ws/echo" % base, ["hello", b"\x00\x01binary\xff"]))
    assert result.status == 101
    assert result.echoes == ["hello", b"\x00\x01binary\xff"]


def test_http_location_forwards_headers(base):
    request = urllib.request.Request("http://%s/api/info" % base, headers={"X-Forwarded-For": "203.0.113.7"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        seen = json.load(response)
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["host"] == base
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    # An empty Connection header keeps upstream keepalive possible.
    assert headers.get("connection", "").lower() != "close"


def test_map_sits_once_in_http_block(host):
    dump = host.run("nginx -T").stdout
    assert dump.count("map $http_upgrade $realtime_proxy_connection") == 1
    conf = host.file("/etc/nginx/nginx.conf").content_string
    http_block = conf[conf.index("http {"):]
    assert "include realtime_proxy/http.d/*.conf;" in http_block


def test_default_site_disabled(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_check_mode_changes_nothing_and_shows_the_diff(host):
    name = host.backend.get_hostname()
    variables = host.ansible.get_variables()
    sites = variables["realtime_proxy_sites"]
    changed = [dict(sites[0], locations=[dict(loc, read_timeout=1234) if loc["type"] == "sse" else loc
                                         for loc in sites[0]["locations"]])]
    before = config_checksums(host)
    run = run_role(name, {"realtime_proxy_sites": changed}, check=True, diff=True)
    assert run.rc == 0, run.messages[-3000:]
    assert "-        proxy_read_timeout 3600s;" in run.messages
    assert "+        proxy_read_timeout 1234s;" in run.messages
    assert config_checksums(host) == before
