# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit on REAL ``nginx -T`` output, and the action plugin and playbook through ansible.

nginx is only asked for -T here (nothing listens). The playbook runs against
localhost with the local connection.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

pytest.importorskip('crossplane', reason='the audit parses with crossplane (pip install crossplane)')

from ansible_collections.realtime.nginx.plugins.plugin_utils._audit_report import audit_config

NGINX = os.environ.get('REALTIME_NGINX_BINARY', '/usr/sbin/nginx')
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
COLLECTIONS_PATH = os.path.join(REPO_ROOT, 'build', 'collections')
BIN = os.path.dirname(sys.executable)

needs_nginx = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason='needs the nginx binary at %s' % NGINX)
needs_ansible = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-playbook')),
                                   reason='needs ansible-playbook next to %s' % sys.executable)

MAIN = """worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    access_log off;
%(temp_paths)s    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    upstream app { server 127.0.0.1:18971; keepalive 4; }
    include sites/*.conf;
}
"""
SITE = """server {
    listen 127.0.0.1:18961;
    location /sse/ {
        proxy_pass http://app;
    }
    location /ws/ {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 300s;
    }
}
"""


@pytest.fixture()
def nginx_tree(private_temp_paths):
    tmp = tempfile.mkdtemp(prefix='realtime-audit-nginx-')
    os.makedirs(os.path.join(tmp, 'sites'))
    with open(os.path.join(tmp, 'nginx.conf'), 'w') as f:
        f.write(MAIN % {'tmp': tmp, 'temp_paths': private_temp_paths(tmp)})
    with open(os.path.join(tmp, 'sites', 'app.conf'), 'w') as f:
        f.write(SITE)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _nginx_T(tmp):
    proc = subprocess.run([NGINX, '-T', '-p', tmp, '-c', os.path.join(tmp, 'nginx.conf')], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


@needs_nginx
def test_real_nginx_dump(nginx_tree):
    dump = _nginx_T(nginx_tree)
    result = audit_config(dump)
    main = os.path.join(nginx_tree, 'nginx.conf')
    site = os.path.join(nginx_tree, 'sites', 'app.conf')
    assert result['files'] == [main, site]
    got = set((f['code'], f['file'], f['line']) for f in result['findings'])
    assert got == set([
        ('worker_shutdown_timeout_missing', main, 1),
        ('h2c_smuggling', main, 12),
        ('sse_proxy_buffering', site, 3),
        ('proxy_http_version', site, 3),
        ('read_timeout_default', site, 3),
        ('keepalive_connection_close', site, 3),
        ('keepalive_connection_close', site, 10),
    ]), json.dumps(result['findings'], indent=1)


def _ansible_env(tmp):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS_PATH,
        'ANSIBLE_LOCAL_TEMP': os.path.join(tmp, 'ansible-local'),
        'ANSIBLE_REMOTE_TEMP': os.path.join(tmp, 'ansible-remote'),
        'ANSIBLE_HOME': os.path.join(tmp, 'ansible-home'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
    })
    return env


def _inventory(tmp):
    path = os.path.join(tmp, 'inventory.ini')
    with open(path, 'w') as f:
        f.write('[nginx]\nweb1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    return path


def _playbook(tmp, *extra):
    cmd = [os.path.join(BIN, 'ansible-playbook'), 'realtime.nginx.audit', '-i', _inventory(tmp),
           '-e', 'realtime_audit_become=false', '-e', 'realtime_audit_nginx=%s' % NGINX,
           '-e', 'realtime_audit_config_file=%s' % os.path.join(tmp, 'nginx.conf')] + list(extra)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_ansible_env(tmp), timeout=180, check=False)


@needs_nginx
@needs_ansible
def test_playbook_fails_on_high_findings_and_prints_report(nginx_tree):
    proc = _playbook(nginx_tree)
    out = proc.stdout.decode()
    assert proc.returncode == 2, out
    assert '[HIGH] sse_proxy_buffering at %s:3 (location /sse/)' % os.path.join(nginx_tree, 'sites', 'app.conf') in out
    assert 'finding(s) at or above high' in out
    assert 'h2c_smuggling' in out


@needs_nginx
@needs_ansible
def test_playbook_check_mode_and_threshold(nginx_tree):
    # nginx -T only reads, so the audit runs in check mode too; "never" only reports
    proc = _playbook(nginx_tree, '--check', '-e', 'realtime_audit_fail_on=never')
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert '[HIGH] h2c_smuggling' in out
    assert 'ok=2' in out and 'failed=0' in out


@needs_nginx
@needs_ansible
def test_playbook_passes_when_findings_ignored(nginx_tree):
    proc = _playbook(nginx_tree, '-e', json.dumps({
        'realtime_audit_ignore': ['h2c_smuggling', 'sse_proxy_buffering', 'proxy_http_version'],
        'realtime_audit_hosts': 'nginx',
    }))
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert 'keepalive_connection_close' in out  # medium: reported, not fatal


@needs_ansible
def test_action_plugin_with_config_text(tmp_path):
    with open(os.path.join(REPO_ROOT, 'tests', 'unit', 'audit_configs', 'sse_gzip.conf')) as f:
        text = f.read()
    playbook = tmp_path / 'pb.yml'
    playbook.write_text(
        '- hosts: localhost\n  gather_facts: false\n  vars:\n    cfg: %s\n    out: %s\n  tasks:\n'
        '    - realtime.nginx.realtime_audit:\n        config: "{{ lookup(\'ansible.builtin.file\', cfg) }}"\n'
        '        fail_on: medium\n      register: audit\n      ignore_errors: true\n'
        '    - ansible.builtin.copy:\n        content: "{{ audit | to_json }}"\n        dest: "{{ out }}"\n'
        % (json.dumps(os.path.join(REPO_ROOT, 'tests', 'unit', 'audit_configs', 'sse_gzip.conf')),
           json.dumps(str(tmp_path / 'out.json'))))
    cmd = [os.path.join(BIN, 'ansible-playbook'), str(playbook), '-i', 'localhost,', '-c', 'local']
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_ansible_env(str(tmp_path)), check=False,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout.decode()
    result = json.loads((tmp_path / 'out.json').read_text())
    assert text  # the dump was read
    assert result['failed'] is True and result['changed'] is False
    assert [(f['code'], f['line']) for f in result['findings']] == [('sse_gzip', 17)]
    assert [f['code'] for f in result['blocking']] == ['sse_gzip']
    assert result['summary'] == {'high': 1, 'medium': 0, 'low': 0}
    assert 'sse_gzip at /etc/nginx/nginx.conf:17' in result['msg']
