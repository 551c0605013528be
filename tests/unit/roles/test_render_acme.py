"""Sites with tls.acme, rendered with the real templates as a host sees them before and after issuance.

Before the certificate exists the site has its plain listeners only, which
answer the CA's HTTP-01 challenge from the webroot (also with tls.redirect:
the challenge is never redirected, nor proxied); once it exists, the TLS
listeners serve certbot's files. nginx -t accepts both trees.
"""

from __future__ import annotations

import os

import crossplane
import pytest

from realtime_testkit import render
from realtime_testkit.render import inventory_check, merged_variables, render_tree, self_signed_certificate, validate_tree

CHALLENGE = ["^~", "/.well-known/acme-challenge/"]


def settings(redirect, issued=None):
    sites = [
        {"name": "live", "server_name": ["live.example.com", "www.example.com"], "listen": ["127.0.0.1:8080"],
         "tls": {"listen": ["127.0.0.1:8443"], "redirect": redirect, "http3": False,
                 "acme": {"email": "ops@example.com", "directory": "letsencrypt_staging"}},
         "locations": [{"path": "/", "type": "http", "upstream": "app"},
                       {"path": "/sse/", "type": "sse", "upstream": "app"}]},
        # A site of its own certificate on the same TLS port keeps it whatever happens to the acme one.
        {"name": "own", "server_name": "own.example.com", "listen": ["127.0.0.1:8080"],
         "tls": {"listen": ["127.0.0.1:8443"], "certificate": "/etc/ssl/own.pem", "certificate_key": "/etc/ssl/own.key"},
         "locations": [{"path": "/", "type": "http", "upstream": "app"}]},
    ]
    out = {"realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:8000"]}], "realtime_proxy_sites": sites}
    if issued is not None:
        out["realtime_proxy__acme_issued"] = issued
    return out


def servers(root, name):
    payload = crossplane.parse(str(root / ("realtime_proxy/sites/%s.conf" % name)), single=True, comments=False,
                               check_ctx=False)
    assert payload["status"] == "ok", payload["errors"]
    return [d["block"] for d in payload["config"][0]["parsed"] if d["directive"] == "server"]


def directive(block, name):
    return [d["args"] for d in block if d["directive"] == name]


def location(block, args):
    found = [d["block"] for d in block if d["directive"] == "location" and d["args"] == args]
    assert len(found) == 1, (args, block)
    return found[0]


def with_real_own_certificate(values):
    pair = self_signed_certificate()
    if pair is None:
        pytest.skip("needs openssl for a throwaway certificate")
    values["realtime_proxy_sites"][1]["tls"].update(certificate=pair["cert"], certificate_key=pair["key"])
    return values, pair


@pytest.mark.parametrize("redirect", [False, True])
def test_the_inventory_is_accepted(redirect):
    assert inventory_check(settings(redirect)) == []


@pytest.mark.parametrize("redirect", [False, True])
def test_before_issuance_only_the_plain_listeners_serve_and_they_answer_the_challenge(redirect, tmp_path):
    render_tree(settings(redirect), tmp_path)
    blocks = servers(tmp_path, "live")
    assert len(blocks) == 1, blocks  # no TLS server yet
    (block,) = blocks
    assert directive(block, "listen") == [["127.0.0.1:8080", "reuseport"]]
    assert not directive(block, "ssl_certificate")
    challenge = location(block, CHALLENGE)
    webroot = merged_variables({})["realtime_proxy__acme_webroot"]
    assert challenge == [{"directive": "root", "line": challenge[0]["line"], "args": [webroot]},
                         {"directive": "default_type", "line": challenge[1]["line"], "args": ["text/plain"]},
                         {"directive": "try_files", "line": challenge[2]["line"], "args": ["$uri", "=404"]}]
    if redirect:
        assert directive(location(block, ["/"]), "return") == [["301", "https://$host:8443$request_uri"]]
        assert not directive(block, "return"), "a server-level return would redirect the challenge too"
    else:
        assert directive(location(block, ["/"]), "proxy_pass") == [["http://app"]]
    # The other site keeps its TLS listener.
    assert ["127.0.0.1:8443", "ssl", "http2", "reuseport"] in directive(servers(tmp_path, "own")[-1], "listen")


@pytest.mark.parametrize("redirect", [False, True])
def test_after_issuance_the_tls_listeners_serve_certbots_files(redirect, tmp_path):
    live = "/etc/letsencrypt/live/realtime_proxy-live/"
    render_tree(settings(redirect, {"live": {"certificate": live + "fullchain.pem", "key": live + "privkey.pem"}}),
                tmp_path)
    blocks = servers(tmp_path, "live")
    tls = blocks[-1]
    assert ["127.0.0.1:8443", "ssl", "http2", "reuseport"] in directive(tls, "listen")
    assert directive(tls, "ssl_certificate") == [[live + "fullchain.pem"]]
    assert directive(tls, "ssl_certificate_key") == [[live + "privkey.pem"]]
    # The challenge stays on the plain listener (the redirecting server, or the one server).
    location(blocks[0], CHALLENGE)
    assert len(blocks) == (2 if redirect else 1)


@pytest.mark.skipif(not os.access(render.NGINX, os.X_OK), reason="needs the nginx binary at %s" % render.NGINX)
@pytest.mark.parametrize("redirect", [False, True])
@pytest.mark.parametrize("issued", [False, True])
def test_nginx_accepts_both_trees(redirect, issued, tmp_path):
    values, pair = with_real_own_certificate(settings(redirect))
    if issued:
        values["realtime_proxy__acme_issued"] = {"live": {"certificate": pair["cert"], "key": pair["key"]}}
    render_tree(values, tmp_path)
    returncode, stderr = validate_tree(tmp_path)
    assert returncode == 0, stderr
