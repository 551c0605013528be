# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.realtime.nginx.plugins.plugin_utils._action import begin
from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import (
    at_or_above,
    audit_config,
    format_report,
)
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import AuditError

ARGUMENT_SPEC = dict(
    config=dict(type='str'),
    nginx=dict(type='str', default='nginx', aliases=['nginx_path']),
    config_file=dict(type='path'),
    fail_on=dict(type='str', choices=['low', 'medium', 'high', 'never'], default='high'),
    expected_streams=dict(type='int'),
    cpu_count=dict(type='int'),
    sse_locations=dict(type='list', elements='str', default=[]),
    websocket_locations=dict(type='list', elements='str', default=[]),
    ignore=dict(type='list', elements='str', default=[]),
)


class ActionModule(ActionBase):
    """Audit an nginx configuration on the controller (see the realtime_audit module docs)."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True
    _supports_async = False

    def _read_config(self, args, task_vars):
        """Run nginx -T on the managed host and return its stdout."""
        argv = [args['nginx'], '-T']
        if args.get('config_file'):
            argv.extend(['-c', args['config_file']])
        # nginx -T only reads: run it in check mode too (the command module would skip it)
        check_mode = self._task.check_mode
        try:
            self._task.check_mode = False
            res = self._execute_module(module_name='ansible.builtin.command',
                                       module_args={'argv': argv}, task_vars=task_vars)
        finally:
            self._task.check_mode = check_mode
        if res.get('failed') or res.get('rc', 0) != 0:
            detail = to_text(res.get('stderr') or res.get('msg') or '').strip()
            raise AuditError('"%s" failed on the managed host (rc=%s): %s' % (' '.join(argv), res.get('rc'), detail))
        return to_text(res.get('stdout', ''))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result, args = begin(self, tmp, task_vars, ARGUMENT_SPEC)

        cpu_count = args.get('cpu_count')
        if cpu_count is None:
            facts = task_vars.get('ansible_facts') or {}
            cpu_count = facts.get('processor_vcpus') or task_vars.get('ansible_processor_vcpus')
        try:
            text = args['config'] if args.get('config') is not None else self._read_config(args, task_vars)
            audit = audit_config(text, expected_streams=args.get('expected_streams'), cpu_count=cpu_count,
                                 sse_locations=args['sse_locations'], websocket_locations=args['websocket_locations'],
                                 ignore=args['ignore'])
        except AuditError as e:
            result['failed'] = True
            result['msg'] = to_text(e)
            return result

        blocking = at_or_above(audit['findings'], args['fail_on'])
        report = format_report(audit, fail_on=args['fail_on'], host=task_vars.get('inventory_hostname'))
        result.update(audit)
        result['blocking'] = blocking
        result['report'] = report
        result['report_lines'] = report.splitlines()
        result['msg'] = report
        if blocking:
            result['failed'] = True
        return result
