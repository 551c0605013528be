"""The field guide's server block (realtime.conf here) as a user copies it, and edits it.

One home for what tests do to it: put it on a test port and a test backend
(server_block(), changing only the listen line and the backend's address),
and replace the bodies of its realtime locations with include lines, as a
user adopting the realtime_proxy role's snippets does (with_includes()).
``python -m realtime_testkit.guide --listen ADDR --backend ADDR [--include PATH=FILE ...]``
prints the result, for playbooks that write it onto a test host.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

GUIDE = pathlib.Path(__file__).with_name("realtime.conf")
LISTEN = "    listen 80;\n"
BACKEND = "    server 127.0.0.1:8000;\n"


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError("expected %r exactly once in the guide's server block, found it %d times"
                         % (old, text.count(old)))
    return text.replace(old, new)


def server_block(listen: str | None = None, backend: str | None = None, text: str | None = None) -> str:
    """The guide's server block with its listen line replaced by LISTEN (the whole line, indented, when it
    holds a newline; else the address of ``listen ADDR;``) and its backend's address by BACKEND."""
    text = GUIDE.read_text() if text is None else text
    if listen is not None:
        text = _replace_once(text, LISTEN, listen if "\n" in listen else "    listen %s;\n" % listen)
    if backend is not None:
        text = _replace_once(text, BACKEND, "    server %s;\n" % backend)
    return text


def with_includes(text: str, includes: dict) -> str:
    """TEXT with the body of each ``location PATH`` block of INCLUDES ({path: file}) replaced by
    ``include FILE;``: what a user does to serve the location with a snippet instead of their own directives."""
    for path, included in includes.items():
        pattern = re.compile(r"^(    location %s \{\n)(.*?)^(    \}\n)" % re.escape(path), re.M | re.S)
        text, count = pattern.subn(lambda match: "%s        include %s;\n%s" % (match.group(1), included, match.group(3)),
                                   text)
        if count != 1:
            raise ValueError("expected one location %s block in the server block, found %d" % (path, count))
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime_testkit.guide", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--listen", help="the address of the listen line")
    parser.add_argument("--backend", help="the backend's address")
    parser.add_argument("--include", action="append", default=[], metavar="PATH=FILE",
                        help="serve location PATH with an include of FILE instead of its directives")
    args = parser.parse_args(argv)
    text = server_block(args.listen, args.backend)
    text = with_includes(text, dict(item.split("=", 1) for item in args.include))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
