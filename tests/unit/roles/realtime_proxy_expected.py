"""What the rendered tree must contain for an inventory, as crossplane sees it.

``expected_tree(settings)`` maps each file the role writes (relative path) to
the directive tree it must parse to: crossplane's ``parsed`` list stripped to
(directive, args, block). ``actual_tree(root)`` parses what was rendered.
Comparing the two catches any injected directive, block or changed argument.

Site and upstream files are derived from the inventory alone. The per-type
presets below are written out from the product's spec (the guide and
meta/argument_specs.yml), not read back from the templates; the forwarded
headers, default timeouts and the HTTP/2 form of the installed nginx
(``realtime_proxy__nginx.http2``: ``listen ... ssl http2`` before nginx
1.25.1, ``http2 on;`` from 1.25.1) come from the role's vars and detection
because they are inputs of the role, like the inventory. A site file holds, in this order:

* the http-level maps of its locations (``allowed_origins`` of a websocket
  or socketio location; ``cors`` origins and, with credentials, the credentials map), each
  named with the location's suffix (sha1 of the site name, first 10 hex
  digits, ``_`` and the location's 1-based index);
* with ``tls.redirect``, a server on the plain ports that only returns 301 to
  https on the first TLS port (no port in the URL for 443); with ``tls.acme``
  it answers the CA's HTTP-01 challenge (``location ^~
  /.well-known/acme-challenge/`` from the webroot) and returns 301 in
  ``location /`` for everything else;
* with ``tls.acme``, as on a host without the certificate (no
  ``realtime_proxy__acme_issued`` entry for the site): no TLS listeners, so
  a redirecting site has no second server; with it, certbot's certificate and
  key. A site that does not redirect answers the challenge on all its
  listeners;
* the site's server: plain ports (unless redirected), TLS ports with ``ssl``,
  certificate and key (the given paths, or realtime_proxy/tls/NAME.crt/.key
  written from the given PEM text), the per-client limits, and its locations.
  Each location repeats HSTS (an add_header in a location hides the server's),
  answers CORS preflights in an ``if`` (which repeats HSTS too, for the same
  reason) and refuses foreign WebSocket origins with 403.

Socket.IO (``type: socketio``), from its spec: Engine.IO polls over HTTP and
upgrades to WebSocket on the same path, so the location has the websocket
type's Upgrade/Connection headers and unbuffered, uncached responses. Its
Origin rule differs from websocket's: a request with an Origin passes only
with a listed one, and a request without one passes only when it is not a
WebSocket handshake (a same-origin polling GET carries none). So its origin
map sends the empty Origin to ``$realtime_proxy_not_websocket``, which the
shared http.d/connection_upgrade.conf defines as 1 exactly when
``$realtime_proxy_upgrade`` (the forwarded websocket token) is empty. And
every request of a session must reach one backend: an accepted inventory
never has a socketio location on an upstream of several serving servers
without ip_hash or hash (``assert_socketio_sticky``).

An upstream file holds the balancing method (none for round robin;
``least_conn``, ``ip_hash``, or ``hash`` with the nginx variable of
``hash_key`` and ``consistent``), one ``server`` per entry with its
parameters (``weight=``, ``max_conns=``, ``max_fails=``, ``fail_timeout=Ns``,
``backup``, ``down``) and ``keepalive``, after its shared memory zone
(``zone realtime_proxy_upstream_NAME SIZE``: ``zone_size``, else 32k and 2k
per server entry). Every location that uses an upstream
with ``next_upstream`` gets ``proxy_next_upstream`` (its conditions),
``proxy_next_upstream_tries`` and ``proxy_next_upstream_timeout`` (seconds),
each only when given.

``heartbeat_interval`` and ``verify_url`` only take part in validation: they
change nothing rendered.

nginx.conf and realtime_proxy/http.d/* are the baseline (empty inventory)
with the globals the property test varies put in (workers, gzip, TLS ciphers,
the limit_conn/limit_req zones, the trusted proxies of forwarded.conf).

``expected_tls_files(settings)`` gives the bytes and mode of the certificate
and key files, which are not nginx syntax and are compared as bytes: they are
rendered only from ``certificate_content``/``certificate_key_content``.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import pathlib
import tempfile

import crossplane

from ansible.module_utils.parsing.convert_bool import boolean

from realtime_testkit.render import HOST_OPEN_FILES, files_for, merged_variables, render_tree

TYPE_HEADERS = {
    "http": {"Connection": ""},
    "sse": {"Connection": ""},
    "websocket": {"Upgrade": "$realtime_proxy_upgrade", "Connection": "$realtime_proxy_connection"},
    "socketio": {"Upgrade": "$realtime_proxy_upgrade", "Connection": "$realtime_proxy_connection"},
}

TYPE_EXTRA = {
    "http": [],
    "sse": [
        ("proxy_buffering", ("off",)),
        ("proxy_cache", ("off",)),
        ("gzip", ("off",)),
        ("chunked_transfer_encoding", ("on",)),
        ("add_header", ("X-Accel-Buffering", "no", "always")),
    ],
    "websocket": [],
    "socketio": [
        ("proxy_buffering", ("off",)),
        ("proxy_cache", ("off",)),
    ],
}

# Location types that hold a stream and size its proxy_buffer_size (the
# location's buffer_size, else the preset's).
BUFFER_SIZED_TYPES = ("sse", "websocket")

# Location types whose allowed_origins refuse requests with 403.
ORIGIN_CHECKED_TYPES = ("websocket", "socketio")
# The variable that is 1 for a request that is not a WebSocket handshake.
NOT_WEBSOCKET = "$realtime_proxy_not_websocket"


# nginx's location modifiers, from its documentation of "location".
MATCH_MODIFIERS = {"prefix": (), "prefix_priority": ("^~",), "exact": ("=",), "regex": ("~",), "regex_nocase": ("~*",)}


def directive_arg(value):
    """One inventory argument as nginx reads it: its text, in double quotes
    (which crossplane removes). Numbers are written as Python writes them."""
    return value if isinstance(value, str) else str(value)


def inventory_directives(entries):
    """A list of {name: args} as directives: each argument one argument."""
    out = []
    for entry in entries or []:
        for name, args in entry.items():
            args = [] if args is None else args if isinstance(args, list) else [args]
            out.append(d(name, *[directive_arg(arg) for arg in args]))
    return out


def add_headers(entries):
    return [item for item in inventory_directives(entries) if item[0] == "add_header"]


def inherited_add_headers(site, merged):
    """The add_header directives a location inherits from http {} and its
    server {}: nginx drops them in a block with one of its own, so the role
    writes them in each location (and in a CORS preflight's if block)."""
    return add_headers(merged["realtime_proxy_http_directives"]) + add_headers(site.get("directives"))


def d(name, *args, block=None):
    """One directive as compared: (name, args tuple) or (name, args, block)."""
    if block is None:
        return (name, tuple(args))
    return (name, tuple(args), list(block))


def canonical(directives):
    """Order-insensitive form of a directive list (a sorted list, recursively)."""
    out = []
    for item in directives:
        if len(item) == 3:
            out.append((item[0], item[1], canonical(item[2])))
        else:
            out.append((item[0], item[1]))
    return sorted(out, key=repr)


def suffix(site, index):
    """The name suffix of a location's http-level maps (index is 1-based)."""
    return "%s_%d" % (hashlib.sha1(site["name"].encode("utf-8")).hexdigest()[:10], index)


def _tls(site):
    tls = site.get("tls")
    return tls if isinstance(tls, dict) and tls else {}


# tls.acme, from its spec: the CA's HTTP-01 challenge is answered on the plain listeners from the
# webroot, never proxied or redirected; the TLS listeners serve certbot's files once they exist.
ACME_CHALLENGE = ("^~", "/.well-known/acme-challenge/")


def _acme_issued(site, merged):
    """certificate and key of an acme site whose certificate exists (realtime_proxy__acme_issued), else None."""
    return (merged.get("realtime_proxy__acme_issued") or {}).get(site["name"])


def _tls_listens(site, merged):
    """The TLS listeners a site has now: none for an acme site without its certificate yet."""
    tls = _tls(site)
    if "acme" in tls and not _acme_issued(site, merged):
        return []
    return tls.get("listen", [])


def acme_challenge(merged):
    return d("location", *ACME_CHALLENGE, block=[d("root", merged["realtime_proxy__acme_webroot"]),
                                                 d("default_type", "text/plain"), d("try_files", "$uri", "=404")])


def _as_int(value):
    return int(str(value))


def _hsts(site):
    tls = _tls(site)
    if _as_int(tls.get("hsts_max_age", 0)) > 0:
        return [d("add_header", "Strict-Transport-Security", "max-age=%s" % tls["hsts_max_age"], "always")]
    return []


CORS_DEFAULT_METHODS = ["GET", "OPTIONS"]
CORS_DEFAULT_HEADERS = ["Last-Event-ID", "Cache-Control"]
CORS_DEFAULT_MAX_AGE = 600


def _cors_headers(cors, location_suffix, site, repeated=()):
    """The location's CORS add_headers: the OPTIONS preflight if-block, then the simple ones."""
    origin = d("add_header", "Access-Control-Allow-Origin", "$realtime_proxy_cors_origin_" + location_suffix, "always")
    credentials = ([d("add_header", "Access-Control-Allow-Credentials",
                      "$realtime_proxy_cors_credentials_" + location_suffix, "always")]
                   if cors.get("credentials", False) else [])
    vary = d("add_header", "Vary", "Origin", "always")
    preflight = [origin] + credentials + [
        d("add_header", "Access-Control-Allow-Methods", ", ".join(cors.get("methods", CORS_DEFAULT_METHODS)), "always"),
        d("add_header", "Access-Control-Allow-Headers", ", ".join(cors.get("headers", CORS_DEFAULT_HEADERS)), "always"),
        d("add_header", "Access-Control-Max-Age", str(cors.get("max_age", CORS_DEFAULT_MAX_AGE)), "always"),
        vary,
    ] + _hsts(site) + list(repeated) + [
        d("return", "204"),
    ]
    return [d("if", "$request_method", "=", "OPTIONS", block=preflight), origin] + credentials + [vary]


def expected_maps(location, location_suffix):
    """The http-level maps one location needs (before the site's servers)."""
    out = []
    if location.get("allowed_origins"):
        no_origin = [d("", NOT_WEBSOCKET)] if location["type"] == "socketio" else []
        out.append(d("map", "$http_origin", "$realtime_proxy_origin_ok_" + location_suffix,
                     block=[d("default", "0")] + no_origin + [d(origin, "1") for origin in location["allowed_origins"]]))
    cors = location.get("cors")
    if cors:
        if cors["origins"] == ["*"]:
            block = [d("default", "*")]
        else:
            block = [d("default", "")] + [d(origin, "$http_origin") for origin in cors["origins"]]
        out.append(d("map", "$http_origin", "$realtime_proxy_cors_origin_" + location_suffix, block=block))
        if cors.get("credentials", False):
            out.append(d("map", "$http_origin", "$realtime_proxy_cors_credentials_" + location_suffix,
                         block=[d("default", "")] + [d(origin, "true") for origin in cors["origins"]]))
    return out


def expected_location(location, merged, site=None, location_suffix=None):
    site = site or {}
    kind = location["type"]
    preset = merged["realtime_proxy__location_presets"][kind]
    headers = collections.OrderedDict()
    for name, value in merged["realtime_proxy__forwarded_headers"].items():
        # '""' in the vars is nginx's quoted empty value: the header is cleared.
        headers[name.lower()] = (name, "" if value == '""' else value)
    for name, value in TYPE_HEADERS[kind].items():
        headers[name.lower()] = (name, value)
    for name, value in (location.get("proxy_headers") or {}).items():
        headers[name.lower()] = (name, value)
    block = []
    if kind in ORIGIN_CHECKED_TYPES and location.get("allowed_origins"):
        block.append(d("if", "$realtime_proxy_origin_ok_" + location_suffix, "=", "0", block=[d("return", "403")]))
    block += [d("proxy_pass", "http://%s%s" % (location["upstream"], location.get("upstream_path", ""))),
              d("proxy_http_version", "1.1")]
    block += [d("proxy_set_header", name, value) for name, value in headers.values()]
    block += _next_upstream(merged, location["upstream"])
    block += [
        d("proxy_connect_timeout", "%ss" % location.get("connect_timeout", merged["realtime_proxy_connect_timeout"])),
        d("proxy_read_timeout", "%ss" % location.get("read_timeout", preset["read_timeout"])),
        d("proxy_send_timeout", "%ss" % location.get("send_timeout", preset["send_timeout"])),
    ]
    if kind in BUFFER_SIZED_TYPES:
        block.append(d("proxy_buffer_size", str(location.get("buffer_size", preset["buffer_size"]))))
    block += [d(name, *args) for name, args in TYPE_EXTRA[kind]]
    block += inventory_directives(location.get("directives"))
    inherited = inherited_add_headers(site, merged)
    block += _hsts(site) + inherited
    if location.get("cors"):
        block += _cors_headers(location["cors"], location_suffix, site,
                               inherited + add_headers(location.get("directives")))
    modifier = MATCH_MODIFIERS[location.get("match", "prefix")]
    return d("location", *modifier, location["path"], block=block)


def _socket(listen):
    host, _sep, port = ("*:" + str(listen) if str(listen).isdigit() else str(listen)).rpartition(":")
    return ("*" if host in ("*", "0.0.0.0") else host.lower(), int(port))


def _reuseport(site, listen, merged):
    """("reuseport",) when SITE is the first present site that listens on LISTEN's TCP socket."""
    if not boolean(merged["realtime_proxy_reuseport"]):
        return ()
    for other in merged["realtime_proxy_sites"]:
        if other.get("state", "present") != "present":
            continue
        sockets = [_socket(value) for value in other.get("listen", []) + _tls_listens(other, merged)]
        if _socket(listen) in sockets:
            return ("reuseport",) if other is site or other["name"] == site["name"] else ()
    raise AssertionError("%r is not a listener of any site" % (listen,))


def expected_site(site, merged):
    names = site.get("server_name", "_")
    names = names if isinstance(names, list) else [names]
    flags = ("default_server",) if site.get("default_server", False) else ()
    tls = _tls(site)
    plain = [d("listen", str(listen), *flags, *_reuseport(site, listen, merged)) for listen in site.get("listen", [])]
    out = []
    for index, location in enumerate(site["locations"], 1):
        out += expected_maps(location, suffix(site, index))
    block = []
    acme = "acme" in tls
    issued = _acme_issued(site, merged)
    tls_listens = _tls_listens(site, merged)
    if tls.get("redirect", False):
        port = str(tls["listen"][0]).rsplit(":", maxsplit=1)[-1]
        target = "https://$host%s$request_uri" % ("" if port == "443" else ":" + port)
        if acme:
            redirect = [acme_challenge(merged), d("location", "/", block=[d("return", "301", target)])]
        else:
            redirect = [d("return", "301", target)]
        out.append(d("server", block=plain + [d("server_name", *names)] + redirect))
        if acme and not issued:
            return out  # nothing is served over TLS before the certificate exists
    else:
        block += plain
    http2 = merged["realtime_proxy__nginx"]["http2"]
    if http2 not in ("listen", "directive"):
        raise AssertionError("unknown realtime_proxy__nginx.http2 %r" % (http2,))
    block += [d("listen", str(listen), "ssl", *(("http2",) if http2 == "listen" else ()), *flags,
                *_reuseport(site, listen, merged)) for listen in tls_listens]
    block.append(d("server_name", *names))
    if tls and (issued or not acme):
        if http2 == "directive":
            block.append(d("http2", "on"))
        if acme:
            block += [d("ssl_certificate", issued["certificate"]), d("ssl_certificate_key", issued["key"])]
        else:
            block.append(d("ssl_certificate", tls.get("certificate", "realtime_proxy/tls/%s.crt" % site["name"])))
            block.append(d("ssl_certificate_key", tls.get("certificate_key", "realtime_proxy/tls/%s.key" % site["name"])))
    if _as_int(merged["realtime_proxy_limit_conn_per_client"]) > 0:
        block.append(d("limit_conn", "realtime_proxy_conn", str(merged["realtime_proxy_limit_conn_per_client"])))
    if site.get("directives"):
        # The server's own add_header hides the http-level ones: they are repeated.
        block += add_headers(merged["realtime_proxy_http_directives"]) + inventory_directives(site["directives"])
    if merged["realtime_proxy_limit_req_rate"]:
        block.append(d("limit_req", "zone=realtime_proxy_req", "burst=%s" % merged["realtime_proxy_limit_req_burst"], "nodelay"))
    if acme and not tls.get("redirect", False):
        block.append(acme_challenge(merged))
    block += [expected_location(location, merged, site, suffix(site, index))
              for index, location in enumerate(site["locations"], 1)]
    out.append(d("server", block=block))
    return out


def expected_tls_files(settings):
    """{relative path: (bytes, mode)} of the certificate and key files.

    Only a present site with certificate_content gets them; the text is
    written stripped, with one final newline, and the key is 0600.
    """
    merged = merged_variables(settings)
    files = {}
    for site in merged["realtime_proxy_sites"]:
        if site.get("state", "present") != "present":
            continue
        tls = _tls(site)
        if "certificate_content" in tls:
            base = "realtime_proxy/tls/%s" % site["name"]
            files[base + ".crt"] = ((tls["certificate_content"].strip() + "\n").encode("utf-8", "surrogateescape"), 0o644)
            files[base + ".key"] = ((tls["certificate_key_content"].strip() + "\n").encode("utf-8", "surrogateescape"), 0o600)
    return files


# nginx's hash key for each hash_key source (ngx_http_upstream_hash_module,
# with the variables of ngx_http_core_module): cookie_, arg_ and http_ are
# prefix variables, and a header's variable is its name lowercased with '-'
# as '_'.
HASH_VARIABLES = {
    "remote_addr": lambda name: "$remote_addr",
    "uri": lambda name: "$request_uri",
    "cookie": lambda name: "$cookie_" + name,
    "arg": lambda name: "$arg_" + name,
    "header": lambda name: "$http_" + name.lower().replace("-", "_"),
}


def _balance(upstream):
    """The balancing directive: none for round robin (nginx's default)."""
    method = upstream.get("balance", "round_robin")
    if method in ("least_conn", "ip_hash"):
        return [d(method)]
    if method == "hash":
        key = upstream["hash_key"]
        flags = ("consistent",) if key.get("consistent", False) else ()
        return [d("hash", HASH_VARIABLES[key["source"]](key.get("name")), *flags)]
    assert method == "round_robin", method
    return []


def _server(server):
    """One `server` directive: the address, then its parameters as
    ngx_http_upstream_module documents them (NAME=VALUE, fail_timeout in
    seconds, backup and down as flags)."""
    if not isinstance(server, dict):
        return d("server", server)
    params = ["%s=%s" % (key, server[key]) for key in ("weight", "max_conns", "max_fails") if key in server]
    if "fail_timeout" in server:
        params.append("fail_timeout=%ss" % server["fail_timeout"])
    params += [flag for flag in ("backup", "down") if server.get(flag, False)]
    return d("server", server["address"], *params)


def _zone(upstream):
    """The shared memory zone every upstream has (argument spec, zone_size): named
    realtime_proxy_upstream_NAME, zone_size as given, else 8 pages of 4 KB and 2k per server entry."""
    size = upstream.get("zone_size", "%dk" % (32 + 2 * len(upstream["servers"])))
    return d("zone", "realtime_proxy_upstream_" + upstream["name"], str(size))


def expected_upstream(upstream):
    block = [_zone(upstream)] + _balance(upstream) + [_server(server) for server in upstream["servers"]]
    if upstream.get("keepalive") is not None:
        block.append(d("keepalive", str(upstream["keepalive"])))
    return [d("upstream", upstream["name"], block=block)]


def _next_upstream(merged, name):
    """The proxy_next_upstream directives of a location whose upstream is NAME."""
    for upstream in merged["realtime_proxy_upstreams"]:
        if upstream["name"] == name and upstream.get("state", "present") == "present":
            break
    else:
        raise AssertionError("no present upstream %r" % name)
    value = upstream.get("next_upstream") or {}
    out = []
    if "conditions" in value:
        out.append(d("proxy_next_upstream", *value["conditions"]))
    if "tries" in value:
        out.append(d("proxy_next_upstream_tries", str(value["tries"])))
    if "timeout" in value:
        out.append(d("proxy_next_upstream_timeout", "%ss" % value["timeout"]))
    return out


# Globals that the property test varies, and the nginx.conf directive each
# one becomes. Everything else in nginx.conf and in realtime_proxy/http.d/
# does not depend on sites or upstreams: it must parse exactly as in a tree
# rendered for an empty inventory (the baseline).
def _replace(directives, name, new, block=None):
    out = []
    for item in directives:
        if item[0] == name:
            out.append(new)
        elif block and item[0] == block and len(item) == 3:
            out.append((item[0], item[1], _replace(item[2], name, new)))
        else:
            out.append(item)
    return out


@functools.lru_cache(maxsize=1)
def _baseline():
    """{path: directives} of the files rendered for an empty inventory."""
    with tempfile.TemporaryDirectory(prefix="rtn-baseline.") as tmp:
        written = render_tree({}, tmp)
        return {rel: tuple(items) for rel, items in actual_tree(tmp, written).items()}


def expected_nginx_conf(merged):
    """The baseline nginx.conf with the varied globals put in.

    A bool option means what Ansible's bool conversion says it means
    (``"false"`` is false), as the argument spec accepts it.
    """
    conf = list(_baseline()["nginx.conf"])
    conf = _replace(conf, "worker_processes", d("worker_processes", str(merged["realtime_proxy_worker_processes"])))
    # 0: sized from the open files the host allows (HOST_OPEN_FILES for a render), capped at 65536;
    # worker_connections keeps one in twenty (at least 256) of them for logs.
    rlimit = _as_int(merged["realtime_proxy_worker_rlimit_nofile"]) or min(HOST_OPEN_FILES, 65536)
    connections = _as_int(merged["realtime_proxy_worker_connections"]) or rlimit - max(256, rlimit // 20)
    conf = _replace(conf, "worker_rlimit_nofile", d("worker_rlimit_nofile", str(rlimit)))
    conf = _replace(conf, "worker_shutdown_timeout",
                    d("worker_shutdown_timeout", "%ss" % merged["realtime_proxy_worker_shutdown_timeout"]))
    conf = _replace(conf, "worker_connections", d("worker_connections", str(connections)),
                    block="events")
    conf = _replace(conf, "server_tokens", d("server_tokens", "on" if boolean(merged["realtime_proxy_server_tokens"]) else "off"),
                    block="http")
    conf = _replace(conf, "ssl_ciphers", d("ssl_ciphers", ":".join(merged["realtime_proxy_tls_ciphers"])), block="http")
    http = [item for item in conf if item[0] == "http"][0]
    body = [item for item in http[2] if item[0] not in ("gzip", "gzip_vary", "gzip_proxied", "gzip_types")]
    if _as_int(merged["realtime_proxy_limit_conn_per_client"]) > 0:
        body += [d("limit_conn_zone", "$binary_remote_addr", "zone=realtime_proxy_conn:10m"), d("limit_conn_status", "429")]
    if merged["realtime_proxy_limit_req_rate"]:
        body += [d("limit_req_zone", "$binary_remote_addr", "zone=realtime_proxy_req:10m",
                   "rate=%s" % merged["realtime_proxy_limit_req_rate"]), d("limit_req_status", "429")]
    if boolean(merged["realtime_proxy_gzip"]):
        body += [d("gzip", "on"), d("gzip_vary", "on"), d("gzip_proxied", "any"),
                 d("gzip_types", *merged["realtime_proxy_gzip_types"])]
    else:
        body.append(d("gzip", "off"))
    body += inventory_directives(merged["realtime_proxy_http_directives"])
    return [item if item[0] != "http" else d("http", block=body) for item in conf]


def expected_forwarded_conf(merged):
    """The baseline forwarded.conf; with trusted proxies, the real-IP module
    believes X-Forwarded-For from them and the scheme map X-Forwarded-Proto."""
    conf = list(_baseline()["realtime_proxy/http.d/forwarded.conf"])
    proxies = merged["realtime_proxy_trusted_proxies"]
    if not proxies:
        return conf
    proto = ("map", ("$scheme", "$realtime_proxy_forwarded_proto"))
    assert [item[:2] for item in conf].count(proto) == 1, conf
    conf = [item for item in conf if item[:2] != proto]
    conf += [d("set_real_ip_from", cidr) for cidr in proxies]
    conf += [d("real_ip_header", "X-Forwarded-For"), d("real_ip_recursive", "on")]
    conf.append(d("geo", "$realip_remote_addr", "$realtime_proxy_from_trusted_proxy",
                  block=[d("default", "0")] + [d(cidr, "1") for cidr in proxies]))
    conf.append(d("map", "$realtime_proxy_from_trusted_proxy:$http_x_forwarded_proto", "$realtime_proxy_forwarded_proto",
                  block=[d("default", "$scheme"), d("~^1:(?<realtime_proxy_proto>https?)$", "$realtime_proxy_proto")]))
    return conf


def serving(server):
    return not isinstance(server, dict) or not (server.get("backup") is True or server.get("down") is True)


def assert_socketio_sticky(merged):
    """No accepted socketio location spreads one session over several servers."""
    upstreams = {}
    for upstream in merged["realtime_proxy_upstreams"]:
        if upstream.get("state", "present") == "present":
            upstreams.setdefault(upstream["name"], upstream)
    for site in merged["realtime_proxy_sites"]:
        if site.get("state", "present") != "present":
            continue
        for location in site["locations"]:
            if location["type"] != "socketio":
                continue
            upstream = upstreams[location["upstream"]]
            if sum(map(serving, upstream["servers"])) < 2:
                continue
            balance = upstream.get("balance", "round_robin")
            assert balance in ("ip_hash", "hash"), "socketio location %s accepted on %s balancing of upstream %s" % (
                location["path"], balance, upstream["name"])
            key = upstream.get("hash_key") or {}
            varies = key.get("source") == "uri" or (key.get("source") == "arg" and key.get("name") in ("t", "sid", "transport"))
            assert not varies, "socketio location %s accepted on a hash key that changes within a session: %r" % (
                location["path"], key)


def assert_not_websocket_map():
    """The shared map socketio origin maps rely on: 1 exactly when no websocket token is forwarded."""
    conf = _baseline()["realtime_proxy/http.d/connection_upgrade.conf"]
    want = d("map", "$realtime_proxy_upgrade", NOT_WEBSOCKET, block=[d("default", "0"), d("", "1")])
    assert [item for item in conf if item[:2] == want[:2]] == [want], conf


def expected_tree(settings):
    """{relative path: directive list} for an inventory the checks accept."""
    merged = merged_variables(settings)
    assert_socketio_sticky(merged)
    if any(location["type"] == "socketio" and location.get("allowed_origins")
           for site in merged["realtime_proxy_sites"] for location in site["locations"]):
        assert_not_websocket_map()
    tree = {}
    for item in files_for(settings):
        if item["template"] == "nginx.conf.j2":
            tree[item["path"]] = expected_nginx_conf(merged)
        elif item["template"] == "upstream.conf.j2":
            tree[item["path"]] = expected_upstream(item["upstream"])
        elif item["template"] == "site.conf.j2":
            tree[item["path"]] = expected_site(item["site"], merged)
        elif item["template"] == "forwarded.conf.j2":
            tree[item["path"]] = expected_forwarded_conf(merged)
        elif item["template"] == "tls_file.j2":
            continue  # not nginx syntax: expected_tls_files()
        elif item["path"].startswith("realtime_proxy/http.d/"):
            tree[item["path"]] = list(_baseline()[item["path"]])
        else:
            raise AssertionError("no expectation for %r (template %r)" % (item["path"], item["template"]))
    return tree


def adopted_settings(settings):
    """SETTINGS (an accepted inventory) for an nginx the role does not own: every location of every present
    site as a snippet (named s<site>_<location>, without path and match), no sites, no per-client limits."""
    merged = merged_variables(settings)
    snippets = []
    for sindex, site in enumerate(merged["realtime_proxy_sites"]):
        if site.get("state", "present") != "present":
            continue
        for lindex, location in enumerate(site["locations"]):
            snippet = {key: value for key, value in location.items() if key not in ("path", "match")}
            snippets.append(dict(snippet, name="s%d_%d" % (sindex, lindex)))
    adopted = {key: value for key, value in settings.items()
               if key not in ("realtime_proxy_sites", "realtime_proxy_limit_conn_per_client", "realtime_proxy_limit_req_rate")}
    adopted.update(realtime_proxy_manage_nginx_conf=False, realtime_proxy_snippets=snippets)
    return adopted


def expected_adopted_tree(settings):
    """{relative path: directive list} for adopted SETTINGS (adopted_settings()): the http-level file holds
    the managed tree's http.d maps (forwarded.conf with the trusted proxies), the stub_status file, the
    http-level directives, one upstream block per present upstream and the maps of every snippet (suffix: the
    snippet's name, index 0); each snippet holds the body a site's location of its type has, in a site without
    TLS or directives of its own."""
    merged = merged_variables(settings)
    http = (list(_baseline()["realtime_proxy/http.d/connection_upgrade.conf"]) + expected_forwarded_conf(merged)
            + list(_baseline()["realtime_proxy/http.d/stub_status.conf"])
            + inventory_directives(merged["realtime_proxy_http_directives"]))
    for upstream in merged["realtime_proxy_upstreams"]:
        if upstream.get("state", "present") == "present":
            http += expected_upstream(upstream)
    tree = {}
    for snippet in merged["realtime_proxy_snippets"]:
        if snippet.get("state", "present") != "present":
            continue
        snippet_suffix = suffix(snippet, 0)
        http += expected_maps(snippet, snippet_suffix)
        tree["realtime_proxy/snippets/%s.conf" % snippet["name"]] = expected_location(
            dict(snippet, path="/"), merged, {}, snippet_suffix)[2]
    tree[merged["realtime_proxy__adopt_http_file"]] = http
    return tree


def _strip(parsed):
    out = []
    for item in parsed:
        if "block" in item:
            out.append(d(item["directive"], *item["args"], block=_strip(item["block"])))
        else:
            out.append(d(item["directive"], *item["args"]))
    return out


def parse_file(path, main=False):
    """crossplane's directive list of one file (includes not followed).

    Files other than nginx.conf are included inside http {}; parsed alone
    their directives would be out of context, so context checks are off for
    them (the expected tree places them). Any crossplane error fails.
    """
    payload = crossplane.parse(str(path), single=True, comments=False, check_ctx=main, check_args=True)
    if payload["status"] != "ok" or payload["errors"]:
        raise AssertionError("crossplane could not parse %s: %r" % (path, payload["errors"]))
    return _strip(payload["config"][0]["parsed"])


TLS_DIR = "realtime_proxy/tls/"


def actual_tree(root, paths):
    """crossplane's parse of every written configuration file (not the
    certificates and keys under realtime_proxy/tls/, which are not nginx syntax)."""
    root = pathlib.Path(root)
    tree = {}
    for path in paths:
        rel = str(pathlib.Path(path).relative_to(root))
        if rel.startswith(TLS_DIR):
            continue
        tree[rel] = parse_file(path, main=(rel == "nginx.conf"))
    return tree


def all_files(root):
    """Every regular file under ROOT, relative."""
    root = pathlib.Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def iter_args(directives):
    for item in directives:
        yield item[0]
        yield from item[1]
        if len(item) == 3:
            yield from iter_args(item[2])
