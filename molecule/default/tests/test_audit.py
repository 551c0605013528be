"""The audit passes the role's output clean.

realtime.nginx.audit (the collection's playbook, by its FQCN) and the
realtime.nginx.realtime_audit action plugin read `nginx -T` from each test
host and parse it with crossplane on the controller. The role's configuration
must give zero findings at every severity, also with the capacity checks on
(realtime_audit_expected_streams within what the role's worker settings hold),
and a capacity the settings cannot hold must be found, so that "zero findings"
means the audit looked.

The test images have no sudo and Ansible connects as root, so become is off.
"""

import json
import os
import re
import subprocess
import tempfile

import pytest

# This scenario: worker_connections 1024 (molecule.yml), worker_processes auto.
FITS = 256        # 512 connections: fits one worker of 1024
TOO_MANY = 100000  # 200,000 connections: no host here has 200 cores


def _playbook(args, timeout=300):
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"]] + args
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout + done.stderr


AUDIT_TO_JSON = """
- name: Audit each host and keep the results as JSON
  hosts: all
  gather_facts: false
  tasks:
    - name: Count the CPUs for worker_processes auto
      ansible.builtin.setup:
        gather_subset: ["!all", "!min", "hardware"]
        filter: [ansible_processor_vcpus]
    - name: Audit, sized for FITS and for TOO_MANY streams
      realtime.nginx.realtime_audit:
        fail_on: never
        expected_streams: "{{ item }}"
      loop: [%d, %d]
      register: audit
    - name: Write the results
      ansible.builtin.copy:
        content: "{{ dict(audit.results | map(attribute='item') | map('string') | zip(audit.results)) | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
""" % (FITS, TOO_MANY)


@pytest.fixture(scope="module")
def audits():
    """{host: {str(expected_streams): action result}} for every host of the scenario."""
    results = {}
    with tempfile.TemporaryDirectory() as out_dir:
        playbook = os.path.join(out_dir, "audit.yml")
        with open(playbook, "w") as handle:
            handle.write(AUDIT_TO_JSON)
        rc, output = _playbook([playbook, "-e", "out_dir=%s" % out_dir])
        assert rc == 0, output[-3000:]
        for name in os.listdir(out_dir):
            if name.endswith(".json"):
                with open(os.path.join(out_dir, name)) as handle:
                    results[name[:-len(".json")]] = json.load(handle)
    return results


@pytest.fixture(scope="module")
def audit_playbook():
    """The shipped playbook, failing on any finding, on every host at once."""
    return _playbook(["realtime.nginx.audit", "-e", "realtime_audit_fail_on=low", "-e", "realtime_audit_become=false",
                      "-e", "realtime_audit_expected_streams=%d" % FITS])


def test_audit_playbook_passes_at_low(host, audit_playbook):
    rc, output = audit_playbook
    assert rc == 0, output[-3000:]
    name = host.backend.get_hostname()
    assert "nginx realtime audit of %s: 0 high, 0 medium, 0 low (" % name in output, output[-3000:]
    assert re.search(r"^%s\s+: ok=\d+ .* failed=0 " % re.escape(name), output, re.M), output[-3000:]


def test_role_output_has_zero_findings(host, audits):
    result = audits[host.backend.get_hostname()][str(FITS)]
    assert not result.get("failed"), result.get("msg")
    assert result["findings"] == [], result["report"]
    assert result["summary"] == {"high": 0, "medium": 0, "low": 0}
    # It audited the role's tree: the main file and the role's site, with the
    # scenario's sse and websocket locations classified as such.
    assert result["files"][0] == "/etc/nginx/nginx.conf"
    assert "/etc/nginx/realtime_proxy/sites/demo.conf" in result["files"]
    kinds = {loc["location"]: (loc["sse"], loc["websocket"]) for loc in result["locations"]
             if loc["file"] == "/etc/nginx/realtime_proxy/sites/demo.conf"}
    assert kinds["/sse/"] == (True, False)
    assert kinds["/ws/"] == (False, True)
    assert kinds["/"] == (False, False)


def test_audit_finds_what_the_settings_cannot_hold(host, audits):
    """Control: the same audit, sized for more streams than the workers hold, finds it."""
    result = audits[host.backend.get_hostname()][str(TOO_MANY)]
    codes = {finding["code"] for finding in result["findings"]}
    assert codes, result["report"]
    assert all("worker" in code for code in codes), result["report"]
