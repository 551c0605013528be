"""Metrics as operators see them: a real Prometheus scrapes the proxy's exporters and evaluates the
collection's alert rules (conftest.py) while streams go through nginx.

The tests run in file order; test_removal.py (metrics off) runs after them.
"""

import json
import re
import socket
import time

import pytest
from realtime_testkit.hosts import host_python, http_get
from realtime_testkit.load import sse_streams_held
from realtime_testkit.prometheus import rule_names

STREAMS = 440  # 880 of the 2 x 512 connections: 86%, past the capacity alert's 80%
NGINX_EXPORTER = "prometheus-nginx-exporter"
NODE_EXPORTER = "prometheus-node-exporter"

# Prints {pid: command line} of nginx's master's children, after _proc.py (host_python).
WORKERS = r"""
import json, sys
table = process_table(with_cmdline=True)
master = int(open("/run/nginx.pid").read())
print(json.dumps({pid: info["cmd"] for pid, info in table.items() if info["ppid"] == master}))
"""


def workers(host):
    """{pid: title} of nginx's workers: "nginx: worker process", or "... is shutting down" after a reload."""
    return {int(pid): cmd for pid, cmd in json.loads(host_python(host, WORKERS)).items()}


def retiring_workers(before, now):
    """The workers of BEFORE that are shutting down in NOW, once the reload has reached all of them (each is
    shutting down or gone); None until then. A reload retires every old worker, but not in the same instant:
    on a loaded machine one still had its old title when the other's had changed."""
    if any(pid in now and "shutting down" not in now[pid] for pid in before):
        return None
    return [pid for pid in before if pid in now]


def gauge(prometheus, name, metric):
    return prometheus.value('%s{realtime_proxy="%s"}' % (metric, name))


def main_pid(host, service):
    return int(host.check_output("systemctl show --property MainPID --value %s" % service))


def test_prometheus_scrapes_both_exporters_with_the_proxy_label(prometheus, name):
    up = {result["metric"]["job"]: result["value"][1] for result in prometheus.query("up")}
    assert up == {"realtime_nginx": "1", "realtime_nginx_node": "1"}
    assert gauge(prometheus, name, "nginx_up") == 1
    # The nginx exporter's series and the capacity gauges carry the same label, so PromQL joins them.
    assert prometheus.wait_value('realtime_nginx_connection_capacity{realtime_proxy="%s"}' % name, lambda value: value > 0,
                                 timeout=30, what="the capacity gauges")


def test_the_shipped_rules_load_and_evaluate_cleanly(prometheus):
    def evaluated():
        rules = prometheus.rules()
        return rules if all(not rule["lastEvaluation"].startswith("0001") for rule in rules) else None

    rules = prometheus.wait(evaluated, timeout=30, what="an evaluation of every rule")
    assert [rule["name"] for rule in rules] == rule_names(kind="record") + rule_names()
    assert [(rule["name"], rule["health"], rule.get("lastError", "")) for rule in rules if rule["health"] != "ok"] == []


def test_capacity_gauges_are_what_nginx_runs(host, prometheus, name, variables):
    dump = host.check_output("nginx -T 2>/dev/null")

    def directive(directive_name):
        return re.search(r"(?m)^\s*%s\s+(\S+);" % directive_name, dump).group(1)

    assert directive("worker_processes") == "auto"
    connections = int(directive("worker_connections"))
    rlimit = int(directive("worker_rlimit_nofile"))
    shutdown = directive("worker_shutdown_timeout")
    assert (connections, rlimit, shutdown) == (512, 1024, "10s")
    running = workers(host)
    assert set(running.values()) == {"nginx: worker process"}, running
    # worker_processes auto: one per core of the host, counted, not assumed.
    assert len(running) == int(host.check_output("nproc"))
    for pid in running:
        assert re.search(r"(?m)^Max open files\s+%d\s" % rlimit, host.file("/proc/%d/limits" % pid).content_string)

    expected = {"realtime_nginx_worker_processes": len(running), "realtime_nginx_worker_connections": connections,
                "realtime_nginx_connection_capacity": len(running) * connections,
                "realtime_nginx_worker_open_files_limit": rlimit,
                "realtime_nginx_worker_shutdown_timeout_seconds": 10, "realtime_nginx_retiring_workers": 0}
    assert {metric: gauge(prometheus, name, metric) for metric in expected} == expected
    assert gauge(prometheus, name, "realtime_nginx_retiring_since_timestamp_seconds") is None
    print("capacity gauges: %s" % expected)


def test_held_streams_move_active_connections_and_the_capacity_alert(prometheus, name, base):
    active = 'nginx_connections_active{realtime_proxy="%s"}' % name
    in_use = 'realtime_proxy:nginx_connections:in_use{realtime_proxy="%s"}' % name
    ratio = 'realtime_proxy:nginx_connection_capacity:ratio{realtime_proxy="%s"}' % name
    idle = prometheus.value(active)
    idle_in_use = prometheus.value(in_use)
    capacity = gauge(prometheus, name, "realtime_nginx_connection_capacity")
    assert prometheus.alert_state("RealtimeNginxStreamCapacityHigh") is None
    started = time.monotonic()
    with sse_streams_held("http://%s/sse/stream?count=100000&interval=5" % base, STREAMS, duration=240) as held:
        busy = prometheus.wait_value(active, lambda value: value >= idle + STREAMS * 0.98, timeout=60,
                                     what="%d more active connections than %d" % (STREAMS, idle))
        # stub_status counts each stream once, its client connection; its upstream connection is the second
        # of the two that worker_connections counts, and the recorded ratio counts both.
        assert idle + STREAMS - 2 <= busy <= idle + STREAMS + 4, (idle, busy)
        # The recording rules see the new figure at their next evaluation.
        share = prometheus.wait_value(ratio, lambda value: value > 0.8, timeout=30,
                                      what="the recorded share of capacity past 80%")
        assert share == pytest.approx(2 * prometheus.value(active) / capacity, abs=0.01)
        # The connections the workers hold: two per stream.
        assert 2 * STREAMS - 4 <= prometheus.value(in_use) - idle_in_use <= 2 * STREAMS + 8
        prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxStreamCapacityHigh") == "firing", timeout=60,
                        what="RealtimeNginxStreamCapacityHigh firing")
        fired = time.monotonic() - started
        # Filled, not overfilled: nginx handled every connection it accepted.
        assert prometheus.value('nginx_connections_accepted{realtime_proxy="%s"} - nginx_connections_handled' % name) == 0
        assert prometheus.alert_state("RealtimeNginxDroppingConnections") is None
    summary = held["result"].summary()
    assert (summary.opened, summary.failed_to_open, summary.closed_early) == (STREAMS, 0, 0), summary
    prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxStreamCapacityHigh") is None, timeout=60,
                    what="RealtimeNginxStreamCapacityHigh resolved after the streams closed")
    prometheus.wait_value(active, lambda value: value <= idle + 2, timeout=30, what="active connections back to idle")
    print("%d streams: active connections %d -> %d, %.0f%% of capacity; the alert fired %.1f s after they opened"
          % (STREAMS, idle, busy, 100 * share, fired))


def test_old_workers_that_outlive_the_shutdown_timeout_are_alerted(host, prometheus, name, base):
    """A reload retires the workers holding streams; stopped (SIGSTOP), they cannot leave at
    worker_shutdown_timeout (10 s). The alert fires once they linger past the timeout + 60 s, not before."""
    retiring = 'realtime_nginx_retiring_workers{realtime_proxy="%s"}' % name
    before = workers(host)
    stopped = []
    with sse_streams_held("http://%s/sse/stream?count=100000&interval=2" % base, 4, duration=200):
        host.run_expect([0], "systemctl reload nginx")
        reloaded = time.time()
        old = prometheus.wait(lambda: retiring_workers(before, workers(host)), timeout=20,
                              what="every old worker shutting down")
        try:
            for pid in old:
                host.run_expect([0], "kill -STOP %d" % pid)
                stopped.append(pid)
            assert prometheus.wait_value(retiring, lambda value: value > 0, timeout=30, what="retiring workers") == len(old)
            since = gauge(prometheus, name, "realtime_nginx_retiring_since_timestamp_seconds")
            # The current generation started at the reload: old workers retire then, not earlier.
            assert reloaded - 3 <= since <= reloaded + 1, (reloaded, since)
            prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxOldWorkersLinger") == "firing", timeout=150,
                            what="RealtimeNginxOldWorkersLinger firing")
            lingered = time.time() - reloaded
            assert lingered >= 10 + 60, "fired %.1f s after the reload, before worker_shutdown_timeout + 60 s" % lingered
        finally:
            for pid in stopped:
                host.run("kill -CONT %d" % pid)
    prometheus.wait_value(retiring, lambda value: value == 0, timeout=60, what="the old workers gone")
    prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxOldWorkersLinger") is None, timeout=30,
                    what="RealtimeNginxOldWorkersLinger resolved")
    print("old workers retired by a reload: %d; the alert fired %.1f s after it" % (len(old), lingered))


def test_nginx_down_is_alerted(host, prometheus, base):
    host.run_expect([0], "systemctl stop nginx")
    try:
        prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxDown") == "firing", timeout=60,
                        what="RealtimeNginxDown firing")
        # The exporter itself stays up, so it is nginx that is reported.
        assert prometheus.alert_state("RealtimeNginxExporterDown") is None
    finally:
        host.run_expect([0], "systemctl start nginx")
    prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxDown") is None, timeout=60, what="RealtimeNginxDown resolved")
    assert http_get("http://%s/api/info" % base).status == 200


def first_bytes(port, source):
    """What 127.0.0.1:PORT answers a GET from SOURCE (an address of this host) within 3 s, or the error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0)) as conn:
            conn.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            return conn.recv(16)
    except OSError as exc:
        return exc


@pytest.mark.parametrize("listen", ["realtime_proxy_metrics_listen", "realtime_proxy_metrics_node_exporter_listen"])
def test_the_exporters_answer_only_allowed_addresses(variables, listen):
    """realtime_proxy_metrics_allow is 127.0.0.1 and ::1; 127.0.0.2 is this host too, but not allowed."""
    port = int(variables[listen].rpartition(":")[2])
    assert first_bytes(port, "127.0.0.1").startswith(b"HTTP/1.")
    refused = first_bytes(port, "127.0.0.2")
    assert isinstance(refused, socket.timeout), "127.0.0.2 got %r" % (refused,)


@pytest.mark.parametrize("service,listen", [(NGINX_EXPORTER, "realtime_proxy_metrics_listen"),
                                            (NODE_EXPORTER, "realtime_proxy_metrics_node_exporter_listen")])
def test_a_killed_exporter_is_back_within_30_s(host, variables, service, listen):
    assert host.file("/etc/systemd/system/%s.service.d/realtime_proxy.conf" % service).contains("^Restart=on-failure")
    pid = main_pid(host, service)
    host.run_expect([0], "kill -KILL %d" % pid)
    killed = time.monotonic()
    answer = None
    while time.monotonic() < killed + 30:
        answer = http_get("http://%s/metrics" % variables[listen], timeout=2)
        if answer.status == 200 and main_pid(host, service) not in (0, pid):
            break
        time.sleep(0.5)
    assert answer is not None and answer.status == 200, "%s did not serve again within 30 s: %r" % (service, answer)
    print("%s served again %.1f s after SIGKILL" % (service, time.monotonic() - killed))
