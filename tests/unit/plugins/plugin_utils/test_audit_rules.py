# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit's rules, on the dumps in tests/unit/audit_configs/.

Each file in tests/unit/audit_configs/ is an ``nginx -T`` dump. Lines before the
first ``# configuration file`` header (dropped by the audit, as nginx's own
"syntax is ok" line is) say what the audit must report:

    # params: {"expected_streams": 2000}
    # expect: CODE FILE:LINE

A file without ``# expect:`` lines (the clean_* ones) must produce no finding at
all; the others must produce exactly the expected findings.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import importlib.util
import json
import os
import re

import pytest

pytest.importorskip('crossplane', reason='the audit parses with crossplane (pip install crossplane)')

from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import (
    audit_config,
    format_report,
)
from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_rules import (
    RULES,
    SEVERITIES,
    Rule,
)

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'audit_configs')
CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, '*.conf')))


def _expectations(text):
    params = {}
    expected = set()
    for line in text.splitlines():
        if line.startswith('# configuration file '):
            break
        if line.startswith('# params:'):
            params = json.loads(line.split(':', 1)[1])
        elif line.startswith('# expect:'):
            code, where = line.split(':', 1)[1].split()
            path, lineno = where.rsplit(':', 1)
            expected.add((code, path, int(lineno)))
    return params, expected


def test_there_are_configs():
    names = [os.path.basename(p) for p in CONFIGS]
    assert len([n for n in names if n.startswith('clean_')]) >= 2
    assert len(names) >= 15


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.basename(p)[:-5] for p in CONFIGS])
def test_audit_config_file(path):
    with open(path) as f:
        text = f.read()
    params, expected = _expectations(text)
    result = audit_config(text, **params)
    got = set((f['code'], f['file'], f['line']) for f in result['findings'])
    report = format_report(result)
    if os.path.basename(path).startswith('clean_'):
        assert not expected
        assert got == set(), report
    else:
        assert expected, 'pitfall config without "# expect:" lines'
        assert got == expected, report
    for finding in result['findings']:
        assert finding['severity'] in ('low', 'medium', 'high')
        assert finding['message'] and finding['fix']


def test_pitfall_codes_cover_the_issue():
    codes = set()
    for path in CONFIGS:
        with open(path) as f:
            codes |= set(c for c, dummy, dummy2 in _expectations(f.read())[1])
    assert codes >= set([
        'sse_proxy_buffering', 'sse_gzip', 'proxy_http_version', 'ws_upgrade_headers', 'upgrade_map_context',
        'h2c_smuggling', 'keepalive_connection_close', 'read_timeout_short', 'worker_shutdown_timeout_missing',
        'worker_connections_low', 'worker_rlimit_nofile_low', 'cors_wildcard_credentials', 'connect_timeout_long',
        'http3_host_header',
    ])


def test_severities():
    with open(os.path.join(CONFIG_DIR, 'h2c_smuggling_map.conf')) as f:
        result = audit_config(f.read())
    assert [f['severity'] for f in result['findings']] == ['high']
    with open(os.path.join(CONFIG_DIR, 'read_timeout_default.conf')) as f:
        result = audit_config(f.read())
    assert [f['severity'] for f in result['findings']] == ['low']


def test_user_listed_location_needed():
    with open(os.path.join(CONFIG_DIR, 'sse_proxy_buffering_user_listed.conf')) as f:
        text = f.read()
    assert audit_config(text)['findings'] == []
    assert [f['code'] for f in audit_config(text, sse_locations=['/feed/'])['findings']] == ['sse_proxy_buffering']


def test_plain_nginx_conf_without_headers():
    text = 'worker_shutdown_timeout 10s;\nevents {}\nhttp {\n  server {\n    location /sse/ { proxy_pass http://x; }\n  }\n}\n'
    result = audit_config(text)
    assert result['files'] == ['/etc/nginx/nginx.conf']
    codes = dict((f['code'], f['line']) for f in result['findings'])
    assert codes['sse_proxy_buffering'] == 5 and codes['proxy_http_version'] == 5


def test_relative_include_resolves_against_main_dir():
    text = ('# configuration file /opt/ngx/nginx.conf:\nworker_shutdown_timeout 5s;\nevents {}\nhttp {\n'
            '    include sites/*.conf;\n}\n\n'
            '# configuration file /opt/ngx/sites/a.conf:\nserver {\n    location /ws/ {\n'
            '        proxy_pass http://b;\n        proxy_http_version 1.1;\n        proxy_read_timeout 300s;\n    }\n}\n')
    result = audit_config(text)
    assert [(f['code'], f['file'], f['line']) for f in result['findings']] == [
        ('ws_upgrade_headers', '/opt/ngx/sites/a.conf', 2)]
    assert result['locations'][0]['websocket'] is True


def test_worker_processes_auto_uses_cpu_count():
    text = ('# configuration file /etc/nginx/nginx.conf:\nworker_processes auto;\nworker_rlimit_nofile 65536;\n'
            'worker_shutdown_timeout 30s;\nevents {\n    worker_connections 1024;\n}\nhttp {}\n')
    assert [f['code'] for f in audit_config(text, expected_streams=2000)['findings']] == ['worker_connections_low']
    assert audit_config(text, expected_streams=2000, cpu_count=4)['findings'] == []
    # defaults: 1 worker x 512 connections, no worker_rlimit_nofile
    bare = '# configuration file /etc/nginx/nginx.conf:\nworker_shutdown_timeout 30s;\nevents {}\nhttp {}\n'
    codes = sorted(f['code'] for f in audit_config(bare, expected_streams=1000)['findings'])
    assert codes == ['worker_connections_low', 'worker_rlimit_nofile_low']


def _rule_problems(rules):
    """What makes a list of rules unusable: a rule without code, severity, description or fix, or a shared code."""
    problems = []
    codes = [r.code for r in rules]
    for r in rules:
        if not r.code or not re.match(r'^[a-z][a-z0-9_]*$', r.code):
            problems.append('%r has no code' % (r,))
        if r.severity not in SEVERITIES:
            problems.append('%s has no severity (one of %s)' % (r.code, ', '.join(SEVERITIES)))
        if not (r.fix or '').strip():
            problems.append('%s has no fix' % r.code)
        if not (getattr(r.check, '__doc__', None) or '').strip():
            problems.append('%s does not say what it checks (docstring)' % r.code)
    problems.extend('%s is the code of %d rules' % (c, codes.count(c)) for c in sorted(set(codes)) if codes.count(c) > 1)
    return problems


# The field guide's server block as a user writes it out (shared with the
# molecule scenarios: realtime_testkit.guide), put into a main configuration
# like Debian's. The guide's module is loaded by its path: it needs only the
# standard library, unlike the rest of realtime_testkit, which ansible-test's
# unit test environment does not install.
_GUIDE_SPEC = importlib.util.spec_from_file_location('realtime_testkit_guide', os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'realtime_testkit', 'guide', '__init__.py'))
_GUIDE = importlib.util.module_from_spec(_GUIDE_SPEC)
_GUIDE_SPEC.loader.exec_module(_GUIDE)
server_block = _GUIDE.server_block
GUIDE_MAIN = ('user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nevents {\n    worker_connections 768;\n}\n'
              'http {\n    sendfile on;\n    gzip on;\n    include /etc/nginx/conf.d/*.conf;\n'
              '    include /etc/nginx/sites-enabled/*;\n}\n')


def _guide_dump(listen, site=None, extra=()):
    """nginx -T of a stock-like nginx with the guide's site (or SITE), its listen line replaced by LISTEN, and
    the files EXTRA ((path, text) pairs) after it."""
    site = server_block(listen, text=site)
    files = [('/etc/nginx/nginx.conf', GUIDE_MAIN), ('/etc/nginx/sites-enabled/realtime', site)] + list(extra)
    return ''.join('# configuration file %s:\n%s\n' % (path, text) for path, text in files)


def _site_line(dump, text, nth=0):
    """The line, in the site file of DUMP, of the NTH line that holds TEXT."""
    site = dump.split('# configuration file /etc/nginx/sites-enabled/realtime:\n', 1)[1]
    return [number for number, line in enumerate(site.splitlines(), 1) if text in line][nth]


def test_the_guides_server_with_an_http3_listener_loses_the_host():
    quic = ('    listen 443 ssl;\n    listen 443 quic reuseport;\n    http3 on;\n'
            '    ssl_certificate /etc/ssl/example.crt;\n    ssl_certificate_key /etc/ssl/example.key;\n')
    dump = _guide_dump(quic)
    findings = audit_config(dump)['findings']
    host = [(f['file'], f['line'], f['location']) for f in findings if f['code'] == 'http3_host_header']
    assert host == [('/etc/nginx/sites-enabled/realtime', _site_line(dump, 'Host $http_host', n), path)
                    for n, path in enumerate(['/', '/sse/', '/ws/'])]
    finding = [f for f in findings if f['code'] == 'http3_host_header'][0]
    assert finding['severity'] == 'high'
    assert 'listens for HTTP/3 (/etc/nginx/sites-enabled/realtime:%d)' % _site_line(dump, 'quic') in finding['message']
    assert '$host' in finding['fix'] and 'map $http_host' in finding['fix']
    # What else the guide's block gets wrong is found as before, with or without HTTP/3.
    plain = audit_config(_guide_dump('    listen 80;\n'))['findings']
    assert sorted(f['code'] for f in plain) == sorted(f['code'] for f in findings if f['code'] != 'http3_host_header')
    assert set(f['code'] for f in plain) == {'h2c_smuggling', 'connect_timeout_long', 'worker_shutdown_timeout_missing'}


def test_every_rule_has_code_severity_fix_and_its_own_code():
    assert len(RULES) >= 15
    assert _rule_problems(RULES) == []


def test_rule_problems_catch_incomplete_rules():
    def check(target):
        """Checks something."""
        return iter(())
    good = Rule('good', 'high', 'Do this.', check)
    assert _rule_problems([good]) == []
    no_code = "Rule(code='', severity='high', fix='Do this.', check=%r) has no code" % (check,)
    assert _rule_problems([Rule('', 'high', 'Do this.', check)]) == [no_code]
    assert _rule_problems([Rule('bad', None, 'Do this.', check)]) == ['bad has no severity (one of low, medium, high)']
    assert _rule_problems([Rule('bad', 'high', ' ', check)]) == ['bad has no fix']
    assert _rule_problems([Rule('bad', 'high', 'Do this.', lambda target: iter(()))]) == [
        'bad does not say what it checks (docstring)']
    assert _rule_problems([good, good]) == ['good is the code of 2 rules']


_DIRECTIVE = re.compile(r'^(\s*)([a-z_0-9]+)(\s+[^;{]*?)?\s*;\s*$')


def _cut_short(text):
    """Every version of a dump with one simple directive's arguments (all, or the last) dropped (a directive as written by hand)."""
    lines = text.splitlines()
    seen = set()
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not (match and match.group(3)):
            continue
        args = match.group(3).split()
        for keep in sorted(set([0, len(args) - 1])):
            if (match.group(2), tuple(args[:keep])) in seen:  # the same cut elsewhere in the dump tells nothing new
                continue
            seen.add((match.group(2), tuple(args[:keep])))
            cut = '%s%s;' % (match.group(1), ' '.join([match.group(2)] + args[:keep]))
            yield index + 1, '\n'.join(lines[:index] + [cut] + lines[index + 1:])


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.basename(p)[:-5] for p in CONFIGS])
def test_directives_without_arguments_do_not_crash_the_audit(path):
    # The audit reads dumps it is given, which nginx has not always accepted: a
    # directive without its arguments is a finding at most, never a traceback.
    with open(path) as f:
        text = f.read()
    tried = 0
    for lineno, variant in _cut_short(text):
        try:
            audit_config(variant)
        except Exception as exc:  # the assertion names the line that broke a rule
            pytest.fail('%s line %d without arguments: %r' % (os.path.basename(path), lineno, exc))
        tried += 1
    assert tried > 0
