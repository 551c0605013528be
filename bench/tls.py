"""Measurement: streams over TLS, HTTP/1.1 and HTTP/2 multiplexed, beside the plain figures.

Each variant is the role's templates rendered with a TLS site (HTTP/2 on its
TLS listener, a self-signed certificate from realtime_testkit.tls) and one
``realtime_proxy_tls_buffer_size``, run as a master of its own in the bench
container. Against each in turn: SSE streams and WebSockets over TLS
HTTP/1.1 (one connection per stream, as a browser's EventSource or WebSocket),
and SSE streams multiplexed over HTTP/2 connections; KB per stream from the
workers' RSS and PSS, as in memory.py. Then SSE delivery delay through the
role's own TLS site, plain, TLS HTTP/1.1 and HTTP/2, beside the backend direct.
"""

from __future__ import annotations

import tempfile
from typing import Optional

from realtime_testkit.tls import generate_self_signed

from . import latency
from .memory import WORKERS, fresh_step, per_stream
from .provision import role_vars, start_master, stop_master
from .rig import Rig, log

# (name, realtime_proxy_tls_buffer_size): None is the role's default.
VARIANTS = [("tls-buffer-16k", "16k"), ("tls-buffer-4k", "4k"), ("tls-role-defaults", None)]
SMOKE_VARIANTS = ("tls-role-defaults",)  # a smoke run's: every path, one master
# Streams per kind, a full run and a smoke run: fewer than memory.py's, as each TLS handshake costs the load
# clients far more CPU than nginx, and they must all open within CONNECT_TIMEOUT_S.
STREAMS = {False: 1000, True: 20}
CONNECT_TIMEOUT_S = 30.0
H2_PER_CONNECTION = 100  # SSE streams per HTTP/2 connection (nginx allows 128 at once)


def ports(rig: Rig, index: int) -> tuple:
    """(plain, TLS) ports of variant INDEX."""
    base = rig.settings.port_base + 320 + 2 * index
    return base, base + 1


def _name(index: int) -> str:
    return "nginx-tls-%d" % index


def variables(rig: Rig, index: int, buffer_size: Optional[str], cert: str, key: str) -> dict:
    plain, secure = ports(rig, index)
    settings = role_vars(rig.settings)
    settings.update(WORKERS)
    site = settings["realtime_proxy_sites"][0]
    site["listen"] = ["127.0.0.1:%d" % plain]
    with open(cert, encoding="ascii") as c, open(key, encoding="ascii") as k:
        site["tls"] = {"listen": ["127.0.0.1:%d" % secure], "certificate_content": c.read(),
                       "certificate_key_content": k.read()}
    if buffer_size:
        settings["realtime_proxy_tls_buffer_size"] = buffer_size
    return settings


async def measure(rig: Rig) -> dict:
    n = STREAMS[rig.settings.smoke]
    out = {"streams_per_kind": n, "h2_per_connection": H2_PER_CONNECTION, "variants": {}, "steps": []}
    with tempfile.TemporaryDirectory(prefix="realtime-bench-tls-") as tmp:
        cert, key = generate_self_signed(tmp)
        for index, (name, buffer_size) in enumerate(VARIANTS):
            if rig.settings.smoke and name not in SMOKE_VARIANTS:
                continue
            settings, secure = variables(rig, index, buffer_size, cert, key), [ports(rig, index)[1]]
            steps = [await fresh_step(rig, _name(index), settings, "%s/%s" % (name, kind), secure,
                                      0 if kind == "ws" else n, n if kind == "ws" else 0, tls=True,
                                      connect_timeout=CONNECT_TIMEOUT_S,
                                      h2=H2_PER_CONNECTION if kind == "h2" else 0)
                     for kind in ("sse", "ws", "h2")]
            out["steps"].extend(steps)
            out["variants"][name] = {"tls_buffer_size": buffer_size, "kb_per_stream": per_stream(steps)}
            log("tls %-18s KB/stream %s" % (name, out["variants"][name]["kb_per_stream"]))
        out["sse_delay"] = await delay(rig, cert, key)
    return out


async def delay(rig: Rig, cert: str, key: str) -> dict:
    """SSE delivery delay through the role's defaults: plain, TLS HTTP/1.1, HTTP/2, and the backend direct."""
    index = [name for name, unused in VARIANTS].index("tls-role-defaults")
    plain, secure = ports(rig, index)
    bases = {"direct": latency.sse_urls(rig)["direct"], "role": "http://127.0.0.1:%d/sse/bench" % plain,
             "role-tls": "https://127.0.0.1:%d/sse/bench" % secure,
             "role-h2": "https://127.0.0.1:%d/sse/bench" % secure}
    clients = {"role-tls": {"verify": False}, "role-h2": {"verify": False, "http2": True}}
    start_master(rig, _name(index), variables(rig, index, None, cert, key))
    try:
        out = await latency.sse_delay(rig, bases, clients=clients)
    finally:
        stop_master(rig, _name(index))
    out.pop("samples_ms", None)
    log("tls delay p50/p99 ms: %s" % {k: (v.get("p50"), v.get("p99")) for k, v in out["delay_ms"].items()})
    return out
