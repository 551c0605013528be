"""The default and security molecule scenarios' inventories (debian12), rendered with the real templates."""

from __future__ import annotations

import pathlib
import stat

import crossplane
import pytest
import yaml

import realtime_proxy_expected as expected_mod
from realtime_testkit import render
from realtime_testkit.render import REPO_ROOT, inventory_check, render_tree, self_signed_certificate, validate_tree

NGINX = pathlib.Path(render.NGINX)


def scenario_inventory():
    molecule = yaml.safe_load((REPO_ROOT / "molecule" / "default" / "molecule.yml").read_text())
    inventory = molecule["provisioner"]["inventory"]
    settings = dict(inventory["group_vars"]["all"])
    settings.update(inventory["host_vars"]["rtn-default-debian12"])
    return {key: value for key, value in settings.items() if key.startswith("realtime_proxy_")}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("default") / "proposed"
    root.mkdir()
    written = render_tree(scenario_inventory(), root)
    return root, written


def site_locations(root):
    payload = crossplane.parse(str(root / "realtime_proxy/sites/demo.conf"), single=True, comments=False, check_ctx=False)
    assert payload["status"] == "ok", payload["errors"]
    servers = [d for d in payload["config"][0]["parsed"] if d["directive"] == "server"]
    assert len(servers) == 1
    return {d["args"][0]: d["block"] for d in servers[0]["block"] if d["directive"] == "location"}


def args_of(block, name):
    return [d["args"] for d in block if d["directive"] == name]


def header(block, name):
    values = [d["args"][1] for d in block if d["directive"] == "proxy_set_header" and d["args"][0].lower() == name.lower()]
    assert len(values) == 1, (name, values)
    return values[0]


def test_scenario_inventory_is_accepted():
    assert inventory_check(scenario_inventory()) == []


def test_files(tree):
    root, written = tree
    rel = sorted(str(path.relative_to(root)) for path in written)
    assert "nginx.conf" in rel
    assert "realtime_proxy/upstreams/app.conf" in rel and "realtime_proxy/sites/demo.conf" in rel


def test_sse_location(tree):
    block = site_locations(tree[0])["/sse/"]
    assert args_of(block, "proxy_buffering") == [["off"]]
    assert args_of(block, "proxy_cache") == [["off"]]
    assert args_of(block, "gzip") == [["off"]]
    assert args_of(block, "proxy_http_version") == [["1.1"]]
    assert args_of(block, "proxy_read_timeout") == [["3600s"]]
    assert args_of(block, "proxy_buffer_size") == [["1k"]]  # one per held stream: kept small
    assert header(block, "Connection") == ""
    assert args_of(block, "proxy_pass") == [["http://app"]]


def test_websocket_location(tree):
    block = site_locations(tree[0])["/ws/"]
    assert header(block, "Upgrade") == "$realtime_proxy_upgrade"
    assert header(block, "Connection") == "$realtime_proxy_connection"
    assert header(block, "X-Realtime-Test") == "ws location"
    assert args_of(block, "proxy_http_version") == [["1.1"]]
    assert args_of(block, "proxy_buffer_size") == [["4k"]]  # one per direction of a held tunnel: nginx's page


def test_http_location_clears_connection_for_keepalive(tree):
    block = site_locations(tree[0])["/"]
    assert header(block, "Connection") == ""
    assert args_of(block, "proxy_buffering") == []
    assert args_of(block, "proxy_buffer_size") == []  # nginx's default for plain requests


def _walk(directives, context):
    for directive in directives:
        yield directive, context
        if "block" in directive:
            yield from _walk(directive["block"], context + (directive["directive"],))


def test_upgrade_map_exactly_once_in_http_context(tree):
    """Parse nginx.conf following its includes, as nginx would."""
    root = tree[0]
    (root / "mime.types").write_text("types {\n    text/html html;\n}\n")
    try:
        payload = crossplane.parse(str(root / "nginx.conf"), comments=False)
    finally:
        (root / "mime.types").unlink()
    assert payload["status"] == "ok", payload["errors"]
    configs = payload["config"]
    # Splice includes into their place to get each directive's real context.

    def expand(directives):
        out = []
        for directive in directives:
            if directive["directive"] == "include" and "includes" in directive:
                for index in directive["includes"]:
                    out.extend(expand(configs[index]["parsed"]))
                continue
            if "block" in directive:
                directive = dict(directive, block=expand(directive["block"]))
            out.append(directive)
        return out
    maps = [(d, ctx) for d, ctx in _walk(expand(configs[0]["parsed"]), ()) if d["directive"] == "map"
            and d["args"] == ["$http_upgrade", "$realtime_proxy_connection"]]
    assert len(maps) == 1, maps
    assert maps[0][1] == ("http",)
    upgrade = [ctx for d, ctx in _walk(expand(configs[0]["parsed"]), ()) if d["directive"] == "map"
               and d["args"] == ["$http_upgrade", "$realtime_proxy_upgrade"]]
    assert upgrade == [("http",)]


@pytest.mark.skipif(not NGINX.exists(), reason="needs nginx")
def test_nginx_accepts_the_tree(tree):
    rc, stderr = validate_tree(tree[0])
    assert rc == 0, stderr


def test_render_is_repeatable(tree, tmp_path):
    root, written = tree
    again = render_tree(scenario_inventory(), tmp_path)
    assert [p.read_text() for p in again] == [p.read_text() for p in written]


# --------------------------------------------------------------------------
# the security scenario: TLS with a redirect and HSTS, CORS, an Origin
# allowlist, heartbeats and the per-client limits
# --------------------------------------------------------------------------

def security_inventory(cert):
    """molecule/security's inventory, with CERT's PEM text where prepare.yml's certificate goes."""
    molecule = yaml.safe_load((REPO_ROOT / "molecule" / "security" / "molecule.yml").read_text())
    inventory = molecule["provisioner"]["inventory"]
    settings = dict(inventory["group_vars"]["all"])
    settings.update(inventory["host_vars"]["rtn-security-debian12"])
    settings = {key: value for key, value in settings.items() if key.startswith("realtime_proxy_")}
    for site in settings["realtime_proxy_sites"]:
        if "certificate_content" in site.get("tls", {}):
            site["tls"]["certificate_content"] = cert["cert_pem"]
            site["tls"]["certificate_key_content"] = cert["key_pem"]
    return settings


@pytest.fixture(scope="module")
def security_tree(tmp_path_factory):
    cert = self_signed_certificate()
    if cert is None:
        pytest.skip("needs openssl for a certificate")
    settings = security_inventory(cert)
    root = tmp_path_factory.mktemp("security") / "proposed"
    root.mkdir()
    return settings, root, render_tree(settings, root)


def _servers(root, name):
    payload = crossplane.parse(str(root / "realtime_proxy/sites" / (name + ".conf")), single=True, comments=False,
                               check_ctx=False)
    assert payload["status"] == "ok", payload["errors"]
    return payload["config"][0]["parsed"]


def test_security_inventory_is_accepted(security_tree):
    assert inventory_check(security_tree[0]) == []


def test_security_tree_is_exactly_the_expected_one(security_tree):
    settings, root, written = security_tree
    want = expected_mod.expected_tree(settings)
    want_tls = expected_mod.expected_tls_files(settings)
    assert expected_mod.all_files(root) == sorted(set(want) | set(want_tls))
    got = expected_mod.actual_tree(root, written)
    for rel, directives in want.items():
        assert expected_mod.canonical(got[rel]) == expected_mod.canonical(directives), rel
    for rel, (data, mode) in want_tls.items():
        assert (root / rel).read_bytes() == data
        assert stat.S_IMODE((root / rel).stat().st_mode) == mode


def test_security_tls_site(security_tree):
    parsed = _servers(security_tree[1], "secure")
    servers = [d["block"] for d in parsed if d["directive"] == "server"]
    assert len(servers) == 2
    redirect, main = servers
    # The only site on these sockets, so each carries reuseport (realtime_proxy_reuseport, on by default).
    assert args_of(redirect, "listen") == [["127.0.0.1:18420", "reuseport"]]
    assert args_of(redirect, "return") == [["301", "https://$host:18421$request_uri"]]
    assert args_of(main, "listen") == [["127.0.0.1:18421", "ssl", "http2", "reuseport"]]
    assert args_of(main, "ssl_certificate") == [["realtime_proxy/tls/secure.crt"]]
    assert args_of(main, "ssl_certificate_key") == [["realtime_proxy/tls/secure.key"]]
    assert args_of(main, "limit_conn") == [["realtime_proxy_conn", "5"]]
    assert args_of(main, "limit_req") == [["zone=realtime_proxy_req", "burst=40", "nodelay"]]
    for location in (d for d in main if d["directive"] == "location"):
        assert ["Strict-Transport-Security", "max-age=31536000", "always"] in args_of(location["block"], "add_header")


def test_security_origin_and_cors(security_tree):
    parsed = _servers(security_tree[1], "main")
    maps = {d["args"][1]: d["block"] for d in parsed if d["directive"] == "map"}
    origin_ok = [name for name in maps if name.startswith("$realtime_proxy_origin_ok_")]
    assert len(origin_ok) == 1
    assert [(d["directive"], d["args"]) for d in maps[origin_ok[0]]] == [("default", ["0"]), ("https://app.example.test", ["1"])]
    locations = {d["args"][0]: d["block"] for d in parsed[-1]["block"] if d["directive"] == "location"}
    guard = [d for d in locations["/ws/guarded/"] if d["directive"] == "if"]
    assert [(d["args"], d["block"][0]["directive"], d["block"][0]["args"]) for d in guard] == [
        ([origin_ok[0], "=", "0"], "return", ["403"])]
    preflight = [d for d in locations["/sse/cors/"] if d["directive"] == "if"]
    assert preflight[0]["args"] == ["$request_method", "=", "OPTIONS"]
    assert ["Access-Control-Allow-Methods", "GET, POST, OPTIONS", "always"] in args_of(preflight[0]["block"], "add_header")
    assert args_of(preflight[0]["block"], "return") == [["204"]]


@pytest.mark.skipif(not NGINX.exists(), reason="needs nginx")
def test_nginx_accepts_the_security_tree(security_tree):
    rc, stderr = validate_tree(security_tree[1])
    assert rc == 0, stderr
