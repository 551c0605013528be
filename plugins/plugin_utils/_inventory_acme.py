# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME certificates (``tls.acme``): the inventory checks, and what the role asks certbot for.

The checks are a mixin of the inventory checker (_inventory.InventoryChecker),
so their messages name the variable like every other check. The directory
names (``letsencrypt``...), the challenge path and certbot's certificate
names come from the role's vars/main.yml (_role_data). Pure Python, like
_inventory.
"""

from __future__ import annotations

import posixpath
import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_values import (
    FILE_PATH_HELP, FILE_PATH_RE, HOST_LABEL)
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import role_options, role_vars, suboption_names

ACME_KEYS = suboption_names("realtime_proxy_sites", "tls", "acme")
CERTIFICATE_KEYS = ("certificate", "certificate_key", "certificate_content", "certificate_key_content")

# A name a public CA validates: two labels at least, the last not numeric (no IP address), 253 characters at most.
DNS_NAME_RE = re.compile(r"^(?=.{1,253}\Z)%s(?:\.%s)*\.(?=[A-Za-z0-9-]*[A-Za-z])%s\Z" % (HOST_LABEL, HOST_LABEL, HOST_LABEL))
DNS_NAME_HELP = "a DNS name such as live.example.com (no wildcard, no '_', no IP address)"
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%%+-]{1,64}@%s(?:\.%s)+\Z" % (HOST_LABEL, HOST_LABEL))
# certbot's --server: https only (RFC 8555 section 6.1), with characters that need no quoting.
DIRECTORY_URL_RE = re.compile(r"^https://%s(?:\.%s)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%%/@:+,=!*&?-]*)?\Z"
                              % (HOST_LABEL, HOST_LABEL))
# The key types (the spec's choices; the acme_certificate module maps each to certbot's options).
KEY_TYPES = tuple(role_options()["realtime_proxy_sites"]["options"]["tls"]["options"]["acme"]["options"]["key_type"]
                  ["choices"])


def acme_settings():
    """The role's ACME data from vars/main.yml: directories by name, challenge path, certificate name prefix."""
    data = role_vars()
    return {"directories": data["realtime_proxy__acme_directories"],
            "challenge_path": data["realtime_proxy__acme_challenge_path"],
            "cert_name_prefix": data["realtime_proxy__acme_cert_name_prefix"]}


def _is_acme_site(site):
    return isinstance(site, dict) and isinstance(site.get("tls"), dict) and "acme" in site["tls"]


class AcmeChecks:
    """Checks of ``tls.acme``; mixed into the inventory checker, which provides error() and unknown_keys()."""

    # The CA bundle of the first present site that gives one: (where, path).
    acme_ca_bundle = None

    def acme(self, where, acme, site):
        """WHERE is the site's ``...tls.acme``; SITE the whole site."""
        if not isinstance(acme, dict):
            self.error(where, "must be a mapping with email (and optionally directory, names, key_type, ca_bundle)")
            return
        self.unknown_keys(where, acme, ACME_KEYS)
        given = [key for key in CERTIFICATE_KEYS if key in site["tls"]]
        if given:
            self.error(where, "gets the site's certificate from the CA, so leave out %s (a site has either acme or a "
                       "certificate of its own)" % " and ".join("tls." + key for key in given))
        if not site.get("listen"):
            self.error(where, "needs a plain-HTTP listener in %s.listen: the CA fetches the HTTP-01 challenge over "
                       "plain HTTP (port 80 for public CAs)" % where.rsplit(".tls", 1)[0])
        email = acme.get("email")
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            self.error(where + ".email", "%r is not an email address such as ops@example.com" % (email,))
        directory = acme.get("directory", "letsencrypt")
        known = acme_settings()["directories"]
        if not isinstance(directory, str) or (directory not in known and not (
                DIRECTORY_URL_RE.match(directory) and _port_ok(directory))):
            self.error(where + ".directory", "%r is not an https:// URL of an ACME directory or one of: %s"
                       % (directory, ", ".join(known)))
        self.acme_names(where, acme, site)
        key_type = acme.get("key_type", "ecdsa_p256")
        if key_type not in KEY_TYPES:
            self.error(where + ".key_type", "%r is not one of: %s" % (key_type, ", ".join(KEY_TYPES)))
        if "ca_bundle" in acme:
            self.acme_bundle(where + ".ca_bundle", acme["ca_bundle"], site)
        prefix = acme_settings()["challenge_path"]
        for index, location in enumerate(site.get("locations") or []):
            path = location.get("path") if isinstance(location, dict) else None
            if isinstance(path, str) and location.get("match", "prefix") not in ("regex", "regex_nocase") and (
                    path.startswith(prefix) or path == prefix.rstrip("/")):
                self.error("%s.locations[%d].path" % (where.rsplit(".tls", 1)[0], index),
                           "%r is where the role answers the CA's HTTP-01 challenge on this acme site; use another "
                           "path" % path)

    def acme_names(self, where, acme, site):
        if "names" in acme:
            names, at = acme["names"], where + ".names"
            if not isinstance(names, list) or not names:
                self.error(at, "must be a non-empty list of DNS names")
                return
        else:
            names = site.get("server_name", "_")
            names, at = (names if isinstance(names, list) else [names]), where + ".names"
            bad = [name for name in names if not isinstance(name, str) or not DNS_NAME_RE.match(name)]
            if bad:
                self.error(at, "not given, so the site's server_name is used, and %r is not %s; give names, or "
                           "server_name the site's DNS names" % (bad[0], DNS_NAME_HELP))
            return
        seen = set()
        for index, name in enumerate(names):
            if not isinstance(name, str) or not DNS_NAME_RE.match(name):
                self.error("%s[%d]" % (at, index), "%r is not %s" % (name, DNS_NAME_HELP))
            elif name.lower() in seen:
                self.error("%s[%d]" % (at, index), "%r is listed twice" % name)
            else:
                seen.add(name.lower())

    def acme_bundle(self, where, path, site):
        if not isinstance(path, str) or not FILE_PATH_RE.match(path) or "/../" in path + "/" or "/./" in path + "/":
            self.error(where, "%r is not %s" % (path, FILE_PATH_HELP))
            return
        if site.get("state", "present") != "present":
            return
        if self.acme_ca_bundle is None:
            self.acme_ca_bundle = (where, path)
        elif self.acme_ca_bundle[1] != path:
            self.error(where, "%r differs from %s (%r): certbot renews every certificate of a host in one process, "
                       "which trusts one bundle; give every site the same file (the CAs of all of them, concatenated)"
                       % (path, self.acme_ca_bundle[0], self.acme_ca_bundle[1]))


def _port_ok(url):
    host = url[len("https://"):].split("/", 1)[0]
    port = host.rsplit(":", 1)[1] if ":" in host else "443"
    return 1 <= int(port) <= 65535


def acme_requests(sites):
    """What certbot is asked for, one entry per present acme site, in inventory order.

    Each entry: ``site`` (its name), ``where`` (the variable, for messages),
    ``cert_name`` (certbot's name of the certificate), ``domains``, ``email``,
    ``directory`` (a URL), ``key_type`` and ``ca_bundle`` (None for the
    system's trust store).
    """
    data = acme_settings()
    requests = []
    for index, site in enumerate(sites):
        if not _is_acme_site(site) or site.get("state", "present") != "present":
            continue
        acme = site["tls"]["acme"]
        names = acme.get("names") or site.get("server_name", "_")
        directory = acme.get("directory", "letsencrypt")
        requests.append({
            "site": site["name"],
            "where": "realtime_proxy_sites[%d] (site %s)" % (index, site["name"]),
            "cert_name": data["cert_name_prefix"] + site["name"],
            "domains": list(names) if isinstance(names, list) else [names],
            "email": acme["email"],
            "directory": data["directories"].get(directory, directory),
            "key_type": acme.get("key_type", "ecdsa_p256"),
            "ca_bundle": acme.get("ca_bundle"),
        })
    return requests


def certbot_files(request, live_dir):
    """The certificate chain and key certbot keeps for REQUEST under LIVE_DIR (live/CERT_NAME/)."""
    return tuple(posixpath.join(live_dir, request["cert_name"], name) for name in ("fullchain.pem", "privkey.pem"))


def acme_issued(sites, existing, live_dir):
    """{site name: {"certificate": path, "key": path}} for the present acme sites whose certificate exists.

    EXISTING lists the paths found on the host (certbot's fullchain.pem and
    privkey.pem under LIVE_DIR/CERT_NAME/); a site whose two files are both
    there is served over TLS, the others only on their plain listeners until
    their certificate is issued.
    """
    found = set(existing)
    issued = {}
    for request in acme_requests(sites):
        certificate, key = certbot_files(request, live_dir)
        if certificate in found and key in found:
            issued[request["site"]] = {"certificate": certificate, "key": key}
    return issued


def acme_pending(sites, issued):
    """SITES with the TLS listeners of acme sites not in ISSUED left out (they have no certificate to serve yet)."""
    out = []
    for site in sites:
        if _is_acme_site(site) and site.get("name") not in issued:
            site = dict(site, tls=dict(site["tls"], listen=[]))
        out.append(site)
    return out
