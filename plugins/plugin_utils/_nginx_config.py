# -*- coding: utf-8 -*-
# Copyright (c) realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An nginx configuration as one tree, read from ``nginx -T`` output (controller side).

``nginx -T`` prints every file of the configuration, each preceded by
``# configuration file PATH:``. The files are parsed one by one with
crossplane, includes are resolved against the files in the dump, and the
result is one tree of :class:`Node` rooted at the main file, where every node
remembers the file and line it came from.

The lookup helpers follow nginx's inheritance: a standard directive is taken
from the innermost of location/if, server and http that sets it; an array
directive (``proxy_set_header``, ``add_header``) only from the innermost level
that has any.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tempfile

CROSSPLANE_MISSING = ('The realtime.nginx audit needs the crossplane Python library on the controller: '
                      'pip install crossplane on the controller (in the Python environment that runs Ansible).')

HEADER_RE = re.compile(r'^# configuration file (.+):\s*$')

# Blocks whose directives a location inherits, innermost first.
INHERITING_BLOCKS = ('location', 'server', 'http', 'if')

# nginx stops following includes this deep (an include loop is a parse error in nginx anyway).
MAX_INCLUDE_DEPTH = 16


class AuditError(Exception):
    """The audit cannot run (missing library, no configuration)."""


def _crossplane():
    try:
        import crossplane  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise AuditError(CROSSPLANE_MISSING)
    return crossplane


# --------------------------------------------------------------------------
# nginx -T splitting and parsing
# --------------------------------------------------------------------------

def split_dump(text, default_name='/etc/nginx/nginx.conf'):
    """Split ``nginx -T`` output into an ordered list of (path, content).

    Lines before the first ``# configuration file`` header (such as nginx's
    "syntax is ok" messages) are dropped. Text without any header is taken
    as a single file named default_name.
    """
    files = []
    current = None
    lines = []

    def flush():
        # nginx -T writes one newline after every file: drop it
        if lines and lines[-1] == '':
            lines.pop()
        files.append((current, '\n'.join(lines) + '\n'))

    for line in text.splitlines():
        match = HEADER_RE.match(line)
        if match:
            if current is not None:
                flush()
            current = match.group(1).strip()
            lines = []
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        flush()
    if not files and text.strip():
        files.append((default_name, text))
    return files


class Node:
    """One directive of the merged configuration tree (the root is the main context, named '')."""

    __slots__ = ('name', 'args', 'line', 'file', 'block', 'parent')

    def __init__(self, name, args, line, path, parent):
        self.name, self.args, self.line, self.file = name, args, line, path
        self.block = None
        self.parent = parent

    def children(self, name=None):
        if not self.block:
            return []
        if name is None:
            return list(self.block)
        return [c for c in self.block if c.name == name]

    def first(self, name):
        for child in self.block or ():
            if child.name == name:
                return child
        return None

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def context(self):
        """Names of the enclosing blocks, outermost first (main is '')."""
        return [a.name for a in reversed(list(self.ancestors()))]

    def __repr__(self):
        return 'Node(%s %s @%s:%s)' % (self.name, ' '.join(self.args), self.file, self.line)


def parse_files(files):
    """Parse each (path, content) with crossplane; return ({path: directives}, errors).

    Each error is a dict with the file, the line and crossplane's message.
    """
    crossplane = _crossplane()
    tmp = tempfile.mkdtemp(prefix='realtime-audit-')
    parsed = {}
    errors = []
    try:
        for idx, (path, content) in enumerate(files):
            # mirror the path under the temp dir; the index keeps duplicates apart
            rel = path.lstrip('/').replace('..', '__') or 'nginx.conf'
            disk = os.path.join(tmp, str(idx), rel)
            if not os.path.isdir(os.path.dirname(disk)):
                os.makedirs(os.path.dirname(disk))
            with open(disk, 'w') as f:
                f.write(content)
            payload = crossplane.parse(disk, single=True, check_ctx=False, check_args=False,
                                       catch_errors=True, comments=False)
            config = payload['config'][0]
            parsed[path] = config.get('parsed', [])
            for err in config.get('errors', []):
                message = err.get('error', 'syntax error').replace(disk, path)
                message = re.sub(r' in %s:\d+$' % re.escape(path), '', message)
                errors.append({'file': path, 'line': err.get('line'), 'message': message})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return parsed, errors


def _glob_match(pattern, path):
    """nginx include globbing: * and ? do not cross '/'."""
    pp = pattern.split('/')
    sp = path.split('/')
    if len(pp) != len(sp):
        return False
    return all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, sp))


def resolve_include(pattern, base_dir, paths):
    """The files of ``paths`` an ``include pattern`` names; relative patterns resolve against base_dir."""
    if not os.path.isabs(pattern):
        pattern = os.path.normpath(os.path.join(base_dir, pattern))
    if not any(c in pattern for c in '*?['):
        return [pattern] if pattern in paths else []
    return sorted(p for p in paths if _glob_match(pattern, p))


def build_tree(files, parsed):
    """Merge the parsed files into one tree rooted at the main (first) file."""
    main_path = files[0][0]
    base_dir = os.path.dirname(main_path)
    paths = [p for p, dummy in files]
    root = Node('', [], 0, main_path, None)

    def expand(directives, path, parent, depth):
        out = []
        for d in directives:
            name = d.get('directive', '')
            args = list(d.get('args', []))
            if name == 'include' and args and depth < MAX_INCLUDE_DEPTH:
                for target in resolve_include(args[0], base_dir, paths):
                    if target == path:
                        continue
                    out.extend(expand(parsed.get(target, []), target, parent, depth + 1))
                continue
            node = Node(name, args, d.get('line', 0), path, parent)
            if 'block' in d:
                node.block = expand(d['block'], path, node, depth)
            out.append(node)
        return out

    root.block = expand(parsed.get(main_path, []), main_path, root, 0)
    return root


class Config:
    """A parsed configuration: its files, the merged tree and the syntax errors."""

    def __init__(self, files, root, errors):
        self.files = files
        self.root = root
        self.errors = errors

    @property
    def main_file(self):
        return self.files[0][0]

    @property
    def paths(self):
        return [p for p, dummy in self.files]


def load_dump(text, default_name='/etc/nginx/nginx.conf'):
    """Parse ``nginx -T`` text (or one nginx.conf) into a :class:`Config`."""
    files = split_dump(text or '', default_name=default_name)
    if not files:
        raise AuditError('The nginx configuration is empty: expected the output of "nginx -T".')
    parsed, errors = parse_files(files)
    return Config(files, build_tree(files, parsed), errors)


def walk(node):
    """Every node below node, depth first, in file order."""
    for child in node.block or ():
        yield child
        yield from walk(child)


# --------------------------------------------------------------------------
# Values and inheritance
# --------------------------------------------------------------------------

_TIME_UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'M': 2592000, 'y': 31536000}
_TIME_RE = re.compile(r'(\d+)(ms|s|m|h|d|w|M|y)?')


def parse_time(value):
    """nginx time ("30", "30s", "1m30s", "500ms", "1h") in seconds, or None."""
    value = (value or '').strip()
    if not value:
        return None
    pos = 0
    total = 0.0
    for match in _TIME_RE.finditer(value):
        if match.start() != pos:
            return None
        total += int(match.group(1)) * _TIME_UNITS[match.group(2) or 's']
        pos = match.end()
    if pos != len(value):
        return None
    return total


def arg(node, idx=1):
    """The directive's argument at idx, or None (also for a missing directive)."""
    if node is None or len(node.args) <= idx:
        return None
    return node.args[idx]


def is_on(node):
    """Whether a flag directive is present and set to on."""
    return node is not None and bool(node.args) and node.args[0].lower() == 'on'


def _levels(block):
    """The block and the enclosing blocks it inherits from, innermost first, up to http."""
    yield block
    for anc in block.ancestors():
        if anc.name in INHERITING_BLOCKS:
            yield anc
        if anc.name == 'http':
            return


def effective(location, name):
    """The directive in effect for a standard inherited directive, or None."""
    for level in _levels(location):
        found = None
        for child in level.block or ():
            if child.name == name:
                found = child  # last one wins for duplicates
        if found is not None:
            return found
    return None


def effective_array(block, name):
    """Array directives (proxy_set_header, add_header): inherited only when the level has none."""
    for level in _levels(block):
        found = [c for c in level.block or () if c.name == name]
        if found:
            return found
        if level.name == 'http':
            break
    return []


def effective_headers(block, name='proxy_set_header'):
    """{lower-case header: node} of the headers in effect."""
    out = {}
    for node in effective_array(block, name):
        if node.args:
            out[node.args[0].lower()] = node
    return out


def location_path(loc):
    """The path of a location block (its last argument, after any modifier)."""
    return loc.args[-1] if loc.args else ''


def enclosing_location(node):
    """The location block a directive sits in directly, or None."""
    parent = node.parent
    return parent if parent is not None and parent.name == 'location' else None
