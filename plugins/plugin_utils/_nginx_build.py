# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the nginx on a host can do, read from ``nginx -V``, and what the inventory needs of it.

The role renders syntax by the nginx that is installed, not by the OS
release: ``listen ... ssl http2`` before 1.25.1, ``http2 on;`` from 1.25.1;
a QUIC listener only where nginx was built with the HTTP/3 module. Pure
functions, so the unit tests run them on recorded ``nginx -V`` outputs.
"""

from __future__ import annotations

import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import listen_key

VERSION_RE = re.compile(r"nginx version: [A-Za-z]+/(\d+)\.(\d+)\.(\d+)")
WITH_RE = re.compile(r"--with-([a-z0-9_]+)_module(=dynamic)?(?=\s|$)")
WITHOUT_RE = re.compile(r"--without-([a-z0-9_]+)_module(?=\s|$)")

# Modules of the http core that ./configure builds unless told --without-*;
# only those the role's configuration uses.
DEFAULT_MODULES = ("http_proxy", "http_upstream_keepalive", "http_map", "http_gzip", "http_limit_conn",
                   "http_limit_req")

# `listen ... http2` is deprecated from this version on, in favour of `http2 on;`.
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)


class NginxBuildError(ValueError):
    """The text is not the output of ``nginx -V``."""


def _features(version, modules, origin):
    modules = sorted(set(modules))
    return {
        "version": "%d.%d.%d" % version,
        "modules": modules,
        "http2": "directive" if version >= HTTP2_DIRECTIVE_SINCE else "listen",
        "http3": "http_v3" in modules,
        "origin": origin,
    }


def parse_build(text, origin="nginx -V"):
    """Version, statically built modules and the syntax to use, from the output of ``nginx -V``.

    Dynamic modules (``=dynamic``) are left out: they only exist once a
    ``load_module`` line names them, which the role does not write.
    """
    text = str(text)
    match = VERSION_RE.search(text)
    if not match:
        raise NginxBuildError("not the output of nginx -V (no 'nginx version: nginx/X.Y.Z' line): %r" % text[:200])
    modules = set(DEFAULT_MODULES)
    modules.update(name for name, dynamic in WITH_RE.findall(text) if not dynamic)
    modules.difference_update(WITHOUT_RE.findall(text))
    return _features(tuple(int(part) for part in match.groups()), modules, origin)


def assumed_build(packaged, origin):
    """The same description for a package's documented build: a mapping with version and modules."""
    version = tuple(int(part) for part in str(packaged["version"]).split("."))
    if len(version) != 3:
        raise NginxBuildError("%r is not an nginx version X.Y.Z" % (packaged["version"],))
    return _features(version, set(DEFAULT_MODULES) | set(packaged["modules"]), origin)


def nginx_features(source, origin=None):
    """``parse_build`` for ``nginx -V`` text, ``assumed_build`` for a mapping (a vars file's description)."""
    if isinstance(source, dict):
        return assumed_build(source, origin or "the distribution package's build, assumed")
    return parse_build(source, origin or "nginx -V")


def _tls_sites(settings):
    for index, site in enumerate(settings.get("realtime_proxy_sites") or []):
        if isinstance(site, dict) and site.get("state", "present") == "present" and isinstance(site.get("tls"), dict):
            yield index, site


def _needs(settings):
    """What the inventory asks for: (variable, the module that provides it, what it is for)."""
    for index, site in _tls_sites(settings):
        where = "realtime_proxy_sites[%d].tls" % index
        yield where, "http_ssl", "TLS"
        yield where, "http_v2", "HTTP/2 on TLS listeners"
        if site["tls"].get("http3") is True:
            yield where + ".http3", "http_v3", "HTTP/3 (QUIC)"
    if settings.get("realtime_proxy_trusted_proxies"):
        yield "realtime_proxy_trusted_proxies", "http_realip", "the client address from X-Forwarded-For"
    if int(settings.get("realtime_proxy_limit_conn_per_client") or 0) > 0:
        yield "realtime_proxy_limit_conn_per_client", "http_limit_conn", "connection limits"
    if settings.get("realtime_proxy_limit_req_rate"):
        yield "realtime_proxy_limit_req_rate", "http_limit_req", "request limits"


def feature_errors(settings, features):
    """One message per thing the inventory (SETTINGS, realtime_proxy_* variables) needs that FEATURES lacks."""
    errors = []
    for where, module, purpose in _needs(settings):
        if module in features["modules"]:
            continue
        hint = " (nginx 1.25 or newer, built --with-http_v3_module, as Debian 13's 1.26 is)" if module == "http_v3" else ""
        errors.append("%s: %s needs nginx's %s module, and nginx %s (%s) was built without it; use an nginx that "
                      "has it%s, or turn the setting off"
                      % (where, purpose, module, features["version"], features["origin"], hint))
    return errors


def site_listens(sites, reuseport=True):
    """{site name: {"listen": [...], "tls": [...], "quic": [...]}}: each present site's listeners as [listen, reuseport].

    nginx accepts ``reuseport`` once per address and port across all servers,
    so only the first present site that listens on a socket carries it: on TCP
    (plain and TLS listeners) when REUSEPORT is on, and on UDP for QUIC (tls.http3)
    always, which nginx needs to route a QUIC connection to one worker.
    With ``reuseport`` each worker has a listening socket of its own and the
    kernel spreads new connections evenly over them; without it, the worker
    that wakes first takes most of them.
    """
    owners = set()
    result = {}
    for site in sites:
        if not isinstance(site, dict) or site.get("state", "present") != "present":
            continue
        tls = site.get("tls") if isinstance(site.get("tls"), dict) else {}
        kinds = {"listen": ("tcp", site.get("listen") or [], reuseport),
                 "tls": ("tcp", tls.get("listen") or [], reuseport),
                 "quic": ("udp", tls.get("listen") or [] if tls.get("http3") is True else [], True)}
        listens = {}
        for kind, (protocol, values, wanted) in kinds.items():
            listens[kind] = []
            for listen in values:
                key = (protocol,) + listen_key(listen)
                listens[kind].append([listen, wanted and key not in owners])
                owners.add(key)
        result[site.get("name")] = listens
    return result


def quic_listens(sites):
    """{site name: [[listen, reuseport], ...]}: the QUIC listeners of present sites with tls.http3."""
    return {name: listens["quic"] for name, listens in site_listens(sites, reuseport=False).items()
            if listens["quic"]}
