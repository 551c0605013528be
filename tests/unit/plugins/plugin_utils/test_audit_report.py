# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit's result and report: the order of the findings, the fail_on threshold, the text."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

pytest.importorskip('crossplane', reason='the audit parses with crossplane (pip install crossplane)')

from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import (
    at_or_above,
    audit_config,
    format_report,
)

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'audit_configs')


def test_ignore_codes():
    with open(os.path.join(CONFIG_DIR, 'keepalive_connection_close.conf')) as f:
        result = audit_config(f.read(), ignore=['keepalive_connection_close'])
    assert result['findings'] == []


def test_at_or_above():
    findings = [{'severity': 'low'}, {'severity': 'medium'}, {'severity': 'high'}]
    assert len(at_or_above(findings, 'low')) == 3
    assert len(at_or_above(findings, 'medium')) == 2
    assert len(at_or_above(findings, 'high')) == 1
    assert at_or_above(findings, 'never') == []


def test_report_is_readable():
    with open(os.path.join(CONFIG_DIR, 'sse_gzip.conf')) as f:
        result = audit_config(f.read())
    report = format_report(result, fail_on='high', host='web1')
    assert 'of web1: 1 high, 0 medium, 0 low' in report
    assert '[HIGH] sse_gzip at /etc/nginx/nginx.conf:17 (location /sse/)' in report
    assert 'fix: Add "gzip off;"' in report
    assert report.endswith('1 finding(s) at or above "high".')


def test_findings_most_severe_first_then_by_place():
    text = ('# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n    server {\n'
            '        location /ws/ {\n            proxy_pass http://b;\n            proxy_connect_timeout 2m;\n        }\n'
            '        location /sse/ {\n            proxy_pass http://b;\n        }\n    }\n}\n')
    result = audit_config(text)
    assert [(f['severity'], f['line'], f['code']) for f in result['findings']] == [
        ('high', 4, 'proxy_http_version'), ('high', 4, 'ws_upgrade_headers'),
        ('high', 8, 'proxy_http_version'), ('high', 8, 'sse_proxy_buffering'),
        ('medium', 1, 'worker_shutdown_timeout_missing'), ('medium', 6, 'connect_timeout_long'),
        ('low', 4, 'read_timeout_default'), ('low', 8, 'read_timeout_default'),
    ]
    assert result['summary'] == {'high': 4, 'medium': 2, 'low': 2}
    assert result['files'] == ['/etc/nginx/nginx.conf']
    assert result['locations'] == [
        {'file': '/etc/nginx/nginx.conf', 'line': 4, 'location': '/ws/', 'sse': False, 'websocket': True, 'snippet': None},
        {'file': '/etc/nginx/nginx.conf', 'line': 8, 'location': '/sse/', 'sse': True, 'websocket': False, 'snippet': None},
    ]
    # Each finding in a hand-written streaming location names the snippet that replaces it.
    last = format_report(result, fail_on='never').splitlines()[-2:]
    assert last[0].startswith('      fix: ') and last[1].startswith('      replace with: realtime_proxy_snippets entry ')
