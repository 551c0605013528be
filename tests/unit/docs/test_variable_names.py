"""Every ``realtime_proxy_*`` name the documentation cites exists.

The README, the guides in docs/ (and the docs site's own pages in
docs/docsite/rst/) and the examples name variables for users to set. A name
that is renamed or removed in the role, or misspelt in the text, sends users
to a variable that does nothing: Ansible ignores unknown inventory variables.

A public name (``realtime_proxy_NAME``) is one of the role's options (the
``main`` entry point of meta/argument_specs.yml), one of the collection's
filters (plugins/filter/NAME.yml), modules or lookups (plugins/modules/NAME.py,
plugins/lookup/NAME.py), one of the role's tags, or a module of the unit tests; an internal name (``realtime_proxy__NAME``) is set by the role
(its vars, defaults or a task). Option names of nested mappings are not
prefixed and are checked by the examples' own test (test_examples.py).
"""

from __future__ import annotations

import re

import pytest
import yaml

from realtime_testkit.collection import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "realtime_proxy"
# Inventory and role variables; "$realtime_proxy_..." is an nginx variable of the templates (NGINX_NAME).
NAME = re.compile(r"(?<![$\w])realtime_proxy_[a-z0-9_]*[a-z0-9]")
NGINX_NAME = re.compile(r"\$(realtime_proxy_[a-z0-9_]*[a-z0-9])")


def documents():
    paths = [REPO_ROOT / "README.md"]
    paths += sorted((REPO_ROOT / "docs").glob("*.md"))
    paths += sorted((REPO_ROOT / "docs" / "docsite").glob("**/*.rst"))
    paths += sorted((REPO_ROOT / "docs" / "docsite").glob("*.yml"))
    examples = REPO_ROOT / "docs" / "examples"
    paths += sorted(path for path in examples.glob("**/*") if path.suffix in (".yml", ".md"))
    return paths


def options():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    return set(specs["argument_specs"]["main"]["options"])


def tags():
    found = set()
    for path in ROLE.glob("tasks/**/*.yml"):
        for match in re.finditer(r"^\s*tags:\s*(?:&\S+\s*)?\[([^\]]*)\]?", path.read_text(), re.M):
            found.update(tag.strip() for tag in match.group(1).split(",") if tag.strip())
    return found


def known_public_names():
    names = options() | tags()
    names.update(path.stem for path in (REPO_ROOT / "plugins" / "filter").glob("*.yml"))
    names.update(path.stem for kind in ("modules", "lookup") for path in (REPO_ROOT / "plugins" / kind).glob("*.py"))
    names.update(path.stem for path in (REPO_ROOT / "tests").glob("**/realtime_proxy_*.py"))
    return names


def known_internal_names():
    names = set()
    for path in ROLE.glob("**/*.yml"):
        names.update(re.findall(r"^\s*(realtime_proxy__[a-z0-9_]+):", path.read_text(), re.M))
    return names


def cited(path):
    return sorted(set(NAME.findall(path.read_text())))


def nginx_variables():
    """The nginx variables the role's templates define (the result of a map or geo block)."""
    names = set()
    for path in ROLE.glob("templates/**/*.j2"):
        names.update(re.findall(r"^\s*(?:map|geo)\s+\S+\s+\$(realtime_proxy_[a-z0-9_]*[a-z0-9])\b", path.read_text(), re.M))
    return names


def test_the_documents_cite_names():
    """The search finds the documents and the names in them (an empty search would pass everything)."""
    names = {name for path in documents() for name in cited(path)}
    assert {"realtime_proxy_sites", "realtime_proxy_trusted_proxies", "realtime_proxy_worker_shutdown_timeout"} <= names
    assert "realtime_proxy_sites" in options() and "realtime_proxy_configure" in tags()


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_cited_name_exists(path):
    public, internal = known_public_names(), known_internal_names()
    unknown = [name for name in cited(path)
               if name not in (internal if name.startswith("realtime_proxy__") else public)]
    assert unknown == [], "%s names what the role does not have (see meta/argument_specs.yml): %s" % (
        path.relative_to(REPO_ROOT), ", ".join(unknown))


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_cited_nginx_variable_exists(path):
    assert "realtime_proxy_host" in nginx_variables() and "realtime_proxy_upgrade" in nginx_variables()
    unknown = sorted(set(NGINX_NAME.findall(path.read_text())) - nginx_variables())
    assert unknown == [], "%s names nginx variables the role's templates do not define: %s" % (
        path.relative_to(REPO_ROOT), ", ".join(unknown))
