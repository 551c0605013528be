# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading ``nginx -T`` output into one tree, and nginx's inheritance rules on it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import sys

import pytest

pytest.importorskip('crossplane', reason='the audit parses with crossplane (pip install crossplane)')

from ansible_collections.realtime.nginx.plugins.plugin_utils import _nginx_config
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import (
    AuditError,
    effective,
    effective_array,
    effective_headers,
    load_dump,
    parse_time,
    resolve_include,
    split_dump,
    walk,
)

DUMP = ('# configuration file /opt/ngx/nginx.conf:\nevents {}\nhttp {\n    proxy_buffering off;\n'
        '    proxy_set_header Host $host;\n    include sites/*.conf;\n}\n\n'
        '# configuration file /opt/ngx/sites/a.conf:\nserver {\n    proxy_set_header X-A a;\n'
        '    location /a/ {\n        proxy_pass http://b;\n        proxy_buffering on;\n    }\n'
        '    location /b/ {\n        proxy_pass http://b;\n        add_header X-B b;\n    }\n}\n')


def _location(config, path):
    return [n for n in walk(config.root) if n.name == 'location' and n.args[-1] == path][0]


def test_split_dump_drops_preamble_and_keeps_lines():
    text = ('nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n'
            '# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n}\n\n'
            '# configuration file /etc/nginx/b.conf:\nserver {}\n')
    files = split_dump(text)
    assert files == [('/etc/nginx/nginx.conf', 'events {}\nhttp {\n}\n'), ('/etc/nginx/b.conf', 'server {}\n')]


def test_included_nodes_keep_their_own_file_and_line():
    config = load_dump(DUMP)
    assert config.main_file == '/opt/ngx/nginx.conf'
    assert config.paths == ['/opt/ngx/nginx.conf', '/opt/ngx/sites/a.conf']
    assert config.errors == []
    loc = _location(config, '/a/')
    assert (loc.file, loc.line) == ('/opt/ngx/sites/a.conf', 3)
    assert loc.context() == ['', 'http', 'server']


def test_include_globs_do_not_cross_slashes():
    paths = ['/etc/nginx/a.conf', '/etc/nginx/sites/b.conf', '/etc/nginx/sites/deep/c.conf']
    assert resolve_include('sites/*.conf', '/etc/nginx', paths) == ['/etc/nginx/sites/b.conf']
    assert resolve_include('/etc/nginx/a.conf', '/x', paths) == ['/etc/nginx/a.conf']
    assert resolve_include('missing.conf', '/etc/nginx', paths) == []


def test_standard_directive_comes_from_the_innermost_level():
    config = load_dump(DUMP)
    assert effective(_location(config, '/a/'), 'proxy_buffering').args == ['on']
    inherited = effective(_location(config, '/b/'), 'proxy_buffering')
    assert (inherited.args, inherited.file) == (['off'], '/opt/ngx/nginx.conf')
    assert effective(_location(config, '/b/'), 'gzip') is None


def test_array_directive_is_inherited_only_by_a_level_without_any():
    config = load_dump(DUMP)
    # server sets one proxy_set_header, so http's Host is not inherited
    assert sorted(effective_headers(_location(config, '/a/'))) == ['x-a']
    assert [n.args[0] for n in effective_array(_location(config, '/b/'), 'add_header')] == ['X-B']
    assert effective_array(_location(config, '/a/'), 'add_header') == []


def test_syntax_errors_are_collected_per_file():
    config = load_dump('# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n')
    assert [(e['file'], e['line']) for e in config.errors] == [('/etc/nginx/nginx.conf', 2)]
    assert '/tmp' not in config.errors[0]['message']


@pytest.mark.parametrize('value, seconds', [
    ('30', 30), ('30s', 30), ('5m', 300), ('1h', 3600), ('1h30m', 5400), ('500ms', 0.5), ('1d', 86400),
    ('x', None), ('', None), ('10q', None),
])
def test_parse_time(value, seconds):
    assert parse_time(value) == seconds


def test_missing_crossplane_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'crossplane', None)
    with pytest.raises(AuditError) as info:
        load_dump('events {}\n')
    assert 'pip install crossplane on the controller' in str(info.value)
    assert _nginx_config.CROSSPLANE_MISSING in str(info.value)


def test_empty_config_is_an_error():
    with pytest.raises(AuditError):
        load_dump('  \n\n')
