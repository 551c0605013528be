# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx configuration text as directives, read as nginx reads it (controller side, standard library only).

The role reads the live configuration of an nginx it does not own (its
``nginx -T``) to check what its own files depend on, and must not need
crossplane for it: only the audit does. This reads one file the way
nginx's ngx_conf_read_token() does, and returns crossplane's shape for it,
so the helpers of _nginx_config (build_tree, resolve_include, split_dump)
work on the result:

    [{'directive': 'map', 'line': 3, 'args': ['$http_upgrade', '$x'], 'block': [...]}, ...]

Words end at whitespace, ';' and '{' (not at '}': ``${name}`` is one word);
'#' starts a comment only where a word could start; quotes and backslash
escapes are taken as nginx takes them; an ``if``'s condition loses its
parentheses, as in crossplane. Nothing else is checked: nginx has accepted
the text already (it comes from ``nginx -T``).
"""

from __future__ import annotations

SPACE = ' \t\r\n'
ESCAPES = {'"': '"', "'": "'", '\\': '\\', 't': '\t', 'r': '\r', 'n': '\n'}


class NginxSyntaxError(ValueError):
    """The text is not nginx configuration syntax."""

    def __init__(self, message, line):
        super().__init__('%s in line %d' % (message, line))
        self.line = line


def _unescape(word):
    """A word's escapes as nginx resolves them: \\" \\' \\\\ \\t \\r \\n; any other backslash stays."""
    out = []
    index = 0
    while index < len(word):
        char = word[index]
        if char == '\\' and index + 1 < len(word) and word[index + 1] in ESCAPES:
            out.append(ESCAPES[word[index + 1]])
            index += 2
            continue
        out.append(char)
        index += 1
    return ''.join(out)


def _if_condition(args):
    """An if's arguments without the parentheses around its condition, as crossplane gives them."""
    args = list(args)
    if args and args[0].startswith('(') and args[-1].endswith(')'):
        args[0] = args[0][1:].lstrip()
        args[-1] = args[-1][:-1].rstrip()
        args = args[int(not args[0]):len(args) - int(not args[-1])]
    return args


def tokens(text):
    """(word, line, quoted) for each word, and (';' or '{' or '}', line, None) for the syntax."""
    index, line, size = 0, 1, len(text)
    while index < size:
        char = text[index]
        if char in SPACE:
            line += char == '\n'
            index += 1
        elif char == '#':
            end = text.find('\n', index)
            index = size if end == -1 else end
        elif char in ';{}':
            yield char, line, None
            index += 1
        elif char in '"\'':
            start_line = line
            index += 1
            word = []
            while True:
                if index >= size:
                    raise NginxSyntaxError('unexpected end of file in a quoted string', start_line)
                current = text[index]
                if current == '\\' and index + 1 < size:
                    word.append(text[index:index + 2])
                    line += text[index + 1] == '\n'
                    index += 2
                    continue
                if current == char:
                    index += 1
                    break
                line += current == '\n'
                word.append(current)
                index += 1
            if index < size and text[index] not in SPACE + ';{':
                raise NginxSyntaxError('unexpected "%s" after a quoted string' % text[index], line)
            yield _unescape(''.join(word)), start_line, True
        else:
            start, variable = index, False
            while index < size:
                current = text[index]
                if current == '\\' and index + 1 < size:
                    index += 2
                    variable = False
                    continue
                if current == '{' and variable:
                    index += 1
                    variable = False
                    continue
                if current in SPACE or current in ';{':
                    break
                variable = current == '$'
                index += 1
            yield _unescape(text[start:index]), line, False


def parse(text):
    """The directives of one file, as crossplane's ``parsed`` list (see the module's doc)."""
    root = []
    stack = [root]
    current = None
    for word, line, quoted in tokens(text):
        if quoted is None:
            if word == '}':
                if current is not None:
                    raise NginxSyntaxError('unexpected "}"', line)
                if len(stack) == 1:
                    raise NginxSyntaxError('unexpected "}"', line)
                stack.pop()
                continue
            if current is None:
                raise NginxSyntaxError('unexpected "%s"' % word, line)
            if current['directive'] == 'if':
                current['args'] = _if_condition(current['args'])
            stack[-1].append(current)
            if word == '{':
                current['block'] = []
                stack.append(current['block'])
            current = None
            continue
        if current is None:
            current = {'directive': word, 'line': line, 'args': []}
        else:
            current['args'].append(word)
    if current is not None:
        raise NginxSyntaxError('unexpected end of file, expecting ";" or "}"', current['line'])
    if len(stack) > 1:
        raise NginxSyntaxError('unexpected end of file, expecting "}"', text.count('\n') + 1)
    return root
