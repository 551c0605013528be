"""PlaybookRun reads the ansible.posix.json document of a role run."""

import json
import os

import pytest
from realtime_testkit.playbook import PlaybookRun, parse_play, playbook_command, render_diff

ROLE = "realtime.nginx.realtime_proxy : "
DOCUMENT = {
    "plays": [{"play": {"name": "Converge"}, "tasks": [
        {"task": {"name": ROLE + "Refresh the package index when it is older than x"},
         "hosts": {"h1": {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}}},
        {"task": {"name": ROLE + "Write the site"},
         "hosts": {"h1": {"changed": True, "diff": [{"before": "a\nold\n", "after": "a\nnew\n",
                                                     "before_header": "/etc/x", "after_header": "/etc/x"}]}}},
        {"task": {"name": ROLE + "Remove the default site"},
         "hosts": {"h1": {"changed": True, "diff": [{"before": "symlink to /etc/y\n", "after": "",
                                                     "before_header": "/etc/z", "after_header": "/dev/null"}]}}},
        {"task": {"name": ROLE + "Probe each location that has a verify_url"},
         "hosts": {"h1": {"failed": True, "msg": "One or more items failed", "results": [
             {"item": {"where": "locations[0]"}, "_ansible_item_label": "locations[0]: ws://a", "msg": "fine"},
             {"item": {"where": "locations[1]"}, "_ansible_item_label": "locations[1]: ws://b", "failed": True,
              "msg": "the upgrade check failed", "stderr": "nginx: [emerg] \"x\" directive",
              "exception": "Traceback (most recent call last): hidden", "invocation": {"module_args": {"u": "secret"}}},
         ]}}},
        {"task": {"name": ROLE + "Report locations whose check failed"},
         "hosts": {"h1": {"failed": True, "msg": ["locations[1] failed its check", "second line"]}}},
    ]}],
    "stats": {"h1": {"changed": 2, "failures": 1, "ok": 3, "skipped": 1, "unreachable": 0}},
}


def make_run(stderr="[WARNING]: something\n"):
    stdout = json.dumps(DOCUMENT, indent=4)
    report = parse_play(stdout)
    return PlaybookRun(2, stdout + stderr, plays=report["plays"], stats=report["stats"], stderr=stderr)


def test_status_by_task_name_prefix_without_the_role():
    run = make_run()
    assert run.status("Refresh the package index") == "skipped"
    assert run.status("Write the site") == "changed"
    assert run.status("Probe each location") == "failed"
    assert run.status("Probe each location", host="h2") is None
    assert run.status("Install the nginx package") is None
    assert run.stats["h1"]["changed"] == 2


def test_messages_hold_what_the_play_said_as_text():
    messages = make_run().messages
    assert "the upgrade check failed" in messages
    assert 'nginx: [emerg] "x" directive' in messages  # everything a failed result says, unquoted
    assert "locations[1] failed its check\nsecond line" in messages
    assert "(item=locations[1]: ws://b) failed" in messages
    assert "Traceback" not in messages and "secret" not in messages
    assert "-old\n+new\n" in messages
    assert "[WARNING]: something" in messages


def test_diffs_in_the_default_callback_layout():
    text = render_diff(DOCUMENT["plays"][0]["tasks"][2]["hosts"]["h1"]["diff"])
    assert text == "--- before: /etc/z\n+++ after: /dev/null\n@@ -1 +0,0 @@\n-symlink to /etc/y\n"
    assert render_diff({"before": {"state": "link"}, "after": {"state": "absent"}}).startswith("--- before\n+++ after\n")


def test_output_that_is_not_a_report():
    assert parse_play("") == {}
    assert parse_play("ERROR! no play\n") == {}
    assert parse_play('noise\n{"stats": {}}') == {"stats": {}}


@pytest.fixture
def molecule_env(monkeypatch):
    monkeypatch.setenv("MOLECULE_PROJECT_DIRECTORY", "/project")
    monkeypatch.setenv("MOLECULE_INVENTORY_FILE", "/inventory.yml")


def test_the_role_runs_through_the_scenarios_converge(molecule_env):  # pylint: disable=unused-argument,redefined-outer-name
    command = playbook_command("h1", "/tmp/vars.json", check=True, tags=("realtime_proxy_check",))
    assert command == ["ansible-playbook", "-i", "/inventory.yml", "-e", "@/tmp/vars.json",
                       os.path.join("/project", "molecule", "resources", "converge.yml"), "--limit", "h1",
                       "--check", "--tags", "realtime_proxy_check"]
    assert playbook_command("h1", "/v.json", gather_facts=False)[5].endswith("converge_without_facts.yml")


def test_a_named_playbook_picks_its_own_hosts(molecule_env):  # pylint: disable=unused-argument,redefined-outer-name
    command = playbook_command(None, "/tmp/vars.json", playbook="realtime.nginx.rolling_update")
    assert command == ["ansible-playbook", "-i", "/inventory.yml", "-e", "@/tmp/vars.json",
                       "realtime.nginx.rolling_update"]
