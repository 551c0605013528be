# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory checks of realtime_proxy_upstreams: servers, balancing,
hash_key, next_upstream, and the sticky balancing a socketio location needs.
A mixin of _inventory.InventoryChecker, whose error(), mappings(), name() and
state() it uses."""

from __future__ import annotations

import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_values import (
    FILE_PATH_HELP, FILE_PATH_RE, MAX_TIMEOUT, as_int, check_host_port)
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import role_options, suboption_names

UPSTREAM_KEYS = suboption_names("realtime_proxy_upstreams")
# Upstream balancing: the keys of a server mapping, hash_key and next_upstream
# and their choices, from the argument spec.
SERVER_KEYS = suboption_names("realtime_proxy_upstreams", "servers")
HASH_KEY_KEYS = suboption_names("realtime_proxy_upstreams", "hash_key")
NEXT_UPSTREAM_KEYS = suboption_names("realtime_proxy_upstreams", "next_upstream")
_UPSTREAM_OPTIONS = role_options()["realtime_proxy_upstreams"]["options"]
BALANCE_METHODS = tuple(_UPSTREAM_OPTIONS["balance"]["choices"])
HASH_SOURCES = tuple(_UPSTREAM_OPTIONS["hash_key"]["options"]["source"]["choices"])
NEXT_UPSTREAM_CONDITIONS = tuple(_UPSTREAM_OPTIONS["next_upstream"]["options"]["conditions"]["choices"])
# nginx refuses 'backup' with these methods ("balancing method does not support parameter").
NO_BACKUP_METHODS = ("ip_hash", "hash")
# Sources that name a cookie, header or argument; the others take no name.
NAMED_HASH_SOURCES = ("cookie", "header", "arg")
# nginx ends a variable name at any character other than a letter, digit or
# '_', so $cookie_NAME and $arg_NAME can only name those. A header name is
# written as $http_NAME with '-' as '_'; nginx drops request headers with '_'
# in their name by default (underscores_in_headers off).
HASH_NAME_RE = {"cookie": re.compile(r"^[A-Za-z0-9_]{1,64}\Z"), "arg": re.compile(r"^[A-Za-z0-9_]{1,64}\Z"),
                "header": re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")}
HASH_NAME_HELP = {"cookie": "1 to 64 letters, digits or '_' (nginx's $cookie_NAME can name no others)",
                  "arg": "1 to 64 letters, digits or '_' (nginx's $arg_NAME can name no others)",
                  "header": "1 to 64 letters, digits or '-', starting with a letter or digit"}
# (key, lowest, highest) of a server's numeric parameters.
SERVER_NUMBERS = (("weight", 1, 1000), ("max_fails", 0, 1000), ("fail_timeout", 1, 7 * 24 * 3600),
                  ("max_conns", 0, 1048576))
# A Unix socket path: sun_path holds 107 characters and the terminating NUL.
UNIX_PATH_MAX = 107
# Balancing that keeps a client on one server, which socketio locations need;
# and the query arguments that change between the requests of one Engine.IO
# session (a cache buster, the session id once known, the transport).
STICKY_METHODS = ("ip_hash", "hash")
SESSION_VARYING_ARGS = ("t", "sid", "transport")
# Each upstream's shared memory zone (`zone NAME SIZE`), so every worker
# counts the same connections and failures. nginx refuses a zone under 8
# memory pages and needs about 800 bytes in it per server address (measured
# with nginx 1.22 and 1.26 through nginx -t: 784k for 1,000 addresses, 1556k
# for 2,000; about 900 for a Unix socket). By default: the 8 pages, and 2k per
# server entry, room for a host name that resolves to two addresses. The
# prefix keeps zone names apart from the role's other zones (TLS sessions,
# limits), which share one namespace in nginx.
ZONE_PREFIX = "realtime_proxy_upstream_"
ZONE_MIN_PAGES = 8
ZONE_PER_SERVER = 2 * 1024
ZONE_SIZES = (32 * 1024, 64 * 1024 * 1024)


def upstream_zone(upstream, page_size=4096):
    """{name, size} of UPSTREAM's shared memory zone: its zone_size as given, else sized from its servers for a
    host whose memory pages hold PAGE_SIZE bytes."""
    size = upstream.get("zone_size")
    if size is None:
        size = "%dk" % ((ZONE_MIN_PAGES * int(page_size) + ZONE_PER_SERVER * len(upstream["servers"])) // 1024)
    return {"name": ZONE_PREFIX + upstream["name"], "size": str(size)}


def check_server_address(value):
    """None when VALUE is a safe upstream server address (host:port, [v6]:port, unix:/path), else why not."""
    if isinstance(value, str) and value.startswith("unix:"):
        path = value[len("unix:"):]
        if not FILE_PATH_RE.match(path) or "/../" in path + "/" or "/./" in path + "/":
            return "the socket path must be %s" % FILE_PATH_HELP
        if len(path) > UNIX_PATH_MAX:
            return "the socket path is longer than %d characters, which a Unix socket address cannot hold" % UNIX_PATH_MAX
        return None
    problem = check_host_port(value)
    if problem and not isinstance(value, str):
        return "must be an address string (\"host:port\", \"[v6]:port\", \"unix:/path.sock\") or a mapping with address"
    return problem


class UpstreamChecks:
    """The upstream half of InventoryChecker."""

    def __init__(self):
        # name -> (index, upstream) of the present upstreams (the first of a name).
        self.present_upstreams = {}

    def upstreams(self, upstreams):
        present = set()
        seen = set()
        for where, index, upstream in self.mappings("realtime_proxy_upstreams", upstreams, "upstreams",
                                                    "name and servers", UPSTREAM_KEYS):
            name = self.name(where + ".name", upstream.get("name"), seen)
            if self.state(where, upstream) == "present" and name:
                present.add(name)
                self.present_upstreams.setdefault(name, (index, upstream))
            balance = upstream.get("balance", "round_robin")
            if balance not in BALANCE_METHODS:
                self.error(where + ".balance", "%r is not one of: %s" % (balance, ", ".join(BALANCE_METHODS)))
                balance = None
            self.servers(where + ".servers", upstream.get("servers"), balance)
            if "hash_key" in upstream:
                if balance != "hash":
                    self.error(where + ".hash_key", "applies only with balance: hash")
                self.hash_key(where + ".hash_key", upstream["hash_key"])
            elif balance == "hash":
                self.error(where + ".hash_key", "is required with balance: hash, for example {source: cookie, name: session}")
            if "next_upstream" in upstream:
                self.next_upstream(where + ".next_upstream", upstream["next_upstream"])
            if "zone_size" in upstream:
                self.size(where + ".zone_size", upstream["zone_size"], *ZONE_SIZES)
            if upstream.get("keepalive") is not None:
                keepalive = as_int(upstream["keepalive"])
                if keepalive is None or not 1 <= keepalive <= 65535:
                    self.error(where + ".keepalive", "%r is not a whole number from 1 to 65535" % (upstream["keepalive"],))
        return present

    def servers(self, where, servers, balance):
        if not isinstance(servers, list) or not servers:
            self.error(where, "must be a non-empty list of addresses (\"host:port\", \"[v6]:port\", \"unix:/path.sock\") "
                       "or mappings with address")
            return
        serving = False
        for index, server in enumerate(servers):
            swhere = "%s[%d]" % (where, index)
            if not isinstance(server, dict):
                problem = check_server_address(server)
                if problem:
                    self.error(swhere, "%r: %s" % (server, problem))
                serving = True
                continue
            self.unknown_keys(swhere, server, SERVER_KEYS)
            if "address" not in server:
                self.error(swhere + ".address", "is required in a server mapping")
            else:
                problem = check_server_address(server["address"])
                if problem:
                    self.error(swhere + ".address", "%r: %s" % (server["address"], problem))
            for key, low, high in SERVER_NUMBERS:
                if key in server:
                    number = as_int(server[key])
                    if number is None or not low <= number <= high:
                        self.error("%s.%s" % (swhere, key), "%r is not a whole number from %d to %d" % (server[key], low, high))
            for key in ("backup", "down"):
                if not isinstance(server.get(key, False), bool):
                    self.error("%s.%s" % (swhere, key), "must be true or false")
            if server.get("backup") is True and balance in NO_BACKUP_METHODS:
                self.error(swhere + ".backup", "nginx does not support backup servers with balance: %s; remove backup "
                           "or use round_robin or least_conn" % balance)
            if server.get("backup", False) is False and server.get("down", False) is False:
                serving = True
        if not serving:
            self.error(where, "every server is down or backup; at least one must serve requests")

    def hash_key(self, where, hash_key):
        if not isinstance(hash_key, dict):
            self.error(where, "must be a mapping with source (%s) and, for cookie, header and arg, name"
                       % ", ".join(HASH_SOURCES))
            return
        self.unknown_keys(where, hash_key, HASH_KEY_KEYS)
        source = hash_key.get("source")
        if source not in HASH_SOURCES:
            self.error(where + ".source", "%r is not one of: %s" % (source, ", ".join(HASH_SOURCES)))
        elif source in NAMED_HASH_SOURCES:
            name = hash_key.get("name")
            if name is None:
                self.error(where + ".name", "is required with source: %s" % source)
            elif not isinstance(name, str) or not HASH_NAME_RE[source].match(name):
                self.error(where + ".name", "%r is not %s" % (name, HASH_NAME_HELP[source]))
        elif "name" in hash_key:
            self.error(where + ".name", "applies only to sources %s; source %s takes no name"
                       % (", ".join(NAMED_HASH_SOURCES), source))
        if not isinstance(hash_key.get("consistent", False), bool):
            self.error(where + ".consistent", "must be true or false")

    def next_upstream(self, where, value):
        if not isinstance(value, dict) or not value:
            self.error(where, "must be a mapping with conditions, tries or timeout")
            return
        self.unknown_keys(where, value, NEXT_UPSTREAM_KEYS)
        if "conditions" in value:
            conditions = value["conditions"]
            if not isinstance(conditions, list) or not conditions:
                self.error(where + ".conditions", "must be a non-empty list of: %s" % ", ".join(NEXT_UPSTREAM_CONDITIONS))
            else:
                seen = set()
                for index, condition in enumerate(conditions):
                    cwhere = "%s.conditions[%d]" % (where, index)
                    if not isinstance(condition, str) or condition not in NEXT_UPSTREAM_CONDITIONS:
                        self.error(cwhere, "%r is not one of: %s" % (condition, ", ".join(NEXT_UPSTREAM_CONDITIONS)))
                    elif condition in seen:
                        self.error(cwhere, "%r is listed twice" % condition)
                    seen.add(condition if isinstance(condition, str) else None)
                if "off" in seen and len(conditions) > 1:
                    self.error(where + ".conditions", "'off' turns passing on off and must stand alone")
        if "tries" in value:
            tries = as_int(value["tries"])
            if tries is None or not 0 <= tries <= 1000:
                self.error(where + ".tries", "%r is not a whole number from 0 to 1000" % (value["tries"],))
        if "timeout" in value:
            seconds = as_int(value["timeout"])
            if seconds is None or not 0 <= seconds <= MAX_TIMEOUT:
                self.error(where + ".timeout", "%r is not a whole number of seconds from 0 to %d" % (value["timeout"], MAX_TIMEOUT))

    def sticky(self, where, name):
        """A socketio location's upstream NAME must keep each client on one server."""
        index, upstream = self.present_upstreams[name]
        servers = upstream.get("servers") if isinstance(upstream.get("servers"), list) else []
        serving = [server for server in servers if not isinstance(server, dict)
                   or (server.get("backup") is not True and server.get("down") is not True)]
        balance = upstream.get("balance", "round_robin")
        if len(serving) < 2 or balance not in BALANCE_METHODS:
            return
        need = "socketio needs every request of a session on one backend; upstream %r " % name
        if balance not in STICKY_METHODS:
            self.error(where, need + "has %d servers and balance %s: set balance: ip_hash (or hash with hash_key) on "
                       "realtime_proxy_upstreams[%d]" % (len(serving), balance, index))
            return
        key = upstream.get("hash_key") if isinstance(upstream.get("hash_key"), dict) else {}
        if key.get("source") == "uri" or (key.get("source") == "arg" and key.get("name") in SESSION_VARYING_ARGS):
            self.error(where, need + "hashes over %s, which changes between the requests of one session (Engine.IO "
                       "adds t=, sid= and transport= to them): hash over remote_addr, a cookie or a header, or set "
                       "balance: ip_hash on realtime_proxy_upstreams[%d]"
                       % ("the request URI" if key["source"] == "uri" else "the argument " + key["name"], index))
