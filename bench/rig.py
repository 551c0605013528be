"""What every measurement shares: the settings, the container, the host processes, the log."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .container import NAME, Container


@dataclass
class Settings:
    name: str = NAME
    port_base: int = 19000
    smoke: bool = False
    # 1. SSE delivery delay
    # 1 and 2: at least 5,000 samples per configuration, in interleaved rounds
    sse_rounds: int = 5
    sse_streams: int = 20
    sse_events: int = 50
    sse_interval: float = 0.02
    # 2. WebSocket echo
    ws_rounds: int = 5
    ws_sockets: int = 10
    ws_messages: int = 100
    ws_size: int = 1024
    # 3. capacity
    steps: List[int] = field(default_factory=lambda: [1000, 2000, 4000, 8000, 16000, 24000, 32000, 50000])
    hold_s: float = 10.0
    ramp_timeout_s: float = 240.0  # 50,000 streams open in about 125 s (loadproc.CLIENTS)
    kind_step: int = 4000  # pure-SSE and pure-WS step for memory per kind (0: skip)
    capacity_budget_s: float = 1200.0  # the series takes about 13 minutes (a 50,000 step about 3)
    # Each backend is one process (20,000 open files) on one port (about 28,000 ephemeral ports from nginx):
    # 8 of them take 50,000 streams at about 6,250 connections each.
    hold_backends: int = 8
    # 4. reload
    reload_streams: int = 2000  # half SSE, half WebSocket
    reloads: int = 10
    reload_gap_s: float = 2.0
    reload_rate: float = 50.0  # new connections per second during the reloads
    shutdown_timeout: Optional[int] = None  # None: the role's default (realtime_proxy_worker_shutdown_timeout)
    # 6. scale: the role's run time by sites (of 3 locations) and by hosts
    scale_sites: List[int] = field(default_factory=lambda: [1, 100, 200, 300])
    scale_hosts: List[int] = field(default_factory=lambda: [1, 4, 8])
    scale_fleet_sites: int = 30  # sites on each host of the fleet
    # Rounds over the site counts (each a first converge and a no-op per count, in alternating order) and over
    # the host counts (a no-op per count): the repeats give the fits their spread, and alternating shows drift.
    scale_rounds: int = 3
    scale_host_rounds: int = 2
    # Tuned variant of the role for the capacity comparison: 50,000 streams are 100,000 connections, 12,500 per
    # worker when reuseport spreads them evenly, well under worker_connections and the open-files limit.
    tuned: Dict = field(default_factory=lambda: {"realtime_proxy_worker_processes": 8,
                                                 "realtime_proxy_worker_connections": 19000,
                                                 "realtime_proxy_worker_rlimit_nofile": 20000})

    # A smoke run's scale part: one site on one host, and one step of two
    # hosts for the several-host inventory (each host installs nginx).
    @classmethod
    def smoke_settings(cls, **kw) -> "Settings":
        s = cls(smoke=True, sse_rounds=2, sse_streams=3, sse_events=10, ws_rounds=2, ws_sockets=2,
                ws_messages=20, steps=[50, 100], hold_s=2.0, ramp_timeout_s=30.0, kind_step=0,
                capacity_budget_s=60.0, hold_backends=2, reload_streams=20, reloads=2,
                reload_gap_s=1.0, reload_rate=20.0, shutdown_timeout=4,
                scale_sites=[1], scale_hosts=[2], scale_fleet_sites=1, scale_rounds=1, scale_host_rounds=1)
        for key, value in kw.items():
            setattr(s, key, value)
        return s

    def quick(self) -> "Settings":
        """Fewer scale runs (``--quick``): two rounds over the four site counts, hosts 1 and 8."""
        self.scale_rounds, self.scale_hosts = 2, [1, 8]
        return self

    # ports, all on 127.0.0.1 and inside this harness's range
    @property
    def app_port(self):
        return self.port_base + 1

    @property
    def hold_ports(self):
        return [self.port_base + 10 + i for i in range(self.hold_backends)]

    @property
    def role_ports(self):
        return [self.port_base + 80 + i for i in range(4)]

    @property
    def naive_port(self):
        return self.port_base + 85

    @property
    def tuned_ports(self):
        return [self.port_base + 70 + i for i in range(4)]

    @property
    def debian_ports(self):
        return [self.port_base + 90 + i for i in range(4)]


def log(msg: str) -> None:
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Procs:
    """Every host process the harness starts; all are ended in ``close()``."""

    def __init__(self):
        self.procs: List[subprocess.Popen] = []

    def start(self, args, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(args, start_new_session=True, **kw)  # pylint: disable=consider-using-with
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.procs = []


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1.0):
            return
        time.sleep(0.1)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %.0f s" % (port, timeout))


@dataclass
class Rig:
    """One run's settings, container and host processes, and the results recorded so far."""

    settings: Settings
    container: Container
    procs: Procs = field(default_factory=Procs)
    results: dict = field(default_factory=dict)
