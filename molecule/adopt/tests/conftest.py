"""Fixtures of the adopt scenario: two nginx servers the role does not own.

rtn-adopt-stock runs Debian's stock nginx.conf, rtn-adopt-custom its user's
own; both serve the field guide's server block as their user wrote it
(prepare.yml), on 127.0.0.1:17810 and 127.0.0.1:17820, with backends on
17801 and 17802. prepare.yml kept a copy of each /etc/nginx before the role's
first run in /root/nginx-before-role. The tests act as the user does: they
edit the server to include the role's snippets, and reload nginx themselves.
"""

import asyncio
import base64
import time

import pytest
from realtime_testkit.fixtures import address_fixture, inventory_host_fixture, variables_fixture
from realtime_testkit.guide import server_block, with_includes
from realtime_testkit.hosts import nginx_processes
from realtime_testkit.playbook import config_checksums
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.ws import ws_echo

CONF_DIR = "/etc/nginx"
BEFORE_ROLE = "/root/nginx-before-role"
# What the role writes into an nginx it does not own, for the scenario's two snippets.
ROLE_FILES = ("/etc/nginx/conf.d/realtime_proxy.conf", "/etc/nginx/realtime_proxy/snippets/sse.conf",
              "/etc/nginx/realtime_proxy/snippets/ws.conf")
INCLUDES = {"/sse/": "realtime_proxy/snippets/sse.conf", "/ws/": "realtime_proxy/snippets/ws.conf"}
DROPIN = "/etc/systemd/system/nginx.service.d/realtime_proxy.conf"
DEAD_PORT = 17899  # nothing listens here

stock = inventory_host_fixture("rtn-adopt-stock")
custom = inventory_host_fixture("rtn-adopt-custom")
stock_vars = variables_fixture("stock")
custom_vars = variables_fixture("custom")
stock_server = address_fixture("realtime_test_proxy_port", of="stock_vars", scope="session",
                               doc="The user's own server on rtn-adopt-stock.")
custom_server = address_fixture("realtime_test_proxy_port", of="custom_vars", scope="session",
                                doc="The user's own server on rtn-adopt-custom.")


def owned(path):
    return path == ROLE_FILES[0] or path.startswith(CONF_DIR + "/realtime_proxy/")


def user_files(host, conf_dir=CONF_DIR):
    """sha256 (or link target) of every file of the user's under CONF_DIR, keyed by its path under /etc/nginx."""
    return {CONF_DIR + path[len(conf_dir):]: value for path, value in config_checksums(host, conf_dir).items()
            if not owned(CONF_DIR + path[len(conf_dir):])}


def changed(before, after):
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def write_file(host, path, text):
    """Write TEXT to PATH on HOST, as the user's editor does."""
    encoded = base64.b64encode(text.encode()).decode()
    host.check_output("printf %%s %s | base64 -d > %s" % (encoded, path))


def reload_nginx(host):
    """What the user does after an edit: nginx -t, a reload, and (for the tests) wait for the new workers."""
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    unused, old = nginx_processes(host)
    host.check_output("systemctl reload nginx")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        unused, workers = nginx_processes(host)
        if workers and not workers & old:
            return
        time.sleep(0.2)
    raise AssertionError("nginx started no new workers within 20 s of the reload")


def the_users_server(variables, includes=None):
    """The guide's server block as the user keeps it on this host, with the locations INCLUDES names
    ({path: snippet file}) serving a snippet of the role instead of their own directives."""
    text = server_block("127.0.0.1:%d" % variables["realtime_test_proxy_port"],
                        "127.0.0.1:%d" % variables["realtime_test_backend_ports"][0])
    return with_includes(text, includes or {})


def include_the_snippets(host, variables):
    """The user edits the server: /sse/ and /ws/ include the role's snippets instead of their own directives."""
    write_file(host, variables["realtime_test_user_server"], the_users_server(variables, INCLUDES))
    reload_nginx(host)
    return host


def assert_streams_through(address):
    """SSE unbuffered and a WebSocket echo through the user's server at ADDRESS; the SSE result."""
    sse = asyncio.run(read_sse("http://%s/sse/stream?count=5&interval=0.2" % address, count=5, timeout=10))
    assert_streamed(sse, expected=5)
    sent = ["through the user's server", b"\x00\x01"]
    ws = asyncio.run(ws_echo("ws://%s/ws/echo" % address, sent, timeout=10))
    assert ws.status == 101 and ws.echoes == sent, (ws.status, ws.error)
    return sse


@pytest.fixture(scope="session")
def messages():
    """A run's text without JSON quoting, on one line, so a message is found whole."""
    def flat(run):
        return " ".join(run.messages.replace('\\"', '"').split())
    return flat
