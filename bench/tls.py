"""Measurement: streams over TLS, HTTP/1.1 and HTTP/2 multiplexed, beside the plain figures.

Each variant is the role's templates rendered with a TLS site (HTTP/2 on its
TLS listener, a self-signed certificate from realtime_testkit.tls), run as a
master of its own in the bench container. A variant changes one TLS setting
against the role as shipped: ``realtime_proxy_tls_buffer_size``
(``ssl_buffer_size``), one line of the role's TLS profile (session cache,
session tickets, protocols; provision.start_master's ``http``), or the
certificate (RSA-2048 instead of ECDSA P-256). Against each in turn: SSE
streams and WebSockets over TLS HTTP/1.1 (one connection per stream, as a
browser's EventSource or WebSocket), and for the role as shipped SSE streams
multiplexed over HTTP/2 connections; KB per stream from the workers' RSS and
PSS, as in memory.py, and what glibc counts as live and as free on the
workers' heap (heap.py). Then the throughput of the ``ssl_buffer_size``
variants side by side (throughput.py, over TLS), and SSE delivery delay
through the role's own TLS site, plain, TLS HTTP/1.1 and HTTP/2, beside the
backend direct.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Dict

from realtime_testkit.tls import generate_self_signed

from . import latency, throughput
from .facts import role_defaults
from .memory import THROUGHPUT_ROUNDS, WORKERS, conditions, fresh_step, per_stream
from .container import sh
from .provision import role_vars, start_master, stop_master
from .rig import Rig, log

# (name, what differs from the role as shipped): buffer_size (realtime_proxy_tls_buffer_size), http (lines of the
# role's TLS profile, as nginx directives), certificate (the key type of the site's certificate).
VARIANTS = [
    ("tls-role-defaults", {}),
    ("tls-buffer-16k", {"buffer_size": "16k"}),
    ("tls-buffer-4k", {"buffer_size": "4k"}),
    ("tls-buffer-1k", {"buffer_size": "1k"}),
    ("tls-session-cache-off", {"http": {"ssl_session_cache": "off"}}),
    ("tls-session-tickets-on", {"http": {"ssl_session_tickets": "on"}}),
    ("tls-1.2-only", {"http": {"ssl_protocols": "TLSv1.2"}}),
    ("tls-1.3-only", {"http": {"ssl_protocols": "TLSv1.3"}}),
    ("tls-rsa-2048", {"certificate": "rsa"}),
]
SMOKE_VARIANTS = ("tls-role-defaults", "tls-buffer-1k")  # a smoke run's: every path, two masters
H2_VARIANTS = ("tls-role-defaults",)  # multiplexed over HTTP/2: the TLS connection's cost is shared by its streams
# The variants whose throughput is compared: the one TLS setting the role exposes.
THROUGHPUT_VARIANTS = ("tls-role-defaults", "tls-buffer-16k", "tls-buffer-4k", "tls-buffer-1k")
# Streams per kind, a full run and a smoke run: fewer than memory.py's, as each TLS handshake costs the load
# clients far more CPU than nginx, and they must all open within CONNECT_TIMEOUT_S.
STREAMS = {False: 1000, True: 20}
CONNECT_TIMEOUT_S = 30.0
H2_PER_CONNECTION = 100  # SSE streams per HTTP/2 connection (nginx allows 128 at once)
ULP = pathlib.Path("/proc/sys/net/ipv4/tcp_available_ulp")  # "tls" in it: the kernel can do TLS (kTLS)


def ports(rig: Rig, index: int) -> tuple:
    """(plain, TLS) ports of variant INDEX."""
    base = rig.settings.port_base + 320 + 2 * index
    return base, base + 1


def _name(index: int) -> str:
    return "nginx-tls-%d" % index


def variables(rig: Rig, index: int, change: dict, certs: Dict[str, tuple]) -> dict:
    """The role's variables for variant INDEX: a TLS site on its own ports, with CHANGE's buffer and certificate
    (CERTS: key type -> (certificate, key) files)."""
    plain, secure = ports(rig, index)
    settings = role_vars(rig.settings)
    settings.update(WORKERS)
    site = settings["realtime_proxy_sites"][0]
    site["listen"] = ["127.0.0.1:%d" % plain]
    cert, key = certs[change.get("certificate", "ec")]
    with open(cert, encoding="ascii") as c, open(key, encoding="ascii") as k:
        site["tls"] = {"listen": ["127.0.0.1:%d" % secure], "certificate_content": c.read(),
                       "certificate_key_content": k.read()}
    if change.get("buffer_size"):
        settings["realtime_proxy_tls_buffer_size"] = change["buffer_size"]
    return settings


def kernel_tls() -> bool:
    """Whether this kernel offers the TLS upper-layer protocol that kTLS (``ssl_conf_command Options KTLS``) needs."""
    return ULP.is_file() and "tls" in ULP.read_text().split()


async def measure(rig: Rig) -> dict:
    n = STREAMS[rig.settings.smoke]
    out = {"streams_per_kind": n, "h2_per_connection": H2_PER_CONNECTION, "variants": {}, "steps": [],
           "kernel_tls": kernel_tls(), "conditions": conditions(),
           "role_tls_buffer_size": role_defaults()["tls_buffer_size"]}
    with tempfile.TemporaryDirectory(prefix="realtime-bench-tls-") as tmp:
        certs = {kind: generate_self_signed(os.path.join(tmp, kind), key_type=kind) for kind in ("ec", "rsa")}
        for index, (name, change) in enumerate(VARIANTS):
            if rig.settings.smoke and name not in SMOKE_VARIANTS:
                continue
            settings, secure = variables(rig, index, change, certs), [ports(rig, index)[1]]
            kinds = ("sse", "ws", "h2") if name in H2_VARIANTS else ("sse", "ws")
            steps = [await fresh_step(rig, _name(index), settings, "%s/%s" % (name, kind), secure,
                                      0 if kind == "ws" else n, n if kind == "ws" else 0, http=change.get("http"),
                                      heap=True, tls=True, connect_timeout=CONNECT_TIMEOUT_S,
                                      h2=H2_PER_CONNECTION if kind == "h2" else 0)
                     for kind in kinds]
            out["steps"].extend(steps)
            out["variants"][name] = {"change": change, "tls_buffer_size": change.get("buffer_size"),
                                     "kb_per_stream": per_stream(steps)}
            log("tls %-22s KB/stream %s" % (name, out["variants"][name]["kb_per_stream"]))
        out["openssl"] = openssl_alone(rig, certs)
        out["throughput"] = await buffers_throughput(rig, certs)
        out["sse_delay"] = await delay(rig, certs)
    out["conditions"]["loadavg_end"] = os.getloadavg()
    return out


# What OpenSSL keeps per idle server connection, alone (files/openssl_memory.py in the container, with its libssl):
# (name, key type of the certificate, arguments).
OPENSSL_CASES = [("role-defaults", "ec", []), ("tls1.2-only", "ec", ["tls1.2"]), ("tls1.3-only", "ec", ["tls1.3"]),
                 ("session-tickets-on", "ec", ["tickets"]), ("rsa-2048", "rsa", [])]
OPENSSL_CONNECTIONS = {False: 500, True: 20}


def openssl_alone(rig: Rig, certs: Dict[str, tuple]) -> Dict[str, dict]:
    """files/openssl_memory.py's figures per OPENSSL_CASES, run in the container with the libssl nginx uses."""
    c, here = rig.container, pathlib.Path(__file__).resolve().parent
    sh(["docker", "cp", str(here / "files" / "openssl_memory.py"), "%s:/tmp/openssl_memory.py" % c.name])
    for kind, (cert, key) in certs.items():
        for path in (cert, key):
            c.put("/tmp/openssl-memory/%s/%s" % (kind, os.path.basename(path)), pathlib.Path(path).read_text())
    out = {}
    for name, kind, args in OPENSSL_CASES:
        if rig.settings.smoke and name != "role-defaults":
            continue
        cert, key = ("/tmp/openssl-memory/%s/%s" % (kind, os.path.basename(p)) for p in certs[kind])
        done = c.exec("python3 /tmp/openssl_memory.py %s %s %d %s" % (
            cert, key, OPENSSL_CONNECTIONS[rig.settings.smoke], " ".join(args)), timeout=300)
        out[name] = json.loads(done.stdout)
        log("openssl alone %-18s %s" % (name, out[name]))
    return out


async def buffers_throughput(rig: Rig, certs: Dict[str, tuple]) -> dict:
    """throughput.measure() over TLS of THROUGHPUT_VARIANTS, each a master of its own, side by side."""
    names = [name for name, unused in VARIANTS if name in THROUGHPUT_VARIANTS
             and (not rig.settings.smoke or name in SMOKE_VARIANTS)]
    indexes = {name: [v for v, unused in VARIANTS].index(name) for name in names}
    urls = {name: {"sse": "https://127.0.0.1:%d/sse/bench" % ports(rig, i)[1],
                   "ws": "wss://127.0.0.1:%d/ws/bench" % ports(rig, i)[1]} for name, i in indexes.items()}
    try:
        for i in indexes.values():
            start_master(rig, _name(i), variables(rig, i, VARIANTS[i][1], certs), http=VARIANTS[i][1].get("http"))
        return await throughput.measure(urls, THROUGHPUT_ROUNDS[rig.settings.smoke], rig.settings.smoke)
    finally:
        for i in indexes.values():
            stop_master(rig, _name(i))


async def delay(rig: Rig, certs: Dict[str, tuple]) -> dict:
    """SSE delivery delay through the role's defaults: plain, TLS HTTP/1.1, HTTP/2, and the backend direct."""
    index = [name for name, unused in VARIANTS].index("tls-role-defaults")
    plain, secure = ports(rig, index)
    bases = {"direct": latency.sse_urls(rig)["direct"], "role": "http://127.0.0.1:%d/sse/bench" % plain,
             "role-tls": "https://127.0.0.1:%d/sse/bench" % secure,
             "role-h2": "https://127.0.0.1:%d/sse/bench" % secure}
    clients = {"role-tls": {"verify": False}, "role-h2": {"verify": False, "http2": True}}
    start_master(rig, _name(index), variables(rig, index, {}, certs))
    try:
        out = await latency.sse_delay(rig, bases, clients=clients)
    finally:
        stop_master(rig, _name(index))
    out.pop("samples_ms", None)
    log("tls delay p50/p99 ms: %s" % {k: (v.get("p50"), v.get("p99")) for k, v in out["delay_ms"].items()})
    return out
