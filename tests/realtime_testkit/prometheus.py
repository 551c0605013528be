"""A real Prometheus server for scenario tests, and the parts of its HTTP API they read.

The server is Debian's ``prometheus``, unpacked into build/prometheus by
tools/ensure-prometheus.sh (``make setup``; REALTIME_PROMETHEUS_HOME points
elsewhere). ``prometheus_server()`` runs it on a loopback port with a
generated configuration and a data directory of the caller's, for the length
of a with-block and never longer than ``lifetime`` seconds (coreutils'
``timeout`` ends it even if the test process dies). Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Optional

import yaml

from .collection import REPO_ROOT
from .hosts import http_get
from .processes import stop_process_groups

__all__ = ["PROMETHEUS_HOME", "Prometheus", "binary", "prometheus_server", "rules_holding_for", "rule_names"]

PROMETHEUS_HOME = pathlib.Path(os.environ.get("REALTIME_PROMETHEUS_HOME", REPO_ROOT / "build" / "prometheus"))
RULES = REPO_ROOT / "extensions" / "prometheus" / "realtime_nginx.rules.yml"


def binary(name: str = "prometheus") -> pathlib.Path:
    """prometheus or promtool of the unpacked package."""
    return PROMETHEUS_HOME / "usr" / "bin" / name


def rule_names(path: pathlib.Path = RULES, kind: str = "alert") -> list:
    """The names of the alerts (or, with KIND "record", the recording rules) in a rules file, in order."""
    groups = yaml.safe_load(path.read_text())["groups"]
    return [rule[kind] for group in groups for rule in group["rules"] if kind in rule]


def rules_holding_for(hold: str, path: pathlib.Path = RULES) -> str:
    """The rules file at PATH with every alert's ``for`` set to HOLD ("2s"), expressions and the rest as they are.

    An alert's ``for`` (minutes in production) is checked by promtool's tests; a scenario that watches an
    alert fire and resolve in seconds loads this copy, so what it proves is the shipped expression.
    """
    document = yaml.safe_load(path.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = hold
    return yaml.safe_dump(document, sort_keys=False)


@dataclass
class Prometheus:
    """A running server's HTTP API."""

    url: str

    def _get(self, path: str, **params) -> dict:
        answer = http_get("%s%s?%s" % (self.url, path, urllib.parse.urlencode(params)), timeout=10)
        assert answer.status == 200, "Prometheus %s %r: %s %s" % (path, params, answer.status, answer.error or answer.body[:500])
        document = json.loads(answer.body)
        assert document.get("status") == "success", document
        return document["data"]

    def query(self, expr: str) -> list:
        """The instant vector EXPR evaluates to now: [{"metric": {labels}, "value": [time, "text"]}]."""
        data = self._get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]

    def value(self, expr: str) -> Optional[float]:
        """The one sample EXPR evaluates to now, or None when there is none."""
        result = self.query(expr)
        assert len(result) <= 1, "%s has %d series: %r" % (expr, len(result), result)
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: Optional[str] = None) -> list:
        """The pending and firing alerts (named NAME), each with labels, state and value."""
        return [alert for alert in self._get("/api/v1/alerts")["alerts"]
                if name is None or alert["labels"]["alertname"] == name]

    def alert_state(self, name: str) -> Optional[str]:
        """'firing' or 'pending' for alert NAME (firing if any of its alerts fires), None when inactive."""
        states = {alert["state"] for alert in self.alerts(name)}
        return "firing" if "firing" in states else states.pop() if states else None

    def rules(self) -> list:
        """Every loaded rule, with its group, health and last error."""
        return [dict(rule, group=group["name"]) for group in self._get("/api/v1/rules")["groups"]
                for rule in group["rules"]]

    def targets(self) -> list:
        return self._get("/api/v1/targets", state="active")["activeTargets"]

    def wait_value(self, expr: str, accept: Callable[[float], bool], *, timeout: float, what: str) -> float:
        """The value of EXPR once ACCEPT takes it (see wait()); a missing series is never accepted."""
        def probe():
            value = self.value(expr)
            return value is not None and accept(value) and [value]
        return self.wait(probe, timeout=timeout, what=what)[0]

    def wait(self, probe: Callable[[], object], *, timeout: float, what: str, interval: float = 0.5):
        """Call PROBE every INTERVAL s until it returns something true; that value. Fails after TIMEOUT s,
        saying WHAT was awaited and what PROBE returned last."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = probe()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError("Prometheus: %s not within %.0f s (last: %r)" % (what, timeout, last))
            time.sleep(interval)


def _configuration(jobs: dict, rule_files: list, scrape_interval: str, evaluation_interval: str) -> str:
    return yaml.safe_dump({
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": evaluation_interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}
                           for job, targets in jobs.items()],
    }, sort_keys=False)


@contextlib.contextmanager
def prometheus_server(*, port: int, data_dir, jobs: dict, rule_files=(), scrape_interval: str = "2s",
                      evaluation_interval: str = "1s", lifetime: int = 1800, start_timeout: float = 60.0):
    """Run Prometheus on 127.0.0.1:PORT, scraping JOBS ({job name: ["host:port", ...]}) with RULE_FILES,
    its configuration and data under DATA_DIR; yields a Prometheus. Stopped at the end of the block, and by
    ``timeout`` after LIFETIME seconds whatever happens to the caller."""
    data_dir = pathlib.Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "prometheus.yml"
    config.write_text(_configuration(jobs, list(rule_files), scrape_interval, evaluation_interval))
    check = subprocess.run([str(binary("promtool")), "check", "config", str(config)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(data_dir / "prometheus.log", "w")  # pylint: disable=consider-using-with  # closed below
    process = subprocess.Popen(  # pylint: disable=consider-using-with  # ended in the finally below
        ["timeout", "--kill-after=10", str(lifetime), str(binary()), "--config.file=%s" % config,
         "--storage.tsdb.path=%s" % (data_dir / "tsdb"), "--storage.tsdb.retention.time=1d",
         "--web.listen-address=127.0.0.1:%d" % port, "--web.console.templates=%s" % data_dir,
         "--web.console.libraries=%s" % data_dir],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Prometheus("http://127.0.0.1:%d" % port)
    try:
        deadline = time.monotonic() + start_timeout
        while http_get(server.url + "/-/ready", timeout=2).status != 200:
            assert process.poll() is None, "Prometheus exited (%s): %s" % (
                process.returncode, (data_dir / "prometheus.log").read_text()[-3000:])
            assert time.monotonic() < deadline, "Prometheus not ready within %.0f s" % start_timeout
            time.sleep(0.3)
        yield server
    finally:
        # timeout and Prometheus lead a process group of their own.
        stop_process_groups([process], grace=30)
        log.close()
