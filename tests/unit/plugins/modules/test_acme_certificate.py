# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""acme_certificate's pure parts: certbot's renewal configuration as certbot 2.1 writes it, when a
certificate fits, the certbot command, certbot's reason for a failure; and the module in check mode,
run as Ansible runs it (a process of its own), which asks nobody for anything."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.realtime.nginx.plugins.modules.acme_certificate import (
    KEY_TYPES, certbot_command, failure_reason, parse_renewal_conf, reasons_to_request)
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import KEY_TYPES as SPEC_KEY_TYPES

MODULE = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules" / "acme_certificate.py"
DIRECTORY = "https://127.0.0.1:17600/dir"
WEBROOT = "/var/www/realtime-nginx-acme"

# As certbot 2.1 wrote it after `certonly ... --key-type ecdsa --elliptic-curve secp256r1`.
ISSUED = """# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/realtime_proxy-live
cert = /etc/letsencrypt/live/realtime_proxy-live/cert.pem
privkey = /etc/letsencrypt/live/realtime_proxy-live/privkey.pem
chain = /etc/letsencrypt/live/realtime_proxy-live/chain.pem
fullchain = /etc/letsencrypt/live/realtime_proxy-live/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = a78ad1d8952a314e98bd7cbee40a9bf2
key_type = ecdsa
elliptic_curve = secp256r1
server = https://127.0.0.1:17600/dir
authenticator = webroot
webroot_path = /var/www/realtime-nginx-acme,
[[webroot_map]]
live.acme.test = /var/www/realtime-nginx-acme
www.acme.test = /var/www/realtime-nginx-acme
"""
# After `certbot renew`: values equal to certbot's defaults are no longer written.
RENEWED = ISSUED.replace("elliptic_curve = secp256r1\n", "")

# certbot 2.1's output when pebble could not fetch the challenge (stdout, stderr).
CHALLENGE_FAILED = ("""Requesting a certificate for broken.acme.test

Certbot failed to authenticate some domains (authenticator: webroot). \
The Certificate Authority reported these problems:
  Domain: broken.acme.test
  Type:   connection
  Detail: 127.0.0.2: Fetching http://broken.acme.test:17610/.well-known/acme-challenge/x: Connection refused

Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.
""", """Saving debug log to /var/log/letsencrypt/letsencrypt.log
Some challenges have failed.
Ask for help or search for solutions at https://community.letsencrypt.org. \
See the logfile /var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.
""")


def test_the_module_maps_every_key_type_of_the_spec():
    assert sorted(KEY_TYPES) == sorted(SPEC_KEY_TYPES)


def test_the_renewal_configuration_is_read():
    current = parse_renewal_conf(ISSUED)
    assert current["server"] == DIRECTORY and current["authenticator"] == "webroot"
    assert (current["key_type"], current["elliptic_curve"]) == ("ecdsa", "secp256r1")
    assert current["webroot_map"] == {"live.acme.test": WEBROOT, "www.acme.test": WEBROOT}


@pytest.mark.parametrize("text", [ISSUED, RENEWED])
def test_a_certificate_that_fits_needs_no_request(text):
    # Also after a renewal rewrote the file: a role run after certbot's timer must not ask the CA again.
    assert reasons_to_request(parse_renewal_conf(text), ["www.acme.test", "live.acme.test"], "ecdsa_p256",
                              DIRECTORY, WEBROOT + "/") == ([], False)


def test_what_makes_a_certificate_not_fit():
    current = parse_renewal_conf(ISSUED)
    assert reasons_to_request(None, ["a.example.com"], "ecdsa_p256", DIRECTORY, WEBROOT) == (["no certificate yet"], False)
    reasons, force = reasons_to_request(current, ["live.acme.test"], "ecdsa_p256", DIRECTORY, WEBROOT)
    assert reasons == ["names live.acme.test, www.acme.test, wanted live.acme.test"] and not force
    reasons, force = reasons_to_request(current, ["live.acme.test", "www.acme.test"], "rsa_2048", DIRECTORY, WEBROOT)
    assert len(reasons) == 1 and reasons[0].endswith("wanted rsa_2048") and not force
    # certbot keeps a certificate that is not due for these, unless forced.
    reasons, force = reasons_to_request(current, ["live.acme.test", "www.acme.test"], "ecdsa_p256",
                                        "https://acme-v02.api.letsencrypt.org/directory", WEBROOT)
    assert reasons[0].startswith("directory https://127.0.0.1:17600/dir") and force
    reasons, force = reasons_to_request(current, ["live.acme.test", "www.acme.test"], "ecdsa_p256", DIRECTORY, "/srv/acme")
    assert reasons == ["not validated through the webroot /srv/acme"] and force


def test_an_older_certbot_records_no_key_type_for_rsa():
    # certbot 1.x (Ubuntu 22.04) made RSA keys by default and wrote no key_type for them.
    old = "version = 1.21.0\n[renewalparams]\nserver = %s\nauthenticator = webroot\n[[webroot_map]]\na.example.com = %s\n" % (
        DIRECTORY, WEBROOT)
    assert reasons_to_request(parse_renewal_conf(old), ["a.example.com"], "rsa_2048", DIRECTORY, WEBROOT) == ([], False)
    assert reasons_to_request(parse_renewal_conf(old), ["a.example.com"], "ecdsa_p256", DIRECTORY, WEBROOT)[0]


def test_the_certbot_command():
    params = {"certbot": "/usr/bin/certbot", "email": "ops@example.com", "directory": DIRECTORY,
              "config_dir": "/etc/letsencrypt", "webroot": WEBROOT, "cert_name": "realtime_proxy-live",
              "key_type": "ecdsa_p384", "domains": ["live.acme.test", "www.acme.test"]}
    assert certbot_command(params, force=False) == [
        "/usr/bin/certbot", "certonly", "--non-interactive", "--agree-tos", "--email", "ops@example.com",
        "--server", DIRECTORY, "--config-dir", "/etc/letsencrypt", "--webroot", "--webroot-path", WEBROOT,
        "--cert-name", "realtime_proxy-live", "--key-type", "ecdsa", "--elliptic-curve", "secp384r1",
        "--domain", "live.acme.test", "--domain", "www.acme.test"]
    params["key_type"] = "rsa_4096"
    command = certbot_command(params, force=True)
    assert command[-1] == "--force-renewal" and command[command.index("--key-type") + 1:][:3] == [
        "rsa", "--rsa-key-size", "4096"]


def test_the_reason_is_what_the_ca_reported():
    reason = failure_reason(*CHALLENGE_FAILED)
    assert reason == ("Domain: broken.acme.test Type:   connection Detail: 127.0.0.2: Fetching "
                      "http://broken.acme.test:17610/.well-known/acme-challenge/x: Connection refused")


def test_otherwise_certbots_own_error_lines():
    rate_limited = ("", "Saving debug log to /var/log/letsencrypt/letsencrypt.log\nRequesting a certificate for a.example.com\n"
                        "An unexpected error occurred:\nError creating new order :: too many certificates (5) already "
                        "issued for this exact set of domains in the last 168h0m0s\nAsk for help or search for solutions "
                        "at https://community.letsencrypt.org.\n")
    reason = failure_reason(*rate_limited)
    assert "too many certificates" in reason and "Saving debug log" not in reason and "Ask for help" not in reason
    assert failure_reason("", "") == "certbot failed without saying why"


def test_check_mode_says_what_would_be_requested_and_runs_nothing(tmp_path):
    args = {"cert_name": "realtime_proxy-live", "domains": ["live.acme.test"], "email": "ops@acme.test",
            "directory": DIRECTORY, "webroot": str(tmp_path / "webroot"), "config_dir": str(tmp_path / "letsencrypt"),
            "certbot": str(tmp_path / "no-certbot"), "_ansible_check_mode": True}
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    done = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True, text=True, timeout=60, check=False)
    result = json.loads(done.stdout)
    assert result["changed"] and not result["issued"] and result["reasons"] == ["no certificate yet"], result
    assert "would be requested from %s" % DIRECTORY in result["msg"] and "nothing was requested" in result["msg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["args.json"]  # no webroot, no configuration directory
