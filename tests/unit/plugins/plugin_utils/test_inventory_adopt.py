"""The checks of an nginx the role does not own: snippets take a location's checks, and the mode allows what it can write."""

from __future__ import annotations

import copy
import sys

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import SNIPPET_DIR
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import LOCATION_KEYS, inventory_errors, owned_files
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_adopt import SNIPPET_KEYS

HTTP_FILE = "conf.d/realtime_proxy.conf"


def adopted(**overrides):
    settings = {
        "realtime_proxy_manage_nginx_conf": False,
        "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:8000"], "keepalive": 8}],
        "realtime_proxy_snippets": [{"name": "sse", "type": "sse", "upstream": "app"},
                                    {"name": "ws", "type": "websocket", "upstream": "app"}],
    }
    settings.update(copy.deepcopy(overrides))
    return settings


def errors_at(settings, where):
    return [error for error in inventory_errors(settings) if error.startswith(where + ":")]


def test_snippets_are_accepted_without_sites():
    assert inventory_errors(adopted()) == []


def test_a_snippet_takes_a_locations_options_but_its_line():
    assert SNIPPET_KEYS == (LOCATION_KEYS - {"path", "match"}) | {"name", "state"}


@pytest.mark.parametrize("key,value", [("path", "/sse/"), ("match", "exact")])
def test_the_location_line_is_the_users(key, value):
    settings = adopted()
    settings["realtime_proxy_snippets"][0][key] = value
    [message] = errors_at(settings, "realtime_proxy_snippets[0].%s" % key)
    assert "location block of yours" in message


@pytest.mark.parametrize("change,where,says", [
    ({"upstream": "nope"}, "realtime_proxy_snippets[0].upstream", "is not a present upstream"),
    ({"cors": {"origins": ["https://a.example"]}, "type": "websocket"}, "realtime_proxy_snippets[0].cors",
     "browsers do not apply CORS to WebSocket"),
    ({"read_timeout": 10, "heartbeat_interval": 15}, "realtime_proxy_snippets[0].read_timeout", "heartbeat_interval"),
    ({"directives": [{"proxy_buffering": "on"}]}, "realtime_proxy_snippets[0].directives[0].proxy_buffering",
     "is set by the location type sse"),
    ({"proxy_headers": {"X-A": "a;b#c"}}, None, None),
    ({"proxy_headers": {"X-A": "$host"}}, "realtime_proxy_snippets[0].proxy_headers.X-A", "is not printable ASCII"),
    ({"allowed_origins": ["https://a.example"]}, "realtime_proxy_snippets[0].allowed_origins", "applies to websocket"),
    ({"verify_url": "http://127.0.0.1:8080/sse/"}, None, None),
    ({"type": "grpc"}, "realtime_proxy_snippets[0].type", "is not one of"),
])
def test_a_snippet_is_checked_as_a_location_is(change, where, says):
    settings = adopted()
    settings["realtime_proxy_snippets"][0].update(change)
    if where is None:
        assert inventory_errors(settings) == []
        return
    messages = errors_at(settings, where)
    assert messages and says in messages[0], inventory_errors(settings)


def test_names_are_unique_file_names_and_absent_snippets_need_no_upstream():
    settings = adopted()
    settings["realtime_proxy_snippets"].append({"name": "sse", "type": "http", "upstream": "app"})
    settings["realtime_proxy_snippets"].append({"name": "../x", "type": "http", "upstream": "app"})
    settings["realtime_proxy_snippets"].append({"name": "old", "type": "http", "upstream": "gone", "state": "absent"})
    assert "used twice" in errors_at(settings, "realtime_proxy_snippets[2].name")[0]
    assert "is not a valid name" in errors_at(settings, "realtime_proxy_snippets[3].name")[0]
    assert errors_at(settings, "realtime_proxy_snippets[4].upstream") == []


@pytest.mark.parametrize("setting,value,says", [
    ("realtime_proxy_sites", [{"name": "s", "listen": [8080], "locations": [{"path": "/", "type": "http", "upstream": "app"}]}],
     "writes no server blocks"),
    ("realtime_proxy_limit_conn_per_client", 5, "set limit_conn in your server"),
    ("realtime_proxy_limit_req_rate", "20r/s", "set limit_req in your server"),
])
def test_what_belongs_to_the_role_s_own_servers_is_refused_by_name(setting, value, says):
    [message] = errors_at(adopted(**{setting: value}), setting)
    assert says in message


def test_snippets_and_removal_need_the_mode():
    managed = adopted(realtime_proxy_manage_nginx_conf=True, realtime_proxy_state="absent")
    assert "need realtime_proxy_manage_nginx_conf: false" in errors_at(managed, "realtime_proxy_snippets")[0]
    assert "applies with realtime_proxy_manage_nginx_conf: false" in errors_at(managed, "realtime_proxy_state")[0]
    assert "must be true or false" in errors_at(adopted(realtime_proxy_manage_nginx_conf="maybe"),
                                                "realtime_proxy_manage_nginx_conf")[0]
    # Ansible's booleans, as an INI inventory gives them.
    assert inventory_errors(adopted(realtime_proxy_manage_nginx_conf="no", realtime_proxy_state="absent")) == []


def test_the_files_of_an_nginx_the_role_does_not_own():
    settings = adopted()
    settings["realtime_proxy_snippets"].append({"name": "old", "type": "http", "upstream": "app", "state": "absent"})
    files = owned_files(settings["realtime_proxy_upstreams"], [], settings["realtime_proxy_snippets"], HTTP_FILE)
    assert [(item["path"], item["template"]) for item in files] == [
        (HTTP_FILE, "http_parts.conf.j2"),
        (SNIPPET_DIR + "/sse.conf", "snippet.conf.j2"),
        (SNIPPET_DIR + "/ws.conf", "snippet.conf.j2")]
    # The entries an upstream's own file has where the role owns nginx.conf, rendered into the http-level file.
    assert files[0]["upstream_files"] == [item for item in owned_files(settings["realtime_proxy_upstreams"], [])
                                          if item["template"] == "upstream.conf.j2"]
    assert [snippet["name"] for snippet in files[0]["snippets"]] == ["sse", "ws"]
    assert files[1]["upstreams"] == {"app": settings["realtime_proxy_upstreams"][0]}


def test_the_live_checks_need_no_crossplane(monkeypatch):
    """The role reads the live configuration with the collection's own reader: only the audit needs crossplane."""
    monkeypatch.setitem(sys.modules, "crossplane", None)  # any import of it fails
    from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import adopt_errors
    dump = ("# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n\n"
            "# configuration file /etc/nginx/sites-enabled/app:\nmap $http_upgrade $realtime_proxy_upgrade {\n"
            "    default \"\";\n}\n")
    proposed = [{"path": HTTP_FILE, "content": "map $http_upgrade $realtime_proxy_upgrade {\n    default \"\";\n}\n"}]
    errors = adopt_errors({"rc": 0, "stdout": dump}, "/etc/nginx", HTTP_FILE, proposed, adopted())
    assert [error.split(":")[0] for error in errors] == ["realtime_proxy_manage_nginx_conf"] * 2
    assert "has no include in http {}" in errors[0] and "$realtime_proxy_upgrade is defined by a map in " \
        "/etc/nginx/sites-enabled/app:1" in errors[1]
