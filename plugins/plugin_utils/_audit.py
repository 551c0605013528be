# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Audit an nginx configuration for SSE and WebSocket proxying pitfalls.

Controller side only. The input is the whole configuration as ``nginx -T``
prints it: every file, each preceded by ``# configuration file PATH:``. The
files are parsed one by one with crossplane, includes are resolved against the
files in the dump, and the merged tree is checked.

Each finding is a dict::

    {'code': 'sse_proxy_buffering', 'severity': 'high',
     'file': '/etc/nginx/sites-enabled/app.conf', 'line': 12,
     'location': '/sse/', 'message': '...', 'fix': '...'}

``file`` and ``line`` point at the directive that causes the problem, or at
the block (location, events, ...) that lacks a directive.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import math
import os
import re
import shutil
import tempfile

SEVERITIES = ('low', 'medium', 'high')
SEVERITY_RANK = {'low': 1, 'medium': 2, 'high': 3}

CROSSPLANE_MISSING = ('The realtime.nginx audit needs the crossplane Python library on the controller: '
                      'pip install crossplane on the controller (in the Python environment that runs Ansible).')

HEADER_RE = re.compile(r'^# configuration file (.+):\s*$')

SSE_TOKENS = frozenset(['sse', 'events', 'event', 'stream', 'streams', 'eventstream', 'eventsource'])
WS_TOKENS = frozenset(['ws', 'wss', 'websocket', 'websockets', 'socket', 'sockets', 'cable'])

# Documented defaults of the directives we reason about.
DEFAULT_WORKER_CONNECTIONS = 512
DEFAULT_NOFILE = 1024

# Code -> (severity, fix).
CHECKS = {
    'parse_error': ('high', 'Fix the syntax error; nginx -t would reject this configuration.'),
    'sse_proxy_buffering': (
        'high', 'Add "proxy_buffering off;" to the SSE location (and to every proxy layer in front of it); '
                'the backend may also send "X-Accel-Buffering: no".'),
    'sse_gzip': (
        'high', 'Add "gzip off;" to the SSE location, or remove text/event-stream from gzip_types.'),
    'proxy_http_version': (
        'high', 'Add "proxy_http_version 1.1;" to the location: before nginx 1.29.7 the default is 1.0, '
                'which has no Upgrade, no chunked responses and no keepalive.'),
    'ws_upgrade_headers': (
        'high', 'Add "proxy_set_header Upgrade $http_upgrade;" (or an allowlist map of it) and '
                '"proxy_set_header Connection $connection_upgrade;" with '
                '"map $http_upgrade $connection_upgrade { default \'\'; ~*^websocket$ upgrade; }" in http {}.'),
    'upgrade_map_context': (
        'high', 'Move the "map $http_upgrade ..." block into the http {} context: map is only valid there.'),
    'h2c_smuggling': (
        'high', 'Forward only the websocket token: '
                '"map $http_upgrade $connection_upgrade { default \'\'; ~*^websocket$ upgrade; }" '
                '(and the same allowlist for the Upgrade header), never "default upgrade" or a bare '
                '"Connection upgrade" with "Upgrade $http_upgrade".'),
    'keepalive_connection_close': (
        'medium', 'Clear the header for plain requests: map \'\' to an empty value instead of close, or set '
                  '"proxy_set_header Connection \'\';" in plain locations, so that upstream keepalive works.'),
    'read_timeout_short': (
        'medium', 'Raise "proxy_read_timeout" on the streaming location well above the heartbeat interval '
                  '(for example 3600s for SSE, 300s for WebSocket).'),
    'read_timeout_default': (
        'low', 'Set "proxy_read_timeout" explicitly on the streaming location (for example 3600s for SSE, '
               '300s for WebSocket); the 60 s default cuts idle streams.'),
    'worker_shutdown_timeout_missing': (
        'medium', 'Add "worker_shutdown_timeout 30s;" to the main context so that old workers holding streams '
                  'exit after a reload (clients then reconnect).'),
    'worker_connections_low': (
        'high', 'Raise "worker_connections" (in events {}) or worker_processes so that '
                'worker_processes x worker_connections >= 2 x expected streams.'),
    'worker_rlimit_nofile_low': (
        'high', 'Set "worker_rlimit_nofile" in the main context to at least 2 x worker_connections.'),
    'cors_wildcard_credentials': (
        'high', 'Never combine "Access-Control-Allow-Origin *" with credentials: reflect an allowlisted '
                'origin (map $http_origin) and add "Vary: Origin".'),
    'connect_timeout_long': (
        'medium', 'Use seconds for "proxy_connect_timeout" (for example 5s): a dead backend otherwise '
                  'hangs clients for that long.'),
}


class AuditError(Exception):
    """The audit cannot run (missing library, no configuration)."""


def _crossplane():
    try:
        import crossplane  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise AuditError(CROSSPLANE_MISSING)
    return crossplane


# --------------------------------------------------------------------------
# nginx -T splitting and parsing
# --------------------------------------------------------------------------

def split_dump(text, default_name='/etc/nginx/nginx.conf'):
    """Split ``nginx -T`` output into an ordered list of (path, content).

    Lines before the first ``# configuration file`` header (such as nginx's
    "syntax is ok" messages) are dropped. Text without any header is taken
    as a single file named default_name.
    """
    files = []
    current = None
    lines = []

    def flush():
        # nginx -T writes one newline after every file: drop it
        if lines and lines[-1] == '':
            lines.pop()
        files.append((current, '\n'.join(lines) + '\n'))

    for line in text.splitlines():
        match = HEADER_RE.match(line)
        if match:
            if current is not None:
                flush()
            current = match.group(1).strip()
            lines = []
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        flush()
    if not files and text.strip():
        files.append((default_name, text))
    return files


class Node(object):
    """One directive of the merged configuration tree."""

    __slots__ = ('name', 'args', 'line', 'file', 'block', 'parent')

    def __init__(self, name, args, line, path, parent):
        self.name = name
        self.args = args
        self.line = line
        self.file = path
        self.block = None
        self.parent = parent

    def children(self, name=None):
        if not self.block:
            return []
        if name is None:
            return list(self.block)
        return [c for c in self.block if c.name == name]

    def first(self, name):
        for child in self.block or ():
            if child.name == name:
                return child
        return None

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def context(self):
        """Names of the enclosing blocks, outermost first (main is '')."""
        return [a.name for a in reversed(list(self.ancestors()))]

    def __repr__(self):
        return 'Node(%s %s @%s:%s)' % (self.name, ' '.join(self.args), self.file, self.line)


def _parse_files(files):
    """Parse each file with crossplane; return ({path: directives}, errors)."""
    crossplane = _crossplane()
    tmp = tempfile.mkdtemp(prefix='realtime-audit-')
    parsed = {}
    errors = []
    try:
        for idx, (path, content) in enumerate(files):
            # mirror the path under the temp dir; the index keeps duplicates apart
            rel = path.lstrip('/').replace('..', '__') or 'nginx.conf'
            disk = os.path.join(tmp, str(idx), rel)
            if not os.path.isdir(os.path.dirname(disk)):
                os.makedirs(os.path.dirname(disk))
            with open(disk, 'w') as f:
                f.write(content)
            payload = crossplane.parse(disk, single=True, check_ctx=False, check_args=False,
                                       catch_errors=True, comments=False)
            config = payload['config'][0]
            parsed[path] = config.get('parsed', [])
            for err in config.get('errors', []):
                message = err.get('error', 'syntax error').replace(disk, path)
                message = re.sub(r' in %s:\d+$' % re.escape(path), '', message)
                errors.append({'file': path, 'line': err.get('line'), 'message': message})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return parsed, errors


def _glob_match(pattern, path):
    """nginx include globbing: * and ? do not cross '/'."""
    pp = pattern.split('/')
    sp = path.split('/')
    if len(pp) != len(sp):
        return False
    return all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, sp))


def _resolve_include(pattern, base_dir, paths):
    if not os.path.isabs(pattern):
        pattern = os.path.normpath(os.path.join(base_dir, pattern))
    if not any(c in pattern for c in '*?['):
        return [pattern] if pattern in paths else []
    return sorted(p for p in paths if _glob_match(pattern, p))


def build_tree(files, parsed):
    """Merge the parsed files into one tree rooted at the main (first) file."""
    main_path = files[0][0]
    base_dir = os.path.dirname(main_path)
    paths = [p for p, dummy in files]
    root = Node('', [], 0, main_path, None)

    def expand(directives, path, parent, depth):
        out = []
        for d in directives:
            name = d.get('directive', '')
            args = list(d.get('args', []))
            if name == 'include' and args and depth < 16:
                for target in _resolve_include(args[0], base_dir, paths):
                    if target == path:
                        continue
                    out.extend(expand(parsed.get(target, []), target, parent, depth + 1))
                continue
            node = Node(name, args, d.get('line', 0), path, parent)
            if 'block' in d:
                node.block = expand(d['block'], path, node, depth)
            out.append(node)
        return out

    root.block = expand(parsed.get(main_path, []), main_path, root, 0)
    return root


def walk(node):
    for child in node.block or ():
        yield child
        yield from walk(child)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_TIME_UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'M': 2592000, 'y': 31536000}
_TIME_RE = re.compile(r'(\d+)(ms|s|m|h|d|w|M|y)?')


def parse_time(value):
    """nginx time ("30", "30s", "1m30s", "500ms", "1h") in seconds, or None."""
    value = (value or '').strip()
    if not value:
        return None
    pos = 0
    total = 0.0
    for match in _TIME_RE.finditer(value):
        if match.start() != pos:
            return None
        total += int(match.group(1)) * _TIME_UNITS[match.group(2) or 's']
        pos = match.end()
    if pos != len(value):
        return None
    return total


def _fmt_seconds(value):
    return ('%d s' % value) if value == int(value) else ('%.3f s' % value)


def _scope_chain(location):
    """The location and its enclosing location/server/http blocks, innermost first."""
    chain = [location]
    for anc in location.ancestors():
        if anc.name in ('location', 'server', 'http', 'if'):
            chain.append(anc)
        if anc.name == 'http':
            break
    return chain


def effective(location, name):
    """The directive in effect for a standard inherited directive, or None."""
    for level in _scope_chain(location):
        found = None
        for child in level.block or ():
            if child.name == name:
                found = child  # last one wins for duplicates
        if found is not None:
            return found
    return None


def effective_array(block, name):
    """Array directives (proxy_set_header, add_header): inherited only when the level has none."""
    for level in [block] + [a for a in block.ancestors() if a.name in ('location', 'server', 'http', 'if')]:
        found = [c for c in level.block or () if c.name == name]
        if found:
            return found
        if level.name == 'http':
            break
    return []


def _headers(block, name='proxy_set_header'):
    """{lower-case header: node} of the headers in effect."""
    out = {}
    for node in effective_array(block, name):
        if node.args:
            out[node.args[0].lower()] = node
    return out


def _value(node, idx=1):
    if node is None or len(node.args) <= idx:
        return None
    return node.args[idx]


def _location_path(loc):
    return loc.args[-1] if loc.args else ''


def _location_label(loc):
    return 'location %s' % ' '.join(loc.args)


def _tokens(text):
    return set(t for t in re.split(r'[^a-z0-9]+', text.lower()) if t)


def _matches_user_list(loc, entries):
    path = _location_path(loc)
    full = ' '.join(loc.args)
    return any(e == path or e == full for e in entries)


def _is_on(node):
    return node is not None and bool(node.args) and node.args[0].lower() == 'on'


# --------------------------------------------------------------------------
# The audit
# --------------------------------------------------------------------------

class _Auditor(object):
    def __init__(self, root, files, expected_streams=None, cpu_count=None, sse_locations=None,
                 websocket_locations=None):
        self.root = root
        self.files = files
        self.main_file = files[0][0]
        self.expected_streams = expected_streams
        self.cpu_count = cpu_count
        self.sse_locations = list(sse_locations or [])
        self.websocket_locations = list(websocket_locations or [])
        self.findings = []
        self._seen = set()
        self.maps = {}          # variable -> map node
        self.upstreams = {}     # name -> upstream node
        self.locations = []     # classified proxied locations

    def add(self, code, node, message, location=None, path=None, line=None):
        severity, fix = CHECKS[code]
        if code == 'worker_shutdown_timeout_missing' and not any(
                loc['sse'] or loc['websocket'] for loc in self.locations):
            severity = 'low'
        f = path if path is not None else (node.file if node is not None else self.main_file)
        ln = line if line is not None else (node.line if node is not None else 1)
        key = (code, f, ln, location)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append({
            'code': code, 'severity': severity, 'file': f, 'line': ln,
            'location': location, 'message': message, 'fix': fix,
        })

    # -- collection ----------------------------------------------------------
    def collect(self):
        for node in walk(self.root):
            if node.name == 'map' and len(node.args) >= 2:
                self.maps[node.args[1]] = node
            elif node.name == 'upstream' and node.args:
                self.upstreams[node.args[0]] = node
        for node in walk(self.root):
            if node.name != 'location' or node.first('proxy_pass') is None:
                continue
            path = _location_path(node)
            toks = _tokens(' '.join(node.args))
            own_headers = set(c.args[0].lower() for c in node.children('proxy_set_header') if c.args)
            own_added = set(c.args[0].lower() for c in node.children('add_header') if c.args)
            sse = bool(toks & SSE_TOKENS) or 'x-accel-buffering' in own_added or _matches_user_list(node, self.sse_locations)
            ws = (bool(toks & WS_TOKENS) or 'upgrade' in own_headers
                  or _matches_user_list(node, self.websocket_locations))
            self.locations.append({'node': node, 'path': path, 'sse': sse, 'websocket': ws})

    # -- checks ----------------------------------------------------------------
    def run(self):
        self.collect()
        self.check_maps()
        for loc in self.locations:
            self.check_location(loc)
        self.check_cors()
        self.check_connect_timeouts()
        self.check_main()
        return self.findings

    def _map_entries(self, node):
        entries = []
        for child in node.block or ():
            if child.name in ('hostnames', 'volatile', 'include'):
                continue
            entries.append((child.name, child.args[0] if child.args else '', child))
        return entries

    def _map_unsafe_entry(self, node):
        """The entry of a $http_upgrade map that forwards a non-websocket token, or None."""
        for key, value, child in self._map_entries(node):
            v = value.lower()
            forwards = v in ('upgrade', '$http_upgrade', 'websocket') or '$http_upgrade' in v
            if not forwards:
                continue
            if key == 'default':
                return child
            if 'websocket' not in key.lower():
                return child
        return None

    def _is_upgrade_map(self, variable):
        node = self.maps.get(variable)
        return node is not None and node.args and node.args[0] == '$http_upgrade'

    def check_maps(self):
        for var, node in self.maps.items():
            if node.args[0] != '$http_upgrade':
                continue
            if node.parent is None or node.parent.name != 'http':
                ctx = '/'.join(n or 'main' for n in node.context()) or 'main'
                self.add('upgrade_map_context', node,
                         'map $http_upgrade %s is defined in the %s context, outside http {}; nginx rejects it '
                         'there and every WebSocket location depends on it.' % (var, ctx))
            bad = self._map_unsafe_entry(node)
            if bad is not None:
                self.add('h2c_smuggling', bad,
                         'map $http_upgrade %s forwards "%s" for "%s": any Upgrade token (h2c among them) '
                         'becomes a blind tunnel that bypasses nginx\'s rules.' % (var, bad.args[0] if bad.args else '', bad.name))

    def check_location(self, loc):
        node = loc['node']
        label = _location_label(node)
        path = loc['path']
        streaming = loc['sse'] or loc['websocket']
        headers = _headers(node)

        if loc['sse']:
            buffering = effective(node, 'proxy_buffering')
            if buffering is None or _is_on(buffering):
                self.add('sse_proxy_buffering', buffering if buffering is not None else node,
                         '%s looks like an SSE stream but proxy_buffering is %s: nginx holds events back.'
                         % (label, 'on' if buffering is not None else 'on (the default)'), location=path)
            gzip = effective(node, 'gzip')
            if _is_on(gzip):
                types = effective(node, 'gzip_types')
                listed = types is not None and any(t in ('*', 'text/event-stream') for t in types.args)
                if listed:
                    self.add('sse_gzip', gzip,
                             '%s looks like an SSE stream and inherits "gzip on" (%s:%s) with text/event-stream '
                             'in gzip_types (%s:%s): compressed events wait for the gzip buffer to fill.'
                             % (label, gzip.file, gzip.line, types.file, types.line), location=path)

        if streaming:
            version = effective(node, 'proxy_http_version')
            value = _value(version, 0)
            try:
                too_old = value is None or float(value) < 1.1
            except ValueError:
                too_old = True
            if too_old:
                self.add('proxy_http_version', version if version is not None else node,
                         '%s proxies %s with proxy_http_version %s.'
                         % (label, 'a WebSocket' if loc['websocket'] else 'an event stream',
                            value if value is not None else 'unset (1.0 before nginx 1.29.7)'), location=path)
            timeout = effective(node, 'proxy_read_timeout')
            if timeout is None:
                self.add('read_timeout_default', node,
                         '%s is a streaming location without proxy_read_timeout: the 60 s default cuts a stream '
                         'that is idle for a minute.' % label, location=path)
            else:
                seconds = parse_time(_value(timeout, 0))
                if seconds is not None and seconds < 60:
                    self.add('read_timeout_short', timeout,
                             '%s is a streaming location with proxy_read_timeout %s (%s): idle streams are cut '
                             'after that.' % (label, timeout.args[0], _fmt_seconds(seconds)), location=path)

        if loc['websocket']:
            self.check_websocket(node, label, path, headers)

        self.check_keepalive(node, label, path, headers, loc)

    def check_websocket(self, node, label, path, headers):
        upgrade = headers.get('upgrade')
        connection = headers.get('connection')
        up_value = _value(upgrade) or ''
        conn_value = _value(connection) or ''
        missing = []
        if upgrade is None or not up_value:
            missing.append('Upgrade')
        if connection is None or not ('$' in conn_value or 'upgrade' in conn_value.lower()):
            missing.append('Connection')
        if missing:
            self.add('ws_upgrade_headers', node,
                     '%s looks like a WebSocket location but does not forward %s: nginx drops hop-by-hop headers, '
                     'so the handshake never reaches the backend as an upgrade.' % (label, ' and '.join(missing)),
                     location=path)
            return
        # Upgrade forwarded verbatim: the Connection value must come from an allowlist
        if up_value.lower() == '$http_upgrade':
            if conn_value.startswith('$'):
                # an unsafe map is reported once, at the map
                return
            self.add('h2c_smuggling', upgrade,
                     '%s forwards "Upgrade $http_upgrade" with "Connection %s": any Upgrade token (h2c among them) '
                     'becomes a blind tunnel that bypasses nginx\'s rules.' % (label, conn_value), location=path)

    def _connection_close_source(self, connection):
        """Why the Connection header sent upstream can be "close" (a node and a text), or None."""
        value = _value(connection) if connection is not None else None
        if connection is None:
            return None, 'no "proxy_set_header Connection" (nginx then sends "Connection: close")'
        if value.lower() == 'close':
            return connection, '"proxy_set_header Connection close"'
        if value.startswith('$') and self._is_upgrade_map(value):
            mnode = self.maps[value]
            for key, val, child in self._map_entries(mnode):
                if key == '' and val.lower() == 'close':
                    return child, ('"Connection: close" for requests without Upgrade (map $http_upgrade %s maps '
                                   '\'\' to close at %s:%s)' % (value, child.file, child.line))
        return False

    def check_keepalive(self, node, label, path, headers, loc):
        target = _value(node.first('proxy_pass'), 0) or ''
        match = re.match(r'^https?://([^/:$]+)(?:[/:]|$)', target)
        if not match or '$' in target.split('://', 1)[-1].split('/', 1)[0]:
            return
        upstream = self.upstreams.get(match.group(1))
        if upstream is None or upstream.first('keepalive') is None:
            return
        connection = headers.get('connection')
        source = self._connection_close_source(connection)
        if source is False:
            return
        dummy, why = source
        self.add('keepalive_connection_close', connection if connection is not None else node,
                 '%s proxies to upstream %s, which has keepalive (%s:%s), but sends %s: every plain request '
                 'closes the upstream connection.' % (label, upstream.args[0], upstream.first('keepalive').file,
                                                      upstream.first('keepalive').line, why),
                 location=path)

    def check_cors(self):
        pairs = set()
        for node in walk(self.root):
            if node.name not in ('http', 'server', 'location', 'if') or node.block is None:
                continue
            added = effective_array(node, 'add_header')
            origin = [a for a in added if len(a.args) >= 2 and a.args[0].lower() == 'access-control-allow-origin'
                      and a.args[1].strip() == '*']
            creds = [a for a in added if len(a.args) >= 2 and a.args[0].lower() == 'access-control-allow-credentials'
                     and a.args[1].strip().lower() == 'true']
            if origin and creds:
                pairs.add((origin[0], creds[0]))
        for origin, creds in sorted(pairs, key=lambda p: (p[0].file, p[0].line)):
            loc = origin.parent if origin.parent is not None and origin.parent.name == 'location' else None
            self.add('cors_wildcard_credentials', origin,
                     '"Access-Control-Allow-Origin *" goes with "Access-Control-Allow-Credentials true" (%s:%s): '
                     'browsers reject the pair, and it invites reflecting any origin with credentials.'
                     % (creds.file, creds.line), location=_location_path(loc) if loc is not None else None)

    def check_connect_timeouts(self):
        for node in walk(self.root):
            if node.name != 'proxy_connect_timeout':
                continue
            seconds = parse_time(_value(node, 0))
            if seconds is not None and seconds > 60:
                loc = node.parent if node.parent is not None and node.parent.name == 'location' else None
                self.add('connect_timeout_long', node,
                         'proxy_connect_timeout %s (%s): a dead backend keeps clients waiting that long '
                         '(nginx caps it at about 75 s on most systems anyway).' % (node.args[0], _fmt_seconds(seconds)),
                         location=_location_path(loc) if loc is not None else None)

    def _main_anchor(self):
        for name in ('worker_processes', 'events'):
            node = self.root.first(name)
            if node is not None:
                return node
        return None

    def check_main(self):
        if self.root.first('worker_shutdown_timeout') is None:
            anchor = self._main_anchor()
            self.add('worker_shutdown_timeout_missing', anchor,
                     'worker_shutdown_timeout is not set: after a reload, old workers keep every open stream '
                     'and stay alive until the last client leaves.',
                     path=self.main_file if anchor is None else None, line=1 if anchor is None else None)
        if not self.expected_streams:
            return
        streams = int(self.expected_streams)
        wp_node = self.root.first('worker_processes')
        wp_text = _value(wp_node, 0) or '1'
        note = ''
        if wp_text == 'auto':
            if self.cpu_count:
                workers = int(self.cpu_count)
                note = ' (auto = %d CPUs)' % workers
            else:
                workers = 1
                note = ' (auto, counted as 1: CPU count unknown)'
        else:
            try:
                workers = max(1, int(wp_text))
            except ValueError:
                workers = 1
        events = self.root.first('events')
        wc_node = events.first('worker_connections') if events is not None else None
        try:
            wc = int(_value(wc_node, 0)) if wc_node is not None else DEFAULT_WORKER_CONNECTIONS
        except (TypeError, ValueError):
            wc = DEFAULT_WORKER_CONNECTIONS
        needed = 2 * streams
        per_worker = int(math.ceil(needed / float(workers)))
        if workers * wc < needed:
            self.add('worker_connections_low', wc_node if wc_node is not None else (events or None),
                     '%d expected streams need %d connections (2 per stream), but worker_processes %s%s x '
                     'worker_connections %d%s = %d; worker_connections should be at least %d.'
                     % (streams, needed, wp_text, note, wc, '' if wc_node is not None else ' (default)',
                        workers * wc, per_worker),
                     path=self.main_file if (wc_node is None and events is None) else None,
                     line=1 if (wc_node is None and events is None) else None)
        want_wc = max(wc, per_worker)
        required = 2 * want_wc
        rl_node = self.root.first('worker_rlimit_nofile')
        if rl_node is None:
            if required > DEFAULT_NOFILE:
                anchor = self._main_anchor()
                self.add('worker_rlimit_nofile_low', anchor,
                         'worker_rlimit_nofile is not set, so the service\'s open-files limit applies (often %d), '
                         'but %d worker connections need at least %d open files per worker.'
                         % (DEFAULT_NOFILE, want_wc, required),
                         path=self.main_file if anchor is None else None, line=1 if anchor is None else None)
        else:
            try:
                rlimit = int(_value(rl_node, 0))
            except (TypeError, ValueError):
                rlimit = 0
            if rlimit < required:
                self.add('worker_rlimit_nofile_low', rl_node,
                         'worker_rlimit_nofile %d is below 2 x %d worker connections = %d.' % (rlimit, want_wc, required))


def audit_config(text, expected_streams=None, cpu_count=None, sse_locations=None, websocket_locations=None,
                 ignore=None, default_name='/etc/nginx/nginx.conf'):
    """Audit ``nginx -T`` text. Returns a dict with findings, summary, files and locations."""
    files = split_dump(text or '', default_name=default_name)
    if not files:
        raise AuditError('The nginx configuration is empty: expected the output of "nginx -T".')
    parsed, errors = _parse_files(files)
    root = build_tree(files, parsed)
    auditor = _Auditor(root, files, expected_streams=expected_streams, cpu_count=cpu_count,
                       sse_locations=sse_locations, websocket_locations=websocket_locations)
    for err in errors:
        auditor.add('parse_error', None, err['message'], path=err['file'], line=err['line'] or 1)
    auditor.run()
    ignore = set(ignore or [])
    findings = [f for f in auditor.findings if f['code'] not in ignore]
    findings.sort(key=lambda f: (-SEVERITY_RANK[f['severity']], f['file'], f['line'] or 0, f['code']))
    summary = dict((s, len([f for f in findings if f['severity'] == s])) for s in SEVERITIES)
    locations = [{
        'file': loc['node'].file, 'line': loc['node'].line, 'location': ' '.join(loc['node'].args),
        'sse': loc['sse'], 'websocket': loc['websocket'],
    } for loc in auditor.locations]
    return {
        'findings': findings,
        'summary': summary,
        'files': [p for p, dummy in files],
        'locations': locations,
    }


def at_or_above(findings, fail_on):
    """The findings whose severity is at or above fail_on ('never' selects none)."""
    if fail_on not in SEVERITY_RANK:
        return []
    rank = SEVERITY_RANK[fail_on]
    return [f for f in findings if SEVERITY_RANK[f['severity']] >= rank]


def format_report(result, fail_on='high', host=None):
    """A readable, multi-line report."""
    findings = result['findings']
    summary = result['summary']
    title = 'nginx realtime audit%s: %d high, %d medium, %d low (%d files, %d proxied locations)' % (
        ' of %s' % host if host else '', summary['high'], summary['medium'], summary['low'],
        len(result.get('files', [])), len(result.get('locations', [])))
    lines = [title]
    if not findings:
        lines.append('  no findings')
    for f in findings:
        where = '%s:%s' % (f['file'], f['line'])
        lines.append('  [%s] %s at %s%s' % (f['severity'].upper(), f['code'], where,
                                            ' (location %s)' % f['location'] if f.get('location') else ''))
        lines.append('      %s' % f['message'])
        lines.append('      fix: %s' % f['fix'])
    blocking = at_or_above(findings, fail_on)
    if fail_on in SEVERITY_RANK:
        lines.append('%d finding(s) at or above "%s".' % (len(blocking), fail_on))
    return '\n'.join(lines)
