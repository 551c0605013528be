# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on realtime_proxy inventory that an argument spec cannot express.

Every value that reaches an nginx file is checked here against what nginx
accepts at its position, with an allowlist of characters. None of the checks
escape anything: a value is either safe to write as it is, or it is reported
with the variable's full name and what is allowed. This module is pure Python
with no Ansible imports so that it runs the same in the filter plugin, in unit
tests and in property tests.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import AcmeChecks
from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import snippet_path
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_adopt import AdoptChecks
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_directives import DirectiveChecks
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_metrics import MetricsChecks
# UPSTREAM_KEYS is read from here with the other key sets.
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_upstreams import (  # noqa: F401  pylint: disable=unused-import
    UPSTREAM_KEYS, UpstreamChecks, upstream_zone)
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_values import (
    FILE_PATH_HELP, FILE_PATH_RE, HOST_LABEL, MAX_TIMEOUT, STATES, as_int, check_host_port, port_ok)
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import location_types, preset, suboption_names

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
NAME_HELP = "1 to 64 letters, digits, '-' or '_', starting with a letter or digit"

SERVER_NAME_RE = re.compile(r"^(?:\*\.)?%s(?:\.%s)*\Z" % (HOST_LABEL, HOST_LABEL))
SERVER_NAME_HELP = "a host name such as app.example.com, a wildcard such as *.example.com, or '_'"

# A location path is written unquoted; these characters cannot end the
# directive, open or close a block, start a comment or name a variable.
PATH_RE = re.compile(r"^/[A-Za-z0-9._~%/@:+,=!*-]{0,255}\Z")
PATH_HELP = "a path starting with '/' made of letters, digits and . _ ~ % / @ : + , = ! * -"

HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")
# Header values are written inside double quotes: no quote, backslash, '$'
# (a variable), braces, control characters or non-ASCII bytes.
HEADER_VALUE_RE = re.compile(r'^[\x20-\x7e]{0,1024}\Z')
HEADER_VALUE_FORBIDDEN = set('"\\${}')
HEADER_VALUE_HELP = "printable ASCII up to 1024 characters without \" \\ $ { or }"

# Location match kinds and the modifier nginx writes for each.
MATCH_MODIFIERS = {"prefix": "", "prefix_priority": "^~", "exact": "=", "regex": "~", "regex_nocase": "~*"}
REGEX_MATCHES = ("regex", "regex_nocase")
# A regex is written inside double quotes. nginx's parser reads \\ as one
# backslash (and \" as a quote), which would change the regex, so neither is
# allowed; a final backslash would escape the closing quote.
REGEX_RE = re.compile(r'^[\x20-\x7e]{1,1024}\Z')
REGEX_HELP = ("a regular expression of 1 to 1024 printable ASCII characters without '\"' or two backslashes in a "
              "row (match a backslash with [\\x5c]), not ending in a backslash")

TIMEOUT_KEYS = ("read_timeout", "send_timeout", "connect_timeout")

# Option names come from the role's argument spec (see _role_data).
SITE_KEYS = suboption_names("realtime_proxy_sites")
LOCATION_KEYS = suboption_names("realtime_proxy_sites", "locations")
TLS_KEYS = suboption_names("realtime_proxy_sites", "tls")
CORS_KEYS = suboption_names("realtime_proxy_sites", "locations", "cors")
VERIFY_URL_RE = re.compile(r"^(?:https?|wss?)://[A-Za-z0-9.\[\]:-]+(?:/[A-Za-z0-9._~%/@:+,=!*&?-]*)?\Z")
ORIGIN_RE = re.compile(r"^https?://%s(?:\.%s)*(?::[0-9]{1,5})?\Z" % (HOST_LABEL, HOST_LABEL))
ORIGIN_HELP = "an origin such as https://app.example.com or http://localhost:8080 (scheme, host and optional port)"
METHOD_RE = re.compile(r"^[A-Z]{1,20}\Z")
SIZE_RE = re.compile(r"^([1-9][0-9]{0,7})([kKmM]?)\Z")
RATE_RE = re.compile(r"^[1-9][0-9]{0,6}r/[sm]\Z")
CIPHER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}\Z")


def listen_key(value):
    """The socket a valid listen value names: 8080, "8080", "*:8080" and "0.0.0.0:8080" are one."""
    text = str(value)
    if text.isdigit():
        return ("*", int(text))
    host, _sep, port = text.rpartition(":")
    if host in ("*", "0.0.0.0"):
        host = "*"
    return (host.lower(), int(port))


def _size_text(size):
    """4096 -> '4k', 1048576 -> '1m', 256 -> '256'."""
    for unit, scale in (("m", 1024 * 1024), ("k", 1024)):
        if size % scale == 0:
            return "%d%s" % (size // scale, unit)
    return str(size)


class InventoryChecker(UpstreamChecks, DirectiveChecks, AcmeChecks, MetricsChecks, AdoptChecks):
    """Collects every problem in one pass, so a user fixes them all at once.

    The checks of realtime_proxy_upstreams are in UpstreamChecks (_inventory_upstreams), those of tls.acme in
    AcmeChecks (_inventory_acme), those of an nginx the role does not own (realtime_proxy_snippets,
    realtime_proxy_manage_nginx_conf) in AdoptChecks (_inventory_adopt)."""

    def __init__(self):
        super().__init__()
        self.errors = []
        # (address, port) -> ("plain" or "TLS", where), across all present sites.
        self.sockets = {}

    def error(self, where, message):
        self.errors.append("%s: %s" % (where, message))

    # -- generic ------------------------------------------------------------
    def name(self, where, value, seen):
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.error(where, "%r is not a valid name; use %s (it names a file and an nginx block)" % (value, NAME_HELP))
            return None
        if value in seen:
            self.error(where, "%r is used twice; each name must be unique" % value)
        seen.add(value)
        return value

    def unknown_keys(self, where, item, allowed):
        for key in sorted(set(item) - allowed, key=str):
            self.error("%s.%s" % (where, key), "unknown option; allowed: %s" % ", ".join(sorted(allowed)))

    def mappings(self, where, value, plural, keys_help, keys, non_empty=False):
        """(where, index, item) for each mapping in the list VALUE, after its keys are checked against KEYS.
        A VALUE that is no list (or an empty one, with NON_EMPTY) and items that are no mapping are reported."""
        if not isinstance(value, list) or (non_empty and not value):
            self.error(where, "must be a %slist of %s" % ("non-empty " if non_empty else "", plural))
            return
        for index, item in enumerate(value):
            iwhere = "%s[%d]" % (where, index)
            if not isinstance(item, dict):
                self.error(iwhere, "must be a mapping with %s" % keys_help)
                continue
            self.unknown_keys(iwhere, item, keys)
            yield iwhere, index, item

    def state(self, where, item):
        state = item.get("state", "present")
        if state not in STATES:
            self.error(where + ".state", "%r is not one of: %s" % (state, ", ".join(STATES)))
        return state

    def timeout(self, where, value):
        seconds = as_int(value)
        if seconds is None or not 1 <= seconds <= MAX_TIMEOUT:
            self.error(where, "%r is not a whole number of seconds from 1 to %d" % (value, MAX_TIMEOUT))

    def buffer_size(self, where, kind, value):
        """A location's proxy_buffer_size: only on types whose preset sets one, 256 bytes to 8k.

        nginx refuses a proxy_buffer_size whose double (the default
        proxy_busy_buffers_size) is not below 7 of the 8 default proxy_buffers
        (28k), even with buffering off."""
        takes = [name for name in location_types() if "buffer_size" in preset(name)]
        if kind in location_types() and kind not in takes:
            self.error(where, "applies to %s locations; set proxy_buffer_size in the directives of %s locations"
                       % (" and ".join(takes), kind))
        self.size(where, value, 256, 8 * 1024)

    def size(self, where, value, low, high):
        """A size nginx reads (bytes, or a number with k or m) from LOW to HIGH bytes."""
        text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        size = SIZE_RE.match(text)
        scale = {"": 1, "k": 1024, "m": 1024 * 1024}
        if size is None or not low <= int(size.group(1)) * scale[size.group(2).lower()] <= high:
            self.error(where, "%r is not a size from %s to %s: bytes, or a number with k or m (4k)"
                       % (value, _size_text(low), _size_text(high)))

    # -- sites ----------------------------------------------------------------
    def sites(self, sites, upstream_names):
        seen = set()
        for where, dummy, site in self.mappings("realtime_proxy_sites", sites, "sites", "name, listen and locations",
                                                SITE_KEYS):
            self.name(where + ".name", site.get("name"), seen)
            present = self.state(where, site) == "present"
            self.server_names(where + ".server_name", site.get("server_name", "_"))
            tls = site.get("tls")
            if tls is not None:
                self.tls(where + ".tls", tls, site)
            if not (tls and site.get("listen") in (None, [])):
                self.listens(where + ".listen", site.get("listen"))
            if present:
                self.claim_sockets(where + ".listen", site.get("listen"), "plain")
                if isinstance(tls, dict):
                    self.claim_sockets(where + ".tls.listen", tls.get("listen"), "TLS")
            for key in ("default_server", "own_logs"):
                if not isinstance(site.get(key, False), bool):
                    self.error("%s.%s" % (where, key), "must be true or false")
            self.locations(where + ".locations", site.get("locations"), upstream_names if present else None)
            if "directives" in site:
                self.directives(where + ".directives", site["directives"], "server")

    def tls(self, where, tls, site):
        if not isinstance(tls, dict):
            self.error(where, "must be a mapping with listen and a certificate")
            return
        self.unknown_keys(where, tls, TLS_KEYS)
        self.listens(where + ".listen", tls.get("listen"))
        paths = [key for key in ("certificate", "certificate_key") if key in tls]
        contents = [key for key in ("certificate_content", "certificate_key_content") if key in tls]
        if "acme" in tls:
            self.acme(where + ".acme", tls["acme"], site)
        elif paths and contents:
            self.error(where, "give either certificate and certificate_key (paths on the host) or "
                       "certificate_content and certificate_key_content (PEM text), not both")
        elif len(paths) != 2 and len(contents) != 2:
            self.error(where, "needs certificate and certificate_key (paths on the host), or "
                       "certificate_content and certificate_key_content (PEM text), or acme")
        for key in paths:
            value = tls[key]
            if not isinstance(value, str) or not FILE_PATH_RE.match(value) or "/../" in value + "/" or "/./" in value + "/":
                self.error("%s.%s" % (where, key), "%r is not %s" % (value, FILE_PATH_HELP))
        for key in contents:
            value = tls[key]
            if not isinstance(value, str) or not value.lstrip().startswith("-----BEGIN ") or "\x00" in value:
                self.error("%s.%s" % (where, key), "must be PEM text starting with -----BEGIN")
        if not isinstance(tls.get("http3", False), bool):
            self.error(where + ".http3", "must be true or false")
        if not isinstance(tls.get("redirect", False), bool):
            self.error(where + ".redirect", "must be true or false")
        elif tls.get("redirect") and not site.get("listen"):
            self.error(where + ".redirect", "needs plain ports in the site's listen to redirect from")
        if "hsts_max_age" in tls:
            age = as_int(tls["hsts_max_age"])
            if age is None or not 0 <= age <= 63072000:
                self.error(where + ".hsts_max_age", "%r is not a whole number of seconds from 0 to 63072000" % (tls["hsts_max_age"],))

    def origins(self, where, origins, allow_star=False):
        if not isinstance(origins, list) or not origins:
            self.error(where, "must be a non-empty list of origins")
            return
        if allow_star and "*" in origins and origins != ["*"]:
            self.error(where, "'*' allows every origin and must stand alone")
            return
        seen = set()
        for index, origin in enumerate(origins):
            if allow_star and origin == "*":
                continue
            port = origin.rsplit(":", 1)[-1] if isinstance(origin, str) and origin.count(":") == 2 else "80"
            if not isinstance(origin, str) or not ORIGIN_RE.match(origin) or not port_ok(port):
                self.error("%s[%d]" % (where, index), "%r is not %s" % (origin, ORIGIN_HELP))
            elif origin.lower() in seen:
                self.error("%s[%d]" % (where, index), "%r is listed twice (origins are compared ignoring case)" % origin)
            else:
                seen.add(origin.lower())

    def cors(self, where, cors):
        if not isinstance(cors, dict):
            self.error(where, "must be a mapping with origins")
            return
        self.unknown_keys(where, cors, CORS_KEYS)
        self.origins(where + ".origins", cors.get("origins"), allow_star=True)
        credentials = cors.get("credentials", False)
        if not isinstance(credentials, bool):
            self.error(where + ".credentials", "must be true or false")
        elif credentials and cors.get("origins") == ["*"]:
            self.error(where + ".credentials", "browsers refuse credentials with origin '*'; list the allowed origins instead")
        for index, method in enumerate(cors.get("methods", ["GET", "OPTIONS"]) if isinstance(cors.get("methods", []), list) else [None]):
            if not isinstance(method, str) or not METHOD_RE.match(method):
                self.error("%s.methods[%d]" % (where, index), "%r is not an HTTP method such as GET" % (method,))
        for index, header in enumerate(cors.get("headers", []) if isinstance(cors.get("headers", []), list) else [None]):
            if not isinstance(header, str) or not HEADER_NAME_RE.match(header):
                self.error("%s.headers[%d]" % (where, index), "%r is not a header name (letters, digits and '-')" % (header,))
        if "max_age" in cors:
            age = as_int(cors["max_age"])
            if age is None or not 0 <= age <= 86400:
                self.error(where + ".max_age", "%r is not a whole number of seconds from 0 to 86400" % (cors["max_age"],))

    def server_names(self, where, value):
        names = value if isinstance(value, list) else [value]
        if not names:
            self.error(where, "must name at least one host, or be '_'")
        for name in names:
            if not isinstance(name, str) or not (name == "_" or SERVER_NAME_RE.match(name)):
                self.error(where, "%r is not %s" % (name, SERVER_NAME_HELP))

    def listens(self, where, value):
        if not isinstance(value, list) or not value:
            self.error(where, "must be a non-empty list of ports or \"address:port\" strings")
            return
        seen = set()
        for index, listen in enumerate(value):
            problem = check_host_port(listen, allow_port_only=True)
            if problem:
                self.error("%s[%d]" % (where, index), "%r: %s" % (listen, problem))
                continue
            key = listen_key(listen)
            if key in seen:
                self.error("%s[%d]" % (where, index), "%r is listed twice (as the same address and port)" % (listen,))
            seen.add(key)

    def claim_sockets(self, where, value, kind):
        """Refuse a socket that is plain in one place and TLS in another: nginx would speak TLS on both."""
        for index, listen in enumerate(value if isinstance(value, list) else []):
            if check_host_port(listen, allow_port_only=True):
                continue
            key = listen_key(listen)
            other = self.sockets.setdefault(key, (kind, "%s[%d]" % (where, index)))
            if other[0] != kind:
                self.error("%s[%d]" % (where, index), "%r is %s here but %s in %s; a port is either plain or TLS"
                           % (listen, kind, other[0], other[1]))

    def locations(self, where, locations, upstream_names):
        seen = set()
        for lwhere, dummy, location in self.mappings(where, locations, "locations", "path, type and upstream",
                                                     LOCATION_KEYS, non_empty=True):
            self.location(lwhere, location, upstream_names, self.location_match(lwhere, location, seen))

    def location(self, lwhere, location, upstream_names, match=None):
        """What a location's body takes: a site's location (MATCH its match kind) or a snippet (MATCH None).
        UPSTREAM_NAMES are the present upstreams, None for an absent site or snippet (not checked then)."""
        kind = location.get("type")
        if kind not in location_types():
            self.error(lwhere + ".type", "%r is not one of: %s" % (kind, ", ".join(location_types())))
        upstream = location.get("upstream")
        if upstream_names is not None and (not isinstance(upstream, str) or upstream not in upstream_names):
            known = ", ".join(sorted(upstream_names)) or "none"
            self.error(lwhere + ".upstream", "%r is not a present upstream in realtime_proxy_upstreams (defined: %s)" % (upstream, known))
        elif kind == "socketio" and upstream_names is not None:
            self.sticky(lwhere + ".upstream", upstream)
        for key in TIMEOUT_KEYS:
            if key in location:
                self.timeout("%s.%s" % (lwhere, key), location[key])
        if "upstream_path" in location:
            upstream_path = location["upstream_path"]
            if match in REGEX_MATCHES:
                self.error(lwhere + ".upstream_path", "cannot be used with match %s: nginx allows no URI in "
                           "proxy_pass in a location given by a regular expression" % match)
            elif not isinstance(upstream_path, str) or not PATH_RE.match(upstream_path):
                self.error(lwhere + ".upstream_path", "%r is not %s" % (upstream_path, PATH_HELP))
        if "buffer_size" in location:
            self.buffer_size(lwhere + ".buffer_size", kind, location["buffer_size"])
        if "directives" in location:
            self.directives(lwhere + ".directives", location["directives"], "location", kind)
        reserved = [name.lower() for name in preset(kind).get("headers", {})]
        self.headers(lwhere + ".proxy_headers", location.get("proxy_headers", {}), reserved)
        if "allowed_origins" in location:
            if kind not in ("websocket", "socketio"):
                self.error(lwhere + ".allowed_origins", "applies to websocket and socketio locations; use cors on %s "
                           "locations" % kind)
            self.origins(lwhere + ".allowed_origins", location["allowed_origins"])
        if "cors" in location:
            if kind == "websocket":
                self.error(lwhere + ".cors", "browsers do not apply CORS to WebSocket; use allowed_origins")
            elif kind == "socketio":
                self.error(lwhere + ".cors", "a Socket.IO server answers CORS itself (cors_allowed_origins); "
                           "use allowed_origins for nginx to refuse other origins")
            self.cors(lwhere + ".cors", location["cors"])
        if "verify_url" in location:
            url = location["verify_url"]
            if kind == "socketio":
                self.error(lwhere + ".verify_url", "only sse and websocket locations are checked after a change; "
                           "the probe does not speak Socket.IO (Engine.IO), so check a socketio location with a "
                           "Socket.IO client")
            elif kind not in ("sse", "websocket"):
                self.error(lwhere + ".verify_url", "only sse and websocket locations are checked after a change")
            elif not isinstance(url, str) or not VERIFY_URL_RE.match(url):
                self.error(lwhere + ".verify_url", "%r is not an http(s):// or ws(s):// URL" % (url,))
        if "heartbeat_interval" in location:
            beat = as_int(location["heartbeat_interval"])
            read = as_int(location.get("read_timeout", preset(kind).get("read_timeout")))
            if beat is None or not 1 <= beat <= MAX_TIMEOUT:
                self.error(lwhere + ".heartbeat_interval",
                           "%r is not a whole number of seconds from 1 to %d" % (location["heartbeat_interval"], MAX_TIMEOUT))
            elif read is not None and beat >= read:
                self.error(lwhere + ".read_timeout",
                           "%d s is not longer than heartbeat_interval (%d s); nginx would close idle streams between "
                           "heartbeats, so raise read_timeout above %d" % (read, beat, beat))

    def location_match(self, where, location, seen):
        """Check match and path; SEEN holds the site's (kind, path) pairs. Returns the match kind."""
        match = location.get("match", "prefix")
        if match not in MATCH_MODIFIERS:
            self.error(where + ".match", "%r is not one of: %s" % (match, ", ".join(MATCH_MODIFIERS)))
            return None
        path = location.get("path")
        if match in REGEX_MATCHES:
            if (not isinstance(path, str) or not REGEX_RE.match(path) or '"' in path or "\\\\" in path
                    or path.endswith("\\")):
                self.error(where + ".path", "%r is not %s" % (path, REGEX_HELP))
                return match
            # nginx tries regexes in order: the same one twice never matches the second.
            key = (match, path)
        elif not isinstance(path, str) or not PATH_RE.match(path):
            self.error(where + ".path", "%r is not %s" % (path, PATH_HELP))
            return match
        else:
            # prefix and prefix_priority are one location to nginx ("duplicate location").
            key = ("exact" if match == "exact" else "prefix", path)
        if key in seen:
            self.error(where + ".path", "%r is used twice in this site with match %s; each location must be unique"
                       % (path, match))
        seen.add(key)
        return match

    def headers(self, where, headers, reserved):
        if not isinstance(headers, dict):
            self.error(where, "must be a mapping of header name to value")
            return
        for name, value in headers.items():
            if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
                self.error(where, "%r is not a header name (letters, digits and '-')" % (name,))
                continue
            if name.lower() in reserved:
                self.error("%s.%s" % (where, name), "is set by the location type and cannot be replaced")
            if not isinstance(value, str) or not HEADER_VALUE_RE.match(value) or HEADER_VALUE_FORBIDDEN & set(value):
                self.error("%s.%s" % (where, name), "%r is not %s" % (value, HEADER_VALUE_HELP))

    # -- globals ----------------------------------------------------------------
    def networks(self, where, value):
        if not isinstance(value, list):
            self.error(where, "must be a list of addresses or networks such as 10.0.0.0/8")
            return
        for index, cidr in enumerate(value):
            try:
                if not isinstance(cidr, str) or not re.match(r"^[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?\Z", cidr):
                    raise ValueError(cidr)
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                self.error("%s[%d]" % (where, index), "%r is not an address or network such as 10.0.0.0/8" % (cidr,))

    def stub_status(self, settings):
        listen = settings.get("realtime_proxy_stub_status_listen") or ""
        if not listen:
            return
        problem = check_host_port(listen, allow_port_only=True)
        if problem:
            self.error("realtime_proxy_stub_status_listen", "%r: %s" % (listen, problem))
        else:
            self.claim_sockets("realtime_proxy_stub_status_listen", [listen], "plain")
        path = settings.get("realtime_proxy_stub_status_path", "/nginx_status")
        if not isinstance(path, str) or not PATH_RE.match(path):
            self.error("realtime_proxy_stub_status_path", "%r is not %s" % (path, PATH_HELP))
        self.networks("realtime_proxy_stub_status_allow", settings.get("realtime_proxy_stub_status_allow", []))

    def globals(self, settings):
        def positive(name, low=1, high=1048576):
            if name not in settings:
                return None
            value = as_int(settings.get(name))
            if value is None or not low <= value <= high:
                self.error(name, "%r is not a whole number from %d to %d" % (settings.get(name), low, high))
            return value

        workers = settings.get("realtime_proxy_worker_processes", "auto")
        if workers != "auto" and (as_int(workers) is None or not 1 <= as_int(workers) <= 1024):
            self.error("realtime_proxy_worker_processes", "%r is not 'auto' or a whole number from 1 to 1024" % (workers,))
        connections = positive("realtime_proxy_worker_connections", 0)
        nofile = positive("realtime_proxy_worker_rlimit_nofile", 0)
        positive("realtime_proxy_worker_shutdown_timeout", 1, MAX_TIMEOUT)
        positive("realtime_proxy_connect_timeout", 1, 600)
        if connections is not None and 0 < connections < 16:
            self.error("realtime_proxy_worker_connections", "%d is fewer than 16; use 0 to size it from the open-files "
                       "limit, or a whole number from 16 to 1048576" % connections)
        if nofile is not None and 0 < nofile < 32:
            self.error("realtime_proxy_worker_rlimit_nofile", "%d is fewer than 32; use 0 to size it from the host, "
                       "or a whole number from 32 to 1048576" % nofile)
        if connections and nofile and nofile < connections:
            self.error("realtime_proxy_worker_rlimit_nofile",
                       "%d is less than realtime_proxy_worker_connections (%d); every connection is an open file, "
                       "so set it higher (about 5%% above it, for logs), or both to 0 to size them from the host"
                       % (nofile, connections))
        self.size("realtime_proxy_tls_buffer_size", settings.get("realtime_proxy_tls_buffer_size", "16k"), 512, 16 * 1024)
        positive("realtime_proxy_limit_conn_per_client", 0, 65535)
        positive("realtime_proxy_limit_req_burst", 1, 1048576)
        rate = settings.get("realtime_proxy_limit_req_rate", "")
        if rate not in ("", None) and (not isinstance(rate, str) or not RATE_RE.match(rate)):
            self.error("realtime_proxy_limit_req_rate", "%r is not a rate such as 20r/s or 600r/m, or empty for no limit" % (rate,))
        self.networks("realtime_proxy_trusted_proxies", settings.get("realtime_proxy_trusted_proxies") or [])
        self.stub_status(settings)
        self.metrics(settings)
        self.directives("realtime_proxy_http_directives", settings.get("realtime_proxy_http_directives", []), "http")
        ciphers = settings.get("realtime_proxy_tls_ciphers", ["ECDHE-RSA-AES128-GCM-SHA256"])
        if not isinstance(ciphers, list) or not ciphers:
            self.error("realtime_proxy_tls_ciphers", "must be a non-empty list of OpenSSL cipher names")
            ciphers = []
        for index, cipher in enumerate(ciphers):
            if not isinstance(cipher, str) or not CIPHER_RE.match(cipher):
                self.error("realtime_proxy_tls_ciphers[%d]" % index, "%r is not an OpenSSL cipher name" % (cipher,))
        gzip_types = settings.get("realtime_proxy_gzip_types", ["text/plain"])
        if not isinstance(gzip_types, list) or not gzip_types:
            self.error("realtime_proxy_gzip_types", "must be a non-empty list of MIME types such as text/css")
            gzip_types = []
        for index, mime in enumerate(gzip_types):
            if not isinstance(mime, str) or not re.match(r"^[a-z0-9!#&^_.+-]+/[a-z0-9!#&^_.+*-]+\Z", mime):
                self.error("realtime_proxy_gzip_types[%d]" % index, "%r is not a MIME type such as text/css" % (mime,))


def inventory_errors(settings):
    """Every problem in SETTINGS (a mapping of realtime_proxy_* variables)."""
    checker = InventoryChecker()
    upstream_names = checker.upstreams(settings.get("realtime_proxy_upstreams", []))
    checker.sites(settings.get("realtime_proxy_sites", []), upstream_names)
    checker.snippets(settings.get("realtime_proxy_snippets", []), upstream_names)
    checker.mode(settings)
    checker.globals(settings)
    return checker.errors


def _present(items):
    return [item for item in items if item.get("state", "present") == "present"]


def owned_files(upstreams, sites, snippets=(), http_file=None, page_size=4096):
    """The configuration files the role renders, relative to the nginx configuration directory.

    Each entry names its template and carries the upstream or site it is
    rendered from; templates/tree.j2 renders them all in one pass. An
    upstream's entry also carries ``zone``: the name and size of its shared
    memory zone on a host with memory pages of PAGE_SIZE bytes. A site's
    entry also carries ``upstreams``: the present upstreams its locations
    name, by name, which is all its template reads of them (looking them up
    in the whole list from every site made rendering grow with sites x
    upstreams). Key material is not among them: see tls_material().

    With HTTP_FILE (an nginx the role does not own: realtime_proxy_manage_nginx_conf
    false) the role writes no nginx.conf and no sites: HTTP_FILE holds its
    http-level parts (maps, the maps of the snippets, and the upstreams: its
    ``upstream_files`` are the entries the upstream files would have, rendered
    into it), and each present snippet has a file of its own under
    _adopt.SNIPPET_DIR, with the upstream it names as a site's entry has them.
    """
    by_name = {}
    upstream_files = []
    for upstream in _present(upstreams):
        by_name[upstream["name"]] = upstream
        upstream_files.append({"path": "realtime_proxy/upstreams/%s.conf" % upstream["name"],
                               "template": "upstream.conf.j2", "upstream": upstream,
                               "zone": upstream_zone(upstream, page_size)})
    if http_file is not None:
        present = _present(snippets)
        files = [{"path": http_file, "template": "http_parts.conf.j2", "snippets": present,
                  "upstream_files": upstream_files}]
        for snippet in present:
            files.append({"path": snippet_path(snippet["name"]), "template": "snippet.conf.j2", "snippet": snippet,
                          "upstreams": {name: by_name[name] for name in [snippet.get("upstream")] if name in by_name}})
        return files
    files = [
        {"path": "nginx.conf", "template": "nginx.conf.j2"},
        {"path": "realtime_proxy/http.d/connection_upgrade.conf", "template": "connection_upgrade.conf.j2"},
        {"path": "realtime_proxy/http.d/forwarded.conf", "template": "forwarded.conf.j2"},
        {"path": "realtime_proxy/http.d/stub_status.conf", "template": "stub_status.conf.j2"},
    ] + upstream_files
    for site in _present(sites):
        named = [location.get("upstream") for location in site.get("locations") or [] if isinstance(location, dict)]
        files.append({"path": "realtime_proxy/sites/%s.conf" % site["name"],
                      "template": "site.conf.j2", "site": site,
                      "upstreams": {name: by_name[name] for name in named if name in by_name}})
    return files


# The files a site's PEM text is written to: suffix, inventory key, mode.
TLS_FILES = ((".crt", "certificate_content", "0644"), (".key", "certificate_key_content", "0600"))


def tls_material(sites):
    """The certificate and key files of present sites that give their PEM text inline.

    Handed straight to nginx_config's ``secret_files`` option, which is never
    logged and never shown in a diff; nothing else carries them.
    """
    files = []
    for site in _present(sites):
        tls = site.get("tls") or {}
        if "certificate_content" not in tls:
            continue
        for suffix, key, mode in TLS_FILES:
            files.append({"path": "realtime_proxy/tls/%s%s" % (site["name"], suffix),
                          "content": tls[key].strip() + "\n", "mode": mode})
    return files
