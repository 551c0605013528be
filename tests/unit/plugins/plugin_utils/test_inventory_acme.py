"""tls.acme: the checks name the variable; what certbot is asked for; which sites are served over TLS yet."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import acme_issued, acme_pending, acme_requests

LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


def inventory(**acme):
    acme = dict({"email": "ops@example.com"}, **acme)
    return {
        "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:8000"]}],
        "realtime_proxy_sites": [{
            "name": "live", "server_name": ["live.example.com", "www.example.com"], "listen": [80],
            "tls": {"listen": [443], "redirect": True, "acme": acme},
            "locations": [{"path": "/", "type": "http", "upstream": "app"}],
        }],
    }


def site(settings):
    return settings["realtime_proxy_sites"][0]


def errors_at(settings, where):
    return [e for e in inventory_errors(settings) if e.startswith(where + ":")]


def test_a_valid_acme_site_has_no_errors():
    assert inventory_errors(inventory()) == []
    assert inventory_errors(inventory(directory="letsencrypt_staging", names=["live.example.com"],
                                      key_type="rsa_2048", ca_bundle="/etc/ssl/private-ca.pem")) == []
    assert inventory_errors(inventory(directory="https://ca.internal.example:9000/acme/acme/directory")) == []


@pytest.mark.parametrize("key, value", [("certificate", "/etc/ssl/a.pem"), ("certificate_key", "/etc/ssl/a.key"),
                                        ("certificate_content", "-----BEGIN CERTIFICATE-----\nx\n"),
                                        ("certificate_key_content", "-----BEGIN PRIVATE KEY-----\nx\n")])
def test_acme_with_a_certificate_of_its_own_is_refused_by_name(key, value):
    settings = inventory()
    site(settings)["tls"][key] = value
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme")
    assert "tls.%s" % key in message and "either acme or a certificate" in message


def test_acme_without_a_plain_listener_is_refused_by_name():
    settings = inventory()
    del site(settings)["listen"]
    site(settings)["tls"]["redirect"] = False
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme")
    assert "realtime_proxy_sites[0].listen" in message and "HTTP-01" in message


@pytest.mark.parametrize("email", ["ops", "ops@", "@example.com", "ops@localhost", "ops@example.com\n",
                                   "o ps@example.com", "ops@exa;mple.com", 5, None, ["ops@example.com"]])
def test_a_bad_email_is_refused_by_name(email):
    settings = inventory(email=email)
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme.email")
    assert "email address" in message


def test_a_missing_email_is_refused_by_name():
    settings = inventory()
    del site(settings)["tls"]["acme"]["email"]
    assert errors_at(settings, "realtime_proxy_sites[0].tls.acme.email")


@pytest.mark.parametrize("directory", [
    "http://acme-v02.api.letsencrypt.org/directory",  # ACME is https only
    "letsencrypt-prod", "ftp://ca.example.com/dir", "https://", "https://ca.example.com/dir with space",
    "https://ca.example.com/dir\"", "https://ca.example.com:99999/dir", "https://ca.example.com/a;b", 7,
])
def test_a_bad_directory_is_refused_by_name(directory):
    settings = inventory(directory=directory)
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme.directory")
    assert "https:// URL" in message and "letsencrypt_staging" in message


@pytest.mark.parametrize("name", ["*.example.com", "_", "localhost", "127.0.0.1", "exa mple.com", "a..b.com",
                                  "-a.example.com", "example.com.", "x" * 64 + ".com", "é.example.com", 3])
def test_names_that_are_not_dns_names_are_refused_by_name(name):
    settings = inventory(names=["live.example.com", name])
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme.names[1]")
    assert "DNS name" in message


def test_names_must_be_a_non_empty_list_without_duplicates():
    assert errors_at(inventory(names=[]), "realtime_proxy_sites[0].tls.acme.names")
    assert errors_at(inventory(names="live.example.com"), "realtime_proxy_sites[0].tls.acme.names")
    (message,) = errors_at(inventory(names=["a.example.com", "A.example.com"]),
                           "realtime_proxy_sites[0].tls.acme.names[1]")
    assert "twice" in message


@pytest.mark.parametrize("server_name", ["_", "*.example.com", ["live.example.com", "_"]])
def test_default_names_need_a_server_name_of_dns_names(server_name):
    settings = inventory()
    site(settings)["server_name"] = server_name
    (message,) = errors_at(settings, "realtime_proxy_sites[0].tls.acme.names")
    assert "server_name" in message and "give names" in message


def test_key_type_unknown_keys_and_ca_bundle_are_checked_by_name():
    assert errors_at(inventory(key_type="ed25519"), "realtime_proxy_sites[0].tls.acme.key_type")
    assert errors_at(inventory(staging=True), "realtime_proxy_sites[0].tls.acme.staging")
    assert errors_at(inventory(ca_bundle="relative.pem"), "realtime_proxy_sites[0].tls.acme.ca_bundle")
    assert errors_at(inventory(ca_bundle="/etc/../x.pem"), "realtime_proxy_sites[0].tls.acme.ca_bundle")
    settings = inventory()
    site(settings)["tls"]["acme"] = "yes"
    assert errors_at(settings, "realtime_proxy_sites[0].tls.acme")


def test_every_site_of_a_host_trusts_the_same_ca_bundle():
    settings = inventory(ca_bundle="/etc/ssl/one.pem")
    other = copy.deepcopy(site(settings))
    other.update(name="other", server_name="other.example.com", listen=[8080])
    other["tls"] = {"listen": [8443], "acme": {"email": "ops@example.com", "ca_bundle": "/etc/ssl/two.pem"}}
    settings["realtime_proxy_sites"].append(other)
    (message,) = errors_at(settings, "realtime_proxy_sites[1].tls.acme.ca_bundle")
    assert "realtime_proxy_sites[0].tls.acme.ca_bundle" in message and "one process" in message
    other["tls"]["acme"]["ca_bundle"] = "/etc/ssl/one.pem"
    assert inventory_errors(settings) == []


@pytest.mark.parametrize("path, match", [("/.well-known/acme-challenge/", "prefix"),
                                         ("/.well-known/acme-challenge/x", "exact"),
                                         ("/.well-known/acme-challenge", "prefix_priority")])
def test_a_location_on_the_challenge_path_is_refused_on_an_acme_site(path, match):
    settings = inventory()
    site(settings)["locations"].append({"path": path, "match": match, "type": "http", "upstream": "app"})
    (message,) = errors_at(settings, "realtime_proxy_sites[0].locations[1].path")
    assert "HTTP-01" in message


def test_what_certbot_is_asked_for():
    settings = inventory(directory="letsencrypt_staging")
    absent = copy.deepcopy(site(settings))
    absent.update(name="gone", state="absent")
    plain = {"name": "plain", "listen": [8080], "locations": []}
    (request,) = acme_requests(settings["realtime_proxy_sites"] + [absent, plain])
    assert request == {"site": "live", "where": "realtime_proxy_sites[0] (site live)", "cert_name": "realtime_proxy-live",
                       "domains": ["live.example.com", "www.example.com"], "email": "ops@example.com",
                       "directory": "https://acme-staging-v02.api.letsencrypt.org/directory",
                       "key_type": "ecdsa_p256", "ca_bundle": None}
    assert acme_requests(inventory(names=["x.example.com"])["realtime_proxy_sites"])[0]["domains"] == ["x.example.com"]
    assert acme_requests(inventory()["realtime_proxy_sites"])[0]["directory"] == LETSENCRYPT


def test_a_site_is_served_over_tls_once_both_of_its_files_exist():
    sites = inventory()["realtime_proxy_sites"]
    live = "/etc/letsencrypt/live/realtime_proxy-live/"
    assert acme_issued(sites, [live + "fullchain.pem"], "/etc/letsencrypt/live") == {}
    issued = acme_issued(sites, [live + "fullchain.pem", live + "privkey.pem", "/other"], "/etc/letsencrypt/live")
    assert issued == {"live": {"certificate": live + "fullchain.pem", "key": live + "privkey.pem"}}
    # Until then it has no TLS listeners; other sites keep theirs.
    other = {"name": "other", "listen": [8080], "tls": {"listen": [8443], "certificate": "/a", "certificate_key": "/b"}}
    pending = acme_pending(sites + [other], {})
    assert pending[0]["tls"]["listen"] == [] and pending[1] == other
    assert sites[0]["tls"]["listen"] == [443]  # not changed in place
    assert acme_pending(sites, issued) == sites


def test_the_spec_documents_every_directory_name_and_key_type():
    from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import acme_settings
    from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import role_options

    acme = role_options()["realtime_proxy_sites"]["options"]["tls"]["options"]["acme"]["options"]
    text = " ".join(acme["directory"]["description"])
    assert sorted(acme_settings()["directories"]) == sorted(name for name in ("letsencrypt", "letsencrypt_staging")
                                                            if "V(%s)" % name in text)
    assert acme["directory"]["default"] == "letsencrypt"
    assert acme["key_type"]["default"] == "ecdsa_p256" and "ecdsa_p256" in acme["key_type"]["choices"]
