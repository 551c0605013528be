# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The realtime_proxy_plan action through ansible-playbook, against localhost with the local connection.

The role's variables come from its defaults (vars_files); the nginx it reads is the real binary
(REALTIME_NGINX_BINARY) or one that does not exist. Results come from the ansible.posix.json callback.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import json
import os
import subprocess
import sys

import pytest

NGINX = os.environ.get('REALTIME_NGINX_BINARY', '/usr/sbin/nginx')
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
ROLE = os.path.join(REPO_ROOT, 'roles', 'realtime_proxy')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-playbook')),
                                reason='needs ansible-playbook next to %s' % sys.executable)
needs_nginx = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason='needs the nginx binary at %s' % NGINX)

UPSTREAMS = [{'name': 'app', 'servers': ['127.0.0.1:9001']}]
SITE = {'name': 'demo', 'server_name': '_', 'listen': ['127.0.0.1:18980'],
        'locations': [{'path': '/sse/', 'type': 'sse', 'upstream': 'app'}]}
ACME_SITE = {'name': 'live', 'server_name': 'live.example.com', 'listen': ['127.0.0.1:18981'],
             'tls': {'listen': ['127.0.0.1:18982'], 'acme': {'email': 'ops@example.com'}},
             'locations': [{'path': '/', 'type': 'http', 'upstream': 'app'}]}


def plan(tmp_path, nginx, check=False, more_tasks=(), **variables):
    """The action's result on localhost for the role's defaults and VARIABLES (MORE_TASKS run after it)."""
    args = {
        'nginx': nginx, 'pid_file': str(tmp_path / 'nginx.pid'), 'service': 'realtime-nginx-test-no-such-unit',
        'packages': [], 'package_status': [], 'files': [str(tmp_path / 'record.json')],
        'packaged_nginx': {'version': '1.22.1', 'modules': ['http_ssl', 'http_v2', 'http_realip', 'http_stub_status']},
        'release': 'Debian 12', 'acme_live_dir': str(tmp_path / 'live'),
        'metrics_exporters': {'nginx': {'package': 'n', 'service': 'n', 'binary': '/n', 'flags': {
            'listen': '-l', 'scrape': '-s', 'label': '-c'}}, 'node': {'package': 'o', 'service': 'o', 'binary': '/o'}},
        'service_dropin_template': os.path.join(ROLE, 'templates', 'service-dropin.conf.j2'),
    }
    (tmp_path / 'play.json').write_text(json.dumps([{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars_files': sorted(glob.glob(os.path.join(ROLE, 'defaults', 'main', '*.yml'))),
        'tasks': [{'name': 'Plan', 'realtime.nginx.realtime_proxy_plan': args, 'register': 'planned'}] + list(more_tasks),
    }]))
    (tmp_path / 'extra.json').write_text(json.dumps(dict(variables, ansible_python_interpreter=sys.executable)))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_CONFIG=os.path.join(REPO_ROOT, 'ansible.cfg'))
    done = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-e', '@extra.json', 'play.json']
                          + (['--check'] if check else []), capture_output=True, text=True, timeout=300, check=False,
                          env=env, cwd=str(tmp_path))
    report = json.loads(done.stdout[done.stdout.index('{'):])
    return report['plays'][0]['tasks'][0]['hosts']['localhost']


def warnings_of(result):
    # ansible-core 2.19 sends a warning as an event with its message; older ones as text.
    return [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]


def test_an_inventory_error_is_refused_by_name_before_the_host_is_read(tmp_path):
    result = plan(tmp_path, NGINX, realtime_proxy_upstreams=UPSTREAMS,
                  realtime_proxy_sites=[dict(SITE, locations=[{'path': '/sse/', 'type': 'sse', 'upstream': 'nope'}])])
    assert result['failed'] is True
    assert result['msg'][0] == 'Fix these realtime_proxy variables:'
    assert any(line.startswith('realtime_proxy_sites[0].locations[0].upstream') for line in result['msg'][1:]), result
    assert 'host' not in result  # nginx_info never ran


@needs_nginx
def test_the_host_is_read_once_and_the_run_planned(tmp_path):
    (tmp_path / 'record.json').write_text('{"exporters": []}')
    result = plan(tmp_path, NGINX, realtime_proxy_upstreams=UPSTREAMS, realtime_proxy_sites=[SITE, ACME_SITE])
    assert not result.get('failed'), result
    assert result['changed'] is False
    host = result['host']
    assert host['installed'] is True and host['build'].startswith('nginx version: nginx/')
    assert host['files'] == {str(tmp_path / 'record.json'): {'mode': '0644', 'content': '{"exporters": []}'}}
    assert result['nginx']['origin'] == NGINX + ' -V'
    assert result['open_files'] == host['open_files'] and result['open_files']['rlimit'] > 0
    (request,) = result['acme_requests']
    assert request['site'] == 'live' and request['domains'] == ['live.example.com']
    # certbot's files are asked about by existence only; none is there, so the site is served on its plain ports.
    live = os.path.join(str(tmp_path / 'live'), request['cert_name'])
    assert host['exists'] == {os.path.join(live, 'fullchain.pem'): False, os.path.join(live, 'privkey.pem'): False}
    assert result['acme_issued'] == {}
    assert result['metrics_plan']['exporters'] == []


@needs_nginx
def test_a_certificate_that_exists_is_served(tmp_path):
    first = plan(tmp_path, NGINX, realtime_proxy_upstreams=UPSTREAMS, realtime_proxy_sites=[ACME_SITE])
    live = tmp_path / 'live' / first['acme_requests'][0]['cert_name']
    live.mkdir(parents=True)
    for name in ('fullchain.pem', 'privkey.pem'):
        (live / name).write_text('pem')
    result = plan(tmp_path, NGINX, realtime_proxy_upstreams=UPSTREAMS, realtime_proxy_sites=[ACME_SITE])
    assert result['acme_issued'] == {'live': {'certificate': str(live / 'fullchain.pem'), 'key': str(live / 'privkey.pem')}}


def test_before_nginx_is_installed_the_packaged_build_is_assumed_and_check_mode_warns(tmp_path):
    missing = str(tmp_path / 'no-nginx')
    checked = plan(tmp_path, missing, check=True, realtime_proxy_upstreams=UPSTREAMS, realtime_proxy_sites=[SITE])
    assert checked['host']['installed'] is False
    assert checked['nginx']['version'] == '1.22.1'
    assert checked['nginx']['origin'] == 'not installed yet: assumed from the Debian 12 package'
    assert checked['msg'].startswith("nginx is not installed yet, so the role assumes the Debian 12 package's nginx "
                                     "1.22.1 (modules ")
    assert 'http_v2' in checked['msg'] and 'http_v3' not in checked['msg']
    assert checked['msg'].endswith('this check-mode run renders for it.')
    assert warnings_of(checked) == [checked['msg']]
    real = plan(tmp_path, missing, realtime_proxy_upstreams=UPSTREAMS, realtime_proxy_sites=[SITE])
    assert real['msg'].endswith('nginx -V is read again once it is installed.') and not warnings_of(real)


def test_settings_the_host_cannot_serve_are_refused_by_name(tmp_path):
    result = plan(tmp_path, str(tmp_path / 'no-nginx'), realtime_proxy_upstreams=UPSTREAMS,
                  realtime_proxy_sites=[dict(SITE, tls={'listen': ['127.0.0.1:18983'], 'http3': True,
                                                        'certificate': '/c', 'certificate_key': '/k'})],
                  realtime_proxy_worker_rlimit_nofile=500000)
    assert result['failed'] is True
    message = '\n'.join(result['msg'])
    assert 'realtime_proxy_worker_rlimit_nofile: 500000 is more open files than this host allows' in message
    assert 'These realtime_proxy settings need what this nginx lacks:' in message
    assert 'realtime_proxy_sites[0].tls.http3: ' in message


@needs_nginx
@pytest.mark.parametrize('restart', [True, False])
def test_the_drop_in_is_rendered_as_the_template_module_writes_it(tmp_path, restart):
    written = tmp_path / 'dropin.conf'
    write = {'name': 'Write the drop-in', 'ansible.builtin.template': {
        'src': os.path.join(ROLE, 'templates', 'service-dropin.conf.j2'), 'dest': str(written)},
        'vars': {'realtime_proxy__open_files': '{{ planned.open_files }}'}}
    result = plan(tmp_path, NGINX, more_tasks=[write], realtime_proxy_upstreams=UPSTREAMS,
                  realtime_proxy_sites=[SITE], realtime_proxy_restart_on_failure=restart)
    assert not result.get('failed'), result
    assert result['service_dropin'] == written.read_text()
    assert ('LimitNOFILE=%d\n' % result['open_files']['rlimit']) in result['service_dropin']
    assert ('Restart=on-failure' in result['service_dropin']) is restart
