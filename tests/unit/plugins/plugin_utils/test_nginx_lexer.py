# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's own reader of nginx configuration text (no crossplane), against crossplane and nginx's rules."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import split_dump
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_lexer import NginxSyntaxError, parse

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, '..', '..')
TESTS = os.path.join(UNIT, '..')
# Dumps and files nginx reads: the audit's configurations, the field guide's server block and Debian's own files.
SOURCES = sorted(glob.glob(os.path.join(UNIT, 'audit_configs', '*.conf'))) + [
    os.path.join(TESTS, 'realtime_testkit', 'guide', 'realtime.conf')] + sorted(
    glob.glob(os.path.join(TESTS, '..', 'build', 'nginx', 'etc', 'nginx', '*.conf'))
    + glob.glob(os.path.join(TESTS, '..', 'build', 'nginx', 'etc', 'nginx', 'mime.types')))


def _shape(directives):
    return [(d['directive'], d['line'], d['args'], _shape(d['block']) if 'block' in d else None) for d in directives]


def _files():
    for source in SOURCES:
        with open(source) as handle:
            for path, content in split_dump(handle.read(), default_name=source):
                yield '%s:%s' % (os.path.basename(source), path), content


@pytest.mark.parametrize('name,content', list(_files()), ids=[name for name, unused in _files()])
def test_reads_what_crossplane_reads(name, content, tmp_path):
    crossplane = pytest.importorskip('crossplane')
    path = tmp_path / 'file.conf'
    path.write_text(content)
    payload = crossplane.parse(str(path), single=True, comments=False, check_ctx=False, check_args=False,
                               catch_errors=True)['config'][0]
    if payload['errors']:
        with pytest.raises(NginxSyntaxError):
            parse(content)
        return
    assert _shape(parse(content)) == _shape(payload['parsed'])


def test_words_quotes_and_escapes_as_nginx_reads_them():
    text = ('map $http_upgrade ${a}_b {\n    default "";\n    \'~*^web socket$\' "up\\"grade";\n}\n'
            'add_header X-A "a;b{c}#d" always; # a comment\nreturn 200 a#b\\;c;\n')
    assert _shape(parse(text)) == [
        ('map', 1, ['$http_upgrade', '${a}_b'], [('default', 2, [''], None), ('~*^web socket$', 3, ['up"grade'], None)]),
        ('add_header', 5, ['X-A', 'a;b{c}#d', 'always'], None),
        # nginx keeps a backslash before anything but a quote, a backslash, t, r and n
        ('return', 6, ['200', 'a#b\\;c'], None)]


def test_lines_count_across_quoted_newlines():
    assert _shape(parse('log_format a "x\ny";\nevents {\n}\n')) == [
        ('log_format', 1, ['a', 'x\ny'], None), ('events', 3, [], [])]


@pytest.mark.parametrize('text', ['events {', 'events { }}', 'worker_processes 1', '; x;', 'a "b', 'a "b"c;'])
def test_broken_text_is_refused_with_its_line(text):
    with pytest.raises(NginxSyntaxError) as caught:
        parse(text)
    assert caught.value.line >= 1
