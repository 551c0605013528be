"""The realtime_proxy_tree lookup renders the role's tree as ansible-core's own template engine does.

tasks/configure.yml renders templates/tree.j2 with the lookup (plugins/plugin_utils/_render.py: Jinja2's
sandbox on plain values, about a tenth of the CPU of ansible-core's engine). These tests hold it to the same
bytes as ansible-core's Templar on the same values, for the molecule scenarios' inventories, the bench's and
generated ones (the property generator of test_no_injection.py), and run the lookup itself in
ansible-playbook: what it returns is what the test kit renders (realtime_testkit.render renders with it too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import hypothesis
import jinja2.meta
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from realtime_testkit import render
from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.render import inventory_check

import test_no_injection
from test_render import scenario_inventory

from ansible_collections.realtime.nginx.plugins.plugin_utils._render import render_tree

ROLE = REPO_ROOT / "roles" / "realtime_proxy"
TEMPLATES = ROLE / "templates"
SEED = 20261207


def both_ways(settings_):
    """(the lookup's rendering, ansible-core's Templar's) of templates/tree.j2 for SETTINGS, on the same values."""
    values = render.role().tree_values(settings_)
    native = render_tree(values, [str(TEMPLATES)])
    merged = dict(render.merged_variables(settings_), realtime_proxy__files=values["realtime_proxy__files"])
    return native, json.loads(render.role().render("tree.j2", merged))


def bench_inventory(sites=30):
    return {
        "realtime_proxy_upstreams": [{"name": "app%d" % i, "servers": ["127.0.0.1:19299"]} for i in range(sites)],
        "realtime_proxy_sites": [{
            "name": "site%d" % i, "server_name": "site%d.bench.test" % i, "listen": ["127.0.0.1:19200"],
            "locations": [{"path": path, "type": kind, "upstream": "app%d" % i}
                          for path, kind in (("/", "http"), ("/events/", "sse"), ("/ws/", "websocket"))],
        } for i in range(sites)],
    }


def molecule_inventory(scenario, host):
    inventory = yaml.safe_load((REPO_ROOT / "molecule" / scenario / "molecule.yml").read_text())["provisioner"]["inventory"]
    settings_ = dict(inventory.get("group_vars", {}).get("all", {}))
    settings_.update(inventory.get("host_vars", {}).get(host, {}))
    return {key: value for key, value in settings_.items() if key.startswith("realtime_proxy_")}


INVENTORIES = {
    "default": scenario_inventory,
    "bench": bench_inventory,
    "full": test_no_injection.full_inventory,
    "adopt": lambda: dict(test_no_injection.base_inventory(), realtime_proxy_manage_nginx_conf=False,
                          realtime_proxy_sites=[],
                          realtime_proxy_snippets=[{"name": "events", "type": "sse", "upstream": "app"}]),
    "acme": lambda: molecule_inventory("acme", "rtn-acme-debian12"),
    "acme issued": lambda: dict(molecule_inventory("acme", "rtn-acme-debian12"), realtime_proxy__acme_issued={
        "live": {"certificate": "/etc/letsencrypt/live/realtime_proxy-live/fullchain.pem",
                 "key": "/etc/letsencrypt/live/realtime_proxy-live/privkey.pem"}}),
    "metrics": lambda: molecule_inventory("metrics", "rtn-metrics-debian12"),
}


@pytest.mark.parametrize("name", sorted(INVENTORIES))
def test_the_lookup_renders_what_ansible_cores_engine_renders(name):
    settings_ = INVENTORIES[name]()
    assert inventory_check(settings_) == []
    native, ansible_core = both_ways(settings_)
    assert [f["path"] for f in native] == [f["path"] for f in ansible_core]
    for ours, theirs in zip(native, ansible_core):
        assert ours["content"] == theirs["content"], ours["path"]


def test_generated_inventories_render_the_same_both_ways():
    rendered = []

    @hypothesis.seed(SEED)
    @settings(max_examples=int(os.environ.get("REALTIME_PROPERTY_EXAMPLES", "150")), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(test_no_injection.inventories())
    def prop(settings_):
        if inventory_check(settings_):
            return
        native, ansible_core = both_ways(settings_)
        assert native == ansible_core
        rendered.append(len(native))

    prop()
    assert len(rendered) >= 10, rendered


def _referenced(name, seen):
    """The undeclared variables of template NAME and of every template it imports or includes by a constant name."""
    if name in seen:
        return set()
    seen.add(name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)))
    env.filters.update({f: (lambda *args, **kwargs: None) for f in (
        "bool", "combine", "comment", "flatten", "hash", "regex_replace", "to_json", "unique", "mandatory")})
    env.tests.update({t: (lambda *args, **kwargs: True) for t in ("match", "search", "regex")})
    tree = env.parse(env.loader.get_source(env, name)[0])
    names = set(jinja2.meta.find_undeclared_variables(tree))
    for included in jinja2.meta.find_referenced_templates(tree):
        if included:
            names |= _referenced(included, seen)
    return names


def test_the_lookup_hands_the_tree_exactly_the_variables_it_reads():
    # Every template the tree may include: those it names, and each location type's (named by the presets).
    seen = set()
    names = _referenced("tree.j2", seen)
    for path in sorted(TEMPLATES.glob("**/*.j2")):
        relative = str(path.relative_to(TEMPLATES))
        if relative in ("site.conf.j2", "upstream.conf.j2", "nginx.conf.j2", "http_parts.conf.j2", "snippet.conf.j2",
                        "connection_upgrade.conf.j2", "forwarded.conf.j2", "stub_status.conf.j2") \
                or relative.startswith("locations/"):
            names |= _referenced(relative, seen)
    internal = {n for n in names if n.startswith("realtime_proxy__")} - {"realtime_proxy__file", "realtime_proxy__files"}
    listed = set(yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["realtime_proxy__tree_variables"])
    # What the file list is made of (_render.tree_files()) besides public variables.
    file_list = {"realtime_proxy__mode", "realtime_proxy__adopt_http_file", "realtime_proxy__acme_issued",
                 "realtime_proxy__host"}
    assert listed == internal | file_list
    # And nothing else but public variables, ansible_managed and what the templates set themselves.
    others = {n for n in names if not n.startswith("realtime_proxy_")} - {"ansible_managed"}
    assert others <= {"location", "preset", "site", "location_suffix", "h3_ports", "var", "https_port", "_", "key",
                      "params", "variable"}, others


@pytest.mark.skipif(not os.path.exists(os.path.join(os.path.dirname(sys.executable), "ansible-playbook")),
                    reason="needs ansible-playbook next to %s" % sys.executable)
def test_the_lookup_in_a_play_returns_what_the_test_kit_renders(tmp_path):
    settings_ = INVENTORIES["full"]()
    plan = render.role().plan(render.merged_variables(settings_), settings_)
    vars_files = sorted(str(p) for p in (ROLE / "defaults" / "main").glob("*.yml")) + [
        str(ROLE / "vars" / "main.yml"), str(ROLE / "vars" / "Debian.yml"), str(ROLE / "vars" / "Debian-12.yml")]
    (tmp_path / "extra.json").write_text(json.dumps(dict(settings_, realtime_proxy__plan=plan)))
    (tmp_path / "play.yml").write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False, "vars_files": vars_files,
        "tasks": [{"name": "Render", "ansible.builtin.copy": {
            "dest": str(tmp_path / "tree.json"),
            "content": "{{ query('realtime.nginx.realtime_proxy_tree', '%s') | to_json }}" % (TEMPLATES / "tree.j2")}}],
    }]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-e", "@" + str(tmp_path / "extra.json"), "-e", "ansible_python_interpreter=" + sys.executable,
                           str(tmp_path / "play.yml")], capture_output=True, text=True, timeout=300, check=False,
                          env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from_play = json.loads((tmp_path / "tree.json").read_text())
    assert from_play == render_tree(render.role().tree_values(settings_), [str(TEMPLATES)])
    # The compiled templates were kept beside the run's own temporary directory, for the next host and run.
    assert list((tmp_path / "local" / "realtime_nginx-templates").glob("__jinja2_*.cache"))
