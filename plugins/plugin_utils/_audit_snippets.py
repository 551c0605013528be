# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What replaces a hand-written realtime location: the realtime_proxy snippet of its kind (controller side).

For a finding in a streaming location written by hand (no snippet of the
realtime_proxy role in it), :func:`replacement` says which entry of
``realtime_proxy_snippets`` (with ``realtime_proxy_manage_nginx_conf: false``)
gives the location a correct body, and the include line that takes the place
of the location's own directives::

    {'snippet': {'name': 'sse', 'type': 'sse', 'upstream': 'backend'},
     'include': 'include realtime_proxy/snippets/sse.conf;',
     'upstream': {'name': 'backend', 'servers': ['127.0.0.1:8000']}}

``upstream`` is what ``realtime_proxy_upstreams`` needs for it: the servers
of the location's upstream block, or the address it proxies to.
"""

from __future__ import annotations

import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import include_line
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import arg, parse_time
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import preset

PROXY_PASS_RE = re.compile(r'^https?://([^/$]+)(/[^$]*)?$')
NAME_CHARS_RE = re.compile(r'[^A-Za-z0-9_-]+')
# An upstream name the role accepts, from a proxy_pass address such as 127.0.0.1:8000.
UPSTREAM_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')


def snippet_name(loc, kind):
    """A snippet name from the location's path: /sse/ -> sse, /api/events/ -> api-events (the type for '/')."""
    return NAME_CHARS_RE.sub('-', loc.path).strip('-')[:64] or kind


def _timeouts(loc, kind):
    """The location's own read and send timeouts, where they differ from the type's preset (whole seconds)."""
    entry = {}
    for option, directive in (('read_timeout', 'proxy_read_timeout'), ('send_timeout', 'proxy_send_timeout')):
        node = loc.node.first(directive)
        seconds = parse_time(arg(node, 0)) if node is not None else None
        if seconds is not None and seconds == int(seconds) and int(seconds) != preset(kind).get(option):
            entry[option] = int(seconds)
    return entry


def replacement(target, loc):
    """The realtime_proxy snippet that replaces the hand-written streaming location LOC, or None."""
    if not loc.streaming or loc.snippet is not None:
        return None
    match = PROXY_PASS_RE.match(arg(loc.node.first('proxy_pass'), 0) or '')
    if match is None:
        return None  # variables, or another scheme: nothing to say from the text alone
    host, uri = match.group(1), match.group(2)
    block = target.upstreams.get(host)
    servers = [arg(server, 0) for server in block.children('server')] if block is not None else [host]
    upstream = host if block is not None or UPSTREAM_NAME_RE.match(host) else 'app'
    kind = 'websocket' if loc.websocket else 'sse'
    entry = {'name': snippet_name(loc, kind), 'type': kind, 'upstream': upstream}
    if uri and loc.node.args[0] not in ('~', '~*'):
        entry['upstream_path'] = uri
    entry.update(_timeouts(loc, kind))
    return {'snippet': entry, 'include': include_line(entry['name']),
            'upstream': {'name': upstream, 'servers': servers}}


def annotate(target):
    """A run_rules() annotator: a finding in a hand-written streaming location gets ``replace_with``."""
    def add(finding, loc):
        found = replacement(target, loc)
        if found is not None:
            finding['replace_with'] = found
    return add


def describe(found):
    """One line for the readable report."""
    entry = ', '.join('%s: %s' % item for item in found['snippet'].items())
    return ('realtime_proxy_snippets entry {%s} (realtime_proxy_manage_nginx_conf: false) with upstream %s (servers %s) '
            'in realtime_proxy_upstreams, and "%s" as the location\'s body'
            % (entry, found['upstream']['name'], ', '.join(found['upstream']['servers']), found['include']))
