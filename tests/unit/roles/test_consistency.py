"""Each fact of the role has one home; these tests fail when a place that
repeats one for its readers (the argument spec's docs and choices, the
README, the templates) drifts from it.

Homes: location types and presets (with the directives each type owns) in
vars/main.yml, defaults in defaults/main/*.yml, option names in
meta/argument_specs.yml.
"""

from __future__ import annotations

import re

import crossplane
import pytest
import yaml

from realtime_testkit.render import REPO_ROOT, inventory_check, public_variables, render_tree

from ansible_collections.realtime.nginx.plugins.action import realtime_proxy_plan
from ansible_collections.realtime.nginx.plugins.plugin_utils import (
    _inventory, _inventory_upstreams, _inventory_values, _render, _role_data)
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_directives import DirectiveChecks

ROLE = REPO_ROOT / "roles" / "realtime_proxy"
# The upstream options below came with the first release; options added since carry a later version.
FIRST_RELEASE = "0.1.0"


def load(relative):
    return yaml.safe_load((ROLE / relative).read_text())


@pytest.fixture(scope="module")
def options():
    return load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


@pytest.fixture(scope="module")
def defaults():
    merged = {}
    for path in sorted((ROLE / "defaults" / "main").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


@pytest.fixture(scope="module")
def presets():
    return load("vars/main.yml")["realtime_proxy__location_presets"]


def test_every_default_is_an_option_and_every_option_has_its_default(options, defaults):
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], "%s: argument spec default %r, defaults/main %r" % (
            name, spec.get("default"), defaults[name])


def test_every_option_reaches_the_inventory_checks(options):
    # tasks/plan.yml's action hands the checks every variable whose name _render.PUBLIC matches (and the tree
    # lookup hands them all to the templates); an option it misses goes unchecked.
    assert sorted(public_variables({name: None for name in options})) == sorted(options)
    assert realtime_proxy_plan.PUBLIC is _render.PUBLIC
    assert not _render.PUBLIC.match("realtime_proxy__files")


def test_type_choices_are_the_preset_table(options, presets):
    location = options["realtime_proxy_sites"]["options"]["locations"]["options"]
    assert location["type"]["choices"] == list(presets)
    assert _role_data.location_types() == tuple(presets)


def test_each_preset_has_its_one_template_and_each_template_a_preset(presets):
    templates = {"locations/" + path.name for path in (ROLE / "templates" / "locations").glob("[!_]*.j2")}
    assert {preset["template"] for preset in presets.values()} == templates
    for kind, preset in presets.items():
        assert set(preset) >= {"template", "read_timeout", "send_timeout", "headers", "owns"}, kind


@pytest.mark.parametrize("option", ["read_timeout", "send_timeout"])
def test_timeout_docs_quote_the_presets(options, presets, option):
    text = " ".join(options["realtime_proxy_sites"]["options"]["locations"]["options"][option]["description"])
    quoted = {kind: int(value) for value, kind in re.findall(r"V\((\d+)\) for (\w+)", text)}
    assert quoted == {kind: preset[option] for kind, preset in presets.items()}


def test_buffer_size_docs_quote_the_presets(options, presets):
    text = " ".join(options["realtime_proxy_sites"]["options"]["locations"]["options"]["buffer_size"]["description"])
    quoted = {kind: value for value, kind in re.findall(r"V\((\w+)\) for (\w+)", text)}
    assert quoted == {kind: preset["buffer_size"] for kind, preset in presets.items() if "buffer_size" in preset}
    readme = (REPO_ROOT / "README.md").read_text()
    row = re.search(r"^\| `proxy_buffer_size` \(`buffer_size`\) \|(.*)\|\s*$", readme, re.M).group(1)
    cells = [cell.strip(" `") for cell in row.split("|")]
    assert cells == [preset.get("buffer_size", "nginx default") for preset in presets.values()]


def test_readme_preset_table_quotes_the_presets(presets):
    readme = (REPO_ROOT / "README.md").read_text()
    header = re.search(r"^\|\s*\|(.*)\|\s*$", readme.split("### Location types", 1)[1], re.M).group(1)
    kinds = [cell.strip(" `") for cell in header.split("|")]
    assert kinds == list(presets)
    row = re.search(r"^\| read / send timeout \|(.*)\|\s*$", readme, re.M).group(1)
    quoted = [int(cell.strip().split()[0]) for cell in row.split("|")]
    assert quoted == [preset["read_timeout"] for preset in presets.values()]
    assert quoted == [preset["send_timeout"] for preset in presets.values()]


def test_option_names_of_the_checks_are_the_spec(options):
    sites = options["realtime_proxy_sites"]["options"]
    assert _inventory.SITE_KEYS == set(sites)
    assert _inventory_upstreams.UPSTREAM_KEYS == set(options["realtime_proxy_upstreams"]["options"])
    assert _inventory.LOCATION_KEYS == set(sites["locations"]["options"])
    assert _inventory.TLS_KEYS == set(sites["tls"]["options"])
    assert _inventory.CORS_KEYS == set(sites["locations"]["options"]["cors"]["options"])
    upstreams = options["realtime_proxy_upstreams"]["options"]
    assert _inventory_upstreams.SERVER_KEYS == set(upstreams["servers"]["options"])
    assert _inventory_upstreams.HASH_KEY_KEYS == set(upstreams["hash_key"]["options"])
    assert _inventory_upstreams.NEXT_UPSTREAM_KEYS == set(upstreams["next_upstream"]["options"])
    assert _inventory_upstreams.BALANCE_METHODS == tuple(upstreams["balance"]["choices"])
    assert _inventory_upstreams.HASH_SOURCES == tuple(upstreams["hash_key"]["options"]["source"]["choices"])
    assert _inventory_upstreams.NEXT_UPSTREAM_CONDITIONS == tuple(upstreams["next_upstream"]["options"]["conditions"]["choices"])


def test_server_parameter_docs_quote_the_checks(options):
    # The ranges the descriptions give are the ones the checks enforce.
    servers = options["realtime_proxy_upstreams"]["options"]["servers"]["options"]
    for key, low, high in _inventory_upstreams.SERVER_NUMBERS:
        if key == "fail_timeout":
            continue  # seconds, as every timeout (1 to MAX_TIMEOUT)
        text = " ".join(servers[key]["description"])
        assert "%d to %d" % (low, high) in text, (key, text)
    assert _inventory_upstreams.SERVER_NUMBERS[2] == ("fail_timeout", 1, _inventory_values.MAX_TIMEOUT)


def test_every_new_upstream_option_has_version_added_and_an_example(options):
    upstreams = options["realtime_proxy_upstreams"]["options"]
    for name in ("servers", "balance", "hash_key", "next_upstream"):
        assert str(upstreams[name].get("version_added")) == FIRST_RELEASE, name
    for name in ("servers", "hash_key", "next_upstream"):
        assert any(line.startswith("Example: V(") for line in upstreams[name]["description"]), name


def test_reserved_headers_are_the_presets(presets):
    for kind, preset in presets.items():
        for header in preset["headers"]:
            settings = {"realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:1"]}],
                        "realtime_proxy_sites": [{"name": "s", "listen": [8080], "locations": [
                            {"path": "/", "type": kind, "upstream": "app", "proxy_headers": {header: "x"}}]}]}
            errors = _inventory.inventory_errors(settings)
            assert any("proxy_headers.%s: is set by the location type" % header in error for error in errors), errors


def test_default_ciphers_are_the_tls_profile(defaults):
    # realtime_proxy_tls_ciphers is the user's override of the profile's list (vars/main.yml).
    assert defaults["realtime_proxy_tls_ciphers"] == load("vars/main.yml")["realtime_proxy__tls_profile"]["ciphers"]


# A location and its upstream with every option the argument spec has set
# (each set away from its default); the test below asserts that nothing in
# the spec is missing here, so a new option is rendered as soon as it exists.
EVERY_LOCATION_OPTION = {
    "match": "prefix_priority", "upstream_path": "/v1/", "directives": [{"add_header": ["X-Location", "1", "always"]}],
    "upstream": "app", "read_timeout": 100, "send_timeout": 100, "connect_timeout": 3, "buffer_size": "2k",
    "proxy_headers": {"X-Tenant": "blue"}, "allowed_origins": ["https://app.example.com"],
    "cors": {"origins": ["https://app.example.com"], "credentials": True, "methods": ["GET", "POST", "OPTIONS"],
             "headers": ["Last-Event-ID"], "max_age": 60},
    "verify_url": "http://127.0.0.1:8080/verify", "heartbeat_interval": 30,
}
EVERY_UPSTREAM_OPTION = {
    "name": "app", "state": "present", "balance": "hash", "keepalive": 4,
    "hash_key": {"source": "cookie", "name": "sid", "consistent": True},
    "servers": ["127.0.0.1:1", {"address": "127.0.0.1:2", "weight": 2, "max_fails": 2, "fail_timeout": 5,
                                "max_conns": 10, "backup": False, "down": False}],
    "next_upstream": {"conditions": ["error", "timeout"], "tries": 2, "timeout": 10}, "zone_size": "64k",
}
# Directives a location's template writes that no type owns, and why a location's directives cannot clash with them:
# add_header may repeat (the templates repeat the inherited ones on purpose), proxy_set_header belongs to the
# headers and proxy_headers, and `if` is a block, which no inventory directive may be.
NOT_OWNED = {"add_header", "proxy_set_header", "if"}


def every_option_settings(kind):
    """An inventory whose one location of type KIND sets every location option the checks accept for KIND,
    on an upstream that sets every upstream option, in a TLS site with HSTS, HTTP/3 and add_header at each level."""
    location = dict(EVERY_LOCATION_OPTION, path="/%s/" % kind, type=kind)
    settings = {
        "realtime_proxy_http_directives": [{"add_header": ["X-Http", "1", "always"]}],
        "realtime_proxy_upstreams": [EVERY_UPSTREAM_OPTION],
        "realtime_proxy_sites": [{"name": "s", "server_name": "s.example.com", "listen": [8080],
                                  "directives": [{"add_header": ["X-Site", "1", "always"]}],
                                  "tls": {"listen": [8443], "certificate": "/etc/ssl/s.crt",
                                          "certificate_key": "/etc/ssl/s.key", "hsts_max_age": 60, "http3": True},
                                  "locations": [location]}]}
    prefix = "realtime_proxy_sites[0].locations[0]."
    refused = {error[len(prefix):].split(":")[0].split(".")[0] for error in inventory_check(settings)
               if error.startswith(prefix)}
    for option in refused:
        del location[option]
    assert inventory_check(settings) == [], (kind, refused)
    return settings


def test_every_option_is_set_in_the_rendering_of_owned_directives(options):
    location = options["realtime_proxy_sites"]["options"]["locations"]["options"]
    assert set(EVERY_LOCATION_OPTION) | {"path", "type"} == set(location)
    upstream = options["realtime_proxy_upstreams"]["options"]
    assert set(EVERY_UPSTREAM_OPTION) == set(upstream)
    for name in ("servers", "hash_key", "next_upstream"):
        items = EVERY_UPSTREAM_OPTION[name]
        given = set().union(*(item for item in items if isinstance(item, dict))) if isinstance(items, list) else set(items)
        assert given == set(upstream[name]["options"]), name


@pytest.mark.parametrize("kind", list(load("vars/main.yml")["realtime_proxy__location_presets"]))
def test_owned_directives_are_what_each_type_writes(presets, options, kind, tmp_path):
    """A preset's ``owns`` lists every directive its template can write in the
    location (besides those in NOT_OWNED), so a location's directives are
    refused by name for repeating one, before nginx -t would refuse them. The
    location is rendered with every option set and parsed with crossplane."""
    render_tree(every_option_settings(kind), tmp_path)
    parsed = crossplane.parse(str(tmp_path / "realtime_proxy/sites/s.conf"), single=True, comments=False,
                              check_ctx=False)["config"][0]["parsed"]
    servers = [item for item in parsed if item["directive"] == "server"]
    locations = [item for server in servers for item in server.get("block", []) if item["directive"] == "location"]
    assert len(locations) == 1, locations
    written = {directive["directive"] for directive in locations[0]["block"]}
    assert written - NOT_OWNED == set(presets[kind]["owns"]), (
        "directives the %s template writes that vars/main.yml's owns does not list: %s; listed but never written: %s"
        % (kind, sorted(written - NOT_OWNED - set(presets[kind]["owns"])),
           sorted(set(presets[kind]["owns"]) - written)))
    for name in written - {"add_header"}:
        assert DirectiveChecks.directive_owner(name, ["x"], "location", kind), (kind, name)


def test_owned_directives_name_options_that_exist(presets, options):
    names = set(options["realtime_proxy_sites"]["options"]["locations"]["options"])
    for kind, preset in presets.items():
        for directive, option in preset["owns"].items():
            if not option:
                continue
            variable, dot, path = option.partition(".")
            if not dot:
                assert option in names, "%s: %s names %s, which locations do not have" % (kind, directive, option)
                continue
            spec = options[variable]
            for part in path.split("."):
                spec = spec["options"][part]
            assert spec.get("version_added"), (kind, directive, option)
