"""prometheus_server() with Debian's Prometheus (build/prometheus, tools/ensure-prometheus.sh): it starts on
loopback with the generated configuration, loads the collection's rules, answers the API the scenario reads,
and stops at the end of the block."""

import pytest

from realtime_testkit.hosts import port_accepts
from realtime_testkit.prometheus import binary, prometheus_server, rule_names, rules_holding_for


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not binary().exists():
        pytest.fail("no %s: run tools/ensure-prometheus.sh (make unit does)" % binary())
    from conftest import free_port  # pylint: disable=import-outside-toplevel
    port = free_port()
    data = tmp_path_factory.mktemp("prometheus")
    rules = data / "rules.yml"
    rules.write_text(rules_holding_for("1s"))
    # Prometheus scrapes itself: one target that is up.
    with prometheus_server(port=port, data_dir=data, jobs={"self": ["127.0.0.1:%d" % port]}, rule_files=[rules],
                           lifetime=300) as running:
        yield running, port
    assert not port_accepts(port, timeout=1), "Prometheus still listens after the block"


def test_it_scrapes_its_targets_and_answers_queries(server):
    prometheus, port = server
    assert prometheus.wait(lambda: prometheus.value('up{job="self"}'), timeout=30, what="itself scraped") == 1
    assert prometheus.value("vector(42)") == 42
    assert prometheus.value("absent_metric_of_no_kind") is None
    assert [t["scrapeUrl"] for t in prometheus.targets()] == ["http://127.0.0.1:%d/metrics" % port]


def test_it_evaluates_the_shipped_rules_with_no_alert_on_no_data(server):
    prometheus, dummy = server
    rules = prometheus.wait(lambda: prometheus.rules(), timeout=30, what="the rules loaded")
    assert [rule["name"] for rule in rules] == rule_names(kind="record") + rule_names()
    assert {rule["health"] for rule in rules} <= {"ok", "unknown"}
    assert prometheus.alerts() == []
    assert prometheus.alert_state("RealtimeNginxDown") is None
