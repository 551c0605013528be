#!/usr/bin/python
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nginx_config
short_description: Write a set of nginx configuration files, tested as a whole with nginx -t first
version_added: "0.1.0"
description:
  - Compares the given files with the nginx configuration directory. When anything differs, copies the
    whole directory to a staging directory, applies the change there and tests that complete proposed
    tree with C(nginx -t -c STAGING/nginx.conf). Only a proposal that nginx accepts is written live.
  - In the staged copy, C(include) directives and symbolic links that name a file of O(conf_dir) by its absolute
    path (as distribution configurations do, for example C(include /etc/nginx/conf.d/*.conf;)) are pointed at the
    copy, so that nginx reads the proposed files there, not the live ones. The live files are never rewritten.
  - A rejected proposal fails with nginx's own message, with staging paths shown as live paths, and
    leaves every live file as it was.
  - Before writing, the live directory is copied to C(previous/) in O(state_dir), so that
    M(realtime.nginx.nginx_reload) can put it back if nginx then fails to apply the change.
  - Files are written atomically (a temporary file renamed into place).
  - Also reports a change when nothing differs but files it wrote were never activated by
    M(realtime.nginx.nginx_reload), for example after a run that died between writing and reloading, so that
    the caller activates them (RV(awaiting_activation)).
  - One call does all of this on the host, so a run with nothing to change costs one round trip.
author:
  - realtime.nginx contributors (!UNKNOWN)
options:
  conf_dir:
    description: The nginx configuration directory. Relative C(include) paths in its C(nginx.conf) make the staged copy
      validate in place.
    type: path
    default: /etc/nginx
  files:
    description: The files to write, relative to O(conf_dir).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Path relative to O(conf_dir); it may not leave it.
        type: str
        required: true
      content:
        description: The file's content.
        type: str
        required: true
      mode:
        description: Permissions, as an octal string.
        type: str
        default: "0644"
  secret_files:
    description:
      - Files such as private keys, as in O(files). Their content never appears in logs or in the diff.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: "As in O(files).", type: str, required: true}
      content: {description: "As in O(files); never logged.", type: str, required: true}
      mode: {description: "As in O(files).", type: str, default: "0600"}
  owned_dirs:
    description:
      - Directories relative to O(conf_dir) that belong to the caller. They are created, and any file in them
        that O(files) does not list is removed.
    type: list
    elements: str
    default: []
  absent:
    description:
      - Paths relative to O(conf_dir) to remove, such as a distribution's default site.
      - A directory is removed with everything in it.
    type: list
    elements: str
    default: []
  nginx:
    description: The nginx binary. When it does not exist (not installed yet), the proposal is not tested.
    type: path
    default: /usr/sbin/nginx
  validate:
    description: Test the proposal with C(nginx -t) before writing it.
    type: bool
    default: true
  state_dir:
    description:
      - Where the previous configuration directory is kept for rollback (C(previous/)) and what was written and
        what was activated is recorded. Only root may read it, since the copy holds private keys.
      - Shared with M(realtime.nginx.nginx_reload).
    type: path
    default: /var/lib/realtime_nginx
attributes:
  check_mode:
    support: full
    details: In check mode the proposal is still staged and tested, but nothing live is written.
  diff_mode:
    support: full
    details: Shows every file that changes; files from O(secret_files) without their content.
extends_documentation_fragment:
  - realtime.nginx.attributes
notes:
  - Uses only the Python standard library on the managed host.
  - The role M(realtime.nginx.nginx_reload) module activates what this module writes.
"""

EXAMPLES = r"""
- name: Write the proxy configuration once nginx has accepted it
  realtime.nginx.nginx_config:
    files:
      - path: nginx.conf
        content: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') }}"
    owned_dirs: [realtime_proxy, realtime_proxy/sites]
    absent: [sites-enabled/default]
  notify: Reload nginx
"""

RETURN = r"""
changed_files:
  description: Files written (or that would be written in check mode), relative to O(conf_dir).
  returned: always
  type: list
  elements: str
removed_files:
  description: Files removed (or that would be removed), relative to O(conf_dir).
  returned: always
  type: list
  elements: str
validated:
  description: Whether nginx -t tested the proposal.
  returned: always
  type: bool
awaiting_activation:
  description:
    - Whether files written live (now or by an earlier call) await activation by M(realtime.nginx.nginx_reload).
      The caller should reload nginx when this is true.
  returned: always
  type: bool
backup:
  description: The copy of the previous configuration directory, when a change was written.
  returned: when a change was written
  type: str
"""

import os
import re
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.realtime.nginx.plugins.module_utils._nginx_tree import awaiting_activation, copy_tree, keep_previous, mark_written


class ProposalError(Exception):
    pass


def inside(root, relative):
    """The absolute path of RELATIVE under ROOT, refusing any that leaves it."""
    if os.path.isabs(relative) or not relative:
        raise ProposalError("%r must be a relative path" % relative)
    path = os.path.normpath(os.path.join(root, relative))
    if path != root and not path.startswith(root.rstrip("/") + "/"):
        raise ProposalError("%r leaves %s" % (relative, root))
    return path


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def current_mode(path):
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except OSError:
        return None


def plan(conf_dir, files, owned_dirs, absent):
    """What differs: (writes, removals), each a list of relative paths."""
    wanted = set()
    writes = []
    for item in files:
        path = inside(conf_dir, item["path"])
        wanted.add(path)
        content = item["content"].encode("utf-8")
        if read(path) != content or current_mode(path) != int(item["mode"], 8):
            writes.append(item)
    removals = []
    for directory in owned_dirs:
        top = inside(conf_dir, directory)
        if not os.path.isdir(top):
            continue
        for entry in sorted(os.listdir(top)):
            path = os.path.join(top, entry)
            if path in wanted or (os.path.isdir(path) and not os.path.islink(path)):
                continue
            removals.append(os.path.relpath(path, conf_dir))
    for relative in absent:
        path = inside(conf_dir, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            # Everything in it first, then the directories, deepest first.
            for top, dirs, names in os.walk(path, topdown=False):
                for name in sorted(names) + sorted(entry for entry in dirs if os.path.islink(os.path.join(top, entry))):
                    removals.append(os.path.relpath(os.path.join(top, name), conf_dir))
                removals.append(os.path.relpath(top, conf_dir))
        elif os.path.lexists(path) and relative not in removals:
            removals.append(relative)
    return writes, removals


def apply(root, writes, removals, owned_dirs):
    """Write and remove under ROOT; each file is renamed into place."""
    for directory in owned_dirs:
        path = inside(root, directory)
        if not os.path.isdir(path):
            os.makedirs(path, 0o755)
    for item in writes:
        path = inside(root, item["path"])
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        handle, temporary = tempfile.mkstemp(dir=parent, prefix=".realtime_nginx.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(item["content"].encode("utf-8"))
            os.chmod(temporary, int(item["mode"], 8))
            os.rename(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    for relative in removals:
        path = inside(root, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        elif os.path.lexists(path):
            os.unlink(path)


def point_into(staged, conf_dir):
    """Make absolute includes and links of the staged copy STAGED that name CONF_DIR's files name STAGED's.

    Only the copy is changed, so that nginx -t reads the proposal wherever the
    configuration names a file by its absolute live path."""
    live = conf_dir.rstrip("/") + "/"
    include = re.compile(r"(^|[\s;{}])(include\s+[\"']?)" + re.escape(live))
    for top, dirs, names in os.walk(staged):
        for name in names + dirs:
            path = os.path.join(top, name)
            if os.path.islink(path):
                target = os.readlink(path)
                if target.startswith(live):
                    os.unlink(path)
                    os.symlink(os.path.join(staged, target[len(live):]), path)
            elif name in names:
                with open(path, "rb") as handle:
                    text = handle.read().decode("latin-1")
                changed = include.sub(lambda match: match.group(1) + match.group(2) + staged.rstrip("/") + "/", text)
                if changed != text:
                    with open(path, "wb") as handle:
                        handle.write(changed.encode("latin-1"))


def test_proposal(module, conf_dir, writes, removals, owned_dirs):
    """Stage the proposal beside a copy of CONF_DIR and run nginx -t on it."""
    staging = tempfile.mkdtemp(prefix="realtime_nginx.")
    proposed = os.path.join(staging, "proposed")
    try:
        copy_tree(conf_dir, proposed)
        apply(proposed, writes, removals, module.params["owned_dirs"])
        point_into(proposed, conf_dir)
        command = [module.params["nginx"], "-t", "-q", "-c", os.path.join(proposed, "nginx.conf")]
        rc, out, err = module.run_command(command)
        return rc, (err or out).replace(proposed, conf_dir).strip()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def diff_of(conf_dir, writes, removals):
    diffs = []
    for item in writes:
        path = inside(conf_dir, item["path"])
        before = read(path)
        if item["secret"]:
            diffs.append({"before_header": path, "after_header": path,
                          "before": "(secret content)\n" if before is not None else "",
                          "after": "(secret content, changed)\n"})
            continue
        diffs.append({"before_header": path if before is not None else "/dev/null", "after_header": path,
                      "before": before.decode("utf-8", "replace") if before is not None else "",
                      "after": item["content"]})
    for relative in removals:
        path = inside(conf_dir, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            continue  # its files are removals of their own
        before = read(path) if not os.path.islink(path) else ("symlink to %s\n" % os.readlink(path)).encode()
        diffs.append({"before_header": path, "after_header": "/dev/null",
                      "before": (before or b"").decode("utf-8", "replace"), "after": ""})
    return diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            conf_dir=dict(type="path", default="/etc/nginx"),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="str", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
            )),
            secret_files=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
                path=dict(type="str", required=True),
                content=dict(type="str", required=True, no_log=True),
                mode=dict(type="str", default="0600"),
            )),
            owned_dirs=dict(type="list", elements="str", default=[]),
            absent=dict(type="list", elements="str", default=[]),
            nginx=dict(type="path", default="/usr/sbin/nginx"),
            validate=dict(type="bool", default=True),
            state_dir=dict(type="path", default="/var/lib/realtime_nginx"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    conf_dir = params["conf_dir"].rstrip("/") or "/"
    files = [dict(item, secret=False) for item in params["files"]]
    files += [dict(item, secret=True) for item in params["secret_files"]]
    try:
        writes, removals = plan(conf_dir, files, params["owned_dirs"], params["absent"])
        missing_dirs = [d for d in params["owned_dirs"] if not os.path.isdir(inside(conf_dir, d))]
    except ProposalError as exc:
        module.fail_json(msg=str(exc))
    changes = bool(writes or removals or missing_dirs)
    pending = awaiting_activation(params["state_dir"])
    result = dict(changed=changes or pending, awaiting_activation=changes or pending,
                  changed_files=[item["path"] for item in writes], removed_files=removals, validated=False)
    if module._diff:
        result["diff"] = diff_of(conf_dir, writes, removals)
    if not changes:
        if pending:
            result["msg"] = ("files written by an earlier run were never activated (it stopped before reloading "
                             "nginx); they need to be activated")
        module.exit_json(**result)

    if params["validate"]:
        if os.path.exists(params["nginx"]):
            rc, message = test_proposal(module, conf_dir, writes, removals, params["owned_dirs"])
            if rc != 0:
                result.update(changed=False, msg="nginx rejected the proposed configuration, so nothing was "
                                                 "changed and nginx keeps serving the current one. nginx said: "
                                                 + message)
                module.fail_json(**result)
            result["validated"] = True
        else:
            module.warn("%s is not installed yet, so the proposal was not tested with nginx -t" % params["nginx"])

    if module.check_mode:
        module.exit_json(**result)

    result["backup"] = keep_previous(conf_dir, params["state_dir"])
    apply(conf_dir, writes, removals, params["owned_dirs"])
    mark_written(params["state_dir"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
