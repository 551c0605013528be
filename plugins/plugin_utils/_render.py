# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's templates rendered with Jinja2's own engine, on plain values.

ansible-core 2.19 renders a template through lazy containers: every value a
template reads is looked up, checked for trust and wrapped again. For the
role's configuration tree that made about 10 ms of controller CPU per site of
three locations, for every host on every run, a run that changes nothing
included. The templates need none of it: they read values the inventory
checks accepted and the role's own data, and template nothing a second time.
So the realtime_proxy_tree lookup gives them, once, the plain values of the
variables they read, and this module renders them with what the template
lookup uses: Jinja2's sandboxed environment, the template lookup's options
(trim_blocks; no lstrip_blocks; a template's last newline dropped) and
ansible.builtin's filters and tests. The bytes are the same
(tests/unit/plugins/plugin_utils/test_native_render.py renders the test inventories
both ways); the CPU is about a tenth.

Jinja2 compiles every template a process renders, and ansible-playbook runs
each task of each host in a process of its own. Given a cache directory, the
compiled templates are kept there (keyed by the template's text), so that the
next host's task loads instead of compiling them.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import re
import time
from collections.abc import Mapping, Set

import jinja2
import jinja2.bccache
import jinja2.filters
import jinja2.sandbox
import jinja2.tests
from ansible import constants as C
from ansible.plugins.filter.core import FilterModule as _CoreFilters
from ansible.plugins.filter.mathstuff import FilterModule as _MathFilters
from ansible.plugins.filter.urls import FilterModule as _UrlFilters
from ansible.plugins.filter.urlsplit import FilterModule as _UrlsplitFilters
from ansible.plugins.test.core import TestModule as _CoreTests
from ansible.plugins.test.files import TestModule as _FileTests
from ansible.plugins.test.mathstuff import TestModule as _MathTests
from ansible.plugins.test.uri import TestModule as _UriTests

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19: every string a templar is given is a template
    def trust_as_template(text):
        return text

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import owned_files
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import acme_pending
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_build import site_listens

# The role's public variables, every one of which the templates may read (the names the inventory checks see).
PUBLIC = re.compile(r"^realtime_proxy_[a-z0-9]")
# The role variable that names the other variables the tree reads (vars/main.yml).
INPUTS = "realtime_proxy__tree_variables"

# ansible.builtin's versions of these Jinja2 filters and tests only add
# handling for ansible-core's own markers of undefined and lazy values, which
# plain values never are: Jinja2's originals do the same on plain values.
JINJA_OWN = frozenset(["default", "d", "map", "select", "selectattr", "reject", "rejectattr", "groupby",
                       "defined", "undefined"])


class Undefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """What ansible-core's undefined value does: an attribute or item of it is undefined too
    (``a.b.c | default(x)``), and anything else done with it fails, naming the variable."""

    __slots__ = ()


def plain(value):
    """VALUE as plain Python values: mappings as dicts, lists, tuples and sets as lists, strings as str."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, Set)):
        return [plain(item) for item in value]
    return value


def role_files(upstreams, sites, reuseport=True, acme_issued_sites=None, page_size=4096, snippets=None,
               http_file=None):
    """The configuration files the role owns, each with its template and source item (the
    realtime_proxy_files filter's documentation says what each entry holds)."""
    files = owned_files(list(upstreams), list(sites), list(snippets or []), http_file, int(page_size))
    listens = (site_listens(acme_pending(list(sites), acme_issued_sites or {}), bool(reuseport))
               if http_file is None else {})
    for item in files:
        if "site" in item:
            item["listens"] = listens.get(item["site"]["name"], {"listen": [], "tls": [], "quic": []})
    return files


def tree_files(values):
    """The files templates/tree.j2 renders for VALUES, the role's variables by name: none when
    realtime_proxy__mode is removed, the http-level file and the snippets in an nginx the role does not own
    (adopt), else nginx.conf, the shared files, the upstreams and the sites. Upstream zones are sized for
    the host's memory pages (realtime_proxy__host, what nginx_info read)."""
    mode = values["realtime_proxy__mode"]
    if mode == "removed":
        return []
    return role_files(values["realtime_proxy_upstreams"], values["realtime_proxy_sites"],
                      values["realtime_proxy_reuseport"], values.get("realtime_proxy__acme_issued") or {},
                      (values.get("realtime_proxy__host") or {}).get("page_size", 4096), values["realtime_proxy_snippets"],
                      None if mode == "managed" else values["realtime_proxy__adopt_http_file"])


def tree_values(variables, template):
    """What templates/tree.j2 reads, from VARIABLES (a mapping of the task's variables by name, their values
    as Ansible holds them): every public variable and those realtime_proxy__tree_variables names, each made
    plain once with TEMPLATE (which templates one value), and the file list (realtime_proxy__files)."""
    names = [name for name in variables if PUBLIC.match(name)]
    names += [name for name in template(variables[INPUTS]) if name in variables]
    values = dict((name, plain(template(variables[name]))) for name in names)
    values["realtime_proxy__files"] = tree_files(values)
    return values


def render_tree(values, searchpath, cache_dir=None, name="tree.j2"):
    """The files template NAME renders for VALUES (tree_values() and ansible_managed): a list of path and
    content, as tree.j2 writes it in JSON."""
    return json.loads(render(name, values, searchpath, cache_dir))


def _plugins(modules, method):
    found = {}
    for module in modules:
        found.update(getattr(module(), method)())
    return {name: plugin for name, plugin in found.items() if name not in JINJA_OWN}


@functools.lru_cache(maxsize=None)
def environment(searchpath, cache_dir=None):
    """The Jinja2 environment for templates under SEARCHPATH (a tuple of directories), compiled code kept in
    CACHE_DIR when given."""
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(searchpath)), undefined=Undefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=False, newline_sequence="\n",
        auto_reload=False, bytecode_cache=jinja2.FileSystemBytecodeCache(cache_dir) if cache_dir else None)
    env.filters.update(_plugins((_CoreFilters, _MathFilters, _UrlFilters, _UrlsplitFilters), "filters"))
    env.tests.update(_plugins((_CoreTests, _FileTests, _MathTests, _UriTests), "tests"))
    # As ansible-core's: the sandbox's own range limits it, to no purpose for these templates.
    env.globals["range"] = range
    return env


def render(name, variables, searchpath, cache_dir=None):
    """The text of template NAME (found in SEARCHPATH) rendered with VARIABLES, a mapping of plain values."""
    return environment(tuple(searchpath), cache_dir).get_template(name).render(variables)


def _trailing_newlines(text):
    return len(text) - len(text.rstrip("\n"))


def render_file(path, variables, cache_dir=None):
    """The text the template module writes from the template at PATH with VARIABLES (plain values): as
    render(), with the template's own trailing newlines kept, as ansible-core keeps them."""
    searchpath = [os.path.dirname(path)]
    text = render(os.path.basename(path), variables, searchpath, cache_dir)
    with open(path, encoding="utf-8") as handle:
        missing = _trailing_newlines(handle.read()) - _trailing_newlines(text)
    return text + "\n" * missing if missing > 0 else text


def ansible_managed(templar, variables, term, path):
    """ansible_managed as the template lookup and the template module give it for the template TERM found at
    PATH: the variable when it is set, else the configured DEFAULT_MANAGED_STR with the template's host, owner,
    path and time. TEMPLAR templates with the task's variables (VARIABLES)."""
    if "ansible_managed" in variables:
        return str(templar.template(variables["ansible_managed"]))
    managed = C.config.get_config_value("DEFAULT_MANAGED_STR")
    if managed == "Ansible managed":
        return managed
    info = os.stat(path)
    text = time.strftime(managed.format(host="{{ template_host }}", uid="{{ template_uid }}",
                                        file="{{ template_path }}"), time.localtime(info.st_mtime))
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    templar = templar.copy_with_new_env(available_variables=dict(
        template_host=os.uname()[1], template_uid=owner, template_path=term))
    return str(templar.template(trust_as_template(text)))
