# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules of the nginx realtime audit, one function per rule (controller side).

A rule is a generator decorated with :func:`rule`, which gives its code, its
severity and its fix; its docstring says what it checks. It reads an
:class:`AuditTarget` (the parsed configuration with its proxied locations
classified as SSE or WebSocket) and yields a :class:`Hit` per problem: the
node at fault (or the block that lacks a directive), a message and the
location it is about (a :class:`ProxiedLocation`, or a path). A rule whose
finding weighs less in some configurations yields its hit with a lower
severity itself. :func:`run_rules` turns hits into finding dicts::

    {'code': 'sse_proxy_buffering', 'severity': 'high',
     'file': '/etc/nginx/sites-enabled/app.conf', 'line': 12,
     'location': '/sse/', 'message': '...', 'fix': '...'}
"""

from __future__ import annotations

import collections
import math
import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import SNIPPET_DIR
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import (
    arg,
    effective,
    effective_array,
    effective_headers,
    enclosing_location,
    is_on,
    location_path,
    parse_time,
    walk,
)

SEVERITIES = ('low', 'medium', 'high')

SSE_TOKENS = frozenset(['sse', 'events', 'event', 'stream', 'streams', 'eventstream', 'eventsource'])
WS_TOKENS = frozenset(['ws', 'wss', 'websocket', 'websockets', 'socket', 'sockets', 'cable'])

# Documented defaults of the directives we reason about.
DEFAULT_WORKER_CONNECTIONS = 512
DEFAULT_NOFILE = 1024

UPGRADE_ALLOWLIST_MAP = '"map $http_upgrade $connection_upgrade { default \'\'; ~*^websocket$ upgrade; }"'
BLIND_TUNNEL = 'any Upgrade token (h2c among them) becomes a blind tunnel that bypasses nginx\'s rules.'
STREAM_TIMEOUT_EXAMPLE = '(for example 3600s for SSE, 300s for WebSocket)'


# --------------------------------------------------------------------------
# What the rules read
# --------------------------------------------------------------------------

def _tokens(text):
    return set(t for t in re.split(r'[^a-z0-9]+', text.lower()) if t)


def is_snippet(path):
    """Whether PATH is a snippet of the realtime_proxy role (realtime_proxy_snippets)."""
    return ('/%s/' % SNIPPET_DIR) in (path or '')


class ProxiedLocation:
    """A location with proxy_pass, classified as SSE and/or WebSocket.

    By its path's words (SSE_TOKENS, WS_TOKENS), by what it sets itself (an
    X-Accel-Buffering response header, an Upgrade request header), or because
    the user listed it by path or by its full arguments.
    """

    def __init__(self, node, sse_locations, websocket_locations):
        self.node = node
        self.path = location_path(node)
        self.label = 'location %s' % ' '.join(node.args)
        # The realtime_proxy snippet the location includes (the file its directives come from), or None.
        self.snippet = next((child.file for child in node.children() if is_snippet(child.file)), None)
        self.headers = effective_headers(node)
        toks = _tokens(' '.join(node.args))
        own_headers = set(c.args[0].lower() for c in node.children('proxy_set_header') if c.args)
        own_added = set(c.args[0].lower() for c in node.children('add_header') if c.args)
        self.sse = bool(toks & SSE_TOKENS) or 'x-accel-buffering' in own_added or self._listed(sse_locations)
        self.websocket = bool(toks & WS_TOKENS) or 'upgrade' in own_headers or self._listed(websocket_locations)

    @property
    def streaming(self):
        return self.sse or self.websocket

    def _listed(self, entries):
        full = ' '.join(self.node.args)
        return any(e == self.path or e == full for e in entries)


class AuditTarget:
    """The configuration under audit and the facts about it that the rules share."""

    def __init__(self, config, expected_streams=None, cpu_count=None, sse_locations=None,
                 websocket_locations=None):
        self.config = config
        self.root = config.root
        self.main_file = config.main_file
        self.expected_streams = expected_streams
        self.cpu_count = cpu_count
        self.maps = {}          # variable -> map node
        self.upstreams = {}     # name -> upstream node
        for node in walk(self.root):
            if node.name == 'map' and len(node.args) >= 2:
                self.maps[node.args[1]] = node
            elif node.name == 'upstream' and node.args:
                self.upstreams[node.args[0]] = node
        self.locations = [ProxiedLocation(node, list(sse_locations or []), list(websocket_locations or []))
                          for node in walk(self.root)
                          if node.name == 'location' and node.first('proxy_pass') is not None]
        self._by_node = dict((id(loc.node), loc) for loc in self.locations)
        self.used_variables = _used_variables(self.root)

    def proxied_location(self, node):
        """The proxied location NODE is in (or is), or None."""
        for block in [node] + list(node.ancestors()):
            if id(block) in self._by_node:
                return self._by_node[id(block)]
        return None

    def streams(self, kind='streaming'):
        """The proxied locations of one kind: 'sse', 'websocket' or 'streaming' (either)."""
        return [loc for loc in self.locations if getattr(loc, kind)]

    def upgrade_maps(self):
        """(variable, node) of every ``map $http_upgrade ...``, in order."""
        return [(var, node) for var, node in self.maps.items() if node.args[0] == '$http_upgrade']

    def anchor(self):
        """Where a missing main-context directive is reported: worker_processes, events, or None."""
        for name in ('worker_processes', 'events'):
            node = self.root.first(name)
            if node is not None:
                return node
        return None


# The directives that define a variable, and the argument that names it.
DEFINING = {'map': 1, 'geo': -1, 'split_clients': -1}
VARIABLE_RE = re.compile(r'\$\{?([A-Za-z0-9_]+)')


def _used_variables(root):
    """The names of the variables some directive reads (not where a map or geo defines them)."""
    used = set()
    for node in walk(root):
        args = list(node.args)
        if node.name in DEFINING and args:
            del args[DEFINING[node.name]]
        for value in args:
            used.update(VARIABLE_RE.findall(value))
    return used


# One problem: the node at fault (None: the main file) and a message; location is the ProxiedLocation
# (or the location path) it is about; path and line override the node's; severity overrides the rule's.
Hit = collections.namedtuple('Hit', 'node message location path line severity', defaults=(None,) * 4)

Rule = collections.namedtuple('Rule', 'code severity fix check')

RULES = []


def rule(code, severity, fix):
    """Register the decorated generator as the rule CODE with its severity and its fix."""
    def register(check):
        RULES.append(Rule(code, severity, fix, check))
        return check
    return register


def _fmt_seconds(value):
    return ('%d s' % value) if value == int(value) else ('%.3f s' % value)


# --------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------

@rule('parse_error', 'high', 'Fix the syntax error; nginx -t would reject this configuration.')
def parse_error(target):
    """crossplane could not parse a file of the dump."""
    for err in target.config.errors:
        yield Hit(None, err['message'], path=err['file'], line=err['line'] or 1)


@rule('upgrade_map_context', 'high',
      'Move the "map $http_upgrade ..." block into the http {} context: map is only valid there.')
def upgrade_map_context(target):
    """A ``map $http_upgrade`` outside http {}."""
    for var, node in target.upgrade_maps():
        if node.parent is None or node.parent.name != 'http':
            ctx = '/'.join(n or 'main' for n in node.context()) or 'main'
            yield Hit(node, 'map $http_upgrade %s is defined in the %s context, outside http {}; nginx rejects it '
                            'there and every WebSocket location depends on it.' % (var, ctx))


def _map_entries(node):
    """(key, value, node) of a map's entries."""
    return [(child.name, child.args[0] if child.args else '', child)
            for child in node.block or () if child.name not in ('hostnames', 'volatile', 'include')]


def _map_unsafe_entry(node):
    """The entry of a $http_upgrade map that forwards a non-websocket token, or None."""
    for key, value, child in _map_entries(node):
        v = value.lower()
        forwards = v in ('upgrade', '$http_upgrade', 'websocket') or '$http_upgrade' in v
        if forwards and (key == 'default' or 'websocket' not in key.lower()):
            return child
    return None


def _missing_upgrade_headers(loc):
    """The names of the Upgrade/Connection request headers a WebSocket location does not forward."""
    upgrade, connection = loc.headers.get('upgrade'), loc.headers.get('connection')
    conn_value = arg(connection) or ''
    missing = []
    if upgrade is None or not arg(upgrade):
        missing.append('Upgrade')
    if connection is None or not ('$' in conn_value or 'upgrade' in conn_value.lower()):
        missing.append('Connection')
    return missing


@rule('h2c_smuggling', 'high',
      'Forward only the websocket token: ' + UPGRADE_ALLOWLIST_MAP + ' (and the same allowlist for the Upgrade '
      'header), never "default upgrade" or a bare "Connection upgrade" with "Upgrade $http_upgrade".')
def h2c_smuggling(target):
    """An Upgrade forwarded for any token: by a $http_upgrade map that a directive reads, or with a literal
    Connection value. A map no directive reads forwards nothing (a user's old map beside the role's snippets)."""
    for var, node in target.upgrade_maps():
        if var.lstrip('$') not in target.used_variables:
            continue
        bad = _map_unsafe_entry(node)
        if bad is not None:
            yield Hit(bad, 'map $http_upgrade %s forwards "%s" for "%s": %s'
                           % (var, bad.args[0] if bad.args else '', bad.name, BLIND_TUNNEL))
    for loc in target.streams('websocket'):
        if _missing_upgrade_headers(loc):
            continue
        upgrade = loc.headers['upgrade']
        conn_value = arg(loc.headers['connection']) or ''
        # a Connection from a map was judged at the map
        if (arg(upgrade) or '').lower() == '$http_upgrade' and not conn_value.startswith('$'):
            yield Hit(upgrade, '%s forwards "Upgrade $http_upgrade" with "Connection %s": %s'
                               % (loc.label, conn_value, BLIND_TUNNEL), location=loc)


@rule('sse_proxy_buffering', 'high',
      'Add "proxy_buffering off;" to the SSE location (and to every proxy layer in front of it); '
      'the backend may also send "X-Accel-Buffering: no".')
def sse_proxy_buffering(target):
    """An SSE location with proxy_buffering on (the default)."""
    for loc in target.streams('sse'):
        buffering = effective(loc.node, 'proxy_buffering')
        if buffering is None or is_on(buffering):
            yield Hit(buffering if buffering is not None else loc.node,
                      '%s looks like an SSE stream but proxy_buffering is %s: nginx holds events back.'
                      % (loc.label, 'on' if buffering is not None else 'on (the default)'), location=loc)


@rule('sse_gzip', 'high', 'Add "gzip off;" to the SSE location, or remove text/event-stream from gzip_types.')
def sse_gzip(target):
    """An SSE location with gzip on and text/event-stream in gzip_types."""
    for loc in target.streams('sse'):
        gzip = effective(loc.node, 'gzip')
        if not is_on(gzip):
            continue
        types = effective(loc.node, 'gzip_types')
        if types is not None and any(t in ('*', 'text/event-stream') for t in types.args):
            yield Hit(gzip, '%s looks like an SSE stream and inherits "gzip on" (%s:%s) with text/event-stream '
                            'in gzip_types (%s:%s): compressed events wait for the gzip buffer to fill.'
                            % (loc.label, gzip.file, gzip.line, types.file, types.line), location=loc)


@rule('proxy_http_version', 'high',
      'Add "proxy_http_version 1.1;" to the location: before nginx 1.29.7 the default is 1.0, '
      'which has no Upgrade, no chunked responses and no keepalive.')
def proxy_http_version(target):
    """A streaming location that proxies with HTTP/1.0 (set, or the old default)."""
    for loc in target.streams():
        version = effective(loc.node, 'proxy_http_version')
        value = arg(version, 0)
        try:
            too_old = value is None or float(value) < 1.1
        except ValueError:
            too_old = True
        if too_old:
            yield Hit(version if version is not None else loc.node,
                      '%s proxies %s with proxy_http_version %s.'
                      % (loc.label, 'a WebSocket' if loc.websocket else 'an event stream',
                         value if value is not None else 'unset (1.0 before nginx 1.29.7)'), location=loc)


@rule('read_timeout_default', 'low',
      'Set "proxy_read_timeout" explicitly on the streaming location ' + STREAM_TIMEOUT_EXAMPLE
      + '; the 60 s default cuts idle streams.')
def read_timeout_default(target):
    """A streaming location without proxy_read_timeout."""
    for loc in target.streams():
        if effective(loc.node, 'proxy_read_timeout') is None:
            yield Hit(loc.node, '%s is a streaming location without proxy_read_timeout: the 60 s default cuts a '
                                'stream that is idle for a minute.' % loc.label, location=loc)


@rule('read_timeout_short', 'medium',
      'Raise "proxy_read_timeout" on the streaming location well above the heartbeat interval '
      + STREAM_TIMEOUT_EXAMPLE + '.')
def read_timeout_short(target):
    """A streaming location with proxy_read_timeout under 60 s."""
    for loc in target.streams():
        timeout = effective(loc.node, 'proxy_read_timeout')
        seconds = parse_time(arg(timeout, 0)) if timeout is not None else None
        if seconds is not None and seconds < 60:
            yield Hit(timeout, '%s is a streaming location with proxy_read_timeout %s (%s): idle streams are cut '
                               'after that.' % (loc.label, timeout.args[0], _fmt_seconds(seconds)), location=loc)


@rule('ws_upgrade_headers', 'high',
      'Add "proxy_set_header Upgrade $http_upgrade;" (or an allowlist map of it) and '
      '"proxy_set_header Connection $connection_upgrade;" with ' + UPGRADE_ALLOWLIST_MAP + ' in http {}.')
def ws_upgrade_headers(target):
    """A WebSocket location that does not forward the Upgrade/Connection pair."""
    for loc in target.streams('websocket'):
        missing = _missing_upgrade_headers(loc)
        if missing:
            yield Hit(loc.node, '%s looks like a WebSocket location but does not forward %s: nginx drops '
                                'hop-by-hop headers, so the handshake never reaches the backend as an upgrade.'
                                % (loc.label, ' and '.join(missing)), location=loc)


def _connection_close_source(target, connection):
    """Why the Connection header sent upstream can be "close" (a node and a text), or None."""
    if connection is None:
        return None, 'no "proxy_set_header Connection" (nginx then sends "Connection: close")'
    value = arg(connection) or ''
    if value.lower() == 'close':
        return connection, '"proxy_set_header Connection close"'
    mnode = target.maps.get(value) if value.startswith('$') else None
    if mnode is not None and mnode.args and mnode.args[0] == '$http_upgrade':
        for key, val, child in _map_entries(mnode):
            if key == '' and val.lower() == 'close':
                return child, ('"Connection: close" for requests without Upgrade (map $http_upgrade %s maps '
                               '\'\' to close at %s:%s)' % (value, child.file, child.line))
    return None


@rule('keepalive_connection_close', 'medium',
      'Clear the header for plain requests: map \'\' to an empty value instead of close, or set '
      '"proxy_set_header Connection \'\';" in plain locations, so that upstream keepalive works.')
def keepalive_connection_close(target):
    """A location that sends "Connection: close" to an upstream with keepalive."""
    for loc in target.locations:
        dest = arg(loc.node.first('proxy_pass'), 0) or ''
        match = re.match(r'^https?://([^/:$]+)(?:[/:]|$)', dest)
        if not match or '$' in dest.split('://', 1)[-1].split('/', 1)[0]:
            continue
        upstream = target.upstreams.get(match.group(1))
        keepalive = upstream.first('keepalive') if upstream is not None else None
        connection = loc.headers.get('connection')
        source = _connection_close_source(target, connection) if keepalive is not None else None
        if source is not None:
            yield Hit(connection if connection is not None else loc.node,
                      '%s proxies to upstream %s, which has keepalive (%s:%s), but sends %s: every plain request '
                      'closes the upstream connection.'
                      % (loc.label, upstream.args[0], keepalive.file, keepalive.line, source[1]), location=loc)


def _added(headers, name, value):
    return [a for a in headers if len(a.args) >= 2 and a.args[0].lower() == name and a.args[1].strip().lower() == value]


def _location_of(node):
    loc = enclosing_location(node)
    return location_path(loc) if loc is not None else None


def _enclosing(node, name):
    """The nearest enclosing block called NAME, or None."""
    for ancestor in node.ancestors():
        if ancestor.name == name:
            return ancestor
    return None


def _quic_listen(server):
    """The server's first HTTP/3 listener (``listen ... quic``; ``http3`` in nginx 1.25.0), or None."""
    for listen in server.children('listen'):
        if any(a.lower() in ('quic', 'http3') for a in listen.args[1:]):
            return listen
    return None


@rule('http3_host_header', 'high',
      'Send the host from a map that falls back to $host: "map $http_host $proxied_host { \'\' $host; '
      'default $http_host; }" in http {}, and "proxy_set_header Host $proxied_host;" (the same for '
      'X-Forwarded-Host).')
def http3_host_header(target):
    """A location of a server with an HTTP/3 (quic) listener that passes $http_host upstream.

    HTTP/3 clients send :authority and no Host header, and nginx leaves
    $http_host empty for them (nginx trac 2281, 2468). An empty
    proxy_set_header value drops the header, so the backend gets a request
    without Host, which every framework that checks Host answers with 400.
    """
    for loc in target.locations:
        server = _enclosing(loc.node, 'server')
        listen = _quic_listen(server) if server is not None else None
        if listen is None:
            continue
        for name, header in sorted(loc.headers.items()):
            if '$http_host' in (arg(header) or '').lower():
                yield Hit(header, '%s sends "%s %s" upstream, but its server listens for HTTP/3 (%s:%s): nginx '
                                  'leaves $http_host empty for HTTP/3 requests, so the backend gets no %s and '
                                  'answers 400 if it checks it.'
                                  % (loc.label, header.args[0], arg(header), listen.file, listen.line,
                                     header.args[0]), location=loc)


@rule('snippet_conflict', 'medium',
      'Repeat the hidden headers in the location, beside the include line, or give them to the snippet\'s '
      'realtime_proxy_snippets entry (add_header in its directives, fixed request headers in its proxy_headers); '
      'and drop from the location the headers the snippet sets itself.')
def snippet_conflict(target):
    """In a location that includes a realtime_proxy snippet: add_header and proxy_set_header directives of the
    server or http {} that the snippet's own hide, and headers the location sets again beside the snippet.

    nginx inherits an array directive only into a block that has none of its own, so a snippet's add_header
    (X-Accel-Buffering, CORS) or proxy_set_header (the forwarded headers) drops every one the location would
    inherit. A header set both in the location and in the snippet is sent twice. Directives the snippet sets
    (proxy_buffering off in an sse snippet) win over the server's at the location's level, so a server's
    proxy_buffering on, say, is no conflict: it is found by the other rules where a snippet does not turn it off.
    """
    for loc in target.locations:
        if loc.snippet is None:
            continue
        for name in ('add_header', 'proxy_set_header'):
            own = [child for child in loc.node.children(name) if child.args]
            theirs = dict((child.args[0].lower(), child) for child in own if child.file == loc.snippet)
            if not theirs:
                continue
            here = set(child.args[0].lower() for child in own)
            for hidden in effective_array(loc.node.parent, name) if loc.node.parent is not None else []:
                if hidden.args and hidden.args[0].lower() not in here:
                    yield Hit(hidden, '%s %s (%s:%s) does not reach %s: the snippet %s has %s directives of its own, '
                                      'and nginx then inherits none.'
                              % (name, hidden.args[0], hidden.file, hidden.line, loc.label, loc.snippet, name),
                              location=loc)
            for child in own:
                if child.file != loc.snippet and child.args[0].lower() in theirs:
                    first = theirs[child.args[0].lower()]
                    yield Hit(child, '%s sets %s %s beside the snippet\'s (%s:%s): nginx sends both.'
                                     % (loc.label, name, child.args[0], first.file, first.line), location=loc)


@rule('cors_wildcard_credentials', 'high',
      'Never combine "Access-Control-Allow-Origin *" with credentials: reflect an allowlisted '
      'origin (map $http_origin) and add "Vary: Origin".')
def cors_wildcard_credentials(target):
    """A block whose responses carry "Access-Control-Allow-Origin *" and "Access-Control-Allow-Credentials true"."""
    pairs = set()
    for node in walk(target.root):
        if node.name not in ('http', 'server', 'location', 'if') or node.block is None:
            continue
        added = effective_array(node, 'add_header')
        origin = _added(added, 'access-control-allow-origin', '*')
        creds = _added(added, 'access-control-allow-credentials', 'true')
        if origin and creds:
            pairs.add((origin[0], creds[0]))
    for origin, creds in sorted(pairs, key=lambda p: (p[0].file, p[0].line)):
        yield Hit(origin, '"Access-Control-Allow-Origin *" goes with "Access-Control-Allow-Credentials true" (%s:%s): '
                          'browsers reject the pair, and it invites reflecting any origin with credentials.'
                          % (creds.file, creds.line), location=_location_of(origin))


@rule('connect_timeout_long', 'medium',
      'Use seconds for "proxy_connect_timeout" (for example 5s): a dead backend otherwise hangs clients for '
      'that long.')
def connect_timeout_long(target):
    """A proxy_connect_timeout over 60 s."""
    for node in walk(target.root):
        seconds = parse_time(arg(node, 0)) if node.name == 'proxy_connect_timeout' else None
        if seconds is not None and seconds > 60:
            yield Hit(node, 'proxy_connect_timeout %s (%s): a dead backend keeps clients waiting that long '
                            '(nginx caps it at about 75 s on most systems anyway).'
                            % (node.args[0], _fmt_seconds(seconds)), location=_location_of(node))


@rule('worker_shutdown_timeout_missing', 'medium',
      'Add "worker_shutdown_timeout 30s;" to the main context so that old workers holding streams '
      'exit after a reload (clients then reconnect).')
def worker_shutdown_timeout_missing(target):
    """No worker_shutdown_timeout in the main context (low when no location streams)."""
    if target.root.first('worker_shutdown_timeout') is None:
        yield Hit(target.anchor(), 'worker_shutdown_timeout is not set: after a reload, old workers keep every '
                                   'open stream and stay alive until the last client leaves.',
                  severity=None if target.streams() else 'low')


Capacity = collections.namedtuple('Capacity', 'streams workers workers_text note wc_node connections events')


def _capacity(target):
    """What worker_processes and worker_connections allow, or None without expected_streams."""
    if not target.expected_streams:
        return None
    wp_text = arg(target.root.first('worker_processes'), 0) or '1'
    note = ''
    if wp_text == 'auto':
        workers = int(target.cpu_count) if target.cpu_count else 1
        note = (' (auto = %d CPUs)' % workers) if target.cpu_count else ' (auto, counted as 1: CPU count unknown)'
    else:
        try:
            workers = max(1, int(wp_text))
        except ValueError:
            workers = 1
    events = target.root.first('events')
    wc_node = events.first('worker_connections') if events is not None else None
    try:
        wc = int(arg(wc_node, 0)) if wc_node is not None else DEFAULT_WORKER_CONNECTIONS
    except (TypeError, ValueError):
        wc = DEFAULT_WORKER_CONNECTIONS
    return Capacity(int(target.expected_streams), workers, wp_text, note, wc_node, wc, events)


def _per_worker(cap):
    """Connections each worker must hold: 2 per stream, spread over the workers."""
    return int(math.ceil(2 * cap.streams / float(cap.workers)))


@rule('worker_connections_low', 'high',
      'Raise "worker_connections" (in events {}) or worker_processes so that '
      'worker_processes x worker_connections >= 2 x expected streams.')
def worker_connections_low(target):
    """worker_processes x worker_connections below 2 x expected_streams."""
    cap = _capacity(target)
    if cap is not None and cap.workers * cap.connections < 2 * cap.streams:
        yield Hit(cap.wc_node if cap.wc_node is not None else cap.events,
                  '%d expected streams need %d connections (2 per stream), but worker_processes %s%s x '
                  'worker_connections %d%s = %d; worker_connections should be at least %d.'
                  % (cap.streams, 2 * cap.streams, cap.workers_text, cap.note, cap.connections,
                     '' if cap.wc_node is not None else ' (default)', cap.workers * cap.connections,
                     _per_worker(cap)))


@rule('worker_rlimit_nofile_low', 'high',
      'Set "worker_rlimit_nofile" in the main context to at least worker_connections, with a reserve for '
      'log and temporary files.')
def worker_rlimit_nofile_low(target):
    """worker_rlimit_nofile (or the usual default open-files limit) below the worker connections needed.

    Every connection, to a client or to a backend, is one open file, and
    worker_connections already counts both sides of a proxied stream.
    """
    cap = _capacity(target)
    if cap is None:
        return
    required = max(cap.connections, _per_worker(cap))
    rl_node = target.root.first('worker_rlimit_nofile')
    if rl_node is None:
        if required > DEFAULT_NOFILE:
            yield Hit(target.anchor(), 'worker_rlimit_nofile is not set, so the service\'s open-files limit applies '
                                       '(often %d), but %d worker connections need as many open files per '
                                       'worker.' % (DEFAULT_NOFILE, required))
        return
    try:
        rlimit = int(arg(rl_node, 0))
    except (TypeError, ValueError):
        rlimit = 0
    if rlimit < required:
        yield Hit(rl_node, 'worker_rlimit_nofile %d is below the %d worker connections each worker must hold '
                           '(one open file each).' % (rlimit, required))


# --------------------------------------------------------------------------
# Running them
# --------------------------------------------------------------------------

def run_rules(target, rules=None, annotate=None):
    """Every rule's findings (dicts), each (code, file, line, location) once, in rule order.

    ANNOTATE(finding, location) may add to a finding about a proxied location (a ProxiedLocation)."""
    findings = []
    seen = set()
    for each in RULES if rules is None else rules:
        for hit in each.check(target):
            path = hit.path if hit.path is not None else (hit.node.file if hit.node is not None else target.main_file)
            line = hit.line if hit.line is not None else (hit.node.line if hit.node is not None else 1)
            loc = hit.location if isinstance(hit.location, ProxiedLocation) else (
                target.proxied_location(hit.node) if hit.node is not None and hit.location is not None else None)
            location = loc.path if isinstance(hit.location, ProxiedLocation) else hit.location
            key = (each.code, path, line, location)
            if key in seen:
                continue
            seen.add(key)
            finding = {
                'code': each.code, 'severity': hit.severity or each.severity, 'file': path, 'line': line,
                'location': location, 'message': hit.message, 'fix': each.fix,
            }
            if annotate is not None and loc is not None:
                annotate(finding, loc)
            findings.append(finding)
    return findings
