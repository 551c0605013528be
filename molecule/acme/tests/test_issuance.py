"""One run got the site's certificate from pebble through HTTP-01 and serves it; a second changes nothing."""

import asyncio
import ssl

import pytest
from conftest import CERT_NAME, NAMES, assert_run_changes_nothing
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from realtime_testkit.hosts import http_get
from realtime_testkit.render import merged_variables, role
from realtime_testkit.sse import assert_streamed, read_sse
from realtime_testkit.tls import handshake, served_certificate
from realtime_testkit.ws import ws_echo

WEBROOT = "/var/www/realtime-nginx-acme"


def _dns_names(cert):
    return sorted(value for kind, value in cert["subjectAltName"] if kind == "DNS")


@pytest.mark.parametrize("name", NAMES)
def test_the_site_serves_pebbles_certificate_for_each_name(name, pebble_root, tls_port):
    cert = served_certificate("127.0.0.1", tls_port, cafile=pebble_root, server_hostname=name)
    assert _dns_names(cert) == sorted(NAMES)
    issuer = dict(part[0] for part in cert["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA"), cert


def test_it_is_the_certificate_certbot_keeps(issuing, pebble_root, tls_port):
    kept = x509.load_pem_x509_certificate(
        issuing.file("/etc/letsencrypt/live/%s/cert.pem" % CERT_NAME).content_string.encode())
    served = served_certificate("127.0.0.1", tls_port, cafile=pebble_root, server_hostname=NAMES[0])
    assert int(served["serialNumber"], 16) == kept.serial_number
    assert isinstance(kept.public_key(), ec.EllipticCurvePublicKey)
    assert kept.public_key().curve.name == "secp256r1"  # key_type's default, ecdsa_p256


def test_a_client_that_does_not_trust_pebble_refuses_it(tls_port):
    # The controller's system trust store: the check above is not one that any certificate passes.
    result = handshake("127.0.0.1", tls_port, cafile=ssl.get_default_verify_paths().openssl_cafile,
                       server_hostname=NAMES[0])
    assert not result.ok and "CERTIFICATE_VERIFY_FAILED" in (result.error or ""), result


def test_sse_and_websocket_work_over_it(trust_pebble, tls_port):
    base = "live.acme.test:%d" % tls_port
    events = asyncio.run(read_sse("https://%s/sse/acme?count=5&interval=0.2" % base, count=5, verify=trust_pebble))
    assert_streamed(events, expected=5)
    echo = asyncio.run(ws_echo("wss://%s/ws/acme" % base, ["one", "two"], ssl=trust_pebble))
    assert (echo.status, echo.echoes, echo.error) == (101, ["one", "two"], None)


def test_the_challenge_is_answered_from_the_webroot_not_redirected_or_proxied(issuing, plain_port):
    token = "probe-token-realtime"
    path = "%s/.well-known/acme-challenge/%s" % (WEBROOT, token)
    issuing.run_test("mkdir -p %s && printf token-content > %s" % (path.rsplit("/", 1)[0], path))
    try:
        url = "http://127.0.0.1:%d/.well-known/acme-challenge/" % plain_port
        served = http_get(url + token, headers={"Host": NAMES[0]})
        assert (served.status, served.body) == (200, b"token-content"), served
        missing = http_get(url + "no-such-token", headers={"Host": NAMES[1]})
        assert missing.status == 404 and b"nginx" in missing.body, missing  # nginx's page, not the backend's
    finally:
        issuing.run("rm -f %s" % path)
    other = http_get("http://127.0.0.1:%d/api/x" % plain_port, headers={"Host": NAMES[0]}, follow_redirects=False)
    assert other.status == 301 and other.headers["location"].startswith("https://live.acme.test:"), other


def test_certbots_timer_renews_with_the_roles_deploy_hook(issuing):
    assert issuing.check_output("systemctl is-enabled certbot.timer") == "enabled"
    assert issuing.check_output("systemctl is-active certbot.timer") == "active"
    variables = merged_variables({})
    hook = issuing.file(variables["realtime_proxy__acme_deploy_hook"])
    assert hook.mode == 0o755 and hook.user == "root"
    assert hook.content_string == role().render("acme-deploy-hook.sh.j2", variables)
    assert "restart" not in hook.content_string.replace("never restarts", "")
    environment = issuing.check_output("systemctl show certbot.service -p Environment")
    assert "REQUESTS_CA_BUNDLE=/usr/local/share/realtime-test/pebble-listener.pem" in environment


def test_a_second_run_changes_nothing_and_asks_the_ca_nothing(pebble_dir):
    assert_run_changes_nothing(pebble_dir)
