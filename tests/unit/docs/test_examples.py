"""Every example under docs/examples/ works as written.

An example is a directory with an inventory (``hosts.yml``) and group
variables (``group_vars/GROUP.yml``); docs/examples/ itself is the demo's
(``group_vars/all.yml``, used by molecule/demo and tools/demo.sh). Examples
are found from the directory, so a new one is covered without touching this
file. For every group_vars file that sets the role's variables:

* the role's pre-flight checks (argument spec, then realtime_proxy_errors)
  find nothing to refuse;
* the role's templates render it (realtime_testkit.render.render_tree) and
  ``nginx -t`` accepts the tree; certificate paths, which name files on the
  user's host, are pointed at a throwaway self-signed certificate. A site
  with ``tls.acme`` is rendered in both states a host goes through: before
  its certificate exists (plain listeners only, answering the challenge),
  and after, with the throwaway certificate in the place of certbot's files
  (``realtime_proxy__acme_issued``, what tasks/plan.yml finds);
* the audit (realtime_audit) finds nothing in its ``nginx -T``, at any severity.

An example of an nginx the role does not own (realtime_proxy_manage_nginx_conf
false) is rendered into Debian's packaged configuration, with the user's files
of its ``nginx/`` directory (a server that includes the snippets) and the one
line its settings ask the user to add to Debian's nginx.conf
(worker_shutdown_timeout).

The playbooks (docs/examples/site.yml, an example's own) pass
``ansible-playbook --syntax-check`` with every example's inventory.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.render import (DEBIAN_CONF_DIR, NGINX, dump_tree, inventory_check, merged_variables, mode_of,
                                     render_adopted, render_tree, self_signed_certificate, templated_inventory,
                                     validate_tree)

EXAMPLES = REPO_ROOT / "docs" / "examples"
ROLE_VARIABLE_PREFIX = "realtime_proxy_"


def _load(path):
    return yaml.safe_load(path.read_text()) or {}


def _settings(path):
    """What the role sees of a group_vars file: its variables, their Jinja rendered."""
    return templated_inventory(_load(path))


def _example_dirs():
    return sorted(path for path in EXAMPLES.iterdir() if path.is_dir() and path.name != "group_vars")


def _role_inventories():
    """The group_vars files that configure the role, as (id, path)."""
    found = []
    for path in sorted(EXAMPLES.glob("**/group_vars/*.yml")):
        if any(name.startswith(ROLE_VARIABLE_PREFIX) for name in _load(path)):
            found.append((str(path.relative_to(EXAMPLES)), path))
    return found


def _playbooks():
    """The YAML files under docs/examples/ that are playbooks (a list of plays)."""
    found = []
    for path in sorted(EXAMPLES.glob("**/*.yml")):
        data = _load(path)
        if isinstance(data, list) and all(isinstance(play, dict) and ("hosts" in play or "import_playbook" in play
                                                                      or "ansible.builtin.import_playbook" in play)
                                          for play in data):
            found.append(path)
    return found


ROLE_INVENTORIES = _role_inventories()


def with_test_certificates(settings, acme_issued=True):
    """SETTINGS with every site's certificate and key paths pointed at a throwaway self-signed pair.

    Sites with tls.acme get the pair as their issued certificate with ACME_ISSUED, else none (a host
    before the first issuance)."""
    pair = self_signed_certificate()
    if pair is None:
        pytest.skip("needs openssl for a throwaway certificate")
    settings = copy.deepcopy(settings)
    issued = {}
    for site in settings.get("realtime_proxy_sites", []):
        tls = site.get("tls")
        if isinstance(tls, dict) and "certificate" in tls:
            tls["certificate"], tls["certificate_key"] = pair["cert"], pair["key"]
        if isinstance(tls, dict) and "acme" in tls and acme_issued:
            issued[site["name"]] = {"certificate": pair["cert"], "key": pair["key"]}
    settings["realtime_proxy__acme_issued"] = issued
    return settings


def _has_acme(settings):
    return any(isinstance(site.get("tls"), dict) and "acme" in site["tls"]
               for site in settings.get("realtime_proxy_sites", []))


# (path, acme_issued): every inventory once; those with tls.acme also as before their certificate exists.
RENDERED = [(path, True) for unused, path in ROLE_INVENTORIES] + [
    (path, False) for unused, path in ROLE_INVENTORIES if _has_acme(_load(path))]
RENDERED_IDS = [name for name, unused in ROLE_INVENTORIES] + [
    name + "-before-issuance" for name, path in ROLE_INVENTORIES if _has_acme(_load(path))]


def test_examples_are_found():
    names = [path.name for path in _example_dirs()]
    assert len(names) >= 8, names
    assert any(name.endswith("-before-issuance") for name in RENDERED_IDS), "an example with tls.acme"
    assert "group_vars/all.yml" in [name for name, unused in ROLE_INVENTORIES], "the demo's inventory"


@pytest.mark.parametrize("example", _example_dirs(), ids=lambda path: path.name)
def test_example_is_complete(example):
    """An inventory, and something this suite checks: the role's settings or a playbook."""
    assert (example / "hosts.yml").is_file(), "%s has no hosts.yml" % example
    inventory = _load(example / "hosts.yml")
    groups = set(inventory)
    for group in inventory.values():
        groups.update((group or {}).get("children", {}) or {})
    for group_vars in (example / "group_vars").glob("*.yml"):
        assert group_vars.stem in groups | {"all"}, "%s sets variables for a group hosts.yml lacks" % group_vars
    covered = [path for name, path in ROLE_INVENTORIES if example in path.parents]
    covered += [path for path in _playbooks() if example in path.parents]
    assert covered, "%s has neither role settings nor a playbook" % example


@pytest.mark.parametrize("path", [path for unused, path in ROLE_INVENTORIES],
                         ids=[name for name, unused in ROLE_INVENTORIES])
def test_example_passes_the_role_checks(path):
    assert inventory_check(_settings(path)) == []


@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="needs the nginx binary at %s" % NGINX)
@pytest.mark.parametrize("path, acme_issued", RENDERED, ids=RENDERED_IDS)
def test_example_renders_a_tree_nginx_accepts_and_the_audit_passes(path, acme_issued, tmp_path):
    pytest.importorskip("crossplane", reason="the audit parses with crossplane")
    from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import audit_config

    settings = with_test_certificates(_settings(path), acme_issued)
    if mode_of(merged_variables(settings)) == "managed":
        render_tree(settings, tmp_path)
    else:
        render_adopted(settings, tmp_path, adopted_user_files(path.parents[1]))
    returncode, stderr = validate_tree(tmp_path)
    assert returncode == 0, stderr
    returncode, dump, stderr = dump_tree(tmp_path)
    assert returncode == 0, stderr
    findings = audit_config(dump, default_name=str(tmp_path / "nginx.conf"))["findings"]
    assert findings == []


def adopted_user_files(example):
    """{path under /etc/nginx: text} of an example's own nginx files, and Debian's nginx.conf with the
    worker_shutdown_timeout that the example asks for."""
    stock = (DEBIAN_CONF_DIR / "nginx.conf").read_text()
    assert "# add to its main context:  worker_shutdown_timeout 30s;" in (example / "group_vars" / "proxies.yml").read_text()
    files = {"nginx.conf": stock.replace("pid /run/nginx.pid;\n", "pid /run/nginx.pid;\nworker_shutdown_timeout 30s;\n", 1)}
    own = example / "nginx"
    files.update((str(item.relative_to(own)), item.read_text()) for item in own.rglob("*") if item.is_file())
    assert len(files) > 1, "%s has no nginx/ files that include its snippets" % example
    return files


def test_example_playbooks_pass_syntax_check(tmp_path):
    playbooks = _playbooks()
    assert EXAMPLES / "site.yml" in playbooks
    ansible_playbook = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or shutil.which("ansible-playbook")
    if ansible_playbook is None:
        pytest.skip("needs ansible-playbook")
    command = [ansible_playbook, "--syntax-check"]
    for example in _example_dirs():
        command += ["-i", str(example / "hosts.yml")]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / "build" / "collections"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"), ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_NOCOLOR="1")
    for playbook in playbooks:
        proc = subprocess.run(command + [str(playbook)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                              timeout=180, check=False)
        assert proc.returncode == 0, proc.stdout.decode("utf-8", "replace")
