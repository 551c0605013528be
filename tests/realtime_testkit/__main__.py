"""``python -m realtime_testkit show --base URL``: a human-readable proof for the demo.

It runs the same clients and the same checks as the tests, so what the demo
shows on screen is what CI asserts. Exit status is non-zero on any problem.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from .sse import assert_streamed, read_sse
from .ws import ws_echo


def _ws_url(base: str, path: str) -> str:
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))


async def show(base: str, max_delay: Optional[float], insecure: bool) -> int:
    problems = []
    base = base.rstrip("/")
    count = 5
    url = base + "/sse/demo?count=%d&interval=0.2" % count
    print("SSE  GET %s" % url)
    res = await read_sse(url, count=count, timeout=10.0, verify=not insecure)
    print("     status %s, content-type %s" % (res.status, res.headers.get("content-type")))
    for ev in res.events:
        delay = "%.1f ms" % (ev.delay * 1000) if ev.delay is not None else "n/a"
        print("     event id=%s delivered after %s: %s" % (ev.id, delay, ev.data))
    try:
        assert_streamed(res, expected=count, max_delay=max_delay)
    except AssertionError as exc:
        problems.append("SSE: %s" % exc)

    wurl = _ws_url(base, "/ws/echo")
    ctx = None
    if insecure and wurl.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    sent = ["hello realtime", b"\x00\x01binary\xff"]
    print("WS   GET %s" % wurl)
    wres = await ws_echo(wurl, sent, timeout=10.0, ssl=ctx)
    print("     status %s%s" % (wres.status, " (%s)" % wres.error if wres.error else ""))
    for msg, echo, rtt in zip(sent, wres.echoes, wres.rtts):
        kind = "text" if isinstance(echo, str) else "binary"
        print("     %s echo %r round-trip %.1f ms" % (kind, echo, rtt * 1000))
    if wres.status != 101:
        problems.append("WS: handshake status %s, expected 101" % wres.status)
    elif wres.echoes != sent:
        problems.append("WS: echoes %r differ from sent %r" % (wres.echoes, sent))

    for p in problems:
        print("FAIL " + p)
    print("OK" if not problems else "FAILED (%d problem(s))" % len(problems))
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime_testkit")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("show", help="stream SSE and echo WebSocket through BASE")
    p.add_argument("--base", default="http://127.0.0.1:18080")
    p.add_argument("--max-delay-ms", type=float, default=None,
                   help="latest an event may arrive (default: three quarters of the gap between events)")
    p.add_argument("--insecure", action="store_true", help="skip TLS verification")
    args = parser.parse_args(argv)
    max_delay = None if args.max_delay_ms is None else args.max_delay_ms / 1000
    return asyncio.run(show(args.base, max_delay, args.insecure))


if __name__ == "__main__":
    sys.exit(main())
