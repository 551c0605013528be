# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit and the realtime_proxy role's snippets in a server the user wrote.

The field guide's server block (realtime_testkit.guide) in a Debian-like
nginx.conf, first as written by hand, then with its /sse/ and /ws/ bodies
replaced by include lines of the snippets the role renders (its real
templates, realtime_testkit.render): the hand-written findings name the
snippet that replaces them, the result has none, and what a user's server
sets around a snippet that the snippet hides is found.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

pytest.importorskip('crossplane', reason='the audit parses with crossplane (pip install crossplane)')

from realtime_testkit.guide import server_block, with_includes
from realtime_testkit.render import render_tree

from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import include_line, snippet_path
from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import audit_config, format_report

MAIN = ('user www-data;\nworker_processes auto;\n%spid /run/nginx.pid;\nevents {\n    worker_connections 768;\n}\n'
        'http {\n    sendfile on;\n    gzip on;\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/sites-enabled/*;\n}\n')
SITE = '/etc/nginx/sites-enabled/realtime'
SNIPPETS = [{'name': 'sse', 'type': 'sse', 'upstream': 'app'}, {'name': 'ws', 'type': 'websocket', 'upstream': 'app'}]


@pytest.fixture(scope='module')
def role_files(tmp_path_factory):
    """{path under /etc/nginx: text} of the role's files for two snippets in an nginx it does not own."""
    root = tmp_path_factory.mktemp('role')
    settings = {'realtime_proxy_manage_nginx_conf': False, 'realtime_proxy_snippets': SNIPPETS,
                'realtime_proxy_upstreams': [{'name': 'app', 'servers': ['127.0.0.1:8000'], 'keepalive': 8}]}
    return dict(('/etc/nginx/' + str(path.relative_to(root)), path.read_text()) for path in render_tree(settings, root))


def dump(site, role_files=None, shutdown=True):
    """nginx -T of the guide's nginx with SITE and the role's files (with worker_shutdown_timeout, or without)."""
    files = [('/etc/nginx/nginx.conf', MAIN % ('worker_shutdown_timeout 30s;\n' if shutdown else ''))]
    conf_d = [(path, text) for path, text in sorted((role_files or {}).items()) if '/conf.d/' in path]
    snippets = [(path, text) for path, text in sorted((role_files or {}).items()) if '/conf.d/' not in path]
    files += conf_d + [(SITE, site)] + snippets
    return ''.join('# configuration file %s:\n%s\n' % (path, text) for path, text in files)


def including(site, **includes):
    """SITE with the bodies of the given locations (/sse/=sse ...) replaced by includes of those snippets."""
    return with_includes(site, dict((path, snippet_path(name)) for path, name in includes.items()))


def guide(**includes):
    return including(server_block('127.0.0.1:8080'), **dict(('/%s/' % name, name) for name in includes))


def test_the_hand_written_findings_name_the_snippet_that_replaces_them():
    result = audit_config(dump(guide(), shutdown=False))
    codes = sorted(f['code'] for f in result['findings'])
    assert codes == ['connect_timeout_long', 'h2c_smuggling', 'worker_shutdown_timeout_missing']
    [finding] = [f for f in result['findings'] if f['code'] == 'connect_timeout_long']
    assert finding['location'] == '/sse/'
    assert finding['replace_with'] == {
        'snippet': {'name': 'sse', 'type': 'sse', 'upstream': 'backend'},
        'include': include_line('sse'),
        'upstream': {'name': 'backend', 'servers': ['127.0.0.1:8000']}}
    assert ('replace with: realtime_proxy_snippets entry {name: sse, type: sse, upstream: backend} '
            '(realtime_proxy_manage_nginx_conf: false) with upstream backend (servers 127.0.0.1:8000) in '
            'realtime_proxy_upstreams, and "include realtime_proxy/snippets/sse.conf;" as the location\'s body'
            ) in format_report(result)
    # Only findings in hand-written streaming locations: not the map's, not the main context's.
    assert [f['code'] for f in result['findings'] if 'replace_with' in f] == ['connect_timeout_long']


def test_a_websocket_location_of_its_own_timeouts_and_path():
    site = server_block('127.0.0.1:8080').replace('        proxy_read_timeout 300s;\n', '        proxy_read_timeout 900s;\n')
    site = site.replace('    location /ws/ {\n        proxy_pass http://backend;\n',
                        '    location /ws/ {\n        proxy_pass http://127.0.0.1:9000/socket/;\n        proxy_connect_timeout 2m;\n')
    [finding] = [f for f in audit_config(dump(site))['findings'] if f['location'] == '/ws/']
    assert finding['replace_with'] == {
        'snippet': {'name': 'ws', 'type': 'websocket', 'upstream': 'app', 'upstream_path': '/socket/', 'read_timeout': 900},
        'include': include_line('ws'), 'upstream': {'name': 'app', 'servers': ['127.0.0.1:9000']}}


def test_the_guides_server_with_the_snippets_has_no_finding(role_files):
    result = audit_config(dump(guide(sse=1, ws=1), role_files))
    assert result['findings'] == [], format_report(result)
    kinds = dict((loc['location'], (loc['sse'], loc['websocket'], loc['snippet'])) for loc in result['locations'])
    assert kinds == {'/': (False, False, None), '/sse/': (True, False, '/etc/nginx/realtime_proxy/snippets/sse.conf'),
                     '/ws/': (False, True, '/etc/nginx/realtime_proxy/snippets/ws.conf')}
    # The guide's own map stays, read by no directive now: it forwards nothing, so it is no h2c finding.
    assert 'map $http_upgrade $connection_upgrade' in dump(guide(sse=1, ws=1), role_files)
    # Without the main context's worker_shutdown_timeout (Debian's nginx.conf), that is the one finding left.
    codes = [f['code'] for f in audit_config(dump(guide(sse=1, ws=1), role_files, shutdown=False))['findings']]
    assert codes == ['worker_shutdown_timeout_missing']


def test_what_a_users_server_sets_that_a_snippet_hides(role_files):
    server_level = ('    server_name example.com;\n    add_header X-Frame-Options DENY always;\n'
                    '    proxy_set_header X-Request-Id $request_id;\n    proxy_buffering on;\n')
    site = guide(sse=1, ws=1).replace('    server_name example.com;\n', server_level)
    site = site.replace('        include realtime_proxy/snippets/ws.conf;\n',
                        '        include realtime_proxy/snippets/ws.conf;\n        proxy_set_header Host $host;\n')
    text = dump(site, role_files)
    findings = [(f['code'], f['location'], f['line']) for f in audit_config(text)['findings']]
    lines = dict((needle, [n for n, line in enumerate(site.splitlines(), 1) if needle in line][0])
                 for needle in ('X-Frame-Options', 'X-Request-Id', 'Host $host'))
    assert sorted(findings) == sorted([
        # The sse snippet adds X-Accel-Buffering: the server's add_header no longer reaches /sse/.
        ('snippet_conflict', '/sse/', lines['X-Frame-Options']),
        # Both snippets set the forwarded headers: the server's request header reaches neither.
        ('snippet_conflict', '/sse/', lines['X-Request-Id']),
        ('snippet_conflict', '/ws/', lines['X-Request-Id']),
        # /ws/ sets Host beside the snippet, which sets it too.
        ('snippet_conflict', '/ws/', lines['Host $host']),
    ]), format_report(audit_config(text))
    # proxy_buffering on at server level is no finding: the sse snippet's own "off" wins in its location.
    report = format_report(audit_config(text))
    assert 'does not reach location /sse/: the snippet /etc/nginx/realtime_proxy/snippets/sse.conf has add_header' in report
    assert 'location /ws/ sets proxy_set_header Host beside the snippet\'s (/etc/nginx/realtime_proxy/snippets/ws.conf:' in report


def test_a_snippet_of_the_wrong_type_is_found_by_what_it_lacks(role_files):
    # The websocket snippet in an SSE location leaves buffering on: the server's, which the sse snippet would override.
    site = including(server_block('127.0.0.1:8080'), **{'/sse/': 'ws', '/ws/': 'ws'}).replace(
        '    server_name example.com;\n', '    server_name example.com;\n    proxy_buffering on;\n')
    findings = [(f['code'], f['location']) for f in audit_config(dump(site, role_files))['findings']]
    assert findings == [('sse_proxy_buffering', '/sse/')]


def test_an_upgrade_map_is_judged_where_it_is_read():
    map_only = ('map $http_upgrade $upgrade_everything {\n    default upgrade;\n}\n'
                'server {\n    listen 8080;\n    location / {\n        return 204;\n    }\n}\n')
    assert audit_config(dump(map_only))['findings'] == []
    read = map_only.replace('return 204;', 'add_header X-Seen $upgrade_everything;\n        return 204;')
    assert [f['code'] for f in audit_config(dump(read))['findings']] == ['h2c_smuggling']
