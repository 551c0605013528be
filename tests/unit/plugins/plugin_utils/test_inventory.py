"""inventory_errors() and owned_files(): messages name the variable and what is allowed."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, owned_files

GLOBALS = {
    "realtime_proxy_worker_processes": "auto",
    "realtime_proxy_worker_connections": 8192,
    "realtime_proxy_worker_rlimit_nofile": 16384,
    "realtime_proxy_worker_shutdown_timeout": 30,
    "realtime_proxy_connect_timeout": 5,
    "realtime_proxy_gzip_types": ["text/plain"],
}


def inventory(**overrides):
    settings = copy.deepcopy(GLOBALS)
    settings["realtime_proxy_upstreams"] = [{"name": "app", "servers": ["127.0.0.1:8000"], "keepalive": 8}]
    settings["realtime_proxy_sites"] = [{
        "name": "demo", "server_name": "_", "listen": ["127.0.0.1:8080"],
        "locations": [{"path": "/", "type": "http", "upstream": "app"},
                      {"path": "/sse/", "type": "sse", "upstream": "app"},
                      {"path": "/ws/", "type": "websocket", "upstream": "app", "proxy_headers": {"X-Tenant": "blue"}}],
    }]
    settings.update(overrides)
    return settings


def site(settings):
    return settings["realtime_proxy_sites"][0]


def one_error(settings, where):
    errors = inventory_errors(settings)
    matching = [e for e in errors if e.startswith(where + ":")]
    assert matching, "no error for %s in %r" % (where, errors)
    return matching[0]


def test_valid_inventory_has_no_errors():
    assert inventory_errors(inventory()) == []


def test_unknown_type_names_the_variable_and_the_choices():
    settings = inventory()
    site(settings)["locations"][1]["type"] = "grpc"
    message = one_error(settings, "realtime_proxy_sites[0].locations[1].type")
    assert "'grpc'" in message and "http, sse, websocket" in message


def test_undefined_upstream():
    settings = inventory()
    site(settings)["locations"][0]["upstream"] = "nope"
    message = one_error(settings, "realtime_proxy_sites[0].locations[0].upstream")
    assert "'nope'" in message and "realtime_proxy_upstreams" in message and "app" in message


def test_absent_upstream_still_referenced():
    settings = inventory()
    settings["realtime_proxy_upstreams"][0]["state"] = "absent"
    message = one_error(settings, "realtime_proxy_sites[0].locations[0].upstream")
    assert "not a present upstream" in message and "defined: none" in message


def test_absent_site_may_refer_to_absent_upstream():
    settings = inventory()
    settings["realtime_proxy_upstreams"][0]["state"] = "absent"
    site(settings)["state"] = "absent"
    assert inventory_errors(settings) == []


def test_duplicate_site_name():
    settings = inventory()
    settings["realtime_proxy_sites"].append(copy.deepcopy(site(settings)))
    message = one_error(settings, "realtime_proxy_sites[1].name")
    assert "'demo' is used twice" in message


def test_duplicate_location_path():
    settings = inventory()
    site(settings)["locations"][2]["path"] = "/sse/"
    message = one_error(settings, "realtime_proxy_sites[0].locations[2].path")
    assert "used twice in this site" in message


def test_duplicate_upstream_name():
    settings = inventory()
    settings["realtime_proxy_upstreams"].append({"name": "app", "servers": ["127.0.0.1:8001"]})
    message = one_error(settings, "realtime_proxy_upstreams[1].name")
    assert "'app' is used twice" in message


@pytest.mark.parametrize("listen,expect", [
    (0, "1 to 65535"), (65536, "1 to 65535"), ("70000", "1 to 65535"), ("host", "host:port"),
    ("1.2.3.4:80;", "port must be 1 to 65535"), ("[::1]80", "[address]:port"), ("[zz]:80", "not an IPv6 address"),
    ("ex ample:80", "not an IPv4 address or host name"), (True, "port number"), (8.0, "port number"),
])
def test_bad_listen(listen, expect):
    settings = inventory()
    site(settings)["listen"] = [listen]
    message = one_error(settings, "realtime_proxy_sites[0].listen[0]")
    assert expect in message


def test_listen_must_be_a_non_empty_list():
    settings = inventory()
    site(settings)["listen"] = "8080"
    assert "non-empty list" in one_error(settings, "realtime_proxy_sites[0].listen")


def test_duplicate_listen():
    settings = inventory()
    site(settings)["listen"] = [8080, "8080"]
    assert "listed twice" in one_error(settings, "realtime_proxy_sites[0].listen[1]")


@pytest.mark.parametrize("servers,where,expect", [
    ([], "realtime_proxy_upstreams[0].servers", "non-empty list"),
    ("127.0.0.1:80", "realtime_proxy_upstreams[0].servers", "non-empty list"),
    ([8000], "realtime_proxy_upstreams[0].servers[0]", "host:port"),
    (["127.0.0.1"], "realtime_proxy_upstreams[0].servers[0]", "host:port"),
    (["*:80"], "realtime_proxy_upstreams[0].servers[0]", "not an IPv4 address or host name"),
    (["a;b:80"], "realtime_proxy_upstreams[0].servers[0]", "not an IPv4 address or host name"),
])
def test_bad_servers(servers, where, expect):
    settings = inventory()
    settings["realtime_proxy_upstreams"][0]["servers"] = servers
    assert expect in one_error(settings, where)


def test_rlimit_below_twice_connections():
    settings = inventory(realtime_proxy_worker_connections=4096, realtime_proxy_worker_rlimit_nofile=8191)
    message = one_error(settings, "realtime_proxy_worker_rlimit_nofile")
    assert "less than twice realtime_proxy_worker_connections" in message and "8192" in message


def test_rlimit_exactly_twice_connections():
    assert inventory_errors(inventory(realtime_proxy_worker_connections=4096,
                                      realtime_proxy_worker_rlimit_nofile=8192)) == []


def test_ints_given_as_strings_are_accepted():
    settings = inventory(realtime_proxy_worker_connections="1024", realtime_proxy_worker_rlimit_nofile="4096",
                         realtime_proxy_worker_processes="2", realtime_proxy_worker_shutdown_timeout="30",
                         realtime_proxy_connect_timeout="5")
    settings["realtime_proxy_upstreams"][0]["keepalive"] = "8"
    site(settings)["listen"] = ["8080"]
    site(settings)["locations"][1].update(read_timeout="3600", send_timeout="3600", connect_timeout="3")
    assert inventory_errors(settings) == []


@pytest.mark.parametrize("variable", ["realtime_proxy_worker_connections", "realtime_proxy_worker_rlimit_nofile",
                                      "realtime_proxy_worker_shutdown_timeout", "realtime_proxy_connect_timeout",
                                      "realtime_proxy_worker_processes"])
def test_bools_are_rejected_where_ints_are_expected(variable):
    message = one_error(inventory(**{variable: True}), variable)
    assert "True" in message and "whole number" in message


def test_bool_keepalive_and_timeout_rejected():
    settings = inventory()
    settings["realtime_proxy_upstreams"][0]["keepalive"] = True
    site(settings)["locations"][0]["read_timeout"] = False
    assert "whole number from 1 to 65535" in one_error(settings, "realtime_proxy_upstreams[0].keepalive")
    assert "whole number of seconds" in one_error(settings, "realtime_proxy_sites[0].locations[0].read_timeout")


@pytest.mark.parametrize("field,value,expect", [
    ("path", "/a b", "a path starting with '/'"),
    ("path", "sse", "a path starting with '/'"),
])
def test_location_path_message_says_what_is_allowed(field, value, expect):
    settings = inventory()
    site(settings)["locations"][1][field] = value
    assert expect in one_error(settings, "realtime_proxy_sites[0].locations[1].%s" % field)


def test_name_message_says_what_is_allowed():
    settings = inventory()
    site(settings)["name"] = "../x"
    message = one_error(settings, "realtime_proxy_sites[0].name")
    assert "1 to 64 letters, digits, '-' or '_'" in message


def test_header_value_message_says_what_is_allowed():
    settings = inventory()
    site(settings)["locations"][2]["proxy_headers"] = {"X-Tenant": "$host"}
    message = one_error(settings, "realtime_proxy_sites[0].locations[2].proxy_headers.X-Tenant")
    assert "printable ASCII" in message


@pytest.mark.parametrize("kind,header", [("websocket", "Upgrade"), ("websocket", "connection"), ("sse", "Connection")])
def test_reserved_headers(kind, header):
    settings = inventory()
    location = site(settings)["locations"][2]
    location["type"] = kind
    location["proxy_headers"] = {header: "x"}
    message = one_error(settings, "realtime_proxy_sites[0].locations[2].proxy_headers.%s" % header)
    assert "set by the location type" in message


def test_unknown_option_lists_the_allowed_ones():
    settings = inventory()
    site(settings)["locations"][0]["rewrite"] = "x"
    message = one_error(settings, "realtime_proxy_sites[0].locations[0].rewrite")
    assert "unknown option" in message and "path" in message


def test_server_name_and_state():
    settings = inventory()
    site(settings)["server_name"] = ["ok.example.com", "bad name"]
    site(settings)["state"] = "gone"
    assert "'bad name' is not a host name" in one_error(settings, "realtime_proxy_sites[0].server_name")
    assert "present, absent" in one_error(settings, "realtime_proxy_sites[0].state")


def test_all_errors_reported_at_once():
    settings = inventory(realtime_proxy_worker_connections="x")
    site(settings)["name"] = "a b"
    settings["realtime_proxy_upstreams"][0]["servers"] = ["nope"]
    assert len(inventory_errors(settings)) >= 3


def test_owned_files_skips_absent_items():
    upstreams = [{"name": "app", "servers": ["127.0.0.1:1"]}, {"name": "old", "servers": ["127.0.0.1:2"], "state": "absent"}]
    sites = [{"name": "demo", "listen": [80], "locations": []}, {"name": "gone", "listen": [81], "locations": [], "state": "absent"}]
    paths = [item["path"] for item in owned_files(upstreams, sites)]
    assert "nginx.conf" in paths
    assert "realtime_proxy/upstreams/app.conf" in paths and "realtime_proxy/sites/demo.conf" in paths
    assert not any("old" in path or "gone" in path for path in paths)


def test_owned_files_carry_template_and_item():
    files = owned_files([{"name": "app", "servers": ["127.0.0.1:1"]}], [])
    upstream = [item for item in files if item["path"] == "realtime_proxy/upstreams/app.conf"][0]
    assert upstream["template"] == "upstream.conf.j2" and upstream["upstream"]["name"] == "app"


@pytest.mark.parametrize("variable, value, where", [
    ("realtime_proxy_stub_status_listen", "127.0.0.1:99999", "realtime_proxy_stub_status_listen"),
    ("realtime_proxy_stub_status_listen", "127.0.0.1:8089; include /x", "realtime_proxy_stub_status_listen"),
    ("realtime_proxy_stub_status_path", "/status;deny", "realtime_proxy_stub_status_path"),
    ("realtime_proxy_stub_status_allow", ["127.0.0.1", "all; allow all"], "realtime_proxy_stub_status_allow[1]"),
    ("realtime_proxy_stub_status_allow", "127.0.0.1", "realtime_proxy_stub_status_allow"),
])
def test_stub_status_values_are_refused_by_name(variable, value, where):
    settings = inventory(realtime_proxy_stub_status_listen="127.0.0.1:8089")
    settings[variable] = value
    one_error(settings, where)


def test_stub_status_on_a_tls_port_is_refused():
    settings = inventory(realtime_proxy_stub_status_listen="127.0.0.1:8080")
    site(settings)["listen"] = []
    site(settings)["tls"] = {"listen": ["127.0.0.1:8080"], "certificate": "/c.pem", "certificate_key": "/k.pem"}
    assert "a port is either plain or TLS" in one_error(settings, "realtime_proxy_stub_status_listen[0]")


def test_own_logs_must_be_a_boolean():
    settings = inventory()
    site(settings)["own_logs"] = "yes"
    one_error(settings, "realtime_proxy_sites[0].own_logs")
