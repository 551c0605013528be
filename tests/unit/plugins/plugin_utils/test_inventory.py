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


# -- match, upstream_path ------------------------------------------------------

def with_location(**location):
    settings = inventory()
    site(settings)["locations"].append(dict({"path": "/x/", "type": "http", "upstream": "app"}, **location))
    return settings


NEW = "realtime_proxy_sites[0].locations[3]"


@pytest.mark.parametrize("match,path", [
    ("prefix", "/x/"), ("prefix_priority", "/static/"), ("exact", "/healthz"), ("regex", r"\.json$"),
    ("regex_nocase", r"^/(img|css)/.+\.(png|CSS)$"), ("regex", r"^/a{2,3};b#c\d\t\'x'$"), ("regex", "/sse/"),
])
def test_match_kinds_accepted(match, path):
    assert inventory_errors(with_location(match=match, path=path)) == []


def test_unknown_match_names_the_choices():
    message = one_error(with_location(match="glob"), NEW + ".match")
    assert "'glob'" in message and "prefix, prefix_priority, exact, regex, regex_nocase" in message


@pytest.mark.parametrize("path", [
    'a"b', "a\\\\b", "ends\\", "new\nline", "tab\tchar", "nul\x00", "caf\u00e9", "", "x" * 1025, ["/a"], 5, None,
])
def test_bad_regex_is_refused_naming_the_path(path):
    message = one_error(with_location(match="regex", path=path), NEW + ".path")
    assert "regular expression" in message


@pytest.mark.parametrize("match", ["prefix_priority", "exact"])
@pytest.mark.parametrize("path", ["/a b", "/a;b", "/a{", "a/", "/$x", "/a\"b"])
def test_bad_plain_path_is_refused_for_every_plain_match(match, path):
    assert "is not a path" in one_error(with_location(match=match, path=path), NEW + ".path")


@pytest.mark.parametrize("first,second,duplicate", [
    ({"path": "/sse/"}, {"path": "/sse/", "match": "exact"}, False),
    ({"path": "/sse/"}, {"path": "/sse/", "match": "prefix_priority"}, True),
    ({"path": "/sse/", "match": "exact"}, {"path": "/sse/", "match": "exact"}, True),
    ({"path": r"\.json$", "match": "regex"}, {"path": r"\.json$", "match": "regex"}, True),
    ({"path": r"\.json$", "match": "regex"}, {"path": r"\.json$", "match": "regex_nocase"}, False),
    ({"path": "/sse/", "match": "regex"}, {"path": "/sse/"}, False),
])
def test_path_uniqueness_follows_the_match_kind(first, second, duplicate):
    settings = inventory()
    locations = site(settings)["locations"]
    locations[1].update(first)
    locations[2].update(second)
    errors = [e for e in inventory_errors(settings) if e.startswith("realtime_proxy_sites[0].locations[2].path:")]
    assert bool(errors) == duplicate, errors
    if duplicate:
        assert "used twice in this site" in errors[0]


@pytest.mark.parametrize("match", ["prefix", "prefix_priority", "exact"])
def test_upstream_path_accepted_where_nginx_allows_a_uri(match):
    assert inventory_errors(with_location(match=match, path="/x/", upstream_path="/v1/")) == []


@pytest.mark.parametrize("match", ["regex", "regex_nocase"])
def test_upstream_path_refused_with_a_regex(match):
    message = one_error(with_location(match=match, path=r"\.json$", upstream_path="/v1/"), NEW + ".upstream_path")
    assert "cannot be used with match %s" % match in message and "regular expression" in message


@pytest.mark.parametrize("value", ["v1/", "/v1 /", "/v1;", "/$uri", "/a{", "/é", 1, ["/v1/"], None])
def test_bad_upstream_path_is_refused(value):
    message = one_error(with_location(upstream_path=value), NEW + ".upstream_path")
    assert "is not a path" in message


# -- directives ---------------------------------------------------------------------

HTTP = "realtime_proxy_http_directives"
SITE = "realtime_proxy_sites[0].directives"
LOCATION = NEW + ".directives"


def with_directives(level, entries, **location):
    if level == HTTP:
        return inventory(realtime_proxy_http_directives=entries)
    if level == SITE:
        settings = inventory()
        site(settings)["directives"] = entries
        return settings
    return with_location(directives=entries, **location)


LEVELS = [HTTP, SITE, LOCATION]


@pytest.mark.parametrize("level", LEVELS)
def test_valid_directives_accepted(level):
    entries = [{"client_max_body_size": "10m"}, {"add_header": ["X-Frame-Options", "DENY", "always"]},
               {"add_header": ["X-Request-Id", "$request_id", "always"]}, {"keepalive_requests": 1000},
               {"add_header": ["X-Mixed", "a $host;b {c} #d 'e'", "always"]}, {"internal": None},
               {"proxy_buffer_size": 16.5}, {"etag": "off"}, {"client_body_buffer_size": []}]
    assert inventory_errors(with_directives(level, entries)) == []


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("entries,at,expect", [
    ("x", "", "must be a list"),
    ({"gzip": "on"}, "", "must be a list"),
    (["gzip on"], "[0]", "mapping of one directive name"),
    ([{"gzip": "on", "etag": "off"}], "[0]", "mapping of one directive name"),
    ([{}], "[0]", "mapping of one directive name"),
    ([{"Gzip": "on"}], "[0]", "is not an nginx directive name"),
    ([{"gzip;": "on"}], "[0]", "is not an nginx directive name"),
    ([{"1gzip": "on"}], "[0]", "is not an nginx directive name"),
    ([{"a" * 65: "on"}], "[0]", "is not an nginx directive name"),
    ([{5: "on"}], "[0]", "is not an nginx directive name"),
    ([{"gzip": True}], "[0].gzip", "write on or off as a quoted string"),
    ([{"add_header": ["X-A", False]}], "[0].add_header[1]", "write on or off as a quoted string"),
    ([{"gzip": {"on": 1}}], "[0].gzip", "is not a string or a number"),
    ([{"add_header": ["X-A", ["b"]]}], "[0].add_header[1]", "is not a string or a number"),
    ([{"client_max_body_size": float("nan")}], "[0].client_max_body_size", "is not a number nginx reads"),
    ([{"add_header": ["X-A", 'a"b']}], "[0].add_header[1]", "without '\"' or '\\'"),
    ([{"add_header": ["X-A", "a\\"]}], "[0].add_header[1]", "without '\"' or '\\'"),
    ([{"add_header": ["X-A", "a\nb"]}], "[0].add_header[1]", "printable ASCII"),
    ([{"add_header": ["X-A", "a\x00b"]}], "[0].add_header[1]", "printable ASCII"),
    ([{"add_header": ["X-A", "caf\u00e9"]}], "[0].add_header[1]", "printable ASCII"),
    ([{"add_header": ["X-A", "${host}"]}], "[0].add_header[1]", "$name"),
    ([{"add_header": ["X-A", "5$"]}], "[0].add_header[1]", "$name"),
    ([{"add_header": ["X-A", "$1"]}], "[0].add_header[1]", "$name"),
    ([{"add_header": ["X-A", "x" * 1025]}], "[0].add_header[1]", "up to 1024"),
    ([{"server_tokens": "$" + "a" * 40 + "$" * 30}], "[0].server_tokens", "$name"),
])
def test_bad_directive_is_refused_naming_it(level, entries, at, expect):
    message = one_error(with_directives(level, entries), level + at)
    assert expect in message, message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ["if", "location", "limit_except", "server", "upstream", "map", "geo", "types",
                                  "http", "events", "split_clients", "match"])
def test_block_directives_are_refused_by_name(level, name):
    message = one_error(with_directives(level, [{"etag": "on"}, {name: "x"}]), "%s[1].%s" % (level, name))
    assert "is a block" in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ["include", "load_module", "perl_require", "js_import"])
def test_file_loading_directives_are_refused_by_name(level, name):
    message = one_error(with_directives(level, [{name: "/etc/passwd"}]), "%s[0].%s" % (level, name))
    assert "loads files, modules or code" in message


@pytest.mark.parametrize("kind,name,option", [
    ("sse", "proxy_buffering", None), ("sse", "proxy_cache", None), ("sse", "gzip", None),
    ("sse", "chunked_transfer_encoding", None),
    ("http", "proxy_pass", "upstream"), ("websocket", "proxy_pass", "upstream"), ("sse", "proxy_http_version", None),
    ("http", "proxy_read_timeout", "read_timeout"), ("websocket", "proxy_send_timeout", "send_timeout"),
    ("sse", "proxy_connect_timeout", "connect_timeout"),
])
def test_directive_owned_by_the_type_is_refused_naming_the_type(kind, name, option):
    message = one_error(with_directives(LOCATION, [{name: "on"}], type=kind), "%s[0].%s" % (LOCATION, name))
    assert "is set by the location type %s" % kind in message
    if option:
        assert "use the location's %s" % option in message


@pytest.mark.parametrize("name", ["proxy_buffering", "gzip", "chunked_transfer_encoding"])
def test_sse_owned_directives_are_free_on_http_locations(name):
    assert inventory_errors(with_directives(LOCATION, [{name: "on"}], type="http")) == []


@pytest.mark.parametrize("kind,header", [("websocket", "Upgrade"), ("websocket", "connection"), ("sse", "Connection"),
                                         ("http", "CONNECTION")])
def test_proxy_set_header_of_a_type_owned_header_names_the_type(kind, header):
    settings = with_directives(LOCATION, [{"proxy_set_header": [header, "x"]}], type=kind)
    message = one_error(settings, LOCATION + "[0].proxy_set_header")
    assert "header is set by the location type %s" % kind in message


@pytest.mark.parametrize("level,expect", [(LOCATION, "use the location's proxy_headers"),
                                          (SITE, "does not pass proxy_set_header down"),
                                          (HTTP, "does not pass proxy_set_header down")])
def test_proxy_set_header_points_to_proxy_headers(level, expect):
    message = one_error(with_directives(level, [{"proxy_set_header": ["X-Tenant", "blue"]}]), level + "[0].proxy_set_header")
    assert expect in message


def test_type_owned_directives_are_free_at_site_and_http_level():
    settings = with_directives(SITE, [{"proxy_buffering": "off"}, {"proxy_read_timeout": "30s"}])
    settings["realtime_proxy_http_directives"] = [{"gzip_comp_level": 5}, {"proxy_cache": "off"}]
    assert inventory_errors(settings) == []
