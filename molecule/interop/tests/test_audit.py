"""The audit's http3_host_header rule on the Debian 13 host (nginx with QUIC).

The role's live configuration, with its quic listener, sends the Host from
$realtime_proxy_host: no finding. The field guide's server block
(tests/realtime_testkit/guide/realtime.conf) with an HTTP/3 listener put in,
checked by that host's nginx (`nginx -T -c`), sends $http_host: a finding for
each of its three locations. The audit runs as users run it, as the
realtime.nginx.realtime_audit action on the host.
"""

import json
import os
import subprocess
import tempfile

import pytest
from realtime_testkit.collection import REPO_ROOT

GUIDE = REPO_ROOT / "tests" / "realtime_testkit" / "guide" / "realtime.conf"
GUIDE_DIR = "/tmp/realtime-guide"
# A listener the guide's block gets on this host: never bound, nginx -T only reads.
QUIC_LISTEN = ("    listen 127.0.0.1:17470 ssl;\n    listen 127.0.0.1:17470 quic reuseport;\n    http3 on;\n"
               "    ssl_certificate /etc/nginx/realtime_proxy/tls/interop.crt;\n"
               "    ssl_certificate_key /etc/nginx/realtime_proxy/tls/interop.key;\n")

AUDIT = """
- name: Audit the live configuration and the guide's server block with a quic listener
  hosts: rtn-interop-debian13
  gather_facts: false
  tasks:
    - name: Write the guide's server block and a main file of its own
      ansible.builtin.copy:
        content: "{{ item.content }}"
        dest: "%(dir)s/{{ item.name }}"
        mode: "0644"
      loop:
        - {name: realtime.conf, content: "{{ guide_site }}"}
        - {name: nginx.conf, content: "pid %(dir)s/nginx.pid;\\nevents {}\\nhttp {\\n    include %(dir)s/realtime.conf;\\n}\\n"}
    - name: Audit the role's live configuration
      realtime.nginx.realtime_audit: {fail_on: never}
      register: live
    - name: Audit the guide's
      realtime.nginx.realtime_audit: {fail_on: never, config_file: "%(dir)s/nginx.conf"}
      register: guide
    - name: Keep both results
      ansible.builtin.copy:
        content: "{{ {'live': live, 'guide': guide} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      delegate_to: localhost
""" % {"dir": GUIDE_DIR}


@pytest.fixture(scope="module")
def audits(debian13):
    site = GUIDE.read_text()
    assert site.count("    listen 80;\n") == 1
    debian13.run("mkdir -p %s" % GUIDE_DIR)
    with tempfile.TemporaryDirectory() as work:
        playbook, out, extra = (os.path.join(work, name) for name in ("audit.yml", "out.json", "extra.json"))
        with open(playbook, "w") as handle:
            handle.write(AUDIT)
        with open(extra, "w") as handle:
            json.dump({"guide_site": site.replace("    listen 80;\n", QUIC_LISTEN), "out": out}, handle)
        done = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], playbook,
                               "-e", "@" + extra], capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        with open(out) as handle:
            yield json.load(handle)
    debian13.run("rm -rf %s" % GUIDE_DIR)


def test_the_roles_live_configuration_with_http3_has_no_host_finding(audits, debian13):
    live = audits["live"]
    assert not live.get("failed"), live.get("msg")
    assert any(" quic" in line for line in debian13.check_output("nginx -T 2>/dev/null").splitlines()
               if line.strip().startswith("listen")), "the role's site has no quic listener"
    assert [finding for finding in live["findings"] if finding["code"] == "http3_host_header"] == [], live["report"]


def test_the_guides_block_with_a_quic_listener_loses_the_host(audits):
    guide = audits["guide"]
    assert not guide.get("failed"), guide.get("msg")
    found = [(finding["location"], finding["severity"]) for finding in guide["findings"]
             if finding["code"] == "http3_host_header"]
    assert found == [("/", "high"), ("/sse/", "high"), ("/ws/", "high")], guide["report"]
    assert all(finding["file"] == GUIDE_DIR + "/realtime.conf" for finding in guide["findings"]
               if finding["code"] == "http3_host_header")
