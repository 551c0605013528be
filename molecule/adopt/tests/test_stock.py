"""Debian's stock nginx.conf and the field guide's server block, adopted (rtn-adopt-stock).

In order, as a user goes: the role (converge and idempotence) wrote its
three files and nothing else; the audit finds what the hand-written blocks
get wrong and names the snippet for each; the user includes the snippets and
reloads; SSE streams unbuffered and WebSocket echoes through the user's own
server; the audit then finds only what belongs to the user's nginx.conf, and
nothing once the user adds the line it names. Then the role's later runs
(again, in check mode) leave the user's files byte for byte, its refusals
(removal while included) change nothing, a snippet nginx rejects in the
user's server is never written, and a snippet that breaks streaming is
rolled back.
"""

import copy

import pytest
from conftest import (BEFORE_ROLE, CONF_DIR, DEAD_PORT, DROPIN, ROLE_FILES, assert_streams_through,
                      include_the_snippets, reload_nginx, user_files)
from realtime_testkit.playbook import audit, config_checksums, run_role

NAME = "rtn-adopt-stock"
SERVER = "/etc/nginx/sites-enabled/realtime"


def test_the_role_wrote_its_three_files_and_left_the_users_byte_for_byte(stock):
    now = config_checksums(stock)
    assert sorted(path for path in now if path not in user_files(stock)) == sorted(ROLE_FILES)
    assert user_files(stock) == user_files(stock, BEFORE_ROLE)
    # Debian's nginx.conf is the package's own: dpkg's checksum of the conffile.
    conffiles = stock.check_output("dpkg-query -W -f='${Conffiles}' nginx-common")
    [md5] = [line.split()[1] for line in conffiles.splitlines() if line.split()[:1] == ["/etc/nginx/nginx.conf"]]
    assert stock.check_output("md5sum /etc/nginx/nginx.conf").split()[0] == md5
    # Not in the configuration directory: the restart policy and the open files nginx's workers inherit.
    assert "LimitNOFILE=" in stock.file(DROPIN).content_string


def test_the_hand_written_blocks_have_findings_that_name_their_snippet():
    result = audit(NAME)
    codes = sorted(finding["code"] for finding in result["findings"])
    assert codes == ["connect_timeout_long", "h2c_smuggling", "worker_shutdown_timeout_missing"], result["report"]
    assert not [f for f in result["findings"] if f["file"].startswith("/etc/nginx/conf.d/")], result["report"]
    [timeout] = [f for f in result["findings"] if f["code"] == "connect_timeout_long"]
    assert (timeout["file"], timeout["location"]) == (SERVER, "/sse/")
    assert timeout["replace_with"] == {
        "snippet": {"name": "sse", "type": "sse", "upstream": "backend"},
        "include": "include realtime_proxy/snippets/sse.conf;",
        "upstream": {"name": "backend", "servers": ["127.0.0.1:17801"]}}
    assert 'replace with: realtime_proxy_snippets entry {name: sse, type: sse, upstream: backend}' in result["report"]


@pytest.fixture(scope="module")
def included(stock, stock_vars):
    return include_the_snippets(stock, stock_vars)


def test_sse_streams_unbuffered_and_websocket_echoes_through_the_users_server(included, stock_server):
    sse = assert_streams_through(stock_server)
    # The sse snippet answers: X-Accel-Buffering is its, for any nginx in front.
    assert sse.headers.get("x-accel-buffering") == "no"
    assert "include realtime_proxy/snippets/sse.conf;" in included.file(SERVER).content_string


def test_the_result_has_findings_only_of_the_users_nginx_conf_and_none_once_the_user_fixes_it(included):
    result = audit(NAME)
    assert [(f["code"], f["file"]) for f in result["findings"]] == [
        ("worker_shutdown_timeout_missing", "/etc/nginx/nginx.conf")], result["report"]
    snippets = {loc["location"]: loc["snippet"] for loc in result["locations"]}
    assert snippets == {"/": None, "/sse/": "/etc/nginx/realtime_proxy/snippets/sse.conf",
                        "/ws/": "/etc/nginx/realtime_proxy/snippets/ws.conf"}
    # The main context is nginx.conf's, which the role leaves alone: the user adds the line the audit names.
    included.check_output("sed -i 's/^pid \\/run\\/nginx.pid;$/&\\nworker_shutdown_timeout 30s;/' /etc/nginx/nginx.conf")
    reload_nginx(included)
    result = audit(NAME)
    assert result["findings"] == [], result["report"]
    assert result["summary"] == {"high": 0, "medium": 0, "low": 0}


def test_the_roles_runs_leave_every_file_byte_for_byte(included, messages):
    before = config_checksums(included)
    for check in (False, True):
        run = run_role(NAME, {}, check=check, diff=check)
        assert run.rc == 0, run.messages[-3000:]
        assert run.status("Test the proposed configuration with nginx -t, then write it") == "ok", messages(run)[-3000:]
        assert config_checksums(included) == before


@pytest.mark.parametrize("extra,where", [
    ({"realtime_proxy_snippets": [{"name": "sse", "type": "sse", "upstream": "app"},
                                  {"name": "ws", "type": "websocket", "upstream": "app", "state": "absent"}]},
     ["realtime_proxy_snippets[1].state: absent removes /etc/nginx/realtime_proxy/snippets/ws.conf, which "
      "/etc/nginx/sites-enabled/realtime:%(ws)d still includes"]),
    ({"realtime_proxy_state": "absent"},
     ["realtime_proxy_state: absent removes /etc/nginx/realtime_proxy/snippets/%s.conf, which "
      "/etc/nginx/sites-enabled/realtime:%%(%s)d still includes" % (name, name) for name in ("sse", "ws")]),
], ids=["snippet state absent", "realtime_proxy_state absent"])
def test_removing_what_the_users_server_includes_is_refused_by_name(included, stock_server, messages, extra, where):
    lines = included.file(SERVER).content_string.splitlines()
    at = {name: lines.index("        include realtime_proxy/snippets/%s.conf;" % name) + 1 for name in ("sse", "ws")}
    before = config_checksums(included)
    run = run_role(NAME, extra)
    assert run.rc != 0
    for message in where:
        assert message % at in messages(run), messages(run)[-3000:]
    assert config_checksums(included) == before
    assert included.file(DROPIN).exists
    assert_streams_through(stock_server)


def test_a_snippet_nginx_rejects_in_the_users_server_is_never_written(included, stock_server, messages):
    before = config_checksums(included)
    broken = [{"name": "sse", "type": "sse", "upstream": "app"},
              {"name": "ws", "type": "websocket", "upstream": "app", "directives": [{"proxy_pass_request_headers": "maybe"}]}]
    run = run_role(NAME, {"realtime_proxy_snippets": broken})
    assert run.rc != 0
    assert "nginx rejected the proposed configuration" in messages(run), messages(run)[-3000:]
    assert "/etc/nginx/realtime_proxy/snippets/ws.conf" in messages(run)
    assert config_checksums(included) == before
    assert_streams_through(stock_server)


def test_a_snippet_that_breaks_streaming_through_the_users_server_is_rolled_back(included, stock_vars, stock_server,
                                                                                 messages):
    before = config_checksums(included)
    upstreams = copy.deepcopy(stock_vars["realtime_proxy_upstreams"])
    upstreams[0]["servers"] = ["127.0.0.1:%d" % DEAD_PORT]
    snippets = [{"name": "sse", "type": "sse", "upstream": "app",
                 "verify_url": "http://%s/sse/stream?count=20&interval=0.2" % stock_server},
                {"name": "ws", "type": "websocket", "upstream": "app"}]
    run = run_role(NAME, {"realtime_proxy_upstreams": upstreams, "realtime_proxy_snippets": snippets})
    assert run.rc != 0
    assert run.status("Put the previous configuration back and reload it") == "changed", messages(run)[-3000:]
    assert "realtime_proxy_snippets[0] (sse) failed its check through nginx" in messages(run), messages(run)[-3000:]
    assert config_checksums(included) == before
    assert_streams_through(stock_server)
    assert CONF_DIR + "/conf.d/realtime_proxy.conf" in before
