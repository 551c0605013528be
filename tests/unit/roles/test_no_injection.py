"""Property: an inventory is refused, or it renders exactly what it asks for.

Hypothesis draws inventories from valid alphabets mixed with hostile material
(nginx syntax characters, quotes, '$', backslashes, control characters, NUL,
non-ASCII and non-ASCII digits, path tricks, very long strings, wrong types).
For each one, either the role's pre-flight checks refuse it
(realtime_testkit.render.inventory_check: argument spec + inventory_errors)
or, rendered with the role's real templates (render_tree):

1. every file written lies inside ROOT, and the files are exactly the ones
   the inventory describes (nginx.conf, the maps, one per present upstream
   and site);
2. crossplane's parse of each file equals the directive tree derived from
   the inventory (realtime_proxy_expected): per location the preset of its
   type plus its proxy_headers, per site its listen/server_name, per
   upstream its servers/keepalive, nginx.conf from the globals. One extra
   directive, block or a changed argument is an injection;
3. every argument is printable ASCII, which is what the checks promise for
   every value (a newline inside a quoted header value would reach the
   backend as a bare LF);
4. (the smaller variant) ``nginx -t`` accepts the tree.

Each variant runs with a fixed seed and with a fresh random seed, printed
(and settable with REALTIME_PROPERTY_SEED) so that a failure is reproducible.

Inputs that once slipped through (IPv6 zone ids, trailing newlines, non-ASCII
digits, lists where strings belong, empty gzip types, booleans as strings)
are kept as regression examples at the end of this file.
"""

from __future__ import annotations

import os
import pathlib
import random
import re
import tempfile

import hypothesis
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from realtime_testkit.render import PathEscape, inventory_check, render_tree, validate_tree

import realtime_proxy_expected as expected_mod

FIXED_SEED = 20251125
FAST_EXAMPLES = int(os.environ.get("REALTIME_PROPERTY_EXAMPLES", "200"))
NGINX_EXAMPLES = int(os.environ.get("REALTIME_PROPERTY_NGINX_EXAMPLES", "75"))
NGINX = pathlib.Path(os.environ.get("REALTIME_NGINX_BINARY", "/usr/sbin/nginx"))

# --------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------

HOSTILE_PIECES = [
    ";", "{", "}", "#", '"', "'", "`", "$", "\\", "\n", "\r", "\t", "\x00", "\x0b", "\x7f", " ",
    "é", "\u00a0", "\u2028", "\ufeff", "../x", "..", "a/b", "/", "*", "%", "~", "=", "@", ",", ":", "[", "]",
    "${x}", "$host", "{{ 7 * 7 }}", "{% raw %}", ";}server{listen 9;", "; include /etc/passwd;",
    "١٢", "²", "５", "x" * 300, "-", "_", "0",
]
HOSTILE_CHARS = "".join(sorted({c for piece in HOSTILE_PIECES for c in piece}))

hostile_piece = st.sampled_from(HOSTILE_PIECES)
hostile_string = st.one_of(
    hostile_piece,
    st.text(alphabet=HOSTILE_CHARS + "ab1", max_size=12),
    st.text(max_size=12),
)
wrong_type = st.one_of(
    st.integers(-5, 70000), st.booleans(), st.floats(allow_nan=False, width=32), st.none(),
    st.lists(st.integers(0, 9), max_size=2), st.dictionaries(st.sampled_from(["a", "name"]), st.integers(), max_size=2),
)


@st.composite
def mutated(draw, valid):
    """A valid value with hostile material at its start, middle or end."""
    text = str(draw(valid))
    piece = draw(hostile_piece)
    at = draw(st.sampled_from(["start", "middle", "end"]))
    if at == "start":
        return piece + text
    if at == "end":
        return text + piece
    cut = len(text) // 2
    return text[:cut] + piece + text[cut:]


def weighted(*pairs):
    """One of the strategies, chosen with the given weights (roughly: Hypothesis
    leans towards the first element, so list the common case first)."""
    return st.sampled_from([strategy for weight, strategy in pairs for _ in range(weight)]).flatmap(lambda chosen: chosen)


def chance(percent):
    # False first: Hypothesis leans towards the first elements of sampled_from.
    return st.sampled_from([False] * (100 - percent) + [True] * percent)


def field(valid, hostile_weight=2):
    """VALID, except about 3 * HOSTILE_WEIGHT % of the time: mutated, hostile or of a wrong type.

    With some fifteen fields per inventory, about half of the inventories
    are clean and reach the renderer; the rest carry one or two bad values.
    """
    return weighted((100 - 3 * hostile_weight, valid), (hostile_weight, mutated(valid)),
                    (hostile_weight, hostile_string), (hostile_weight, wrong_type))


def int_or_digits(low, high):
    return st.integers(low, high).flatmap(lambda n: st.sampled_from([n, str(n)]))


NAME_POOL = ["app", "api", "b-1", "X_2", "a" * 64]
valid_name = st.one_of(st.sampled_from(NAME_POOL), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,12}", fullmatch=True))
valid_server_name = st.one_of(
    st.sampled_from(["_", "example.com", "*.example.com", "localhost", "a-b.c1.example"]),
    st.from_regex(r"(\*\.)?[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True),
)
valid_path = st.one_of(
    st.sampled_from(["/", "/sse/", "/ws/", "/api", "/a@b", "/x:y", "/~u/%20"]),
    st.from_regex(r"/[A-Za-z0-9._~%/@:+,=!*-]{0,20}", fullmatch=True),
)
HEADER_VALUE_ALPHABET = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\${}')
valid_header_name = st.one_of(
    st.sampled_from(["X-Tenant", "Host", "host", "Connection", "Upgrade", "X-Forwarded-For", "X-Real-IP"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,10}", fullmatch=True),
)
valid_header_value = st.one_of(st.sampled_from(["blue", "", "a b", "a;b", "#x", "'q'", "   "]),
                               st.text(alphabet=HEADER_VALUE_ALPHABET, max_size=24))
valid_port = st.integers(1, 65535)
# Mapping keys must be hashable: no lists or dicts among the wrong types.
header_key = weighted((91, valid_header_name), (3, mutated(valid_header_name)), (3, hostile_string),
                      (3, st.one_of(st.integers(-1, 99), st.booleans(), st.none())))


def addresses(resolvable):
    """host:port strings; RESOLVABLE keeps to what nginx -t can resolve offline."""
    hosts = ["127.0.0.1", "127.0.0.2", "[::1]", "localhost"]
    host = st.sampled_from(hosts)
    if not resolvable:
        host = st.one_of(host, st.sampled_from(["10.0.0.1", "[2001:db8::1]", "backend-1.internal"]),
                         st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True))
    return st.builds(lambda h, p: "%s:%d" % (h, p), host, valid_port)


# The IPv6 scope id ("fe80::1%eth0") is a place where Python's ipaddress
# accepts anything but '%'.
ipv6_scoped = st.builds(lambda piece, port: "[fe80::1%%%s]:%d" % (piece, port), hostile_string.filter(bool), valid_port)


def listen_values(resolvable):
    return st.one_of(valid_port, valid_port.map(str), addresses(resolvable),
                     valid_port.map(lambda p: "*:%d" % p))


def upstream_ref(names):
    if not names:
        return valid_name
    return weighted((1, valid_name), (9, st.sampled_from(names)))


@st.composite
def locations(draw, names, resolvable):
    location = {
        "path": draw(field(valid_path)),
        "type": draw(field(st.sampled_from(["http", "sse", "websocket"]), 1)),
        "upstream": draw(field(upstream_ref(names), 1)),
    }
    for key, high in (("read_timeout", 7 * 24 * 3600), ("send_timeout", 7 * 24 * 3600), ("connect_timeout", 600)):
        if draw(chance(25)):
            location[key] = draw(field(int_or_digits(1, high)))
    if draw(st.booleans()):
        location["proxy_headers"] = draw(field(st.dictionaries(header_key, field(valid_header_value),
                                                               max_size=3), 1))
    if draw(chance(3)):
        location[draw(st.sampled_from(["extra", "rewrite", "Path"]))] = draw(hostile_string)
    return location


@st.composite
def upstreams(draw, resolvable):
    upstream = {
        "name": draw(field(valid_name)),
        "servers": draw(field(st.lists(field(weighted((19, addresses(resolvable)), (1, ipv6_scoped))
                                             if not resolvable else addresses(True)), min_size=1, max_size=3), 1)),
    }
    if draw(st.booleans()):
        upstream["keepalive"] = draw(field(st.one_of(int_or_digits(1, 65535), st.none())))
    if draw(chance(25)):
        upstream["state"] = draw(field(st.sampled_from(["present", "absent"]), 1))
    return upstream


@st.composite
def sites(draw, names, resolvable):
    site = {
        "name": draw(field(valid_name)),
        "listen": draw(field(st.lists(field(listen_values(resolvable) if resolvable else
                                            weighted((19, listen_values(False)), (1, ipv6_scoped))),
                                      min_size=1, max_size=3), 1)),
        "locations": draw(st.lists(locations(names, resolvable), min_size=1, max_size=3)),
    }
    if draw(chance(66)):
        site["server_name"] = draw(field(st.one_of(valid_server_name,
                                                   st.lists(field(valid_server_name), min_size=1, max_size=3))))
    if draw(chance(25)):
        site["default_server"] = draw(field(st.booleans(), 1))
    if draw(chance(20)):
        site["state"] = draw(field(st.sampled_from(["present", "absent"]), 1))
    return site


BOOLISH = weighted((9, st.booleans()),
                   (1, st.sampled_from(["yes", "no", "true", "false", "True", "off", "on", "0", "1", 0, 1])))
MIME_POOL = ["text/plain", "text/css", "application/json", "text/event-stream", "image/svg+xml"]


@st.composite
def inventories(draw, resolvable=False):
    inventory = {}
    ups = draw(st.lists(upstreams(resolvable), max_size=3))
    names = [u["name"] for u in ups if isinstance(u, dict) and isinstance(u.get("name"), str)]
    inventory["realtime_proxy_upstreams"] = ups
    inventory["realtime_proxy_sites"] = draw(st.lists(sites(names, resolvable), max_size=3))
    if draw(chance(5)):  # the whole variable of a wrong type
        key = draw(st.sampled_from(["realtime_proxy_upstreams", "realtime_proxy_sites"]))
        inventory[key] = draw(st.one_of(wrong_type, hostile_string))
    if draw(st.booleans()):
        globals_ = {
            "realtime_proxy_worker_processes": field(st.one_of(st.just("auto"), int_or_digits(1, 1024))),
            "realtime_proxy_worker_shutdown_timeout": field(int_or_digits(1, 7 * 24 * 3600)),
            "realtime_proxy_connect_timeout": field(int_or_digits(1, 600)),
            "realtime_proxy_gzip_types": field(st.lists(field(st.sampled_from(MIME_POOL)), max_size=3), 1),
            "realtime_proxy_server_tokens": BOOLISH,
            "realtime_proxy_gzip": BOOLISH,
        }
        for key, strategy in globals_.items():
            if draw(st.booleans()):
                inventory[key] = draw(strategy)
        if draw(st.booleans()):
            connections = draw(field(int_or_digits(16, 4096)))
            inventory["realtime_proxy_worker_connections"] = connections
            base = connections if isinstance(connections, int) and not isinstance(connections, bool) else 4096
            inventory["realtime_proxy_worker_rlimit_nofile"] = draw(field(st.sampled_from([2 * base, 2 * base - 1, 65536])))
    return inventory


# --------------------------------------------------------------------------
# the property
# --------------------------------------------------------------------------

PRINTABLE_ASCII = re.compile(r"\A[\x20-\x7e]*\Z")


def check(settings, run_nginx):
    """Assert the property for one inventory; return 'rejected' or 'rendered'."""
    errors = inventory_check(settings)
    if errors:
        return "rejected"
    with tempfile.TemporaryDirectory(prefix="rtn-prop.") as tmp:
        root = pathlib.Path(tmp) / "proposed"
        root.mkdir()
        try:
            written = render_tree(settings, root)
        except PathEscape as exc:
            raise AssertionError("accepted inventory writes outside the root: %s" % exc) from exc
        real_root = os.path.realpath(root)
        for path in written:
            assert os.path.realpath(path).startswith(real_root + os.sep), path
        want = expected_mod.expected_tree(settings)
        assert expected_mod.all_files(root) == sorted(want), "files written differ from the inventory's"
        got = expected_mod.actual_tree(root, written)
        for rel, directives in want.items():
            assert expected_mod.canonical(got[rel]) == expected_mod.canonical(directives), (
                "%s does not parse to what the inventory asked for:\n got: %r\nwant: %r" % (rel, got[rel], directives))
            for arg in expected_mod.iter_args(got[rel]):
                assert PRINTABLE_ASCII.match(arg), "%s: argument %r is not printable ASCII" % (rel, arg)
        if run_nginx:
            rc, stderr = validate_tree(root)
            assert rc == 0, "nginx -t rejects an accepted inventory:\n%s" % stderr
    return "rendered"


def _seed(mode):
    if mode == "fixed":
        return FIXED_SEED
    if os.environ.get("REALTIME_PROPERTY_SEED"):
        return int(os.environ["REALTIME_PROPERTY_SEED"])
    return random.SystemRandom().getrandbits(64)


def _run(mode, max_examples, run_nginx, resolvable):
    seed = _seed(mode)
    print("hypothesis seed (%s): %d  -- rerun with REALTIME_PROPERTY_SEED=%d" % (mode, seed, seed))
    outcomes = {"rejected": 0, "rendered": 0}

    @hypothesis.seed(seed)
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
              print_blob=True)
    @given(inventories(resolvable=resolvable))
    def prop(settings_):
        note("inventory: %r" % (settings_,))
        outcome = check(settings_, run_nginx)
        outcomes[outcome] += 1
        hypothesis.event(outcome)

    prop()
    print("outcomes: %r" % outcomes)
    # The generator must reach the renderer often enough to mean something.
    assert outcomes["rendered"] >= max_examples // 25, outcomes


@pytest.mark.parametrize("mode", ["fixed", "random"])
def test_rejected_or_renders_exactly_what_was_asked(mode):
    _run(mode, FAST_EXAMPLES, run_nginx=False, resolvable=False)


@pytest.mark.skipif(not NGINX.exists(), reason="needs nginx for nginx -t")
@pytest.mark.parametrize("mode", ["fixed", "random"])
def test_rejected_or_nginx_accepts_exactly_what_was_asked(mode):
    _run(mode, NGINX_EXAMPLES, run_nginx=True, resolvable=True)


# --------------------------------------------------------------------------
# targeted examples: each hostile character in each field is refused, and
# the message names the variable's full path
# --------------------------------------------------------------------------

def base_inventory():
    return {
        "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:8000"], "keepalive": 8}],
        "realtime_proxy_sites": [{
            "name": "demo", "server_name": "example.com", "listen": ["127.0.0.1:8080"],
            "locations": [{"path": "/", "type": "http", "upstream": "app"},
                          {"path": "/sse/", "type": "sse", "upstream": "app", "proxy_headers": {"X-Tenant": "blue"}}],
        }],
    }


def test_base_inventory_is_accepted_and_renders_exactly():
    assert check(base_inventory(), run_nginx=NGINX.exists()) == "rendered"


HOSTILE_CHARS_TARGETED = [";", "{", "}", "#", '"', "'", "$", "\\", "\n", "\r", "\x00", " ", "é", "\u2028"]


def _set(inventory, dotted, value):
    node = inventory
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value


# (where in base_inventory(), the valid value it holds, the variable path the message must name)
FIELDS = [
    ("realtime_proxy_upstreams.0.name", "app", "realtime_proxy_upstreams[0].name"),
    ("realtime_proxy_upstreams.0.servers.0", "127.0.0.1:8000", "realtime_proxy_upstreams[0].servers[0]"),
    ("realtime_proxy_sites.0.name", "demo", "realtime_proxy_sites[0].name"),
    ("realtime_proxy_sites.0.server_name", "example.com", "realtime_proxy_sites[0].server_name"),
    ("realtime_proxy_sites.0.listen.0", "127.0.0.1:8080", "realtime_proxy_sites[0].listen[0]"),
    ("realtime_proxy_sites.0.locations.1.path", "/sse/", "realtime_proxy_sites[0].locations[1].path"),
    ("realtime_proxy_sites.0.locations.1.upstream", "app", "realtime_proxy_sites[0].locations[1].upstream"),
    ("realtime_proxy_sites.0.locations.1.proxy_headers.X-Tenant", "blue",
     "realtime_proxy_sites[0].locations[1].proxy_headers.X-Tenant"),
    ("realtime_proxy_sites.0.locations.1.read_timeout", "60", "realtime_proxy_sites[0].locations[1].read_timeout"),
    ("realtime_proxy_upstreams.0.keepalive", "8", "realtime_proxy_upstreams[0].keepalive"),
]

# Header values are quoted: ' # ; and spaces are fine there.
ALLOWED_IN = {"realtime_proxy_sites.0.locations.1.proxy_headers.X-Tenant": {"'", "#", ";", " "}}


@pytest.mark.parametrize("char", HOSTILE_CHARS_TARGETED, ids=repr)
@pytest.mark.parametrize("where,valid,variable", FIELDS, ids=[f[2] for f in FIELDS])
def test_hostile_character_is_refused_naming_the_variable(where, valid, variable, char):
    if char in ALLOWED_IN.get(where, ()):
        pytest.skip("%r is allowed in %s" % (char, variable))
    cut = len(valid) // 2
    inventory = base_inventory()
    _set(inventory, where, valid[:cut] + char + valid[cut:])
    errors = inventory_check(inventory)
    assert errors, "%r in %s was accepted" % (char, variable)
    assert any(variable in error for error in errors), errors


def test_hostile_header_name_is_refused_naming_the_mapping():
    inventory = base_inventory()
    inventory["realtime_proxy_sites"][0]["locations"][1]["proxy_headers"] = {"X-A;b": "v"}
    errors = inventory_check(inventory)
    assert any("realtime_proxy_sites[0].locations[1].proxy_headers" in e for e in errors), errors


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "x" * 65])
def test_names_cannot_leave_the_directory(name, tmp_path):
    inventory = base_inventory()
    inventory["realtime_proxy_sites"][0]["name"] = name
    errors = inventory_check(inventory)
    assert any("realtime_proxy_sites[0].name" in e for e in errors), errors


def test_render_tree_refuses_to_write_outside_root(tmp_path):
    inventory = base_inventory()
    inventory["realtime_proxy_upstreams"][0]["name"] = "../../../escape"
    inventory["realtime_proxy_sites"][0]["locations"] = [{"path": "/", "type": "http", "upstream": "../../../escape"}]
    with pytest.raises(PathEscape):
        render_tree(inventory, tmp_path / "proposed")
    assert not (tmp_path.parent / "escape.conf").exists()


# --------------------------------------------------------------------------
# regression examples: inputs the property test once found slipping through
# --------------------------------------------------------------------------

def _accepted_renders_exactly(inventory):
    return check(inventory, run_nginx=NGINX.exists()) in ("rejected", "rendered")


def _with_upstream_server(server):
    inventory = base_inventory()
    inventory["realtime_proxy_upstreams"][0]["servers"] = [server]
    return inventory


def _with_header(name, value):
    inventory = base_inventory()
    inventory["realtime_proxy_sites"][0]["locations"][1]["proxy_headers"] = {name: value}
    return inventory


def _with_globals(**values):
    inventory = base_inventory()
    inventory.update({"realtime_proxy_" + key: value for key, value in values.items()})
    return inventory


def _with_path(path):
    inventory = base_inventory()
    inventory["realtime_proxy_sites"][0]["locations"][0]["path"] = path
    return inventory


REGRESSION_EXAMPLES = {
    "IPv6 zone id": _with_upstream_server("[fe80::1%x; } server { listen 9; } upstream y {]:80"),
    "trailing newline in a header value": _with_header("X-Tenant", "blue\n"),
    "trailing newline in a reserved header name": _with_header("Connection\n", "upgrade"),
    "non-ASCII superscript digit": _with_upstream_server("127.0.0.1:8²"),
    "fullwidth digits": _with_upstream_server("127.0.0.1:８０８０"),
    "list as a path": _with_path(["/a"]),
    "empty gzip types": _with_globals(gzip_types=[]),
    "booleans as strings": _with_globals(server_tokens="false", gzip="no"),
}


@pytest.mark.parametrize("inventory", list(REGRESSION_EXAMPLES.values()), ids=list(REGRESSION_EXAMPLES))
def test_regression_example_is_rejected_or_renders_exactly(inventory):
    assert _accepted_renders_exactly(inventory)
