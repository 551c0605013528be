"""Fixtures of the metrics scenario: the test host, its inventory, and the Prometheus server that scrapes it.

Prometheus runs on the controller (127.0.0.1:17790) for the whole session, with its data under the
scenario's ephemeral directory, scraping the nginx exporter (job realtime_nginx) and the node exporter
(job realtime_nginx_node) every 2 s, and evaluating the collection's rules every second with every alert's
``for`` cut to ALERT_HOLD: the expressions are the shipped ones, their hold times are promtool's to test.
"""

import os
import pathlib
import shutil

import pytest
from realtime_testkit.fixtures import (base, inventory_host_fixture, name, variables,  # pylint: disable=unused-import  # noqa: F401 shared fixtures
                                       variables_fixture)
from realtime_testkit.prometheus import prometheus_server, rules_holding_for

HOST = "rtn-metrics-debian12"
ALERT_HOLD = "2s"
JOBS = {"realtime_nginx": "realtime_proxy_metrics_listen", "realtime_nginx_node": "realtime_proxy_metrics_node_exporter_listen"}

metrics_host = inventory_host_fixture(HOST)
metrics_variables = variables_fixture("metrics_host")


@pytest.fixture(scope="session")
def prometheus(metrics_variables):  # pylint: disable=redefined-outer-name
    data = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "prometheus"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    rules = data / "realtime_nginx.rules.yml"
    rules.write_text(rules_holding_for(ALERT_HOLD))
    jobs = {job: [metrics_variables[key]] for job, key in JOBS.items()}
    with prometheus_server(port=metrics_variables["realtime_test_prometheus_port"], data_dir=data, jobs=jobs,
                           rule_files=[rules], lifetime=1800) as server:
        server.wait(lambda: sorted(t["labels"]["job"] for t in server.targets() if t["health"] == "up") == sorted(JOBS),
                    timeout=60, what="both exporters scraped")
        yield server
