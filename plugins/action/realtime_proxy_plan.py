# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What one host's run of the realtime_proxy role needs to know, learned once (see the module's docs)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.realtime.nginx.plugins.plugin_utils._action import begin

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import acme_issued, acme_requests, certbot_files
from ansible_collections.realtime.nginx.plugins.plugin_utils._metrics import metrics_plan
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_build import feature_errors, nginx_features
from ansible_collections.realtime.nginx.plugins.plugin_utils._render import PUBLIC, ansible_managed, plain, render_file

ARGUMENT_SPEC = dict(
    nginx=dict(type='str', required=True),
    pid_file=dict(type='path', required=True),
    service=dict(type='str'),
    packages=dict(type='list', elements='str', default=[]),
    package_status=dict(type='list', elements='str', default=[]),
    files=dict(type='list', elements='path', default=[]),
    packaged_nginx=dict(type='dict', required=True),
    release=dict(type='str', required=True),
    acme_live_dir=dict(type='path', required=True),
    metrics_exporters=dict(type='dict', required=True),
    service_dropin_template=dict(type='str'),
)
# What nginx_info returns that is not about the host.
NOT_THE_HOST = frozenset(['changed', 'failed', 'invocation', 'warnings', 'deprecations', 'msg'])


def public_settings(variables, template):
    """{name: plain value} of every public variable among VARIABLES, each templated once with TEMPLATE."""
    return dict((name, plain(template(variables[name]))) for name in variables if PUBLIC.match(name))


def refusals(settings, host, features):
    """Why this nginx cannot serve SETTINGS: open files the host cannot give it, then what it lacks."""
    lacking = feature_errors(settings, features)
    return list(host['open_files']['errors']) + (
        ['These realtime_proxy settings need what this nginx lacks:'] + lacking if lacking else [])


def assumed(features, release, check_mode):
    """What the run assumes of an nginx that is not installed yet."""
    return ("nginx is not installed yet, so the role assumes the %s package's nginx %s (modules %s); %s."
            % (release, features['version'], ', '.join(features['modules']),
               'this check-mode run renders for it' if check_mode else 'nginx -V is read again once it is installed'))


def certificate_paths(requests, live_dir):
    """The certificate and key certbot keeps for each request, under LIVE_DIR."""
    return [path for request in requests for path in certbot_files(request, live_dir)]


class ActionModule(ActionBase):
    """Check the inventory, read the host in one call and refuse what its nginx cannot serve."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result, args = begin(self, tmp, task_vars, ARGUMENT_SPEC)

        settings = public_settings(task_vars, self._templar.template)
        errors = inventory_errors(settings)
        if errors:
            result.update(failed=True, msg=['Fix these realtime_proxy variables:'] + errors)
            return result

        sites = settings.get('realtime_proxy_sites', [])
        requests = acme_requests(sites)
        certificates = certificate_paths(requests, args['acme_live_dir'])
        found = self._execute_module(module_name='realtime.nginx.nginx_info', task_vars=task_vars, module_args=dict(
            nginx=args['nginx'], pid_file=args['pid_file'],
            worker_rlimit_nofile=settings.get('realtime_proxy_worker_rlimit_nofile', 0),
            worker_connections=settings.get('realtime_proxy_worker_connections', 0),
            packages=args['packages'], package_status=args['package_status'], service=args['service'],
            files=args['files'], exists=certificates))
        for key in ('warnings', 'deprecations'):
            if found.get(key):
                result[key] = found[key]
        if found.get('failed'):
            result.update(failed=True, msg=found.get('msg', 'nginx_info failed'))
            return result
        host = dict((key, value) for key, value in found.items() if key not in NOT_THE_HOST and not key.startswith('_'))

        if host['installed']:
            features = nginx_features(host['build'], args['nginx'] + ' -V')
        else:
            features = nginx_features(args['packaged_nginx'],
                                      'not installed yet: assumed from the %s package' % args['release'])
            result['msg'] = assumed(features, args['release'], self._task.check_mode)
            if self._task.check_mode:
                # What this run renders and tests is then for a build that may not be the one installed.
                result['warnings'] = list(result.get('warnings', [])) + [result['msg']]
        refused = refusals(settings, host, features)
        if refused:
            result.update(failed=True, msg=refused)
            return result

        if args['service_dropin_template']:
            result['service_dropin'] = self._service_dropin(args['service_dropin_template'], settings, host, task_vars)

        existing = [path for path in certificates if host['exists'].get(path)]
        result.update(
            host=host,
            nginx=features,
            open_files=host['open_files'],
            acme_requests=requests,
            acme_issued=acme_issued(sites, existing, args['acme_live_dir']),
            metrics_plan=metrics_plan(settings, args['metrics_exporters'], task_vars.get('inventory_hostname')),
        )
        return result

    def _service_dropin(self, name, settings, host, task_vars):
        """What the template module writes from the role's template NAME for this host: the public variables
        and the open files sized for the host (realtime_proxy__open_files)."""
        path = self._find_needle('templates', name)
        values = dict(settings, realtime_proxy__open_files=host['open_files'],
                      ansible_managed=ansible_managed(self._templar, task_vars, name, path))
        return render_file(path, values)
