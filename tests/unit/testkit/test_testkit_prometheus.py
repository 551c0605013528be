"""prometheus_server() with Debian's Prometheus (build/prometheus, tools/ensure-prometheus.sh): it starts on
loopback with the generated configuration, loads the collection's rules, answers the API the scenario reads,
and stops at the end of the block."""

import pytest

from realtime_testkit.hosts import port_accepts
from realtime_testkit.prometheus import binary, prometheus_server, rule_names, rules_holding_for


def test_a_prometheus_server_for_the_length_of_a_block(free_port, tmp_path):
    if not binary().exists():
        pytest.fail("no %s: run tools/ensure-prometheus.sh (make unit does)" % binary())
    port = free_port()
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_holding_for("1s"))
    # Prometheus scrapes itself: one target, up.
    with prometheus_server(port=port, data_dir=tmp_path / "data", jobs={"self": ["127.0.0.1:%d" % port]},
                           rule_files=[rules], lifetime=300) as prometheus:
        assert prometheus.wait_value('up{job="self"}', lambda up: up == 1, timeout=30, what="itself scraped") == 1
        assert prometheus.value("vector(42)") == 42
        assert prometheus.value("absent_metric_of_no_kind") is None
        assert [t["scrapeUrl"] for t in prometheus.targets()] == ["http://127.0.0.1:%d/metrics" % port]
        # The shipped rules load; with no proxy to watch, nothing fires.
        rules = prometheus.wait(prometheus.rules, timeout=30, what="the rules loaded")
        assert [rule["name"] for rule in rules] == rule_names(kind="record") + rule_names()
        assert {rule["health"] for rule in rules} <= {"ok", "unknown"}
        assert prometheus.alerts() == []
        assert prometheus.alert_state("RealtimeNginxDown") is None
    assert not port_accepts(port, timeout=1), "Prometheus still listens after the block"
