# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The realtime_proxy role in an nginx it does not own (realtime_proxy_manage_nginx_conf: false).

The role then writes two kinds of files into the user's configuration
directory: one file of http-level parts (maps, upstreams), which the user's
nginx.conf loads through the include its distribution put into http {}
(Debian: ``include /etc/nginx/conf.d/*.conf;``), and one snippet per entry of
realtime_proxy_snippets under SNIPPET_DIR, which the user includes inside
their own location blocks. Everything else is the user's.

adopt_errors() reads the live configuration (``nginx -T``, parsed with the
collection's own _nginx_lexer, no crossplane) and says, before anything is
written, what would break:

* the http-level file would not be loaded (no include in http {} reaches it);
* a name the role's file defines (a map or geo variable, an upstream, a log
  format or a zone) is defined by the user's files too. nginx refuses a
  second upstream, but accepts a second map of one variable without a word
  and lets one of them serve both, so this is refused here by name;
* a snippet that a user's file still includes would be removed (a snippet
  with state absent or no entry any more, or realtime_proxy_state absent).

Paths in messages are the live ones, with file and line.
"""

from __future__ import annotations

import fnmatch
import posixpath

from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_config import split_dump
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_lexer import NginxSyntaxError, parse

# Where the role writes in a configuration directory it does not own, relative to it.
ROLE_DIR = 'realtime_proxy'
SNIPPET_DIR = 'realtime_proxy/snippets'

# nginx stops following includes this deep.
MAX_INCLUDE_DEPTH = 16


def _zone(args):
    """The zone name of a limit_conn_zone or limit_req_zone directive's arguments, or None."""
    for value in args:
        if value.startswith('zone='):
            return value[len('zone='):].split(':', 1)[0]
    return None


# The directives that define a name in http {}: what kind of name, and which argument is it.
DEFINITIONS = {
    'map': ('variable', lambda args: args[1] if len(args) > 1 else None),
    'geo': ('variable', lambda args: args[-1] if args else None),
    'split_clients': ('variable', lambda args: args[-1] if args else None),
    'upstream': ('upstream', lambda args: args[0] if args else None),
    'log_format': ('log_format', lambda args: args[0] if args else None),
    'limit_conn_zone': ('zone', _zone),
    'limit_req_zone': ('zone', _zone),
}


def snippet_path(name):
    """A snippet's file, relative to the configuration directory."""
    return '%s/%s.conf' % (SNIPPET_DIR, name)


def include_line(name):
    """What a user writes in a location block to use snippet NAME."""
    return 'include %s;' % snippet_path(name)


def pattern_matches(pattern, base_dir, path):
    """Whether ``include PATTERN`` (relative ones against BASE_DIR) names PATH; * and ? do not cross '/'."""
    if not posixpath.isabs(pattern):
        pattern = posixpath.normpath(posixpath.join(base_dir, pattern))
    if not any(char in pattern for char in '*?['):
        return pattern == path
    parts, names = pattern.split('/'), path.split('/')
    return len(parts) == len(names) and all(fnmatch.fnmatchcase(name, part) for part, name in zip(parts, names))


class LiveConfig:
    """The files of an ``nginx -T`` dump, each parsed, and the includes between them."""

    def __init__(self, dump):
        self.files = split_dump(dump)
        if not self.files:
            raise ValueError('nginx -T printed no configuration')
        self.main = self.files[0][0]
        self.base_dir = posixpath.dirname(self.main)
        self.parsed = {}
        for path, text in self.files:
            try:
                self.parsed[path] = parse(text)
            except NginxSyntaxError as exc:
                raise ValueError('%s: %s' % (path, exc))

    def walk(self):
        """(path, directive, context) of every directive reached from the main file, includes followed.

        CONTEXT is the tuple of enclosing block names ('http', 'server', ...);
        an include directive is yielded too, before the directives it brings in."""
        def visit(path, directives, context, depth):
            for directive in directives:
                yield path, directive, context
                if directive['directive'] == 'include' and directive['args'] and depth < MAX_INCLUDE_DEPTH:
                    for target in self.included(directive['args'][0]):
                        if target != path:
                            yield from visit(target, self.parsed[target], context, depth + 1)
                if 'block' in directive:
                    yield from visit(path, directive['block'], context + (directive['directive'],), depth)
        return visit(self.main, self.parsed[self.main], (), 0)

    def included(self, pattern):
        """The files of the dump that ``include PATTERN`` names, in nginx's (sorted) order."""
        return sorted(path for path, dummy in self.files if pattern_matches(pattern, self.base_dir, path))


def _where(path, directive):
    return '%s:%d' % (path, directive['line'])


def defined_name(directive):
    """(kind, name) of the name DIRECTIVE defines (DEFINITIONS), or None."""
    if directive['directive'] not in DEFINITIONS:
        return None
    kind, pick = DEFINITIONS[directive['directive']]
    name = pick(directive['args'])
    return (kind, name.lstrip('$')) if name else None


def definitions(directives):
    """{(kind, name): line} of the names one file's DIRECTIVES define, the first of each (includes not followed)."""
    found = {}
    for directive in directives:
        defined = defined_name(directive)
        if defined:
            found.setdefault(defined, directive['line'])
        elif 'block' in directive:
            for key, line in definitions(directive['block']).items():
                found.setdefault(key, line)
    return found


class AdoptCheck:
    """The checks of adopt_errors(), on one live configuration and one proposal."""

    def __init__(self, live, conf_dir, http_file, proposed, settings):
        self.live = live
        self.conf_dir = conf_dir.rstrip('/') or '/'
        self.http_file = http_file
        self.http_path = self.absolute(http_file)
        self.proposed = {item['path']: item['content'] for item in proposed}
        self.settings = settings
        self.errors = []

    def absolute(self, relative):
        return posixpath.join(self.conf_dir, relative)

    def owned(self, path):
        return path == self.http_path or path.startswith(self.absolute(ROLE_DIR) + '/')

    def included_in_http(self):
        """Whether an include directly in http {} (or in a file included there) reaches the http-level file."""
        for path, directive, context in self.live.walk():
            if (directive['directive'] == 'include' and directive['args'] and context and context[-1] == 'http'
                    and pattern_matches(directive['args'][0], self.live.base_dir, self.http_path)):
                return True
        return False

    def check_include(self):
        if self.http_file not in self.proposed or self.included_in_http():
            return
        line = 'include %s/*.conf;' % self.absolute(posixpath.dirname(self.http_file))
        self.errors.append(
            'realtime_proxy_manage_nginx_conf: %s has no include in http {} that loads %s, where the role writes its '
            'maps and upstreams; nginx would never read them, and would refuse every snippet that uses them. Add this '
            'line inside http { } of %s: %s' % (self.live.main, self.http_path, self.live.main, line))

    def check_names(self):
        content = self.proposed.get(self.http_file)
        if content is None:
            return
        role = definitions(parse(content))
        upstream_index = {item.get('name'): index
                          for index, item in enumerate(self.settings.get('realtime_proxy_upstreams') or [])
                          if isinstance(item, dict)}
        seen = set()
        for path, directive, dummy in self.live.walk():
            defined = defined_name(directive)
            if self.owned(path) or defined not in role or (path, directive['line']) in seen:
                continue
            seen.add((path, directive['line']))
            kind, name = defined
            line = directive['line']
            ours = '%s:%d' % (self.http_path, role[defined])
            if kind == 'upstream' and name in upstream_index:
                self.errors.append(
                    'realtime_proxy_upstreams[%d].name: upstream %r is defined in %s:%d too, and nginx refuses two '
                    'upstreams of one name; rename one of them' % (upstream_index[name], name, path, line))
            elif kind == 'variable':
                self.errors.append(
                    'realtime_proxy_manage_nginx_conf: the variable $%s is defined by a %s in %s:%d and by the '
                    "role's %s: nginx accepts both without a word and one of them silently serves every use. "
                    "Rename the variable in %s (every name the role defines starts with realtime_proxy_)"
                    % (name, directive['directive'], path, line, ours, path))
            else:
                self.errors.append(
                    "realtime_proxy_manage_nginx_conf: the %s %r is defined in %s:%d and by the role's %s; nginx "
                    'refuses two of one name. Rename the one in %s'
                    % (kind.replace('_', ' '), name, path, line, ours, path))

    def check_removals(self):
        snippets = self.settings.get('realtime_proxy_snippets') or []
        entries = {item.get('name'): index for index, item in enumerate(snippets) if isinstance(item, dict)}
        snippet_dir = self.absolute(SNIPPET_DIR) + '/'
        for path, directive, dummy in self.live.walk():
            if directive['directive'] != 'include' or not directive['args'] or self.owned(path):
                continue
            for target in self.live.included(directive['args'][0]):
                relative = target[len(self.conf_dir) + 1:]
                if not target.startswith(snippet_dir) or relative in self.proposed:
                    continue
                name = posixpath.basename(target)[:-len('.conf')] if target.endswith('.conf') else None
                if self.settings.get('realtime_proxy_state', 'present') == 'absent':
                    where = 'realtime_proxy_state: absent'
                elif name in entries:
                    where = 'realtime_proxy_snippets[%d].state: absent' % entries[name]
                else:
                    where = 'realtime_proxy_snippets: with no entry named %r,' % name
                self.errors.append(
                    '%s removes %s, which %s still includes: the location there would lose its proxy directives '
                    "(and nginx refuses to include a file that is gone). Put the location's own directives back in "
                    'place of that include line first, reload, then run the role again'
                    % (where, target, _where(path, directive)))


def adopt_errors(command, conf_dir, http_file, proposed, settings):
    """Why the proposal cannot join the live configuration, as messages that name the variable to change.

    COMMAND is the registered result of ``nginx -T`` on the host (rc, stdout,
    stderr); PROPOSED the files the role would write ({path, content}, paths
    relative to CONF_DIR; none at all when the role removes its files);
    HTTP_FILE the http-level file's path among them; SETTINGS the role's
    public variables.
    """
    if command.get('rc') != 0 or not command.get('stdout'):
        return ['realtime_proxy_manage_nginx_conf: nginx -T cannot read the live configuration that the role\'s files '
                'would join, so nothing was changed; fix it first. nginx said: %s'
                % (command.get('stderr') or command.get('msg') or '').strip()]
    try:
        live = LiveConfig(command['stdout'])
    except ValueError as exc:
        return ['realtime_proxy_manage_nginx_conf: the live configuration (nginx -T) could not be read: %s' % exc]
    check = AdoptCheck(live, conf_dir, http_file, proposed, settings)
    check.check_include()
    check.check_names()
    check.check_removals()
    return check.errors
