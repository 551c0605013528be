# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the collection importable as ansible_collections.realtime.nginx.

The repository is not laid out as ansible_collections/realtime/nginx, so this
creates build/collections/ansible_collections/realtime/nginx -> <repo root>
(build/ is git-ignored) and puts build/collections on sys.path. Under
ansible-test the collection is already importable and nothing is changed.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(_HERE, '..', '..', '..'))


def _already_importable():
    parts = REPO_ROOT.split(os.sep)
    return len(parts) >= 3 and parts[-3:-1] == ['ansible_collections', 'realtime'] and parts[-1] == 'nginx'


def _make_importable():
    if _already_importable():
        path = os.path.dirname(os.path.dirname(os.path.dirname(REPO_ROOT)))
    else:
        path = os.path.join(REPO_ROOT, 'build', 'collections')
        ns_dir = os.path.join(path, 'ansible_collections', 'realtime')
        link = os.path.join(ns_dir, 'nginx')
        if not os.path.isdir(ns_dir):
            os.makedirs(ns_dir)
        if os.path.islink(link):
            if os.path.realpath(link) != os.path.realpath(REPO_ROOT):
                os.unlink(link)
        if not os.path.lexists(link):
            try:
                os.symlink(REPO_ROOT, link)
            except FileExistsError:  # another test process made it meanwhile
                pass
    if path not in sys.path:
        sys.path.insert(0, path)
    mod = sys.modules.get('ansible_collections')
    if mod is not None and hasattr(mod, '__path__'):
        candidate = os.path.join(path, 'ansible_collections')
        try:
            if candidate not in list(mod.__path__):
                mod.__path__.append(candidate)
        except (AttributeError, TypeError):
            pass


_make_importable()


@pytest.fixture(scope='session')
def private_temp_paths():
    """A function giving the http {} lines that keep a hand-started nginx's temporary files in a directory.

    Debian's nginx is built with /var/lib/nginx/* for them, which a test run
    as another user, or beside a packaged nginx, must not touch.
    """
    def lines(directory, indent='    '):
        return ''.join('%s%s_temp_path %s/%s;\n' % (indent, kind, directory, kind)
                       for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    return lines
