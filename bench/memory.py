"""Measurement: nginx's memory per held stream, by buffer setting, side by side.

A held stream costs nginx two connections and the buffers of one request: the
client's header buffer (``client_header_buffer_size``), the request's and the
connection's pools (``request_pool_size``, ``connection_pool_size``) and
``proxy_buffer_size`` once for an SSE response with ``proxy_buffering off``
and once per direction for a WebSocket tunnel. Each variant below is the role's
own templates rendered with one set of those sizes (the location options
``buffer_size`` and the http-level directives), started as a master of its own
in the bench container; SSE-only and WebSocket-only steps are held against each
in turn, and the workers' RSS and PSS from the host's /proc give KB per stream.
This is memory, not time: a busy machine does not change it.
"""

from __future__ import annotations

from typing import List

from realtime_testkit.collection import ensure_importable

from . import capacity, latency
from .provision import role_vars, start_master, stop_master
from .rig import Rig, log

ensure_importable()
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import location_presets  # noqa: E402  pylint: disable=wrong-import-position

# nginx's own sizes on x86_64, which the role used before it set any.
NGINX_DEFAULTS = {"buffer_size": "4k", "http": {"client_header_buffer_size": "1k", "request_pool_size": "4k",
                                                "connection_pool_size": "512"}}
# (name, sizes): None is the role as shipped (its presets, nothing set).
VARIANTS = [
    ("nginx-defaults", NGINX_DEFAULTS),
    ("buffer-2k", {"buffer_size": "2k"}),
    ("buffer-1k", {"buffer_size": "1k"}),
    ("buffer-1k-request-pool-1k", {"buffer_size": "1k", "http": {"request_pool_size": "1k"}}),
    ("buffer-512-pools-small", {"buffer_size": "512", "http": {"request_pool_size": "1k",
                                                               "connection_pool_size": "256"}}),
    ("role-defaults", None),
]
SMOKE_VARIANTS = ("nginx-defaults", "role-defaults")  # a smoke run's: every path, fewer masters
SSE_LARGE = 16 * 1024  # characters of padding in each event of the large-event round
WS_LARGE = 64 * 1024  # bytes of each message of the large-message round
STREAMS = {False: 2000, True: 20}  # per kind: a full run, a smoke run
WORKERS = {"realtime_proxy_worker_processes": 2, "realtime_proxy_worker_connections": 10000,
           "realtime_proxy_worker_rlimit_nofile": 20000}


def port(rig: Rig, index: int) -> int:
    return rig.settings.port_base + 300 + index


def _name(index: int) -> str:
    return "nginx-mem-%d" % index


def variables(rig: Rig, index: int, sizes) -> dict:
    """The role's variables for variant INDEX: the bench site on its own port, with SIZES."""
    settings = role_vars(rig.settings)
    settings.update(WORKERS)
    settings["realtime_proxy_sites"][0]["listen"] = ["127.0.0.1:%d" % port(rig, index)]
    if sizes:
        for location in settings["realtime_proxy_sites"][0]["locations"]:
            if location["type"] in ("sse", "websocket") and "buffer_size" in sizes:
                location["buffer_size"] = sizes["buffer_size"]
        settings["realtime_proxy_http_directives"] = [{k: v} for k, v in sizes.get("http", {}).items()]
    return settings


def per_stream(steps: List[dict]) -> dict:
    """KB per stream of each kind's step (config NAME/KIND), and the mean of SSE and WebSocket."""
    kb = {one["config"].rsplit("/", 1)[1]: {"rss": one["rss_per_stream_kb"], "pss": one["pss_per_stream_kb"],
                                            "held": one["held"], "failed": one["failed"]} for one in steps}
    known = [kb[k]["rss"] for k in ("sse", "ws") if k in kb and kb[k]["rss"] is not None]
    kb["mixed_rss"] = round(sum(known) / len(known), 2) if len(known) == 2 else None
    return kb


async def measure(rig: Rig) -> dict:
    n = STREAMS[rig.settings.smoke]
    out = {"streams_per_kind": n, "workers": WORKERS, "hold_s": rig.settings.hold_s, "variants": {}, "steps": [],
           "role_buffer_size": {kind: p["buffer_size"] for kind, p in location_presets().items() if "buffer_size" in p}}
    for index, (name, sizes) in enumerate(VARIANTS):
        if rig.settings.smoke and name not in SMOKE_VARIANTS:
            continue
        steps = [await fresh_step(rig, _name(index), variables(rig, index, sizes), "%s/%s" % (name, kind),
                                  [port(rig, index)], n if kind == "sse" else 0, n if kind == "ws" else 0)
                 for kind in ("sse", "ws")]
        out["steps"].extend(steps)
        out["variants"][name] = {"sizes": sizes, "kb_per_stream": per_stream(steps)}
        log("memory %-22s KB/stream %s" % (name, out["variants"][name]["kb_per_stream"]))
    out["by_event_size"] = await by_event_size(rig)
    return out


async def fresh_step(rig: Rig, master: str, settings: dict, config: str, ports: List[int], n_sse: int, n_ws: int,
                     **client) -> dict:
    """capacity.step() against a master started for it alone (SETTINGS, as MASTER) and stopped after it.

    Fresh workers for every step: memory that an earlier step freed into the
    workers' allocator would otherwise be reused and not counted."""
    start_master(rig, master, settings)
    try:
        return await capacity.step(rig, config, ports, "/etc/%s/" % master, n_sse, n_ws, **client)
    finally:
        stop_master(rig, master)


async def by_event_size(rig: Rig) -> dict:
    """SSE delay and WebSocket echo through the role's buffers (the role-defaults variant) and through nginx's own
    (nginx-defaults), with events and messages smaller and larger than both, beside the backend direct."""
    rounds = 2
    names = [name for name, unused in VARIANTS]
    compared = {"role": names.index("role-defaults"), "nginx-buffers": names.index("nginx-defaults")}
    sse = {"direct": latency.sse_urls(rig)["direct"]}
    sse.update({k: "http://127.0.0.1:%d/sse/bench" % port(rig, i) for k, i in compared.items()})
    ws = {"direct": latency.ws_urls(rig)["direct"]}
    ws.update({k: "ws://127.0.0.1:%d/ws/bench" % port(rig, i) for k, i in compared.items()})
    try:
        for index in compared.values():
            start_master(rig, _name(index), variables(rig, index, VARIANTS[index][1]))
        out = {"sse_large": SSE_LARGE, "ws_large": WS_LARGE, "rounds": rounds,
               "sse": {"small": await latency.sse_delay(rig, sse, rounds=rounds),
                       "large": await latency.sse_delay(rig, sse, pad=SSE_LARGE, rounds=rounds)},
               "ws": {"small": await latency.ws_echo_rtt(rig, ws, rounds=rounds),
                      "large": await latency.ws_echo_rtt(rig, ws, size=WS_LARGE, rounds=rounds)}}
    finally:
        for index in compared.values():
            stop_master(rig, _name(index))
    for kind, key in (("sse", "delay_ms"), ("ws", "rtt_ms")):
        for size in ("small", "large"):
            one = out[kind][size]
            one.pop("samples_ms", None)  # the page shows percentiles; raw samples are the main rounds'
            rate = "  msgs/s %s" % one["msgs_per_s"] if kind == "ws" else ""
            log("by size %s %s: p99 ms %s%s" % (kind, size, {k: v.get("p99") for k, v in one[key].items()}, rate))
    return out
