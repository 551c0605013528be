"""An nginx the role does not own (realtime_proxy_manage_nginx_conf false), rendered with the real templates.

Debian's packaged configuration (its stock nginx.conf) with the field
guide's server block (tests/realtime_testkit/guide/) that includes the
role's snippets: nginx -t accepts it, a snippet's body is the body a site's
location of its type has, and the checks on the live configuration
(realtime_proxy_adopt_errors, on a real ``nginx -T``) refuse what would
break it, by name.
"""

from __future__ import annotations

import copy
import pathlib
import re

import pytest

from realtime_testkit import render
from realtime_testkit.guide import server_block, with_includes
from realtime_testkit.render import dump_tree, inventory_check, render_adopted, render_tree, validate_tree

from ansible_collections.realtime.nginx.plugins.filter.realtime_proxy import realtime_proxy_adopt_errors
from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import include_line, snippet_path
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_lexer import parse

NGINX = pathlib.Path(render.NGINX)
needs_nginx = pytest.mark.skipif(not NGINX.exists() or not render.DEBIAN_CONF_DIR.is_dir(),
                                 reason="needs Debian's nginx (tools/ensure-nginx.sh)")
HTTP_FILE = "conf.d/realtime_proxy.conf"
SITE = "sites-enabled/realtime"
UPSTREAMS = [{"name": "app", "servers": ["127.0.0.1:17801"], "keepalive": 8}]
SNIPPETS = ({"name": "sse", "type": "sse", "upstream": "app"}, {"name": "ws", "type": "websocket", "upstream": "app"})


def adopted(snippets=SNIPPETS, **overrides):
    settings = {"realtime_proxy_manage_nginx_conf": False, "realtime_proxy_upstreams": copy.deepcopy(UPSTREAMS),
                "realtime_proxy_snippets": copy.deepcopy(list(snippets))}
    settings.update(overrides)
    return settings


def guide(includes=None):
    """The guide's server block on a test port, its /sse/ and /ws/ locations including the snippets INCLUDES names."""
    includes = {"/sse/": "sse", "/ws/": "ws"} if includes is None else includes
    return with_includes(server_block("127.0.0.1:17810", "127.0.0.1:17801"),
                         {path: snippet_path(name) for path, name in includes.items()})


# --------------------------------------------------------------------------
# a snippet's body is a location's body
# --------------------------------------------------------------------------

LOCATIONS = [
    {"type": "http", "upstream": "app"},
    {"type": "http", "upstream": "app", "upstream_path": "/v1/", "cors": {"origins": ["https://a.example"], "credentials": True},
     "directives": [{"client_max_body_size": "10m"}, {"add_header": ["X-Location", "on", "always"]}]},
    {"type": "sse", "upstream": "app"},
    {"type": "sse", "upstream": "app", "read_timeout": 7200, "buffer_size": "4k", "cors": {"origins": ["*"]},
     "proxy_headers": {"X-Tenant": "blue"}, "heartbeat_interval": 15},
    {"type": "websocket", "upstream": "app"},
    {"type": "websocket", "upstream": "pool", "allowed_origins": ["https://a.example"], "connect_timeout": 2},
    {"type": "socketio", "upstream": "app", "allowed_origins": ["https://a.example"]},
]
POOL = {"name": "pool", "servers": ["127.0.0.1:17802", "127.0.0.1:17803"],
        "next_upstream": {"conditions": ["error", "timeout"], "tries": 2}}
HTTP_DIRECTIVES = [{"add_header": ["X-Http", "on", "always"]}]


def _normalized(text):
    """TEXT without comments and blank lines, with the maps' suffixes (a site's index, a snippet's 0) alike."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return re.sub(r"_[0-9a-f]{10}_[0-9]+\b", "_SUFFIX", "\n".join(lines))


@pytest.mark.parametrize("location", LOCATIONS, ids=["%s-%d" % (loc["type"], i) for i, loc in enumerate(LOCATIONS)])
def test_a_snippet_is_the_body_a_sites_location_of_its_type_has(location, tmp_path):
    upstreams = UPSTREAMS + [POOL]
    site = {"name": "one", "listen": ["127.0.0.1:17810"], "locations": [dict(location, path="/one/")]}
    managed = {"realtime_proxy_upstreams": upstreams, "realtime_proxy_sites": [site],
               "realtime_proxy_http_directives": HTTP_DIRECTIVES}
    snippet = dict(location, name="one")
    adopt = adopted([snippet], realtime_proxy_upstreams=upstreams, realtime_proxy_http_directives=HTTP_DIRECTIVES)
    assert inventory_check(managed) == [] and inventory_check(adopt) == []
    render_tree(managed, tmp_path / "managed")
    (tmp_path / "adopt").mkdir()
    render_tree(adopt, tmp_path / "adopt")
    site_text = (tmp_path / "managed/realtime_proxy/sites/one.conf").read_text()
    body = re.search(r"^    location /one/ \{\n(.*?)^    \}\n", site_text, re.M | re.S).group(1)
    snippet_text = (tmp_path / "adopt" / snippet_path("one")).read_text()
    assert _normalized(snippet_text) == _normalized(body)
    # The snippet says how to use it, and holds nothing but the body.
    assert "#       include realtime_proxy/snippets/one.conf;" in snippet_text
    assert not re.search(r"^\s*(location|server|map|upstream)\b", snippet_text, re.M)


def _directives(text):
    """One file's directives as (name, args, block) without line numbers (the collection's own reader)."""
    def strip(directives):
        return [(d["directive"], tuple(d["args"]), strip(d["block"]) if "block" in d else None) for d in directives]
    return strip(parse(text))


def test_the_http_level_file_holds_what_a_managed_nginx_has_in_http_d_and_upstreams(tmp_path):
    settings = {"realtime_proxy_upstreams": UPSTREAMS + [POOL], "realtime_proxy_trusted_proxies": ["10.0.0.0/8"],
                "realtime_proxy_stub_status_listen": "127.0.0.1:17890", "realtime_proxy_http_directives": HTTP_DIRECTIVES}
    snippets = [dict(SNIPPETS[0], cors={"origins": ["https://a.example"]}),
                dict(SNIPPETS[1], allowed_origins=["https://a.example"])]
    site = {"name": "one", "listen": ["127.0.0.1:17810"],
            "locations": [dict(snippet, path="/%s/" % snippet["name"]) for snippet in snippets]}
    for snippet in site["locations"]:
        del snippet["name"]
    render_tree(dict(settings, realtime_proxy_sites=[site]), tmp_path / "managed")
    (tmp_path / "adopt").mkdir()
    render_tree(adopted(snippets, **settings), tmp_path / "adopt")
    managed = tmp_path / "managed" / "realtime_proxy"
    want = []
    for name in ("connection_upgrade", "forwarded", "stub_status"):
        want += _directives((managed / "http.d" / (name + ".conf")).read_text())
    want += [d for d in _directives((managed.parent / "nginx.conf").read_text())[-1][2] if d[0] == "add_header"]
    for name in ("app", "pool"):
        want += _directives((managed / "upstreams" / (name + ".conf")).read_text())
    want += [d for d in _directives((managed / "sites" / "one.conf").read_text()) if d[0] == "map"]
    got = _directives((tmp_path / "adopt" / HTTP_FILE).read_text())
    suffixless = re.compile(r"_[0-9a-f]{10}_[0-9]+$")
    assert [(d[0], tuple(suffixless.sub("", a) for a in d[1]), d[2]) for d in got] == \
        [(d[0], tuple(suffixless.sub("", a) for a in d[1]), d[2]) for d in want]
    assert sorted(path.name for path in (tmp_path / "adopt").rglob("*") if path.is_file()) == [
        "realtime_proxy.conf", "sse.conf", "ws.conf"]


# --------------------------------------------------------------------------
# Debian's nginx.conf, the guide's server, the snippets: nginx -t
# --------------------------------------------------------------------------

@needs_nginx
def test_the_guides_server_with_the_snippets_passes_nginx_t_in_debians_nginx(tmp_path):
    render_adopted(adopted(), tmp_path, {SITE: guide()})
    rc, stderr = validate_tree(tmp_path)
    assert rc == 0, stderr
    # The snippets need the http-level file: without it nginx knows neither their upstream nor their variables.
    (tmp_path / HTTP_FILE).unlink()
    rc, stderr = validate_tree(tmp_path)
    assert rc != 0 and "realtime_proxy/snippets/" in stderr, stderr


@needs_nginx
def test_a_snippet_nginx_rejects_in_the_users_server_fails_nginx_t(tmp_path):
    broken = adopted([SNIPPETS[0], dict(SNIPPETS[1], directives=[{"proxy_pass_request_headers": "maybe"}])])
    assert inventory_check(broken) == []  # only nginx knows this value is wrong
    render_adopted(broken, tmp_path, {SITE: guide()})
    rc, stderr = validate_tree(tmp_path)
    assert rc != 0 and "realtime_proxy/snippets/ws.conf" in stderr, stderr


# --------------------------------------------------------------------------
# the checks on the live configuration (nginx -T)
# --------------------------------------------------------------------------

def proposal(settings, tmp_path):
    """The files the role would write for SETTINGS, as tasks/configure.yml hands them to the checks."""
    root = tmp_path / "proposal"
    root.mkdir()
    return [{"path": str(path.relative_to(root)), "content": path.read_text()} for path in render_tree(settings, root)]


def live_errors(tmp_path, live, settings, user_files=None):
    """realtime_proxy_adopt_errors for a host with the role's files for LIVE (None: the role's first run) and the
    user's files (the guide's server, including the snippets once the role wrote them, and USER_FILES), proposing
    SETTINGS. Returns the errors and the host's configuration directory."""
    root = tmp_path / "live"
    root.mkdir()
    render_adopted(live, root, {SITE: guide() if live else server_block("127.0.0.1:17810"), **(user_files or {})})
    rc, dump, stderr = dump_tree(root)
    assert rc == 0, stderr
    command = {"rc": rc, "stdout": dump, "stderr": stderr}
    return realtime_proxy_adopt_errors(command, proposal(settings, tmp_path), str(root), HTTP_FILE, settings), root


@needs_nginx
def test_debians_nginx_with_the_guides_server_takes_the_role(tmp_path):
    # The guide's own map of $connection_upgrade stays the user's: the role's are named realtime_proxy_*.
    errors, root = live_errors(tmp_path, adopted(), adopted())
    assert errors == []
    assert "map $http_upgrade $connection_upgrade" in (root / SITE).read_text()


@needs_nginx
def test_an_nginx_conf_without_the_conf_d_include_is_refused_with_the_line_to_add(tmp_path):
    stock = (render.DEBIAN_CONF_DIR / "nginx.conf").read_text()
    assert stock.count("\tinclude /etc/nginx/conf.d/*.conf;\n") == 1
    custom = stock.replace("\tinclude /etc/nginx/conf.d/*.conf;\n", "")
    errors, root = live_errors(tmp_path, None, adopted(), {"nginx.conf": custom})
    assert errors == ["realtime_proxy_manage_nginx_conf: %(root)s/nginx.conf has no include in http {} that loads "
                      "%(root)s/conf.d/realtime_proxy.conf, where the role writes its maps and upstreams; nginx would "
                      "never read them, and would refuse every snippet that uses them. Add this line inside http { } "
                      "of %(root)s/nginx.conf: include %(root)s/conf.d/*.conf;" % {"root": root}]


@needs_nginx
def test_an_include_in_a_server_block_does_not_count(tmp_path):
    stock = (render.DEBIAN_CONF_DIR / "nginx.conf").read_text()
    custom = stock.replace("\tinclude /etc/nginx/conf.d/*.conf;\n", "")
    site = server_block("127.0.0.1:17810").replace("    server_name example.com;\n",
                                                   "    server_name example.com;\n    include conf.d/*.conf;\n")
    errors, unused = live_errors(tmp_path, None, adopted(), {"nginx.conf": custom, SITE: site})
    assert len(errors) == 1 and "has no include in http {}" in errors[0]


@needs_nginx
def test_a_name_the_users_files_define_too_is_refused_by_name(tmp_path):
    # A map copied from the role's own output, and an upstream of the role's name.
    mine = ("map $http_upgrade $realtime_proxy_upgrade {\n    default \"\";\n    websocket websocket;\n}\n"
            "upstream app {\n    server 127.0.0.1:9;\n}\n")
    errors, root = live_errors(tmp_path, None, adopted(), {"conf.d/mine.conf": mine})
    assert len(errors) == 2, errors
    assert errors[0].startswith("realtime_proxy_manage_nginx_conf: the variable $realtime_proxy_upgrade is defined by a "
                                "map in %s/conf.d/mine.conf:1 and by the role's %s/conf.d/realtime_proxy.conf:" % (root, root))
    assert "nginx accepts both without a word" in errors[0]
    assert errors[1] == ("realtime_proxy_upstreams[0].name: upstream 'app' is defined in %s/conf.d/mine.conf:5 too, and "
                         "nginx refuses two upstreams of one name; rename one of them" % root)


@needs_nginx
@pytest.mark.parametrize("change,where", [
    ({"realtime_proxy_snippets": [SNIPPETS[0], dict(SNIPPETS[1], state="absent")]}, "realtime_proxy_snippets[1].state: absent"),
    ({"realtime_proxy_snippets": [SNIPPETS[0]]}, "realtime_proxy_snippets: with no entry named 'ws',"),
    ({"realtime_proxy_state": "absent"}, "realtime_proxy_state: absent"),
])
def test_removing_a_snippet_a_user_file_includes_is_refused_naming_the_file_and_line(tmp_path, change, where):
    errors, root = live_errors(tmp_path, adopted(), adopted(**change))
    site_lines = (root / SITE).read_text().splitlines()
    line = site_lines.index("        " + include_line("ws")) + 1
    expected = ("%s removes %s/realtime_proxy/snippets/ws.conf, which %s/%s:%d still includes" % (where, root, root, SITE, line))
    assert [error for error in errors if "ws.conf" in error] and errors[-1].startswith(expected), errors
    if change.get("realtime_proxy_state") == "absent":
        assert len(errors) == 2 and "sse.conf" in errors[0]  # both snippets are still included
    else:
        assert len(errors) == 1


@needs_nginx
def test_a_glob_include_of_the_snippets_counts_and_unincluded_snippets_go_freely(tmp_path):
    site = with_includes(server_block("127.0.0.1:17810"), {"/sse/": "realtime_proxy/snippets/s*.conf"})
    errors, unused = live_errors(tmp_path, adopted(), adopted([SNIPPETS[1]]), {SITE: site})
    assert len(errors) == 1 and "realtime_proxy/snippets/sse.conf, which" in errors[0], errors
    (tmp_path / "again").mkdir()
    errors, unused = live_errors(tmp_path / "again", adopted(), adopted([SNIPPETS[0]]), {SITE: site})
    assert errors == []  # ws.conf is included by no one


def test_an_nginx_that_cannot_read_its_configuration_is_not_adopted():
    errors = realtime_proxy_adopt_errors({"rc": 1, "stdout": "", "stderr": "nginx: [emerg] unknown directive \"x\""},
                                         [], "/etc/nginx", HTTP_FILE, {})
    assert errors == ["realtime_proxy_manage_nginx_conf: nginx -T cannot read the live configuration that the role's "
                      "files would join, so nothing was changed; fix it first. nginx said: nginx: [emerg] unknown "
                      "directive \"x\""]
