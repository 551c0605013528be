"""Every upstream's shared memory zone: its default size holds its servers, as nginx -t proves.

nginx copies an upstream's servers into its zone when it starts, and so when
``nginx -t`` runs: a zone too small fails there with "no memory in upstream
zone", and one under 8 memory pages with "is too small". So the default
sizing (8 pages and 2k per server entry) is tested with many servers of each
kind through nginx -t, and the control, a zone smaller than those servers
need, must fail it.
"""

from __future__ import annotations

import pathlib

import pytest

from realtime_testkit.render import NGINX, inventory_check, render_tree, validate_tree

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, owned_files
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_upstreams import upstream_zone

needs_nginx = pytest.mark.skipif(not pathlib.Path(NGINX).exists(), reason="needs nginx")


def servers_of(kind, count):
    """COUNT distinct server entries of KIND; 'localhost' resolves to 127.0.0.1 and ::1 (two addresses each)."""
    if kind == "tcp":
        return ["127.0.%d.%d:%d" % (n // 250, n % 250 + 1, 10000 + n) for n in range(count)]
    if kind == "unix":  # the longest socket path a Unix address holds (107 characters), so the largest entries
        return ["unix:/run/%s%05d.sock" % ("s" * 92, n) for n in range(count)]
    if kind == "mapping":
        return [{"address": "[::1]:%d" % (10000 + n), "weight": 2, "max_conns": 100, "max_fails": 3,
                 "fail_timeout": 30, "backup": n % 2 == 1} for n in range(count)]
    assert kind == "localhost", kind
    return ["localhost:%d" % (10000 + n) for n in range(count)]


def settings_with(servers, **upstream):
    return {"realtime_proxy_upstreams": [dict({"name": "app", "servers": servers}, **upstream)],
            "realtime_proxy_sites": [{"name": "s", "listen": ["127.0.0.1:18999"],
                                      "locations": [{"path": "/", "type": "http", "upstream": "app"}]}]}


def upstream_file(root):
    return (pathlib.Path(root) / "realtime_proxy/upstreams/app.conf").read_text()


@pytest.mark.parametrize("count, size", [(1, "34k"), (2, "36k"), (10, "52k"), (1000, "2032k")])
def test_default_size_is_eight_pages_and_2k_per_server(count, size):
    upstream = {"name": "app", "servers": servers_of("tcp", count)}
    assert upstream_zone(upstream) == {"name": "realtime_proxy_upstream_app", "size": size}
    # Hosts with 64 KB pages (ppc64el) need 512k before any server.
    assert upstream_zone(upstream, page_size=65536)["size"] == "%dk" % (512 + 2 * count)


def test_zone_size_given_is_written_as_given(tmp_path):
    render_tree(settings_with(servers_of("tcp", 2), zone_size="1m"), tmp_path)
    assert "    zone realtime_proxy_upstream_app 1m;\n" in upstream_file(tmp_path)
    files = owned_files([{"name": "api", "servers": ["127.0.0.1:1"], "zone_size": 65536}], [])
    assert files[-1]["zone"] == {"name": "realtime_proxy_upstream_api", "size": "65536"}


@pytest.mark.parametrize("value", ["16k", "32767", 1024, "65m", "1g", "64 k", "64kb", "1.5m", "", "k", True, None,
                                   ["64k"], "64k;", "$size"])
def test_a_malformed_zone_size_is_refused_by_name(value):
    errors = inventory_errors(settings_with(["127.0.0.1:1"], zone_size=value))
    assert [error for error in errors if error.startswith("realtime_proxy_upstreams[0].zone_size: ")] == [
        "realtime_proxy_upstreams[0].zone_size: %r is not a size from 32k to 64m: bytes, or a number with k or m (4k)"
        % (value,)], errors


@pytest.mark.parametrize("value", ["32k", "32768", 32768, "64M", "256k", "1m"])
def test_a_zone_size_from_32k_to_64m_is_accepted(value):
    assert inventory_check(settings_with(["127.0.0.1:1"], zone_size=value)) == []


@needs_nginx
@pytest.mark.parametrize("kind, count", [("tcp", 1), ("tcp", 2000), ("unix", 1000), ("mapping", 1000),
                                         ("localhost", 500)])
def test_nginx_accepts_the_default_zone_with_many_servers(tmp_path, kind, count):
    settings = settings_with(servers_of(kind, count))
    assert inventory_check(settings) == []
    render_tree(settings, tmp_path)
    assert "    zone realtime_proxy_upstream_app %dk;\n" % (32 + 2 * count) in upstream_file(tmp_path)
    rc, stderr = validate_tree(tmp_path)
    assert rc == 0, stderr[-2000:]


@needs_nginx
@pytest.mark.parametrize("size, message", [("1m", 'no memory in upstream zone "realtime_proxy_upstream_app"'),
                                           ("16k", 'zone "realtime_proxy_upstream_app" is too small')])
def test_nginx_refuses_a_zone_too_small_for_its_servers(tmp_path, size, message):
    # The control: nginx -t does copy the servers into the zone, so the test above can fail. 2,000
    # addresses need about 1.5m; 16k is under 8 pages (written here past the checks, which refuse it).
    render_tree(settings_with(servers_of("tcp", 2000), zone_size="1m"), tmp_path)
    conf = tmp_path / "realtime_proxy/upstreams/app.conf"
    conf.write_text(conf.read_text().replace("realtime_proxy_upstream_app 1m;", "realtime_proxy_upstream_app %s;" % size))
    rc, stderr = validate_tree(tmp_path)
    assert rc != 0 and message in stderr, stderr[-2000:]
