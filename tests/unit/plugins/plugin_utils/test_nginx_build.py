"""Feature detection from ``nginx -V`` (plugins/plugin_utils/_nginx_build.py).

The recorded outputs in nginx_build/:

* debian-12.txt: Debian 12's nginx 1.22.1, from the real binary
  (``build/nginx/usr/sbin/nginx -V`` after ``bash tools/ensure-nginx.sh``);
* debian-13.txt: Debian 13's nginx 1.26.3, from ``nginx -V`` in a container of
  realtime-nginx-test/debian:13 after ``apt-get install nginx``;
* ubuntu-22.04.txt and ubuntu-24.04.txt: Ubuntu's archives are not reachable
  from the machines this project is tested on, so these are written from the
  configure flags of Ubuntu's nginx source package (debian/rules of
  nginx 1.18.0-6ubuntu14 for jammy and 1.24.0-2ubuntu7 for noble, the
  nginx-core/common flags), in nginx -V's layout. The build paths in
  --with-cc-opt are illustrative; the version line and the --with-* module
  flags are what the detection reads.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_build import (
    NginxBuildError, assumed_build, feature_errors, nginx_features, parse_build, quic_listens, site_listens)

RECORDED = pathlib.Path(__file__).parent / "nginx_build"
ROLE_VARS = pathlib.Path(__file__).resolve().parents[4] / "roles" / "realtime_proxy" / "vars"

# (recorded file, vars file of the release, version, http2 syntax, HTTP/3)
RELEASES = [
    ("debian-12.txt", "Debian-12.yml", "1.22.1", "listen", False),
    ("debian-13.txt", "Debian-13.yml", "1.26.3", "directive", True),
    ("ubuntu-22.04.txt", "Ubuntu-22.yml", "1.18.0", "listen", False),
    ("ubuntu-24.04.txt", "Ubuntu-24.yml", "1.24.0", "listen", False),
]


def recorded(name):
    return parse_build((RECORDED / name).read_text(), name)


@pytest.mark.parametrize("name, unused, version, http2, http3", RELEASES, ids=[r[0] for r in RELEASES])
def test_version_syntax_and_quic_of_each_release(name, unused, version, http2, http3):
    features = recorded(name)
    assert features["version"] == version
    assert features["http2"] == http2
    assert features["http3"] is http3
    assert {"http_ssl", "http_v2", "http_realip", "http_stub_status", "http_proxy", "http_map"} <= set(features["modules"])
    assert ("http_v3" in features["modules"]) is http3


@pytest.mark.parametrize("name, vars_file, unused_version, unused_http2, unused_http3", RELEASES,
                         ids=[r[1] for r in RELEASES])
def test_each_release_file_describes_its_package_as_recorded(name, vars_file, unused_version, unused_http2,
                                                             unused_http3):
    # What check mode assumes before nginx is installed is what nginx -V later says.
    packaged = yaml.safe_load((ROLE_VARS / vars_file).read_text())["realtime_proxy__packaged_nginx"]
    assumed, actual = assumed_build(packaged, "assumed"), recorded(name)
    assert (assumed["version"], assumed["http2"], assumed["http3"]) == (actual["version"], actual["http2"], actual["http3"])
    assert set(assumed["modules"]) <= set(actual["modules"])


def test_no_vars_file_chooses_the_syntax_by_release():
    # Detection replaced the release files' realtime_proxy__http2.
    for path in ROLE_VARS.glob("*.yml"):
        assert "realtime_proxy__http2" not in (yaml.safe_load(path.read_text()) or {}), path.name


def test_http2_directive_from_1_25_1():
    def syntax(version):
        return nginx_features({"version": version, "modules": ["http_v2"]})["http2"]
    assert [syntax(v) for v in ("1.18.0", "1.25.0", "1.25.1", "1.26.3", "2.0.0")] == [
        "listen", "listen", "directive", "directive", "directive"]


def test_dynamic_and_removed_modules_do_not_count():
    text = ("nginx version: nginx/1.26.3\nconfigure arguments: --with-http_v3_module=dynamic "
            "--with-http_ssl_module --without-http_gzip_module --with-http_realip_module_extra")
    features = parse_build(text)
    assert "http_v3" not in features["modules"] and features["http3"] is False
    assert "http_ssl" in features["modules"]
    assert "http_gzip" not in features["modules"]
    assert "http_realip" not in features["modules"]


def test_text_that_is_not_nginx_v_is_refused():
    with pytest.raises(NginxBuildError, match="not the output of nginx -V"):
        parse_build("/bin/sh: 1: nginx: not found")


def tls_site(name="secure", listen=("127.0.0.1:8443",), **tls):
    return {"name": name, "listen": [], "locations": [],
            "tls": dict({"listen": list(listen), "certificate": "/c", "certificate_key": "/k"}, **tls)}


def test_http3_on_an_nginx_without_quic_is_refused_by_name():
    settings = {"realtime_proxy_sites": [tls_site("plain-tls"), tls_site("quic", http3=True)]}
    errors = feature_errors(settings, recorded("debian-12.txt"))
    assert len(errors) == 1
    message = errors[0]
    assert message.startswith("realtime_proxy_sites[1].tls.http3: ")
    assert "nginx 1.22.1" in message and "http_v3" in message and "debian-12.txt" in message
    assert feature_errors(settings, recorded("debian-13.txt")) == []


def test_each_need_names_its_variable_and_module():
    bare = nginx_features({"version": "1.24.0", "modules": []})
    settings = {"realtime_proxy_sites": [tls_site(http3=True), dict(tls_site("gone"), state="absent")],
                "realtime_proxy_trusted_proxies": ["10.0.0.0/8"]}
    errors = feature_errors(settings, bare)
    assert [e.split(":", 1)[0] for e in errors] == [
        "realtime_proxy_sites[0].tls", "realtime_proxy_sites[0].tls", "realtime_proxy_sites[0].tls.http3",
        "realtime_proxy_trusted_proxies"]
    assert [m for e in errors for m in ("http_ssl", "http_v2", "http_v3", "http_realip") if "'s %s module" % m in e] == [
        "http_ssl", "http_v2", "http_v3", "http_realip"]


def test_reuseport_once_per_socket():
    sites = [tls_site("a", ("443", "127.0.0.1:8443"), http3=True), tls_site("b", ("*:443",), http3=True),
             tls_site("c", ("0.0.0.0:443",)), tls_site("d", ("127.0.0.1:8443",), http3=True)]
    assert quic_listens(sites) == {"a": [["443", True], ["127.0.0.1:8443", True]], "b": [["*:443", False]],
                                   "d": [["127.0.0.1:8443", False]]}


def test_tcp_reuseport_once_per_socket_over_plain_and_tls_listeners():
    sites = [dict(tls_site("a", ("443",), http3=True), listen=["80", "127.0.0.1:8080"]),
             dict(tls_site("b", ("*:443",)), listen=["0.0.0.0:80", 8081]),
             dict(tls_site("gone", ("8443",)), state="absent"),
             dict(tls_site("c", ("8443",)), listen=["127.0.0.1:8080"])]
    assert site_listens(sites) == {
        "a": {"listen": [["80", True], ["127.0.0.1:8080", True]], "tls": [["443", True]], "quic": [["443", True]]},
        "b": {"listen": [["0.0.0.0:80", False], [8081, True]], "tls": [["*:443", False]], "quic": []},
        "c": {"listen": [["127.0.0.1:8080", False]], "tls": [["8443", True]], "quic": []}}
    # Off, TCP listeners carry none; QUIC still does, once per socket.
    off = site_listens(sites, reuseport=False)
    assert [flag for listens in off.values() for kind in ("listen", "tls") for _l, flag in listens[kind]] == [False] * 8
    assert off["a"]["quic"] == [["443", True]]
