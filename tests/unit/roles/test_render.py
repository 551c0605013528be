"""The default molecule scenario's inventory (debian12), rendered with the real templates."""

from __future__ import annotations

import pathlib

import crossplane
import pytest
import yaml

from realtime_testkit.render import REPO_ROOT, inventory_check, render_tree, validate_tree

NGINX = pathlib.Path("/usr/sbin/nginx")


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
    assert header(block, "Connection") == ""
    assert args_of(block, "proxy_pass") == [["http://app"]]


def test_websocket_location(tree):
    block = site_locations(tree[0])["/ws/"]
    assert header(block, "Upgrade") == "$realtime_proxy_upgrade"
    assert header(block, "Connection") == "$connection_upgrade"
    assert header(block, "X-Realtime-Test") == "ws location"
    assert args_of(block, "proxy_http_version") == [["1.1"]]


def test_http_location_clears_connection_for_keepalive(tree):
    block = site_locations(tree[0])["/"]
    assert header(block, "Connection") == ""
    assert args_of(block, "proxy_buffering") == []


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
            and d["args"] == ["$http_upgrade", "$connection_upgrade"]]
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
