"""The benchmark run: provision, measure side by side, write JSON; see bench/README.md."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import pathlib
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from realtime_testkit.load import percentiles, request_loop
from realtime_testkit.sse import delays, read_sse
from realtime_testkit.ws import ws_echo

from .container import REPO, Container, sh

HERE = pathlib.Path(__file__).resolve().parent
BACKEND = REPO / "tests" / "realtime_testkit" / "backend.py"
PER_PROCESS = 4000  # streams per load-client process (20,000 open files per process)


# ------------------------------------------------------------------ settings


@dataclass
class Settings:
    name: str = "rtn-bench"
    port_base: int = 19000
    smoke: bool = False
    # 1. SSE delivery delay
    sse_rounds: int = 4
    sse_streams: int = 10
    sse_events: int = 30
    sse_interval: float = 0.02
    # 2. WebSocket echo
    ws_rounds: int = 4
    ws_sockets: int = 10
    ws_messages: int = 100
    ws_size: int = 1024
    # 3. capacity
    steps: List[int] = field(default_factory=lambda: [1000, 2000, 4000, 8000, 16000, 24000])
    hold_s: float = 10.0
    ramp_timeout_s: float = 90.0
    kind_step: int = 4000  # pure-SSE and pure-WS step for memory per kind (0: skip)
    capacity_budget_s: float = 420.0
    hold_backends: int = 6
    # 4. reload
    reload_streams: int = 2000  # half SSE, half WebSocket
    reloads: int = 10
    reload_gap_s: float = 2.0
    reload_rate: float = 50.0  # new connections per second during the reloads
    shutdown_timeout: int = 30  # the role's default realtime_proxy_worker_shutdown_timeout
    # tuned variant of the role for the capacity comparison
    tuned: Dict = field(default_factory=lambda: {"realtime_proxy_worker_processes": 4,
                                                 "realtime_proxy_worker_connections": 19000,
                                                 "realtime_proxy_worker_rlimit_nofile": 20000})

    @classmethod
    def smoke_settings(cls, **kw) -> "Settings":
        s = cls(smoke=True, sse_rounds=1, sse_streams=3, sse_events=10, ws_rounds=1, ws_sockets=2,
                ws_messages=20, steps=[50, 100], hold_s=2.0, ramp_timeout_s=30.0, kind_step=0,
                capacity_budget_s=60.0, hold_backends=2, reload_streams=20, reloads=2,
                reload_gap_s=1.0, reload_rate=20.0, shutdown_timeout=4)
        for key, value in kw.items():
            setattr(s, key, value)
        return s

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


# ------------------------------------------------------------------ processes


class Procs:
    """Every host process the harness starts; all are ended in ``close()``."""

    def __init__(self):
        self.procs: List[subprocess.Popen] = []

    def start(self, args, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(args, start_new_session=True, **kw)
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
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1.0):
            return
        time.sleep(0.1)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %.0f s" % (port, timeout))


# ------------------------------------------------------------------ the run


class Bench:
    def __init__(self, settings: Settings):
        self.s = settings
        self.c = Container(settings.name)
        self.procs = Procs()
        self.results: dict = {"settings": dict(vars(settings))}
        self.started = time.monotonic()

    # ---------------------------------------------------------- setup

    def role_vars(self) -> dict:
        s = self.s
        hold = {"name": "hold", "servers": ["127.0.0.1:%d" % p for p in s.hold_ports]}
        return {
            "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:%d" % s.app_port],
                                          "keepalive": 16}, hold],
            "realtime_proxy_sites": [{
                "name": "bench", "server_name": "_",
                "listen": ["127.0.0.1:%d" % p for p in s.role_ports],
                "locations": [
                    {"path": "/", "type": "http", "upstream": "app"},
                    {"path": "/sse/", "type": "sse", "upstream": "app"},
                    {"path": "/ws/", "type": "websocket", "upstream": "app"},
                    {"path": "/hold/sse/", "type": "sse", "upstream": "hold"},
                    {"path": "/hold/ws/", "type": "websocket", "upstream": "hold"},
                ]}],
        }

    def start_backends(self) -> None:
        s = self.s
        self.procs.start([sys.executable, str(BACKEND), "--host", "127.0.0.1", "--port", str(s.app_port),
                          "--name", "bench-app"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in s.hold_ports:
            self.procs.start([sys.executable, str(HERE / "holdserver.py"), "--port", str(port),
                              "--heartbeat", "5", "--lifetime", "3600"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in [s.app_port] + s.hold_ports:
            wait_port(port)

    def provision(self) -> None:
        s = self.s
        log("starting container %s" % s.name)
        self.c.start()
        # The naive location goes to conf.d before the first converge: the
        # role includes conf.d/ and validates it with its own files.
        naive = (HERE / "files" / "naive.conf").read_text().replace("@NAIVE_PORT@", str(s.naive_port)) \
            .replace("@APP_PORT@", str(s.app_port))
        self.c.put("/etc/nginx/conf.d/bench-naive.conf", naive)
        variables = self.role_vars()
        variables["realtime_proxy_worker_shutdown_timeout"] = s.shutdown_timeout
        log("first converge (installs nginx)")
        first = self.c.converge(variables)
        log("first converge: %.1f s; no-op re-run" % first["wall_s"])
        noop = None if s.smoke else self.c.converge(variables)
        if noop is not None:
            log("no-op re-run: %.1f s, changed=%s" % (noop["wall_s"], noop["recap"].get("changed")))
        self.results["converge"] = {"first": first, "noop": noop,
                                    "pipelining": os.environ.get("ANSIBLE_PIPELINING", "True")}
        self.start_tuned()
        self.start_debian()
        for port in s.role_ports + s.tuned_ports + s.debian_ports + [s.naive_port]:
            wait_port(port)

    def start_tuned(self) -> None:
        """The role's own templates rendered with the tuned variables, run as a second master."""
        from realtime_testkit.render import render_tree
        s = self.s
        settings = self.role_vars()
        settings["realtime_proxy_sites"][0]["listen"] = ["127.0.0.1:%d" % p for p in s.tuned_ports]
        settings.update(s.tuned)
        settings["realtime_proxy_worker_shutdown_timeout"] = s.shutdown_timeout
        with tempfile.TemporaryDirectory(prefix="rtn-bench-tuned-") as tmp:
            render_tree(settings, tmp)
            conf = pathlib.Path(tmp, "nginx.conf")
            text, n = re.subn(r"(?m)^pid\s[^;]*;", "pid /run/nginx-tuned.pid;", conf.read_text())
            assert n == 1, "no pid line in the rendered nginx.conf"
            conf.write_text(text)
            self.c.exec("rm -rf /etc/nginx-tuned && cp -a /etc/nginx /etc/nginx-tuned && "
                        "rm -rf /etc/nginx-tuned/realtime_proxy /etc/nginx-tuned/conf.d/*")
            sh(["docker", "cp", tmp + "/.", "%s:/etc/nginx-tuned/" % s.name])
        self.c.exec("nginx -t -q -c /etc/nginx-tuned/nginx.conf && nginx -c /etc/nginx-tuned/nginx.conf")

    def start_debian(self) -> None:
        """Debian's own nginx.conf from the nginx-common package, with a site of the guide's locations."""
        s = self.s
        self.c.exec(
            "set -e; mkdir -p /tmp/deb && cd /tmp/deb; "
            "deb=$(ls /var/cache/apt/archives/nginx-common_*.deb 2>/dev/null | head -n1); "
            "if [ -z \"$deb\" ]; then apt-get download -q nginx-common >/dev/null; deb=$(ls nginx-common_*.deb); fi; "
            "dpkg-deb --fsys-tarfile \"$deb\" | tar -x ./etc/nginx/nginx.conf; "
            "mkdir -p /etc/nginx-debian; cp etc/nginx/nginx.conf /etc/nginx-debian/nginx.conf.dist", timeout=300)
        dist = self.c.exec("cat /etc/nginx-debian/nginx.conf.dist").stdout
        text, n1 = re.subn(r"(?m)^pid\s[^;]*;", "pid /run/nginx-debian.pid;", dist)
        text, n2 = re.subn(r"(?m)^(\s*)include /etc/nginx/conf.d/\*\.conf;", r"\1include /etc/nginx-debian/site.conf;", text)
        text, n3 = re.subn(r"(?m)^(\s*)include /etc/nginx/sites-enabled/\*;", r"\1# (sites-enabled: not for the bench)", text)
        assert (n1, n2, n3) == (1, 1, 1), "Debian's nginx.conf changed shape: %r" % ((n1, n2, n3),)
        site = (HERE / "files" / "debian-site.conf").read_text() \
            .replace("@HOLD_SERVERS@", "\n".join("    server 127.0.0.1:%d;" % p for p in s.hold_ports)) \
            .replace("@LISTENS@", "\n".join("    listen 127.0.0.1:%d;" % p for p in s.debian_ports))
        self.c.put("/etc/nginx-debian/nginx.conf", text)
        self.c.put("/etc/nginx-debian/site.conf", site)
        wc = re.search(r"worker_connections\s+(\d+)", text)
        self.results["debian_conf"] = {"worker_connections": int(wc.group(1)) if wc else None}
        self.c.exec("nginx -t -q -c /etc/nginx-debian/nginx.conf && nginx -c /etc/nginx-debian/nginx.conf")

    def machine(self) -> dict:
        mem = 0
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1])
        others = sh(["docker", "ps", "--format", "{{.Names}}"], check=False).stdout.split()
        others = [n for n in others if n != self.s.name]
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(),
            "mem_gib": round(mem / 1024 / 1024, 1),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "nginx": self.c.exec("nginx -v 2>&1", check=False).stdout.strip().replace("nginx version: ", ""),
            "os_in_container": self.c.exec(". /etc/os-release && echo $PRETTY_NAME", check=False).stdout.strip(),
            "loadavg_start": os.getloadavg(),
            "other_containers": others,
        }

    # ---------------------------------------------------------- 1. SSE delay

    async def sse_delay(self) -> dict:
        s = self.s
        query = "count=%d&interval=%g" % (s.sse_events, s.sse_interval)
        urls = {
            "direct": "http://127.0.0.1:%d/sse/bench?%s" % (s.app_port, query),
            "role": "http://127.0.0.1:%d/sse/bench?%s" % (s.role_ports[0], query),
            "naive": "http://127.0.0.1:%d/sse/bench?%s" % (s.naive_port, query),
        }
        got: Dict[str, list] = {k: [] for k in urls}
        first: Dict[str, list] = {k: [] for k in urls}
        missing = {k: 0 for k in urls}
        timeout = s.sse_events * s.sse_interval + 10
        order = list(urls)
        for r in range(s.sse_rounds):
            for name in order[r % 3:] + order[:r % 3]:  # rotate so no config always goes first
                res = await asyncio.gather(*(read_sse(urls[name], count=s.sse_events, timeout=timeout)
                                             for unused in range(s.sse_streams)))
                for one in res:
                    d = delays(one)
                    got[name].extend(d)
                    if d:
                        first[name].append(d[0])
                    missing[name] += s.sse_events - len(one.events)
        out = {"events_per_config": {k: len(v) for k, v in got.items()}, "missing": missing,
               "delay_ms": {k: percentiles(v, (50, 90, 99)) for k, v in got.items()},
               "first_event_delay_ms": {k: percentiles(v, (50, 99)) for k, v in first.items()},
               "samples_ms": {k: [round(x * 1000, 3) for x in v] for k, v in got.items()}}
        a, b = out["delay_ms"]["direct"], out["delay_ms"]["role"]
        if a.get("n") and b.get("n"):
            out["added_ms"] = {p: round(b[p] - a[p], 3) for p in ("p50", "p99", "max")}
            out["ratio"] = {p: round(b[p] / a[p], 2) if a[p] else None for p in ("p50", "p99")}
        return out

    # ---------------------------------------------------------- 2. WebSocket echo

    async def ws_echo_bench(self) -> dict:
        s = self.s
        urls = {"direct": "ws://127.0.0.1:%d/ws/bench" % s.app_port,
                "role": "ws://127.0.0.1:%d/ws/bench" % s.role_ports[0]}
        payload = b"x" * s.ws_size
        rtts: Dict[str, list] = {k: [] for k in urls}
        rates: Dict[str, list] = {k: [] for k in urls}
        errors = {k: 0 for k in urls}
        for r in range(s.ws_rounds):
            for name in (list(urls) if r % 2 == 0 else list(urls)[::-1]):
                t0 = time.monotonic()
                res = await asyncio.gather(*(ws_echo(urls[name], [payload] * s.ws_messages, timeout=60)
                                             for unused in range(s.ws_sockets)))
                wall = time.monotonic() - t0
                n = 0
                for one in res:
                    ok = [rt for echo, rt in zip(one.echoes, one.rtts) if echo == payload]
                    rtts[name].extend(ok)
                    n += len(ok)
                    errors[name] += (s.ws_messages - len(ok)) + (1 if one.error else 0)
                rates[name].append(n / wall if wall else 0.0)
        out = {"sockets": s.ws_sockets, "messages_per_socket": s.ws_messages, "size": s.ws_size,
               "rtt_ms": {k: percentiles(v, (50, 90, 99)) for k, v in rtts.items()},
               "msgs_per_s": {k: round(sum(v) / len(v), 1) if v else 0 for k, v in rates.items()},
               "errors": errors,
               "samples_ms": {k: [round(x * 1000, 3) for x in v] for k, v in rtts.items()}}
        a, b = out["rtt_ms"]["direct"], out["rtt_ms"]["role"]
        if a.get("n") and b.get("n"):
            out["added_ms"] = {p: round(b[p] - a[p], 3) for p in ("p50", "p99")}
            out["ratio"] = {p: round(b[p] / a[p], 2) if a[p] else None for p in ("p50", "p99")}
            out["throughput_ratio"] = round(out["msgs_per_s"]["role"] / out["msgs_per_s"]["direct"], 2) \
                if out["msgs_per_s"]["direct"] else None
        return out

    # ---------------------------------------------------------- load-client processes

    def spawn_clients(self, ports: List[int], n_sse: int, n_ws: int, duration: float,
                      resume: bool = False, ping_interval: float = 5.0) -> list:
        procs = []
        index = 0
        for kind, n in (("sse", n_sse), ("ws", n_ws)):
            chunks = [min(PER_PROCESS, n - i) for i in range(0, n, PER_PROCESS)]
            for size in chunks:
                port = ports[index % len(ports)]
                index += 1
                scheme = "http" if kind == "sse" else "ws"
                spec = {"kind": kind, "url": "%s://127.0.0.1:%d/hold/%s/bench" % (scheme, port, kind),
                        "n": size, "duration": duration, "batch": 200, "batch_gap": 0.2,
                        "ping_interval": ping_interval, "resume": resume, "resume_delay": 1.0}
                env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests"),
                                                                   os.environ.get("PYTHONPATH", "")]))
                # stderr to a file: a full pipe would block the client mid-run
                errfile = tempfile.TemporaryFile("w+")
                proc = self.procs.start([sys.executable, "-m", "bench.loadproc", json.dumps(spec)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=errfile, text=True, env=env, cwd=str(REPO))
                proc.errfile = errfile
                proc.early_lines = []
                procs.append(proc)
        return procs

    @staticmethod
    async def wait_ready(procs, timeout: float) -> Optional[float]:
        async def one(proc):
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, proc.stdout.readline)
                if not line or line.startswith("READY"):
                    return
                proc.early_lines.append(line)
        try:
            t0 = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(one(p) for p in procs)), timeout)
            return time.monotonic() - t0
        except asyncio.TimeoutError:
            return None

    @staticmethod
    def collect(procs, timeout: float = 60.0) -> list:
        for p in procs:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                p.stdin.write("STOP\n")
                p.stdin.flush()
        out = []
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                stdout, stderr = p.communicate(timeout=10)
            p.errfile.seek(0)
            stderr = p.errfile.read()[-2000:]
            p.errfile.close()
            result = None
            for line in p.early_lines + (stdout or "").splitlines():
                if line.startswith("RESULT "):
                    result = json.loads(line[7:])
            if result is None:
                result = {"error": "client process gave no result (rc %s): %s" % (p.returncode, (stderr or "")[-500:])}
            out.append(result)
        return out

    def log_offset(self) -> int:
        return int(self.c.exec("stat -c %s /var/log/nginx/error.log 2>/dev/null || echo 0", check=False)
                   .stdout.strip() or 0)

    def log_reasons(self, offset: int) -> dict:
        text = self.c.exec("tail -c +%d /var/log/nginx/error.log 2>/dev/null | head -c 20000000" % (offset + 1),
                           check=False, timeout=60).stdout
        patterns = {
            "worker_connections are not enough": "worker_connections are not enough",
            "Too many open files": "too many open files",
            "Cannot assign requested address": "ephemeral ports exhausted",
            "upstream timed out": "upstream timed out",
            "no live upstreams": "no live upstreams",
            "Connection refused": "backend refused",
        }
        return {label: text.count(key) for key, label in patterns.items() if key in text}

    # ---------------------------------------------------------- 3. capacity

    async def capacity_step(self, config: str, ports: List[int], marker: Optional[str],
                            n_sse: int, n_ws: int) -> dict:
        s = self.s
        offset = self.log_offset()
        await asyncio.sleep(1.0)
        s0 = self.c.sample(marker)
        duration = s.ramp_timeout_s + s.hold_s + 20
        procs = self.spawn_clients(ports, n_sse, n_ws, duration)
        ramp = await self.wait_ready(procs, s.ramp_timeout_s)
        await asyncio.sleep(1.0)
        s1 = self.c.sample(marker)
        await asyncio.sleep(s.hold_s)
        s2 = self.c.sample(marker)
        results = self.collect(procs)
        held = failed = attempted = 0
        errors: Dict[str, int] = {}
        by_kind = {"sse": {"held": 0, "failed": 0}, "ws": {"held": 0, "failed": 0}}
        for r in results:
            if "summary" not in r:
                errors[r.get("error", "?")[:120]] = errors.get(r.get("error", "?")[:120], 0) + 1
                continue
            sm = r["summary"]
            attempted += sm["attempted"]
            held += sm["ok"]
            failed += sm["attempted"] - sm["ok"]
            by_kind[sm["kind"]]["held"] += sm["ok"]
            by_kind[sm["kind"]]["failed"] += sm["attempted"] - sm["ok"]
            for e, c in sm["error_samples"].items():
                errors[e[:120]] = errors.get(e[:120], 0) + c
        target = n_sse + n_ws
        failed += target - attempted  # a client process that died counts all its streams as failed
        rss_delta = s2.get("rss_kb", 0) - s0.get("rss_kb", 0)
        pss_delta = s2.get("pss_kb", 0) - s0.get("pss_kb", 0)
        step = {
            "config": config, "target": target, "sse": n_sse, "ws": n_ws, "held": held, "failed": failed,
            "by_kind": by_kind, "ramp_s": round(ramp, 2) if ramp is not None else None,
            "nginx_workers": s2.get("n_workers"),
            "nginx_rss_idle_kb": s0.get("rss_kb"), "nginx_rss_kb": s2.get("rss_kb"),
            "nginx_pss_kb": s2.get("pss_kb"),
            "rss_per_stream_kb": round(rss_delta / held, 2) if held else None,
            "pss_per_stream_kb": round(pss_delta / held, 2) if held else None,
            "cpu_ramp_s": round(s1.get("cpu_s", 0) - s0.get("cpu_s", 0), 2),
            "cpu_hold_pct": round(100 * (s2.get("cpu_s", 0) - s1.get("cpu_s", 0)) / s.hold_s, 1),
            "client_errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
            "nginx_log": self.log_reasons(offset),
        }
        log("capacity %-13s %6d: held %6d failed %5d  rss/stream %s KB  ramp %s s  %s" % (
            config, target, held, failed, step["rss_per_stream_kb"], step["ramp_s"],
            step["nginx_log"] or ""))
        await asyncio.sleep(2.0)  # let closes settle before the next step
        return step

    @staticmethod
    def bound(config_info: dict, step: dict) -> str:
        logs = step["nginx_log"]
        errs = " ".join(step["client_errors"])
        if "worker_connections are not enough" in logs:
            return ("worker_connections: %s per worker x %s workers, and every proxied stream takes two "
                    "connections (client + upstream)" % (config_info["worker_connections"], config_info["workers"]))
        if "too many open files" in logs:
            return "open files per worker (worker_rlimit_nofile %s; the hard limit here is 20,000)" % \
                config_info.get("rlimit")
        if "ephemeral ports exhausted" in logs or "Cannot assign requested address" in errs:
            return "ephemeral ports (32768-60999 per destination)"
        if "Too many open files" in errs:
            return "open files in a load-client process"
        resets = sum(c for e, c in step["client_errors"].items()
                     if "disconnected" in e or "reset by peer" in e or "valid HTTP response" in e)
        if resets and resets >= step["failed"] // 2:
            return ("worker_connections: %s per worker x %s workers, 2 connections per stream; nginx resets "
                    "what a worker that is out of connections accepts (connections are not spread evenly "
                    "over the workers)" % (config_info["worker_connections"], config_info["workers"]))
        if step["ramp_s"] is None or "no response head" in errs or "handshake" in errs or "Timeout" in errs:
            return "connection setup timed out (accept backlog / CPU of this 2-core machine)"
        return "see client_errors and nginx_log"

    async def capacity(self) -> dict:
        s = self.s
        wc_debian = self.results.get("debian_conf", {}).get("worker_connections") or 768
        configs = [
            ("debian-default", s.debian_ports, "nginx-debian",
             {"worker_connections": wc_debian, "workers": "auto (2)", "rlimit": "1024 (inherited)"}),
            ("role-defaults", s.role_ports, None,
             {"worker_connections": 8192, "workers": "auto (2)", "rlimit": 16384}),
            ("role-tuned", s.tuned_ports, "nginx-tuned",
             {"worker_connections": s.tuned["realtime_proxy_worker_connections"],
              "workers": s.tuned["realtime_proxy_worker_processes"],
              "rlimit": s.tuned["realtime_proxy_worker_rlimit_nofile"]}),
        ]
        out = {"steps": [], "ceilings": {}, "configs": {c[0]: c[3] for c in configs},
               "hold_s": s.hold_s, "per_process": PER_PROCESS}
        budget_end = time.monotonic() + s.capacity_budget_s
        for name, ports, marker, info in configs:
            ceiling = {"held_max": 0, "first_failing_step": None, "bounded_by": None}
            for target in s.steps:
                if time.monotonic() > budget_end:
                    ceiling["bounded_by"] = ceiling["bounded_by"] or "time budget of the run (not a limit of nginx)"
                    break
                step = await self.capacity_step(name, ports, marker, target // 2, target - target // 2)
                out["steps"].append(step)
                ceiling["held_max"] = max(ceiling["held_max"], step["held"])
                if step["failed"]:
                    ceiling["first_failing_step"] = target
                    ceiling["bounded_by"] = self.bound(info, step)
                    break
            else:
                ceiling["bounded_by"] = "not reached: the largest step (%d) held" % s.steps[-1]
            out["ceilings"][name] = ceiling
        if s.kind_step:
            for kind in ("sse", "ws"):
                n = s.kind_step
                step = await self.capacity_step("role-tuned/%s" % kind, s.tuned_ports, "nginx-tuned",
                                                n if kind == "sse" else 0, n if kind == "ws" else 0)
                out.setdefault("per_kind", []).append(step)
        return out

    # ---------------------------------------------------------- 4. reload under load

    async def reload(self) -> dict:
        s = self.s
        n_sse = s.reload_streams // 2
        n_ws = s.reload_streams - n_sse
        window = s.reloads * s.reload_gap_s + s.shutdown_timeout + 15
        duration = s.ramp_timeout_s + window + 10
        samples = []
        stop_sampling = asyncio.Event()

        async def sampler():
            while not stop_sampling.is_set():
                samples.append(self.c.sample(None))
                await asyncio.sleep(0.25)

        sampling = asyncio.ensure_future(sampler())
        await asyncio.sleep(1.0)
        procs = self.spawn_clients(s.role_ports, n_sse, n_ws, duration, resume=True, ping_interval=1.0)
        ramp = await self.wait_ready(procs, s.ramp_timeout_s)
        await asyncio.sleep(1.0)
        loop_task = asyncio.ensure_future(request_loop(
            "http://127.0.0.1:%d/" % s.role_ports[1], count=int(s.reload_rate * (window + 5)) + 10,
            duration=window + 2, concurrency=8, rate=s.reload_rate, timeout=5.0))
        await asyncio.sleep(1.0)
        reloads = []
        for i in range(s.reloads):
            before = self.c.sample(None)
            t = time.time()
            done = self.c.exec("systemctl reload nginx", check=False)
            # this reload's old generation: workers not already shutting down from an earlier reload
            current = sorted(p for p, w in before["workers"].items() if not w["shutting_down"])
            reloads.append({"at": t, "rc": done.returncode, "old_workers": current,
                            "took_s": round(time.time() - t, 3)})
            await asyncio.sleep(max(0.0, s.reload_gap_s - (time.time() - t)))
        first_reload = reloads[0]["at"]
        last_reload = reloads[-1]["at"]
        # wait (bounded) until every worker that existed before the last reload is gone
        deadline = time.monotonic() + s.shutdown_timeout + 15
        all_old = set(p for r in reloads for p in r["old_workers"])
        while time.monotonic() < deadline:
            if not all_old & set(self.c.sample(None)["workers"]):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3.0)  # let reconnects settle
        stop_sampling.set()
        await sampling
        http = await loop_task
        results = self.collect(procs)
        # when did each reload's old workers exit (last sample they were seen in)
        last_seen: Dict[int, float] = {}
        for smp in samples:
            for pid in smp["workers"]:
                last_seen[int(pid)] = smp["t"]
        for r in reloads:
            gone = [last_seen.get(p, r["at"]) for p in r["old_workers"]]
            r["old_workers_exit_s"] = round(max(gone) - r["at"], 2) if gone else None
        cutoff = first_reload + s.shutdown_timeout - 0.5
        dropped_before = cut_at_timeout = opened = resumed = 0
        closes: List[float] = []
        opens: List[float] = []
        resumes: List[float] = []
        for r in results:
            if "summary" not in r:
                continue
            opened += r["summary"]["opened"]
            resumed += r["summary"]["resume_opened"]
            closes.extend(r["closes"])
            opens.extend(r["opened_at"])
            resumes.extend(r["resumed_at"])
            for c in r["closes"]:
                if first_reload - 1 <= c < cutoff:
                    dropped_before += 1
                elif c >= cutoff:
                    cut_at_timeout += 1
        during = http.summary(first_reload - 0.5, last_reload + 2.0)
        peak = max(samples, key=lambda x: x.get("rss_kb", 0) + x.get("master_rss_kb", 0)) if samples else {}
        pre = [x for x in samples if x["t"] < first_reload]
        out = {
            "streams": s.reload_streams, "opened": opened, "ramp_s": ramp, "reloads": len(reloads),
            "reload_gap_s": s.reload_gap_s, "worker_shutdown_timeout_s": s.shutdown_timeout,
            "reload_rc": [r["rc"] for r in reloads],
            "dropped_before_timeout": dropped_before,
            "cut_at_timeout": cut_at_timeout,
            "reconnected": resumed,
            "new_connections": {"attempted": during.attempted, "failed": during.failed,
                                "rate_per_s": s.reload_rate, "latency_ms": during.latency_ms,
                                "errors": during.error_samples},
            "old_workers_exit_s": [r["old_workers_exit_s"] for r in reloads],
            "rss_kb_before_reload": pre[-1]["rss_kb"] + pre[-1].get("master_rss_kb", 0) if pre else None,
            "rss_kb_high_water": (peak.get("rss_kb", 0) + peak.get("master_rss_kb", 0)) if peak else None,
            "pss_kb_high_water": max((x.get("pss_kb", 0) for x in samples), default=None),
            "max_workers": max((x.get("n_workers", 0) for x in samples), default=None),
            "timeline": {"t0": first_reload, "reloads": [r["at"] for r in reloads],
                         "samples": [[round(x["t"], 2), x.get("rss_kb", 0) + x.get("master_rss_kb", 0),
                                      x.get("n_workers", 0)] for x in samples],
                         "opens": [round(x, 2) for x in opens], "closes": [round(x, 2) for x in closes],
                         "resumes": [round(x, 2) for x in resumes]},
        }
        log("reload: dropped before timeout %d, cut at timeout %d, reconnected %d, failed new %d/%d, "
            "old workers exit %s s, RSS high water %s KB" % (
                dropped_before, cut_at_timeout, resumed, during.failed, during.attempted,
                out["old_workers_exit_s"], out["rss_kb_high_water"]))
        return out

    # ---------------------------------------------------------- all

    async def measure(self) -> None:
        log("1. SSE delivery delay")
        self.results["sse"] = await self.sse_delay()
        log("   p99 ms: %s" % {k: v.get("p99") for k, v in self.results["sse"]["delay_ms"].items()})
        log("2. WebSocket echo")
        self.results["ws"] = await self.ws_echo_bench()
        log("   p99 ms: %s, msgs/s %s" % ({k: v.get("p99") for k, v in self.results["ws"]["rtt_ms"].items()},
                                          self.results["ws"]["msgs_per_s"]))
        log("3. concurrent streams")
        self.results["capacity"] = await self.capacity()
        log("4. reload under load")
        self.results["reload"] = await self.reload()

    def run(self) -> dict:
        try:
            self.start_backends()
            self.provision()
            self.results["machine"] = self.machine()
            asyncio.run(self.measure())
            self.results["machine"]["loadavg_end"] = os.getloadavg()
        finally:
            self.procs.close()
            self.c.remove()
            self.results["runtime_s"] = round(time.monotonic() - self.started, 1)
        return self.results
