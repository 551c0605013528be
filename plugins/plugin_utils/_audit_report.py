# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nginx realtime audit as the action plugin returns it (controller side).

:func:`audit_config` parses ``nginx -T`` text (:mod:`._nginx_config`), runs
every rule (:mod:`._audit_rules`) and returns the findings most severe first,
with a count per severity, the files read and the proxied locations found
(each with the realtime_proxy snippet it includes, if any). A finding in a
streaming location written by hand names the snippet that replaces it
(``replace_with``, :mod:`._audit_snippets`).
:func:`at_or_above` applies the ``fail_on`` threshold and
:func:`format_report` writes the readable report.
"""

from __future__ import annotations

from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_rules import (
    SEVERITIES,
    AuditTarget,
    run_rules,
)
from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_snippets import annotate, describe
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import load_dump

SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES, 1))


def audit_config(text, expected_streams=None, cpu_count=None, sse_locations=None, websocket_locations=None,
                 ignore=None, default_name='/etc/nginx/nginx.conf'):
    """Audit ``nginx -T`` text. Returns a dict with findings, summary, files and locations.

    Raises AuditError when the audit cannot run (no configuration, no crossplane).
    """
    config = load_dump(text, default_name=default_name)
    target = AuditTarget(config, expected_streams=expected_streams, cpu_count=cpu_count,
                         sse_locations=sse_locations, websocket_locations=websocket_locations)
    ignore = set(ignore or [])
    findings = [f for f in run_rules(target, annotate=annotate(target)) if f['code'] not in ignore]
    findings.sort(key=lambda f: (-SEVERITY_RANK[f['severity']], f['file'], f['line'] or 0, f['code']))
    return {
        'findings': findings,
        'summary': dict((s, len([f for f in findings if f['severity'] == s])) for s in SEVERITIES),
        'files': config.paths,
        'locations': [{
            'file': loc.node.file, 'line': loc.node.line, 'location': ' '.join(loc.node.args),
            'sse': loc.sse, 'websocket': loc.websocket, 'snippet': loc.snippet,
        } for loc in target.locations],
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
        if f.get('replace_with'):
            lines.append('      replace with: %s' % describe(f['replace_with']))
    blocking = at_or_above(findings, fail_on)
    if fail_on in SEVERITY_RANK:
        lines.append('%d finding(s) at or above "%s".' % (len(blocking), fail_on))
    return '\n'.join(lines)
