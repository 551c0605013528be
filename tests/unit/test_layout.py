"""The code stays in small units: no file under plugins/ or bench/ holds more
than 450 lines of code. A module's DOCUMENTATION, EXAMPLES and RETURN strings,
blank lines, comments and docstrings do not count."""

from __future__ import annotations

import ast
import io
import tokenize

import pytest

from realtime_testkit.render import REPO_ROOT

LIMIT = 450
DOC_STRINGS = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def lines_of_code(path) -> int:
    source = path.read_text()
    tree = ast.parse(source)
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_STRINGS for t in node.targets):
            skipped.update(range(node.lineno, node.end_lineno + 1))
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):
                skipped.update(range(first.lineno, first.end_lineno + 1))
    code = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - skipped)


FILES = sorted(p for top in ("plugins", "bench") for p in (REPO_ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REPO_ROOT)) for p in FILES])
def test_no_file_holds_more_than_450_lines_of_code(path):
    assert lines_of_code(path) <= LIMIT, "%s: %d lines of code" % (path.relative_to(REPO_ROOT), lines_of_code(path))
