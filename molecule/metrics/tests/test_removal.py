"""Metrics turned off: a run removes what the earlier ones installed, nothing listens, and the next run
changes nothing. Runs after test_metrics.py (file order), against the same host and Prometheus."""

import re

import pytest
from realtime_testkit.hosts import http_get, port_accepts
from realtime_testkit.playbook import run_role

OFF = {"realtime_proxy_metrics": False}
PACKAGES = ("prometheus-nginx-exporter", "prometheus-node-exporter")
# What the role wrote for metrics on the host.
FILES = ("/etc/systemd/system/prometheus-nginx-exporter.service.d/realtime_proxy.conf",
         "/etc/systemd/system/prometheus-node-exporter.service.d/realtime_proxy.conf",
         "/etc/systemd/system/realtime-nginx-metrics.service", "/usr/local/lib/realtime-nginx-metrics.py",
         "/var/lib/prometheus/node-exporter/realtime_nginx.prom", "/var/lib/realtime_nginx/metrics.json")
EXPORTER_LISTENS = ("realtime_proxy_metrics_listen", "realtime_proxy_metrics_node_exporter_listen")


def port(variables, key):
    return int(variables[key].rpartition(":")[2])


def installed(host):
    """The packages of PACKAGES that dpkg has installed."""
    listing = host.run("dpkg-query --show --showformat '${Package} ${db:Status-Status}\\n' %s" % " ".join(PACKAGES))
    return sorted(line.split()[0] for line in listing.stdout.splitlines() if line.endswith(" installed"))


def test_the_metrics_tag_alone_removes_exporters_collector_and_packages(host, name, variables, prometheus):
    assert installed(host) == sorted(PACKAGES)
    run = run_role(name, OFF, tags=("realtime_proxy_metrics",))
    assert run.rc == 0, run.messages[-4000:]
    assert installed(host) == []
    assert [path for path in FILES if host.file(path).exists] == []
    assert "realtime-nginx-metrics" not in host.check_output("systemctl list-unit-files --no-legend")
    for key in EXPORTER_LISTENS:
        assert not port_accepts(port(variables, key)), "%s still answers" % key
    # The configuration is realtime_proxy_configure's: this run left it, stub_status included.
    assert port_accepts(port(variables, "realtime_proxy_metrics_stub_status_listen"))
    # Prometheus sees the exporters go.
    prometheus.wait(lambda: prometheus.alert_state("RealtimeNginxExporterDown") == "firing", timeout=60,
                    what="RealtimeNginxExporterDown firing")


def test_metrics_off_removes_the_stub_status_endpoint_and_the_next_run_changes_nothing(host, name, variables, base):
    run = run_role(name, OFF)
    assert run.rc == 0, run.messages[-4000:]
    assert not re.search(r"(?m)^\s*stub_status;", host.check_output("nginx -T 2>/dev/null"))
    for key in EXPORTER_LISTENS + ("realtime_proxy_metrics_stub_status_listen",):
        assert not port_accepts(port(variables, key)), "%s still answers" % key
    assert http_get("http://%s/api/info" % base).status == 200
    again = run_role(name, OFF)
    assert again.rc == 0 and again.stats[name]["changed"] == 0, again.messages[-4000:]


@pytest.mark.parametrize("tags", [(), ("realtime_proxy_metrics",)], ids=["every tag", "metrics tag"])
def test_check_mode_with_metrics_on_reports_the_install_and_changes_nothing(host, name, variables, tags):
    run = run_role(name, {}, check=True, tags=tags)
    assert run.rc == 0, run.messages[-4000:]
    assert run.status("Report the exporter packages a real run would install") == "changed"
    assert installed(host) == []
    assert [path for path in FILES if host.file(path).exists] == []
    for key in EXPORTER_LISTENS + ("realtime_proxy_metrics_stub_status_listen",):
        assert not port_accepts(port(variables, key))
