"""A custom nginx.conf of the user's, adopted (rtn-adopt-custom).

Its own worker settings, log format, includes (vhosts/, not sites-enabled/)
and a map of $http_upgrade under a name of its own, beside the guide's map
of $connection_upgrade in the server block: the role's maps join them
without a clash, the snippets stream through the user's server and the
audit finds nothing. A name the user's files define too is refused by name,
and so is an nginx.conf that would not load the role's file; both leave the
host as it was. With no include left, realtime_proxy_state absent removes
everything the role wrote and nothing of the user's.
"""

import collections
import re

import pytest
from conftest import (BEFORE_ROLE, CONF_DIR, DROPIN, ROLE_FILES, assert_streams_through, changed,
                      include_the_snippets, reload_nginx, the_users_server, user_files, write_file)
from realtime_testkit.playbook import audit, config_checksums, run_role

NAME = "rtn-adopt-custom"
SERVER = "/etc/nginx/vhosts/app.conf"
NGINX_CONF = "/etc/nginx/nginx.conf"


def map_variables(dump):
    return collections.Counter(re.findall(r"^\s*map\s+\S+\s+\$(\w+)\s*\{", dump, re.M))


def test_the_roles_maps_join_the_users_without_a_clash(custom):
    assert sorted(path for path in config_checksums(custom) if path not in user_files(custom)) == sorted(ROLE_FILES)
    assert user_files(custom) == user_files(custom, BEFORE_ROLE)
    dump = custom.check_output("nginx -T 2>/dev/null")
    assert "# configuration file /etc/nginx/conf.d/realtime_proxy.conf:" in dump
    variables = map_variables(dump)
    # The user's own names, and the role's, each defined once.
    assert variables["ws_connection"] == 1 and variables["connection_upgrade"] == 1
    assert variables["realtime_proxy_upgrade"] == 1 and variables["realtime_proxy_connection"] == 1
    assert all(count == 1 for count in variables.values()), variables
    # The user's worker settings and log format are theirs.
    conf = custom.file(NGINX_CONF).content_string
    assert "worker_connections 4096;" in conf and "log_format main " in conf


@pytest.fixture(scope="module")
def included(custom, custom_vars):
    return include_the_snippets(custom, custom_vars)


def test_the_snippets_stream_through_the_users_server_and_the_audit_finds_nothing(included, custom_server):
    assert_streams_through(custom_server)
    result = audit(NAME)
    assert result["findings"] == [], result["report"]
    assert sorted(loc["snippet"] for loc in result["locations"] if loc["snippet"]) == [
        "/etc/nginx/realtime_proxy/snippets/sse.conf", "/etc/nginx/realtime_proxy/snippets/ws.conf"]


def test_a_name_the_users_files_define_too_is_refused_by_name(included, custom_vars, messages):
    # A map copied from an older output of the role, and an upstream named as the guide's.
    legacy = "/etc/nginx/conf.d/legacy.conf"
    write_file(included, legacy, "map $http_upgrade $realtime_proxy_upgrade {\n    default \"\";\n"
                                 "    \"~*^websocket$\" websocket;\n}\n")
    try:
        before = config_checksums(included)
        upstreams = [dict(custom_vars["realtime_proxy_upstreams"][0], name="backend")]
        snippets = [{"name": "sse", "type": "sse", "upstream": "backend"},
                    {"name": "ws", "type": "websocket", "upstream": "backend"}]
        run = run_role(NAME, {"realtime_proxy_upstreams": upstreams, "realtime_proxy_snippets": snippets})
        assert run.rc != 0
        text = messages(run)
        assert ("realtime_proxy_manage_nginx_conf: the variable $realtime_proxy_upgrade is defined by a map in "
                "/etc/nginx/conf.d/legacy.conf:1 and by the role's /etc/nginx/conf.d/realtime_proxy.conf:") in text, text[-3000:]
        line = the_users_server(custom_vars).splitlines().index("upstream backend {") + 1
        assert ("realtime_proxy_upstreams[0].name: upstream 'backend' is defined in /etc/nginx/vhosts/app.conf:%d too"
                % line) in text, text[-3000:]
        assert config_checksums(included) == before
    finally:
        included.check_output("rm -f %s" % legacy)


def test_with_no_include_left_state_absent_removes_only_the_roles_files(included, custom_vars, custom_server):
    # The user puts the hand-written locations back first: the role refuses to remove included snippets.
    write_file(included, SERVER, the_users_server(custom_vars))
    reload_nginx(included)
    before = config_checksums(included)
    run = run_role(NAME, {"realtime_proxy_state": "absent"})
    assert run.rc == 0, run.messages[-3000:]
    after = config_checksums(included)
    assert changed(before, after) == sorted(ROLE_FILES)
    assert not included.file(CONF_DIR + "/realtime_proxy").exists and not included.file(DROPIN).exists
    assert user_files(included) == {path: value for path, value in before.items() if path not in ROLE_FILES}
    assert_streams_through(custom_server)  # the hand-written blocks, as before the role


def test_an_nginx_conf_that_would_not_load_the_roles_file_is_refused_with_the_line_to_add(included, messages):
    conf = included.file(NGINX_CONF).content_string
    assert conf.count("    include /etc/nginx/conf.d/*.conf;\n") == 1
    write_file(included, NGINX_CONF, conf.replace("    include /etc/nginx/conf.d/*.conf;\n", ""))
    try:
        before = config_checksums(included)
        run = run_role(NAME, {})
        assert run.rc != 0
        assert ("realtime_proxy_manage_nginx_conf: /etc/nginx/nginx.conf has no include in http {} that loads "
                "/etc/nginx/conf.d/realtime_proxy.conf") in messages(run), messages(run)[-3000:]
        assert ("Add this line inside http { } of /etc/nginx/nginx.conf: include /etc/nginx/conf.d/*.conf;"
                in messages(run))
        assert config_checksums(included) == before
        assert not included.file(DROPIN).exists
    finally:
        write_file(included, NGINX_CONF, conf)
