"""`--check --diff` on a fresh host says a certificate would be requested, and requests nothing."""

from conftest import FRESH, NAMES
from realtime_testkit import acme
from realtime_testkit.playbook import run_role


def test_check_and_diff_on_a_fresh_host_request_nothing(fresh, pebble_dir):
    offset = acme.log_offset(pebble_dir)
    run = run_role(FRESH, {}, check=True, diff=True)
    assert run.rc == 0, run.messages[-3000:]
    request = run.result("Request each missing or changed certificate")
    assert run.status("Request each missing or changed certificate") == "changed", request
    said = request["results"][0]["msg"]
    assert "would be requested" in said and all(name in said for name in NAMES), said
    assert "nothing was requested" in said
    # The diff shows the site as it goes live first: plain listener and challenge location.
    assert "location ^~ /.well-known/acme-challenge/" in run.messages
    # Nothing reached pebble, and nothing was installed or written on the host.
    assert acme.log_since(pebble_dir, offset) == ""
    assert not fresh.file("/etc/letsencrypt").exists
    assert not fresh.file("/usr/bin/certbot").exists
    assert not fresh.file("/usr/sbin/nginx").exists
    assert not fresh.file("/var/lib/realtime_nginx").exists
