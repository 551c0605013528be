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
This is memory, not time: a busy machine does not change it. glibc's own
count of the workers' heap (bench/heap.py) says how much of it is live.

Then every variant's throughput, side by side in interleaved rounds
(throughput.py): SSE events and WebSocket echoes per second, small and larger
than the buffers. memory_goal.py judges the role's presets against the
smallest variant that keeps that throughput.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from typing import List, Optional

from realtime_testkit.collection import ensure_importable

from . import capacity, heap, latency, throughput
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
    ("role-request-pool-1k", {"http": {"request_pool_size": "1k"}}),  # the presets' buffers, a smaller pool
    ("role-defaults", None),
]
SMOKE_VARIANTS = ("nginx-defaults", "role-defaults")  # a smoke run's: every path, fewer masters
SSE_LARGE = 16 * 1024  # characters of padding in each event of the large-event round
WS_LARGE = 64 * 1024  # bytes of each message of the large-message round
STREAMS = {False: 2000, True: 20}  # per kind: a full run, a smoke run
# Every held WebSocket sends a message this often (its first within this time): nginx allocates a tunnel's buffer
# for each direction when the first data crosses it, so a WebSocket that has carried a message both ways holds both,
# and one that has not, one. Sooner than any step's hold, every WebSocket has done so when the workers are sampled.
PING_INTERVAL_S = 2.0
THROUGHPUT_ROUNDS = {False: 5, True: 2}  # interleaved rounds of every throughput workload: a full run, a smoke run
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


def conditions() -> dict:
    """When a measurement ran and how loaded the machine was (its figures may be spliced into another run's)."""
    others = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                            timeout=30, check=False).stdout.split()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": os.getloadavg(), "other_containers": len(others)}


def _file_and_shared(step: dict) -> dict:
    """KB per held stream of the step's RSS that is file pages and shared memory; {} without the figures."""
    if not step.get("held") or "rss_file_added_kb" not in step:
        return {}
    return {"rss_file": round(step["rss_file_added_kb"] / step["held"], 2),
            "rss_shmem": round(step["rss_shmem_added_kb"] / step["held"], 2)}


def per_stream(steps: List[dict]) -> dict:
    """KB per stream of each kind's step (config NAME/KIND), and the mean of SSE and WebSocket; with the heap's
    figures (heap.per_stream) where the step has them."""
    kb = {one["config"].rsplit("/", 1)[1]: dict({"rss": one["rss_per_stream_kb"], "pss": one["pss_per_stream_kb"],
                                                 "held": one["held"], "failed": one["failed"]}, **heap.per_stream(one),
                                                **_file_and_shared(one))
          for one in steps}
    known = [kb[k]["rss"] for k in ("sse", "ws") if k in kb and kb[k]["rss"] is not None]
    kb["mixed_rss"] = round(sum(known) / len(known), 2) if len(known) == 2 else None
    return kb


async def measure(rig: Rig) -> dict:
    n = STREAMS[rig.settings.smoke]
    out = {"streams_per_kind": n, "workers": WORKERS, "hold_s": rig.settings.hold_s, "variants": {}, "steps": [],
           "role_buffer_size": {kind: p["buffer_size"] for kind, p in location_presets().items() if "buffer_size" in p},
           "conditions": conditions()}
    for index, (name, sizes) in enumerate(VARIANTS):
        if rig.settings.smoke and name not in SMOKE_VARIANTS:
            continue
        steps = [await fresh_step(rig, _name(index), variables(rig, index, sizes), "%s/%s" % (name, kind),
                                  [port(rig, index)], n if kind == "sse" else 0, n if kind == "ws" else 0, heap=True)
                 for kind in ("sse", "ws")]
        out["steps"].extend(steps)
        out["variants"][name] = {"sizes": sizes, "kb_per_stream": per_stream(steps)}
        log("memory %-22s KB/stream %s" % (name, out["variants"][name]["kb_per_stream"]))
    out["throughput"] = await variants_throughput(rig, list(out["variants"]))
    out["by_event_size"] = await by_event_size(rig)
    out["conditions"]["loadavg_end"] = os.getloadavg()
    return out


async def variants_throughput(rig: Rig, names: List[str]) -> dict:
    """throughput.measure() of the variants NAMES, each a master of its own, all running side by side."""
    indexes = {name: [v for v, unused in VARIANTS].index(name) for name in names}
    urls = {name: {"sse": "http://127.0.0.1:%d/sse/bench" % port(rig, i),
                   "ws": "ws://127.0.0.1:%d/ws/bench" % port(rig, i)} for name, i in indexes.items()}
    try:
        for i in indexes.values():
            start_master(rig, _name(i), variables(rig, i, VARIANTS[i][1]))
        return await throughput.measure(urls, THROUGHPUT_ROUNDS[rig.settings.smoke], rig.settings.smoke)
    finally:
        for i in indexes.values():
            stop_master(rig, _name(i))


async def fresh_step(rig: Rig, master: str, settings: dict, config: str, ports: List[int], n_sse: int, n_ws: int,
                     http: Optional[dict] = None, **client) -> dict:
    """capacity.step() against a master started for it alone (SETTINGS, HTTP: start_master()'s, as MASTER) and
    stopped after it.

    Fresh workers for every step: memory that an earlier step freed into the
    workers' allocator would otherwise be reused and not counted."""
    start_master(rig, master, settings, http=http)
    client.setdefault("ping_interval", PING_INTERVAL_S)
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
