"""server_tokens off: no nginx version in the Server header or in nginx's own error pages."""

import asyncio
import re

from realtime_testkit.hosts import http_get
from realtime_testkit.ws import ws_echo


def test_server_header_has_no_version(base):
    answer = http_get("http://%s/api/info" % base, timeout=5)
    assert answer.status == 200, answer.error
    assert answer.headers.get("server") == "nginx", answer.headers.get("server")


def test_error_page_has_no_version(base):
    # nginx's own 403 page from the Origin allowlist.
    result = asyncio.run(ws_echo("ws://%s/ws/guarded/echo" % base, ["x"], origin="https://evil.example.test", timeout=5))
    assert result.status == 403
    assert result.headers.get("server") == "nginx", result.headers
    assert not re.search(rb"nginx/\d", result.body), result.body


def test_rendered_configuration_turns_tokens_off(host):
    assert "server_tokens off;" in host.check_output("nginx -T 2>/dev/null")
