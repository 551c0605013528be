"""Run the role against a molecule scenario's hosts from inside a verify test.

Scenario tests use this to apply a changed inventory (a bad one, a check-mode
one) to the live test host and then look at what happened, or to run one of
the collection's playbooks (``realtime.nginx.rolling_update``) against the
scenario's hosts. The play reports
through the ``ansible.posix.json`` stdout callback, so a task's status and the
per-host stats are read from structured results, never from the
human-readable text.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field

from .hosts import host_python

# Result keys that are bookkeeping, not something the play said (argument_spec_data:
# the role's whole option documentation, sent along when validation fails).
_QUIET_KEYS = {"invocation", "exception", "item", "ansible_loop_var", "action", "results", "diff", "argument_spec_data"}


@dataclass
class PlaybookRun:
    """What one ansible-playbook run reported.

    ``output`` is the raw stdout and stderr (the JSON document, then warnings
    and errors); ``plays`` and ``stats`` are parsed from it. ``messages`` is
    the text a reader of the play would look for: every task's ``msg``, all
    the text of failed results (stderr, argument errors, ...), the diffs of
    changed results and ansible-playbook's own stderr.
    """

    rc: int
    output: str
    plays: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # per host: ok, changed, failures, skipped, unreachable, ...
    stderr: str = ""

    def tasks(self):
        """(task name, host, result) of every result, in play order."""
        for play in self.plays:
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    yield task["task"]["name"], host, result

    def result(self, task: str, host: str | None = None) -> dict | None:
        """The first result of the task whose name starts with TASK (the role's
        prefix ``realtime.nginx.realtime_proxy : `` left out), for HOST or any host."""
        for name, where, result in self.tasks():
            if _short(name).startswith(task) and host in (None, where):
                return result
        return None

    def status(self, task: str, host: str | None = None) -> str | None:
        """'ok', 'changed', 'skipped', 'failed' or 'unreachable' for the task whose
        name starts with TASK (see result()), or None if it never ran."""
        result = self.result(task, host)
        return None if result is None else result_status(result)

    @property
    def messages(self) -> str:
        lines = []
        for name, host, result in self.tasks():
            said = _said(result)
            if said:
                lines.append("TASK [%s] %s: [%s]" % (name, result_status(result), host))
                lines.extend(said)
        lines.append(self.stderr)
        return "\n".join(lines)


def result_status(result: dict) -> str:
    for key in ("unreachable", "failed", "skipped", "changed"):
        if result.get(key):
            return key
    return "ok"


def _short(task_name: str) -> str:
    return task_name.rpartition(" : ")[2]


def _said(result: dict) -> list:
    """Lines of text in one result and its loop items, as the default callback would show them."""
    lines = []
    failed = bool(result.get("failed") or result.get("unreachable"))
    for key, value in sorted(result.items()):
        if key.startswith("_ansible") or key in _QUIET_KEYS or (key != "msg" and not failed):
            continue
        lines.extend(_strings(value))
    if result.get("changed") and result.get("diff"):
        lines.append(render_diff(result["diff"]))
    for item in result.get("results") or []:
        if isinstance(item, dict):
            said = _said(item)
            if said:
                label = item.get("_ansible_item_label", item.get("item"))
                lines.append("(item=%s) %s" % (label, result_status(item)))
                lines.extend(said)
    return lines


def _strings(value) -> list:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return [text for key, item in sorted(value.items()) for text in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    return []


def render_diff(diffs) -> str:
    """A result's ``diff`` as a unified diff, in the layout of ansible's default callback."""
    text = []
    for diff in diffs if isinstance(diffs, list) else [diffs]:
        if "before" in diff and "after" in diff:
            sides = []
            for side in ("before", "after"):
                value = diff[side]
                if isinstance(value, dict):
                    value = json.dumps(value, sort_keys=True, indent=4, separators=(",", ": ")) + "\n"
                sides.append((value or "").splitlines(True))
            headers = ["%s: %s" % (side, diff[side + "_header"]) if side + "_header" in diff else side
                       for side in ("before", "after")]
            text.extend(line if line.endswith("\n") else line + "\n"
                        for line in difflib.unified_diff(*sides, fromfile=headers[0], tofile=headers[1]))
        if "prepared" in diff:
            text.append(diff["prepared"])
    return "".join(text)


def parse_play(stdout: str) -> dict:
    """The JSON document of the json callback in STDOUT ({} when the play never got to report)."""
    start = stdout.find("{")
    while start != -1:
        try:
            return json.loads(stdout[start:])
        except ValueError:
            start = stdout.find("\n{", start + 1)
            start = start + 1 if start != -1 else -1
    return {}


def playbook_command(limit: str | None, vars_file: str, *, playbook: str | None = None, gather_facts: bool = True,
                     check: bool = False, diff: bool = False, tags: tuple = (), verbosity: int = 0) -> list:
    """The ansible-playbook command line of run_role() (see there)."""
    if playbook is None:
        converge = "converge.yml" if gather_facts else "converge_without_facts.yml"
        playbook = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources", converge)
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", "@" + vars_file, playbook]
    if limit is not None:
        command += ["--limit", limit]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if tags:
        command += ["--tags", ",".join(tags)]
    if verbosity:
        command.append("-" + "v" * verbosity)
    return command


def run_role(limit: str | None, extra_vars: dict, *, playbook: str | None = None, check: bool = False,
             diff: bool = False, tags: tuple = (), verbosity: int = 0, gather_facts: bool = True,
             callback: str = "ansible.posix.json", kill_after_changed: str | None = None,
             timeout: int = 600) -> PlaybookRun:
    """Apply realtime.nginx.realtime_proxy to LIMIT with EXTRA_VARS layered over its inventory.

    The role runs through the scenario's converge (molecule/resources/), or
    through PLAYBOOK when one is named: a path or a collection playbook such as
    ``realtime.nginx.rolling_update``, which picks its own hosts (LIMIT None:
    no ``--limit``). TAGS limits the run to the role's tags; GATHER_FACTS=False
    runs a converge that gathers none; CALLBACK "default" gives the
    human-readable output a pipeline log keeps (then only ``rc`` and
    ``output`` are filled in).
    KILL_AFTER_CHANGED names a task: the controller is killed (SIGKILL, rc -9)
    the moment that task reports changed, before anything after it runs, as a
    cancelled CI job or a lost connection would (callbacks/).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra_vars, handle)
        vars_file = handle.name
    command = playbook_command(limit, vars_file, playbook=playbook, gather_facts=gather_facts, check=check,
                               diff=diff, tags=tags, verbosity=verbosity)
    # Structured results for this run only, whatever molecule configured.
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    if kill_after_changed:
        env.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(os.path.dirname(__file__), "callbacks"),
                   ANSIBLE_CALLBACKS_ENABLED="realtime_test_kill_after_changed",
                   REALTIME_TEST_KILL_AFTER_CHANGED=kill_after_changed)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    finally:
        os.unlink(vars_file)
    report = parse_play(done.stdout) if callback == "ansible.posix.json" else {}
    return PlaybookRun(done.returncode, done.stdout + done.stderr, plays=report.get("plays", []),
                       stats=report.get("stats", {}), stderr=done.stderr)


_CHECKSUMS = """
import hashlib, json, os, sys
sums = {}
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        path = os.path.join(top, name)
        if os.path.islink(path):
            sums[path] = "link:" + os.readlink(path)
        elif name in files:
            with open(path, "rb") as handle:
                sums[path] = hashlib.sha256(handle.read()).hexdigest()
print(json.dumps(sums))
"""


def config_checksums(host, conf_dir: str = "/etc/nginx") -> dict:
    """sha256 of every file, and the target of every link, under CONF_DIR on a testinfra host (one round trip)."""
    return json.loads(host_python(host, _CHECKSUMS, conf_dir))


AUDIT_PLAY = """
- name: Audit nginx
  hosts: all
  gather_facts: false
  tasks:
    - name: Audit the nginx configuration
      realtime.nginx.realtime_audit: %s
"""


def audit(limit: str, **options) -> dict:
    """The result of the realtime_audit action (nginx -T of host LIMIT, parsed on the controller), with
    fail_on never unless OPTIONS say otherwise: findings, summary, files, locations, report."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(AUDIT_PLAY % json.dumps(dict({"fail_on": "never"}, **options)))
        path = handle.name
    try:
        run = run_role(limit, {}, playbook=path)
    finally:
        os.unlink(path)
    result = run.result("Audit the nginx configuration", limit)
    assert result is not None and not result.get("msg", "").startswith("The realtime.nginx audit needs"), run.output[-3000:]
    return result
