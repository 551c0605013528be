"""The syntax follows the installed nginx, not the OS release.

A TLS site is rendered for nginx as tasks/plan.yml describes it from the
recorded ``nginx -V`` outputs (tests/unit/plugins/plugin_utils/nginx_build/),
by giving render_tree() that realtime_proxy__nginx, and the result is checked
with ``nginx -t`` where this machine has a fitting nginx (Debian 12's 1.22,
build/nginx): it accepts Ubuntu 22.04's 1.18 choices as 1.18 would, since
``listen ... ssl http2`` is valid syntax on both and ``http2 on;`` is not.
"""

from __future__ import annotations

import pathlib

import crossplane
import pytest
import yaml

from realtime_testkit.render import ROLE, inventory_check, render_tree, self_signed_certificate, validate_tree

from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_build import parse_build

RECORDED = pathlib.Path(__file__).resolve().parents[1] / "plugins" / "plugin_utils" / "nginx_build"


def detected(name):
    return parse_build((RECORDED / name).read_text(), name)


def inventory(*sites, reuseport=False):
    """TLS sites; TCP reuseport is off unless asked, so the listen lines show the syntax alone."""
    cert = self_signed_certificate()
    if cert is None:
        pytest.skip("openssl is needed for a certificate nginx -t can load")
    return {
        "realtime_proxy_reuseport": reuseport,
        "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:9001"]}],
        "realtime_proxy_sites": [
            {"name": name, "server_name": name + ".example.test", "listen": [],
             "tls": dict({"listen": listen, "certificate": cert["cert"], "certificate_key": cert["key"]}, **tls),
             "locations": [{"path": "/", "type": "http", "upstream": "app"},
                           {"path": "/sse/", "type": "sse", "upstream": "app"}]}
            for name, listen, tls in sites],
    }


def server(root, name):
    payload = crossplane.parse(str(root / ("realtime_proxy/sites/%s.conf" % name)), single=True, comments=False,
                               check_ctx=False)
    assert payload["status"] == "ok", payload["errors"]
    servers = [d for d in payload["config"][0]["parsed"] if d["directive"] == "server"]
    assert len(servers) == 1
    return servers[0]["block"]


def args_of(block, directive):
    return [d["args"] for d in block if d["directive"] == directive]


def render_for(settings, nginx, tmp_path):
    root = tmp_path / "proposed"
    root.mkdir()
    render_tree(dict(settings, realtime_proxy__nginx=nginx), root)
    return root


@pytest.mark.parametrize("release", ["ubuntu-22.04.txt", "ubuntu-24.04.txt", "debian-12.txt"])
def test_before_1_25_1_http2_is_a_listen_parameter_and_nginx_accepts_it(release, tmp_path):
    settings = inventory(("secure", ["127.0.0.1:8443"], {}))
    assert inventory_check(settings) == []
    root = render_for(settings, detected(release), tmp_path)
    block = server(root, "secure")
    assert args_of(block, "listen") == [["127.0.0.1:8443", "ssl", "http2"]]
    assert args_of(block, "http2") == [] and args_of(block, "http3") == []
    rc, stderr = validate_tree(root)
    assert rc == 0, stderr


def test_from_1_25_1_http2_is_a_directive(tmp_path):
    root = render_for(inventory(("secure", ["127.0.0.1:8443"], {})), detected("debian-13.txt"), tmp_path)
    block = server(root, "secure")
    assert args_of(block, "listen") == [["127.0.0.1:8443", "ssl"]]
    assert args_of(block, "http2") == [["on"]]


def test_http3_adds_quic_listeners_reuseport_once_and_alt_svc(tmp_path):
    settings = inventory(("first", ["127.0.0.1:8443", "8444"], {"http3": True}),
                         ("second", ["127.0.0.1:8443"], {"http3": True}),
                         ("tcp-only", ["127.0.0.1:8443"], {}))
    root = render_for(settings, detected("debian-13.txt"), tmp_path)
    first, second, tcp_only = (server(root, name) for name in ("first", "second", "tcp-only"))
    assert args_of(first, "listen") == [["127.0.0.1:8443", "ssl"], ["8444", "ssl"],
                                        ["127.0.0.1:8443", "quic", "reuseport"], ["8444", "quic", "reuseport"]]
    assert args_of(second, "listen") == [["127.0.0.1:8443", "ssl"], ["127.0.0.1:8443", "quic"]]
    assert args_of(first, "http3") == [["on"]] and args_of(tcp_only, "http3") == []
    for block, alt_svc in ((first, ['h3=":8443"; ma=86400, h3=":8444"; ma=86400']),
                           (second, ['h3=":8443"; ma=86400']), (tcp_only, None)):
        for location in (d for d in block if d["directive"] == "location"):
            headers = [args[1:] for args in args_of(location["block"], "add_header") if args[0] == "Alt-Svc"]
            assert headers == ([] if alt_svc is None else [alt_svc + ["always"]]), location["args"]


def test_mozilla_intermediate_at_http_level(tmp_path):
    root = render_for(inventory(("secure", ["127.0.0.1:8443"], {})), detected("debian-12.txt"), tmp_path)
    payload = crossplane.parse(str(root / "nginx.conf"), single=True, comments=False, check_ctx=False)
    http = next(d for d in payload["config"][0]["parsed"] if d["directive"] == "http")["block"]
    wanted = {
        "ssl_protocols": ["TLSv1.2", "TLSv1.3"],
        "ssl_ecdh_curve": ["X25519:prime256v1:secp384r1"],
        "ssl_ciphers": ["ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"],
        "ssl_prefer_server_ciphers": ["off"],
        "ssl_session_timeout": ["1d"],
        "ssl_session_tickets": ["off"],
    }
    assert {name: args for name in wanted for args in args_of(http, name)} == wanted


@pytest.mark.parametrize("size", [None, "4k"])
def test_tls_buffer_size_at_http_level(tmp_path, size):
    settings = inventory(("secure", ["127.0.0.1:8443"], {}))
    if size:
        settings["realtime_proxy_tls_buffer_size"] = size
    root = render_for(settings, detected("debian-12.txt"), tmp_path)
    payload = crossplane.parse(str(root / "nginx.conf"), single=True, comments=False, check_ctx=False)
    http = next(d for d in payload["config"][0]["parsed"] if d["directive"] == "http")["block"]
    default = yaml.safe_load((ROLE / "defaults" / "main" / "nginx.yml").read_text())["realtime_proxy_tls_buffer_size"]
    assert args_of(http, "ssl_buffer_size") == [[size or default]]


def test_tcp_reuseport_once_per_socket_across_sites_and_nginx_accepts_it(tmp_path):
    # nginx refuses a second `reuseport` on one address and port ("duplicate listen options").
    settings = inventory(("first", ["127.0.0.1:8443", "8444"], {}), ("second", ["127.0.0.1:8443", "*:8444"], {}),
                         reuseport=True)
    settings["realtime_proxy_sites"][0]["listen"] = ["127.0.0.1:8080"]
    settings["realtime_proxy_sites"][1]["listen"] = ["127.0.0.1:8080", "8081"]
    assert inventory_check(settings) == []
    root = render_for(settings, detected("debian-12.txt"), tmp_path)
    first, second = (server(root, name) for name in ("first", "second"))
    assert args_of(first, "listen") == [["127.0.0.1:8080", "reuseport"], ["127.0.0.1:8443", "ssl", "http2", "reuseport"],
                                        ["8444", "ssl", "http2", "reuseport"]]
    assert args_of(second, "listen") == [["127.0.0.1:8080"], ["8081", "reuseport"], ["127.0.0.1:8443", "ssl", "http2"],
                                         ["*:8444", "ssl", "http2"]]
    rc, stderr = validate_tree(root)
    assert rc == 0, stderr
