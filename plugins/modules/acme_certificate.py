#!/usr/bin/python
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acme_certificate
short_description: Get a certificate from an ACME CA with certbot and the HTTP-01 challenge (webroot)
version_added: "0.3.0"
description:
  - Asks the distribution's C(certbot) for a certificate named O(cert_name) for O(domains), proving control of each
    name with the HTTP-01 challenge through files in O(webroot), which the web server must answer under
    C(/.well-known/acme-challenge/) on port 80.
  - Reads certbot's renewal configuration first (C(renewal/CERT_NAME.conf) in O(config_dir)). When the certificate
    exists for the same names, key type, directory and webroot, certbot is not run and nothing changes, so a
    repeated run costs no request to the CA. Renewal is certbot's own job (its systemd timer).
  - When it differs, certbot gets a new certificate under the same name (the files under C(live/CERT_NAME/) keep
    their paths). A changed directory or webroot is forced (C(--force-renewal)); certbot itself reissues for changed
    names or key type.
  - When the CA refuses, fails with certbot's reason (the CA's problem for each name, or certbot's error), and the
    existing certificate, if any, stays as it was.
author:
  - realtime.nginx contributors (!UNKNOWN)
options:
  cert_name:
    description: certbot's name of the certificate (C(--cert-name)); its files are C(live/CERT_NAME/fullchain.pem)
      and C(privkey.pem) in O(config_dir).
    type: str
    required: true
  domains:
    description: The DNS names the certificate is for.
    type: list
    elements: str
    required: true
  email:
    description: The contact address of the ACME account, used when certbot registers one for O(directory).
    type: str
    required: true
  directory:
    description: The ACME directory URL (certbot's C(--server)).
    type: str
    required: true
  key_type:
    description: The certificate's key.
    type: str
    choices: [ecdsa_p256, ecdsa_p384, rsa_2048, rsa_3072, rsa_4096]
    default: ecdsa_p256
  ca_bundle:
    description:
      - A PEM file with the certificate authorities to trust for O(directory) (C(REQUESTS_CA_BUNDLE)), for a private
        ACME CA. Without it, the system's trust store.
    type: path
  webroot:
    description: The directory certbot writes the challenge files to (C(--webroot-path)); created when missing.
    type: path
    required: true
  config_dir:
    description: certbot's configuration directory.
    type: path
    default: /etc/letsencrypt
  certbot:
    description: The certbot program.
    type: path
    default: /usr/bin/certbot
attributes:
  check_mode:
    support: full
    details: Reports whether a certificate would be requested, and why; certbot is not run and the CA is not asked.
  diff_mode:
    support: none
    details: The certificate is not shown.
extends_documentation_fragment:
  - realtime.nginx.attributes
notes:
  - Uses only the Python standard library on the managed host; certbot must be installed for a request.
  - The C(realtime.nginx.realtime_proxy) role uses it for sites with C(tls.acme).
"""

EXAMPLES = r"""
- name: Get the certificate of live.example.com
  realtime.nginx.acme_certificate:
    cert_name: live
    domains: [live.example.com]
    email: ops@example.com
    directory: https://acme-staging-v02.api.letsencrypt.org/directory
    webroot: /var/www/acme
"""

RETURN = r"""
issued:
  description: Whether certbot got a new certificate in this call.
  returned: always
  type: bool
reasons:
  description: Why a certificate was (or in check mode would be) requested; empty when the existing one fits.
  returned: always
  type: list
  elements: str
certificate:
  description: The certificate chain file (C(live/CERT_NAME/fullchain.pem)).
  returned: always
  type: str
key:
  description: The private key file (C(live/CERT_NAME/privkey.pem)).
  returned: always
  type: str
reason:
  description: certbot's reason, when the request failed.
  returned: on failure
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

# certbot's --key-type and --elliptic-curve or --rsa-key-size, and how its renewal configuration records them.
KEY_TYPES = {
    "ecdsa_p256": ("ecdsa", "elliptic_curve", "secp256r1"),
    "ecdsa_p384": ("ecdsa", "elliptic_curve", "secp384r1"),
    "rsa_2048": ("rsa", "rsa_key_size", "2048"),
    "rsa_3072": ("rsa", "rsa_key_size", "3072"),
    "rsa_4096": ("rsa", "rsa_key_size", "4096"),
}
# What certbot uses when its renewal configuration leaves a setting out: it records only the values given
# on its command line, and a renewal rewrites the file without those equal to its defaults.
CERTBOT_DEFAULTS = {"elliptic_curve": "secp256r1", "rsa_key_size": "2048"}
# certbot's own chatter, never part of a reason.
NOISE = ("Saving debug log", "Ask for help or search", "See the logfile", "- - - -", "If you like Certbot",
         "Donating to", "re-run Certbot with -v")


def parse_renewal_conf(text):
    """The parts of certbot's renewal configuration (ConfigObj) that decide whether a certificate fits.

    {"server", "authenticator", "key_type", "elliptic_curve", "rsa_key_size", "webroot_map": {domain: path}};
    a missing key is absent.
    """
    found, section, webroot_map = {}, None, {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            section = line.strip("[]").strip()
            continue
        if line.startswith("["):
            section = None if line.strip("[]").strip() == "renewalparams" else line.strip("[]").strip()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if section == "webroot_map":
            webroot_map[key] = value
        elif section is None:
            found.setdefault(key, value)
    found["webroot_map"] = webroot_map
    return found


def default_key_type(version):
    """certbot's key type when none is recorded: ECDSA from certbot 2.0 on, RSA before."""
    try:
        major = int(str(version).split(".", maxsplit=1)[0])
    except ValueError:
        major = 2
    return "ecdsa" if major >= 2 else "rsa"


def reasons_to_request(current, domains, key_type, directory, webroot):
    """Why the certificate recorded in CURRENT (parse_renewal_conf(), or None) does not fit; [] when it does.

    Returns (reasons, force): FORCE when certbot would otherwise keep the certificate ("not yet due").
    """
    if current is None:
        return ["no certificate yet"], False
    reasons, force = [], False
    have = sorted(name.lower() for name in current["webroot_map"])
    want = sorted(name.lower() for name in domains)
    if have != want:
        reasons.append("names %s, wanted %s" % (", ".join(have) or "none", ", ".join(want)))
    kind, field, value = KEY_TYPES[key_type]
    have_kind = current.get("key_type", default_key_type(current.get("version")))
    have_value = current.get(field, CERTBOT_DEFAULTS[field])
    if have_kind != kind or have_value != value:
        reasons.append("key %s %s, wanted %s" % (have_kind, current.get("elliptic_curve") or current.get("rsa_key_size")
                                                 or "(certbot's default)", key_type))
    if current.get("server") != directory:
        reasons.append("directory %s, wanted %s" % (current.get("server"), directory))
        force = True
    if current.get("authenticator") != "webroot" or any(
            path.rstrip("/") != webroot.rstrip("/") for path in current["webroot_map"].values()):
        reasons.append("not validated through the webroot %s" % webroot)
        force = True
    return reasons, force


def certbot_command(params, force):
    kind, field, value = KEY_TYPES[params["key_type"]]
    command = [params["certbot"], "certonly", "--non-interactive", "--agree-tos", "--email", params["email"],
               "--server", params["directory"], "--config-dir", params["config_dir"],
               "--webroot", "--webroot-path", params["webroot"], "--cert-name", params["cert_name"],
               "--key-type", kind, "--" + field.replace("_", "-"), value]
    for domain in params["domains"]:
        command += ["--domain", domain]
    if force:
        command.append("--force-renewal")
    return command


def failure_reason(stdout, stderr):
    """certbot's reason for a failed request, in a few lines.

    The CA's problems, one "Domain/Type/Detail" group per name, when certbot
    lists them; otherwise certbot's own error lines.
    """
    lines = [line.rstrip() for line in (stdout + "\n" + stderr).splitlines()]
    reported = []
    for index, line in enumerate(lines):
        if "reported these problems" in line:
            for follow in lines[index + 1:]:
                if follow.startswith("Hint:"):
                    break
                if follow.strip():
                    reported.append(follow.strip())
            break
    if reported:
        return " ".join(reported)
    useful = [line.strip() for line in lines if line.strip() and not any(part in line for part in NOISE)]
    return " ".join(useful[-6:]) or "certbot failed without saying why"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cert_name=dict(type="str", required=True),
            domains=dict(type="list", elements="str", required=True),
            email=dict(type="str", required=True),
            directory=dict(type="str", required=True),
            key_type=dict(type="str", default="ecdsa_p256", choices=list(KEY_TYPES), no_log=False),
            ca_bundle=dict(type="path"),
            webroot=dict(type="path", required=True),
            config_dir=dict(type="path", default="/etc/letsencrypt"),
            certbot=dict(type="path", default="/usr/bin/certbot"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    live = os.path.join(params["config_dir"], "live", params["cert_name"])
    result = dict(changed=False, issued=False, reasons=[], certificate=os.path.join(live, "fullchain.pem"),
                  key=os.path.join(live, "privkey.pem"))
    renewal = os.path.join(params["config_dir"], "renewal", params["cert_name"] + ".conf")
    current = None
    if os.path.exists(renewal) and os.path.exists(result["certificate"]) and os.path.exists(result["key"]):
        with open(renewal) as handle:
            current = parse_renewal_conf(handle.read())
    reasons, force = reasons_to_request(current, params["domains"], params["key_type"], params["directory"],
                                        params["webroot"])
    result["reasons"] = reasons
    if not reasons:
        module.exit_json(**result)
    names = ", ".join(params["domains"])
    if module.check_mode:
        result.update(changed=True, msg="Check mode: a certificate for %s would be requested from %s (%s); nothing "
                                        "was requested" % (names, params["directory"], "; ".join(reasons)))
        module.exit_json(**result)
    if not os.path.exists(params["certbot"]):
        module.fail_json(msg="%s is not installed, so no certificate for %s can be requested" % (params["certbot"], names),
                         **result)
    if ca_bundle_missing(params["ca_bundle"]):
        module.fail_json(msg="the CA bundle %s does not exist, so certbot could not trust %s"
                             % (params["ca_bundle"], params["directory"]), **result)
    if not os.path.isdir(params["webroot"]):
        os.makedirs(params["webroot"], 0o755)
    environ = {"REQUESTS_CA_BUNDLE": params["ca_bundle"]} if params["ca_bundle"] else {}
    rc, out, err = module.run_command(certbot_command(params, force), environ_update=environ)
    if rc != 0:
        reason = failure_reason(out, err)
        module.fail_json(msg="certbot could not get a certificate for %s from %s: %s" % (names, params["directory"], reason),
                         reason=reason, rc=rc, stdout=out, stderr=err, **result)
    result.update(changed=True, issued=True, msg="certbot got a certificate for %s (%s)" % (names, "; ".join(reasons)))
    module.exit_json(**result)


def ca_bundle_missing(path):
    return bool(path) and not os.path.isfile(path)


if __name__ == "__main__":
    main()
