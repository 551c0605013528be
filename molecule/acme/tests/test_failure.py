"""A site whose challenge cannot succeed fails the play by name, and the host stays as it was.

broken.acme.test resolves to 127.0.0.2 for pebble (prepare.yml), where nothing
listens, so its HTTP-01 validation is refused. The run adds that site (its
plain listener and challenge location go live, as on any first issuance),
certbot fails, and the role puts back the configuration nginx served before
the run.
"""

import copy

import pytest
from conftest import ISSUING, NAMES
from realtime_testkit.hosts import nginx_processes
from realtime_testkit.playbook import config_checksums, run_role
from realtime_testkit.tls import served_certificate

LETSENCRYPT_STATE = ("find /etc/letsencrypt/live /etc/letsencrypt/archive /etc/letsencrypt/renewal "
                     "\\( -type f -o -type l \\) -printf '%p %l %s\\n' | sort")


def _state(issuing, pebble_root, port):
    return {
        "conf": config_checksums(issuing),
        "nginx_T": issuing.check_output("nginx -T 2>/dev/null"),
        "letsencrypt": issuing.check_output(LETSENCRYPT_STATE),
        "serial": served_certificate("127.0.0.1", port, cafile=pebble_root, server_hostname=NAMES[0])["serialNumber"],
        "master": nginx_processes(issuing)[0],
    }


@pytest.fixture(scope="module")
def failed_run(issuing, issuing_variables, pebble_root, tls_port):
    sites = copy.deepcopy(issuing_variables["realtime_proxy_sites"])
    broken = copy.deepcopy(sites[0])
    broken.update(name="broken", server_name="broken.acme.test")
    sites.append(broken)
    before = _state(issuing, pebble_root, tls_port)
    run = run_role(ISSUING, {"realtime_proxy_sites": sites})
    after = _state(issuing, pebble_root, tls_port)
    return {"run": run, "before": before, "after": after}


def test_the_play_fails_naming_the_site_and_certbots_reason(failed_run):
    run = failed_run["run"]
    assert run.rc != 0, run.messages[-3000:]
    assert run.status("Report the sites whose certificate could not be issued") == "failed"
    report = run.result("Report the sites whose certificate could not be issued")["msg"]
    text = "\n".join(report) if isinstance(report, list) else report
    assert "realtime_proxy_sites[1] (site broken)" in text, text
    assert "broken.acme.test" in text and "127.0.0.2" in text and "connection refused" in text, text
    assert "realtime_proxy_sites[0]" not in text, text
    assert "previous configuration was put back" in text, text


def test_the_hosts_files_and_the_served_certificate_are_unchanged(failed_run):
    before, after = failed_run["before"], failed_run["after"]
    assert after["conf"] == before["conf"]
    assert after["nginx_T"] == before["nginx_T"]
    assert "broken" not in after["nginx_T"]
    assert after["letsencrypt"] == before["letsencrypt"]
    assert after["serial"] == before["serial"]
    assert after["master"] == before["master"]
