"""inventory_errors() and owned_files(): messages name the variable and what is allowed."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, owned_files
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import location_types

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
    assert "'grpc'" in message and ", ".join(location_types()) in message


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


def test_rlimit_below_connections():
    # Every connection is one open file; the rule used to ask for twice as many, which
    # the 20,000-file hosts this is tested on cannot give a worker holding 16,000 streams.
    settings = inventory(realtime_proxy_worker_connections=4096, realtime_proxy_worker_rlimit_nofile=4095)
    message = one_error(settings, "realtime_proxy_worker_rlimit_nofile")
    assert "less than realtime_proxy_worker_connections (4096)" in message and "0 to size them" in message


@pytest.mark.parametrize("connections, rlimit", [(4096, 4096), (4096, 8192), (0, 0), (0, 4096), (4096, 0)])
def test_rlimit_at_least_connections_or_sized_from_the_host(connections, rlimit):
    assert inventory_errors(inventory(realtime_proxy_worker_connections=connections,
                                      realtime_proxy_worker_rlimit_nofile=rlimit)) == []


@pytest.mark.parametrize("variable, value", [("realtime_proxy_worker_connections", 15),
                                             ("realtime_proxy_worker_rlimit_nofile", 31)])
def test_worker_limits_too_small(variable, value):
    assert "use 0 to size it" in one_error(inventory(**{variable: value}), variable)


@pytest.mark.parametrize("value", ["256", "512", "1k", "2K", "8k", 4096])
def test_buffer_size_on_a_stream_location(value):
    settings = inventory()
    site(settings)["locations"][1]["buffer_size"] = value
    site(settings)["locations"][2]["buffer_size"] = value
    assert inventory_errors(settings) == []


@pytest.mark.parametrize("value", ["255", "0", "9k", "16k", "1m", "4 k", "4kb", "-1k", "", True, [1024], None])
def test_buffer_size_out_of_range_or_not_a_size(value):
    settings = inventory()
    site(settings)["locations"][1]["buffer_size"] = value
    message = one_error(settings, "realtime_proxy_sites[0].locations[1].buffer_size")
    assert "is not a size from 256 to 8k" in message


def test_buffer_size_belongs_to_stream_locations():
    settings = inventory()
    site(settings)["locations"][0]["buffer_size"] = "1k"
    message = one_error(settings, "realtime_proxy_sites[0].locations[0].buffer_size")
    assert "applies to sse and websocket locations" in message and "directives of http locations" in message


@pytest.mark.parametrize("value, ok", [("4k", True), ("512", True), ("16k", True), (8192, True), ("511", False),
                                       ("17k", False), ("1m", False), ("4 k", False), (False, False)])
def test_tls_buffer_size(value, ok):
    errors = inventory_errors(inventory(realtime_proxy_tls_buffer_size=value))
    assert (errors == []) if ok else ("is not a size from 512 to 16k" in one_error(
        inventory(realtime_proxy_tls_buffer_size=value), "realtime_proxy_tls_buffer_size")), errors


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


@pytest.mark.parametrize("kind,header", [("websocket", "Upgrade"), ("websocket", "connection"), ("sse", "Connection"),
                                         ("socketio", "Upgrade"), ("socketio", "Connection")])
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


# -- balancing: servers as mappings, balance, hash_key, next_upstream ------

def upstream(settings):
    return settings["realtime_proxy_upstreams"][0]


def balanced(**keys):
    """inventory() whose upstream has three servers (a string, a mapping, a Unix socket) and KEYS."""
    settings = inventory()
    upstream(settings).update({"servers": ["127.0.0.1:8000", {"address": "127.0.0.1:8001", "weight": 3},
                                           "unix:/run/app/app.sock"]})
    upstream(settings).update(keys)
    return settings


@pytest.mark.parametrize("keys", [
    {"balance": "round_robin"},
    {"balance": "least_conn", "next_upstream": {"conditions": ["error", "timeout"], "tries": 2, "timeout": "10"}},
    {"balance": "ip_hash"},
    {"balance": "hash", "hash_key": {"source": "cookie", "name": "session_id", "consistent": True}},
    {"balance": "hash", "hash_key": {"source": "header", "name": "X-User-Id"}},
    {"balance": "hash", "hash_key": {"source": "arg", "name": "user"}},
    {"balance": "hash", "hash_key": {"source": "remote_addr"}},
    {"balance": "hash", "hash_key": {"source": "uri", "consistent": False}},
    {"next_upstream": {"conditions": ["off"]}},
    {"next_upstream": {"tries": 0, "timeout": 0}},
], ids=repr)
def test_balancing_accepted(keys):
    assert inventory_errors(balanced(**keys)) == []


def test_server_mapping_with_every_parameter_is_accepted():
    settings = inventory()
    upstream(settings)["servers"] = [
        {"address": "[::1]:8000", "weight": "5", "max_fails": 0, "fail_timeout": 30, "max_conns": 100},
        {"address": "127.0.0.1:8001", "backup": True, "down": True},
        {"address": "unix:/run/a_b+c@d.sock", "down": False, "backup": False}]
    assert inventory_errors(settings) == []


@pytest.mark.parametrize("server,where,expect", [
    ({"weight": 2}, "servers[0].address", "is required"),
    ({"address": "127.0.0.1"}, "servers[0].address", "host:port"),
    ({"address": 8000}, "servers[0].address", "address string"),
    ({"address": "127.0.0.1:1", "weight": 0}, "servers[0].weight", "from 1 to 1000"),
    ({"address": "127.0.0.1:1", "weight": "5;"}, "servers[0].weight", "from 1 to 1000"),
    ({"address": "127.0.0.1:1", "weight": True}, "servers[0].weight", "from 1 to 1000"),
    ({"address": "127.0.0.1:1", "max_fails": -1}, "servers[0].max_fails", "from 0 to 1000"),
    ({"address": "127.0.0.1:1", "fail_timeout": "10s"}, "servers[0].fail_timeout", "from 1 to 604800"),
    ({"address": "127.0.0.1:1", "max_conns": 1048577}, "servers[0].max_conns", "from 0 to 1048576"),
    ({"address": "127.0.0.1:1", "backup": "yes"}, "servers[0].backup", "true or false"),
    ({"address": "127.0.0.1:1", "down": 1}, "servers[0].down", "true or false"),
    ({"address": "127.0.0.1:1", "slow_start": 5}, "servers[0].slow_start", "unknown option; allowed: address, backup"),
], ids=repr)
def test_bad_server_mapping_names_the_parameter(server, where, expect):
    settings = inventory()
    upstream(settings)["servers"] = [server, "127.0.0.1:9"]
    assert expect in one_error(settings, "realtime_proxy_upstreams[0]." + where)


@pytest.mark.parametrize("address,expect", [
    ("unix:run/app.sock", "absolute path"),
    ("unix:/run/../etc/x.sock", "no '..'"),
    ("unix:/run/./x.sock", "absolute path"),
    ("unix:/run/a b.sock", "absolute path"),
    ("unix:/run/a;b.sock", "absolute path"),
    ("unix:/run/a:b.sock", "absolute path"),
    ("unix:", "absolute path"),
    ("unix:/" + "a" * 107, "longer than 107"),
])
def test_bad_unix_socket_is_refused(address, expect):
    settings = inventory()
    upstream(settings)["servers"] = ["127.0.0.1:1", address]
    assert expect in one_error(settings, "realtime_proxy_upstreams[0].servers[1]")
    upstream(settings)["servers"] = ["127.0.0.1:1", {"address": address}]
    assert expect in one_error(settings, "realtime_proxy_upstreams[0].servers[1].address")


def test_longest_unix_socket_path_is_accepted():
    settings = inventory()
    upstream(settings)["servers"] = ["unix:/" + "a" * 106]
    assert inventory_errors(settings) == []


@pytest.mark.parametrize("balance", ["ip_hash", "hash"])
def test_backup_refused_with_hash_methods(balance):
    settings = balanced(balance=balance, **({"hash_key": {"source": "remote_addr"}} if balance == "hash" else {}))
    upstream(settings)["servers"][1]["backup"] = True
    message = one_error(settings, "realtime_proxy_upstreams[0].servers[1].backup")
    assert "balance: %s" % balance in message and "round_robin or least_conn" in message


@pytest.mark.parametrize("flags", [[{"down": True}], [{"backup": True}], [{"down": True}, {"backup": True, "down": True}]],
                         ids=repr)
def test_upstream_without_a_serving_server_is_refused(flags):
    settings = inventory()
    upstream(settings)["servers"] = [dict({"address": "127.0.0.1:%d" % port}, **flag) for port, flag in enumerate(flags, 1)]
    assert "every server is down or backup" in one_error(settings, "realtime_proxy_upstreams[0].servers")


def test_unknown_balance_names_the_choices():
    message = one_error(balanced(balance="random"), "realtime_proxy_upstreams[0].balance")
    assert "'random'" in message and "round_robin, least_conn, ip_hash, hash" in message


def test_hash_needs_hash_key_and_only_hash_takes_one():
    assert "is required with balance: hash" in one_error(balanced(balance="hash"), "realtime_proxy_upstreams[0].hash_key")
    message = one_error(balanced(balance="least_conn", hash_key={"source": "remote_addr"}),
                        "realtime_proxy_upstreams[0].hash_key")
    assert "only with balance: hash" in message
    message = one_error(balanced(hash_key={"source": "remote_addr"}), "realtime_proxy_upstreams[0].hash_key")
    assert "only with balance: hash" in message


@pytest.mark.parametrize("hash_key,where,expect", [
    ("cookie", "hash_key", "must be a mapping with source"),
    ({"source": "expression"}, "hash_key.source", "remote_addr, cookie, header, arg, uri"),
    ({"source": "$request_uri"}, "hash_key.source", "is not one of"),
    ({"source": "cookie"}, "hash_key.name", "is required with source: cookie"),
    ({"source": "header"}, "hash_key.name", "is required with source: header"),
    ({"source": "arg"}, "hash_key.name", "is required with source: arg"),
    ({"source": "remote_addr", "name": "x"}, "hash_key.name", "source remote_addr takes no name"),
    ({"source": "uri", "name": "x"}, "hash_key.name", "source uri takes no name"),
    ({"source": "cookie", "name": "a-b"}, "hash_key.name", "letters, digits or '_'"),
    ({"source": "arg", "name": "a.b"}, "hash_key.name", "letters, digits or '_'"),
    ({"source": "header", "name": "X_User"}, "hash_key.name", "letters, digits or '-'"),
    ({"source": "header", "name": "-x"}, "hash_key.name", "starting with a letter or digit"),
    ({"source": "cookie", "name": "s;id"}, "hash_key.name", "is not"),
    ({"source": "cookie", "name": "$host"}, "hash_key.name", "is not"),
    ({"source": "cookie", "name": "x" * 65}, "hash_key.name", "1 to 64"),
    ({"source": "cookie", "name": ["a"]}, "hash_key.name", "is not"),
    ({"source": "uri", "consistent": "yes"}, "hash_key.consistent", "true or false"),
    ({"source": "uri", "key": "$x"}, "hash_key.key", "unknown option; allowed: consistent, name, source"),
], ids=repr)
def test_bad_hash_key_names_the_field(hash_key, where, expect):
    settings = balanced(balance="hash", hash_key=hash_key)
    assert expect in one_error(settings, "realtime_proxy_upstreams[0]." + where)


@pytest.mark.parametrize("value,where,expect", [
    ("error", "next_upstream", "must be a mapping"),
    ({}, "next_upstream", "must be a mapping"),
    ({"conditions": "error timeout"}, "next_upstream.conditions", "non-empty list of: error, timeout"),
    ({"conditions": []}, "next_upstream.conditions", "non-empty list"),
    ({"conditions": ["error", "http_418"]}, "next_upstream.conditions[1]", "'http_418' is not one of"),
    ({"conditions": ["error;"]}, "next_upstream.conditions[0]", "is not one of"),
    ({"conditions": ["error", "error"]}, "next_upstream.conditions[1]", "listed twice"),
    ({"conditions": ["off", "error"]}, "next_upstream.conditions", "must stand alone"),
    ({"tries": -1}, "next_upstream.tries", "from 0 to 1000"),
    ({"tries": "2x"}, "next_upstream.tries", "from 0 to 1000"),
    ({"timeout": "10s"}, "next_upstream.timeout", "seconds from 0 to 604800"),
    ({"timeout": 604801}, "next_upstream.timeout", "seconds from 0 to 604800"),
    ({"tries": 1, "retries": 2}, "next_upstream.retries", "unknown option; allowed: conditions, timeout, tries"),
], ids=repr)
def test_bad_next_upstream_names_the_field(value, where, expect):
    settings = balanced(next_upstream=value)
    assert expect in one_error(settings, "realtime_proxy_upstreams[0]." + where)


# -- socketio ------------------------------------------------------------------

def socketio_inventory(servers=("127.0.0.1:3000", "127.0.0.1:3001"), **upstream):
    """inventory() with a second upstream 'chat' and a socketio location on it (locations[3])."""
    settings = inventory()
    settings["realtime_proxy_upstreams"].append(dict({"name": "chat", "servers": list(servers)}, **upstream))
    site(settings)["locations"].append({"path": "/socket.io/", "type": "socketio", "upstream": "chat",
                                        "allowed_origins": ["https://chat.example.com"]})
    return settings


SOCKETIO_UPSTREAM = "realtime_proxy_sites[0].locations[3].upstream"


@pytest.mark.parametrize("upstream", [
    {"balance": "ip_hash"},
    {"balance": "hash", "hash_key": {"source": "cookie", "name": "session_id"}},
    {"balance": "hash", "hash_key": {"source": "remote_addr", "consistent": True}},
    {"balance": "hash", "hash_key": {"source": "header", "name": "X-Client"}},
    {"balance": "hash", "hash_key": {"source": "arg", "name": "room"}},
], ids=["ip_hash", "hash cookie", "hash remote_addr", "hash header", "hash arg"])
def test_socketio_on_sticky_upstream_is_accepted(upstream):
    assert inventory_errors(socketio_inventory(**upstream)) == []


@pytest.mark.parametrize("servers", [
    ["127.0.0.1:3000"],
    ["127.0.0.1:3000", {"address": "127.0.0.1:3001", "backup": True}],
    ["127.0.0.1:3000", {"address": "127.0.0.1:3001", "down": True}],
], ids=["one server", "one and a backup", "one and one down"])
def test_socketio_on_one_serving_server_needs_no_sticky_balancing(servers):
    assert inventory_errors(socketio_inventory(servers)) == []


@pytest.mark.parametrize("balance", [None, "round_robin", "least_conn"])
def test_socketio_on_several_servers_without_sticky_balancing_is_refused(balance):
    settings = socketio_inventory(**({} if balance is None else {"balance": balance}))
    assert one_error(settings, SOCKETIO_UPSTREAM) == (
        "%s: socketio needs every request of a session on one backend; upstream 'chat' has 2 servers and balance %s: "
        "set balance: ip_hash (or hash with hash_key) on realtime_proxy_upstreams[1]" % (SOCKETIO_UPSTREAM, balance or "round_robin"))


def test_socketio_counts_only_serving_servers():
    settings = socketio_inventory(["127.0.0.1:3000", "127.0.0.1:3001", {"address": "127.0.0.1:3002", "down": True}])
    assert "upstream 'chat' has 2 servers and balance round_robin" in one_error(settings, SOCKETIO_UPSTREAM)


@pytest.mark.parametrize("hash_key,what", [
    ({"source": "uri"}, "the request URI"),
    ({"source": "arg", "name": "sid"}, "the argument sid"),
    ({"source": "arg", "name": "t"}, "the argument t"),
    ({"source": "arg", "name": "transport"}, "the argument transport"),
])
def test_socketio_hash_over_what_changes_within_a_session_is_refused(hash_key, what):
    message = one_error(socketio_inventory(balance="hash", hash_key=hash_key), SOCKETIO_UPSTREAM)
    assert "upstream 'chat' hashes over %s, which changes between the requests of one session" % what in message
    assert "set balance: ip_hash on realtime_proxy_upstreams[1]" in message


def test_socketio_on_an_undefined_upstream_says_only_that():
    settings = socketio_inventory()
    site(settings)["locations"][3]["upstream"] = "nope"
    errors = [e for e in inventory_errors(settings) if e.startswith(SOCKETIO_UPSTREAM)]
    assert len(errors) == 1 and "'nope' is not a present upstream" in errors[0]


def test_socketio_on_an_absent_site_is_not_checked_for_stickiness():
    settings = socketio_inventory()
    site(settings)["state"] = "absent"
    assert inventory_errors(settings) == []


def test_socketio_cors_is_refused_and_allowed_origins_accepted():
    settings = socketio_inventory(balance="ip_hash")
    site(settings)["locations"][3]["cors"] = {"origins": ["https://chat.example.com"]}
    assert "a Socket.IO server answers CORS itself" in one_error(settings, "realtime_proxy_sites[0].locations[3].cors")
    assert not [e for e in inventory_errors(settings) if ".allowed_origins" in e]


def test_allowed_origins_still_refused_on_sse_and_http():
    settings = inventory()
    site(settings)["locations"][1]["allowed_origins"] = ["https://a.example"]
    message = one_error(settings, "realtime_proxy_sites[0].locations[1].allowed_origins")
    assert message.endswith("applies to websocket and socketio locations; use cors on sse locations")


def test_socketio_verify_url_is_refused_by_name():
    settings = socketio_inventory(balance="ip_hash")
    site(settings)["locations"][3]["verify_url"] = "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket"
    message = one_error(settings, "realtime_proxy_sites[0].locations[3].verify_url")
    assert "the probe does not speak Socket.IO (Engine.IO)" in message


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


@pytest.mark.parametrize("kind", ["http", "sse", "websocket", "socketio"])
@pytest.mark.parametrize("name,option", [("proxy_next_upstream", "next_upstream.conditions"),
                                         ("proxy_next_upstream_tries", "next_upstream.tries"),
                                         ("proxy_next_upstream_timeout", "next_upstream.timeout")])
def test_next_upstream_directives_point_to_the_upstream(kind, name, option):
    # Written in every location from its upstream's next_upstream: nginx -t would refuse a second one.
    message = one_error(with_directives(LOCATION, [{name: "off"}], type=kind), "%s[0].%s" % (LOCATION, name))
    assert message.endswith("is set by the location type %s; use %s on the location's upstream in "
                            "realtime_proxy_upstreams" % (kind, option)), message


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


def test_owned_files_give_a_site_only_the_upstreams_it_names():
    upstreams = [{"name": "app", "servers": ["127.0.0.1:1"], "next_upstream": {"tries": 2}},
                 {"name": "other", "servers": ["127.0.0.1:2"]},
                 {"name": "old", "servers": ["127.0.0.1:3"], "state": "absent"}]
    sites = [{"name": "demo", "listen": [80], "locations": [
        {"path": "/", "type": "http", "upstream": "app"}, {"path": "/old/", "type": "http", "upstream": "old"}]}]
    site = [item for item in owned_files(upstreams, sites) if "site" in item][0]
    assert site["upstreams"] == {"app": upstreams[0]}
