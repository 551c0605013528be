"""_render: the role's templates rendered with Jinja2's own engine on plain values, as the template lookup renders them.

The role's whole tree, rendered both ways for the test inventories, is compared in
tests/unit/roles/test_tree_lookup.py; this tests the pieces on small templates of its own.
"""

from __future__ import annotations

import os

import jinja2
import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils import _inventory_upstreams, _render
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import ROLE_DIR


class Wrapped(dict):
    """A dict of another type, as ansible-core hands templates their values."""


class Text(str):
    pass


def write(tmp_path, **templates):
    for name, text in templates.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return [str(tmp_path)]


def test_plain_values_are_plain_python_containers():
    value = Wrapped(a=[Text("x"), (1, 2), {Text("k"): frozenset([3])}], b=None)
    out = _render.plain(value)
    assert out == {"a": ["x", [1, 2], {"k": [3]}], "b": None}
    assert [type(item) for item in (out, out["a"][0], list(out["a"][2])[0])] == [dict, str, str]


def test_the_template_lookups_options(tmp_path):
    # trim_blocks, no lstrip_blocks, an included template's last newline dropped, \n newlines
    searchpath = write(tmp_path, **{"top.j2": "{% if true %}\n  a\n{% endif %}\n[{% include 'inc.j2' %}]\n",
                                    "inc.j2": "inner\n"})
    assert _render.render("top.j2", {}, searchpath) == "  a\n[inner]"


def test_an_undefined_value_chains_to_a_default_and_fails_anywhere_else(tmp_path):
    searchpath = write(tmp_path, **{"chain.j2": "{{ site.tls.hsts | default(0) }} {{ site.tls is defined }}",
                                    "use.j2": "{{ site.tls }}", "test.j2": "{% if site.tls %}x{% endif %}"})
    assert _render.render("chain.j2", {"site": {}}, searchpath) == "0 False"
    for name in ("use.j2", "test.j2"):
        with pytest.raises(jinja2.UndefinedError, match="tls"):
            _render.render(name, {"site": {}}, searchpath)


def test_ansible_builtin_filters_and_tests_beside_jinjas_own(tmp_path):
    searchpath = write(tmp_path, **{"f.j2": "{{ 'yes' | bool }} {{ {'a': 1} | combine({'b': 2}) | to_json }} "
                                            "{{ 'x' | hash('sha1') }} {{ [[1], [2]] | flatten }} "
                                            "{{ 'a:b' | regex_replace('^.*:', '') }} {{ none | default('d') }} "
                                            "{{ [1, 2] | map('string') | join(',') }} {{ 'v1' is match('v') }} "
                                            "{{ ansible_managed | comment }}"})
    out = _render.render("f.j2", {"ansible_managed": "Ansible managed"}, searchpath)
    first = 'True {"a": 1, "b": 2} 11f6ad8ec52a2984abaafd7c3b516503785c2072 [1, 2] b None 1,2 True #'
    assert out.split("\n") == [first, "# Ansible managed", "#"]


def test_the_sandbox_refuses_what_ansible_cores_refuses(tmp_path):
    searchpath = write(tmp_path, **{"s.j2": "{{ ''.__class__.__mro__ }}"})
    with pytest.raises(jinja2.exceptions.SecurityError):
        _render.render("s.j2", {}, searchpath)


def test_compiled_templates_are_kept_and_loaded_again(tmp_path):
    searchpath = write(tmp_path / "t", **{"c.j2": "{{ x }}"})
    cache = tmp_path / "cache"
    cache.mkdir()
    assert _render.render("c.j2", {"x": 1}, searchpath, str(cache)) == "1"
    kept = os.listdir(cache)
    assert len(kept) == 1
    # Another process (another host's task) builds its environment anew and loads the compiled template.
    _render.environment.cache_clear()
    env = _render.environment(tuple(searchpath), str(cache))
    compiled = []
    original = env.compile
    env.compile = lambda *args, **kwargs: compiled.append(args) or original(*args, **kwargs)
    assert _render.render("c.j2", {"x": 2}, searchpath, str(cache)) == "2"
    assert compiled == [] and os.listdir(cache) == kept


def test_the_file_list_follows_the_mode():
    values = {"realtime_proxy__mode": "removed", "realtime_proxy_upstreams": [], "realtime_proxy_sites": []}
    assert _render.tree_files(values) == []
    values.update(realtime_proxy__mode="managed", realtime_proxy_reuseport=True, realtime_proxy_snippets=[],
                  realtime_proxy__host={"page_size": 16384}, realtime_proxy__adopt_http_file="conf.d/rp.conf",
                  realtime_proxy_upstreams=[{"name": "app", "servers": ["127.0.0.1:9000"]}])
    files = _render.tree_files(values)
    assert [f["path"] for f in files][0] == "nginx.conf"
    # Zones are sized for the host's pages (realtime_proxy__host.page_size): nginx refuses one under 8 of them.
    assert files[-1]["zone"] == _inventory_upstreams.upstream_zone(values["realtime_proxy_upstreams"][0], 16384)
    assert files[-1]["zone"] != _inventory_upstreams.upstream_zone(values["realtime_proxy_upstreams"][0], 4096)
    values["realtime_proxy__mode"] = "adopt"
    assert [f["path"] for f in _render.tree_files(values)] == ["conf.d/rp.conf"]


def test_the_roles_tree_template_is_found_by_its_name():
    assert (ROLE_DIR / "templates" / "tree.j2").is_file()
