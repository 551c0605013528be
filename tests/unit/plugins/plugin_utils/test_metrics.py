"""metrics_plan() and the checks of realtime_proxy_metrics_*: what a host runs, and refusals that name the variable."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors
from ansible_collections.realtime.nginx.plugins.plugin_utils._metrics import (
    as_bool, exporter_address, label_value, metrics_plan, scrape_url, stub_status_listen)
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import ROLE_DIR

from ansible_collections.realtime.nginx.tests.unit.plugins.plugin_utils.test_inventory import inventory, one_error

EXPORTERS = yaml.safe_load((ROLE_DIR / "vars/Debian.yml").read_text())["realtime_proxy__metrics_exporters"]
DEFAULTS = yaml.safe_load((ROLE_DIR / "defaults/main/metrics.yml").read_text())


def metrics(**overrides):
    """The role's metrics defaults with metrics on, then OVERRIDES."""
    settings = dict(DEFAULTS, realtime_proxy_metrics=True, realtime_proxy_stub_status_listen="",
                    realtime_proxy_stub_status_path="/nginx_status", realtime_proxy_stub_status_allow=["127.0.0.1", "::1"])
    settings.update(overrides)
    return settings


def checked(**overrides):
    """A valid site inventory with metrics(**OVERRIDES)."""
    return inventory(**metrics(**overrides))


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("yes", True), ("False", False), ("0", False),
                                            (1, True), (0, False), ("maybe", None), (2, None), (None, None)])
def test_as_bool_reads_what_the_bool_filter_reads(value, expected):
    assert as_bool(value) is expected


@pytest.mark.parametrize("listen,address,url", [
    ("127.0.0.1:8089", "127.0.0.1:8089", "http://127.0.0.1:8089/nginx_status"),
    (8089, ":8089", "http://127.0.0.1:8089/nginx_status"),
    ("8089", ":8089", "http://127.0.0.1:8089/nginx_status"),
    ("*:8089", ":8089", "http://127.0.0.1:8089/nginx_status"),
    ("0.0.0.0:8089", ":8089", "http://127.0.0.1:8089/nginx_status"),
    ("[::1]:8089", "[::1]:8089", "http://[::1]:8089/nginx_status"),
    ("[::]:8089", "[::]:8089", "http://[::1]:8089/nginx_status"),
])
def test_listen_values_as_the_exporters_and_their_clients_write_them(listen, address, url):
    assert exporter_address(listen) == address
    assert scrape_url(listen, "/nginx_status") == url


@pytest.mark.parametrize("name,label", [("proxy1.example.com", "proxy1.example.com"), ("10.0.0.5:22", "10.0.0.5:22"),
                                        ("web server 1", "web_server_1"), ('a"b%c,d=e', "a_b_c_d_e"), ("", "_")])
def test_label_values_are_safe_everywhere_they_are_written(name, label):
    assert label_value(name) == label


@pytest.mark.parametrize("settings,listen", [
    ({"realtime_proxy_metrics": False, "realtime_proxy_stub_status_listen": ""}, ""),
    ({"realtime_proxy_metrics": False, "realtime_proxy_stub_status_listen": "127.0.0.1:9000"}, "127.0.0.1:9000"),
    ({"realtime_proxy_metrics": True, "realtime_proxy_stub_status_listen": "",
      "realtime_proxy_metrics_stub_status_listen": "127.0.0.1:8089"}, "127.0.0.1:8089"),
    ({"realtime_proxy_metrics": True, "realtime_proxy_stub_status_listen": "127.0.0.1:9000",
      "realtime_proxy_metrics_stub_status_listen": "127.0.0.1:8089"}, "127.0.0.1:9000"),
])
def test_the_stub_status_endpoint_is_the_inventorys_own_or_the_one_metrics_need(settings, listen):
    assert stub_status_listen(settings) == listen


def test_metrics_off_runs_nothing():
    plan = metrics_plan(metrics(realtime_proxy_metrics=False), EXPORTERS, "proxy1")
    assert plan["exporters"] == [] and plan["packages"] == []
    assert plan["textfile"] == "/var/lib/prometheus/node-exporter/realtime_nginx.prom"


def test_metrics_on_runs_both_exporters_with_the_label_and_the_firewall():
    plan = metrics_plan(metrics(), EXPORTERS, "proxy 1")
    nginx, node = plan["exporters"]
    assert plan["packages"] == ["prometheus-nginx-exporter", "prometheus-node-exporter"]
    assert nginx["command"] == [
        "/usr/bin/prometheus-nginx-exporter", "-web.listen-address=127.0.0.1:9113",
        "-nginx.scrape-uri=http://127.0.0.1:8089/nginx_status", "-prometheus.const-labels=realtime_proxy=proxy_1",
        "-nginx.retries=100000", "-nginx.retry-interval=5s"]
    assert node["command"] == ["/usr/bin/prometheus-node-exporter", "--web.listen-address=127.0.0.1:9100",
                               "--collector.textfile.directory=/var/lib/prometheus/node-exporter"]
    assert nginx["allow"] == node["allow"] == ["127.0.0.1", "::1"]
    assert (nginx["service"], node["service"]) == ("prometheus-nginx-exporter", "prometheus-node-exporter")
    assert plan["label"] == "proxy_1"


def test_debian_13s_nginx_exporter_gets_the_flags_of_its_version():
    """Debian 13 ships nginx-prometheus-exporter 1.4: double-dash flags, one constant label a flag, no retries."""
    exporters = yaml.safe_load((ROLE_DIR / "vars/Debian-13.yml").read_text())["realtime_proxy__metrics_exporters"]
    nginx = metrics_plan(metrics(), exporters, "proxy1")["exporters"][0]
    assert nginx["command"] == ["/usr/bin/prometheus-nginx-exporter", "--web.listen-address=127.0.0.1:9113",
                                "--nginx.scrape-uri=http://127.0.0.1:8089/nginx_status",
                                "--prometheus.const-label=realtime_proxy=proxy1"]
    # Only the flags differ from the family's.
    assert exporters["node"] == EXPORTERS["node"]
    assert dict(exporters["nginx"], flags=None) == dict(EXPORTERS["nginx"], flags=None)


def test_the_nginx_exporter_may_reach_the_stub_status_address_it_reads():
    plan = metrics_plan(metrics(realtime_proxy_metrics_allow=["10.0.0.0/8"], realtime_proxy_stub_status_listen="[::1]:9000",
                                realtime_proxy_stub_status_path="/status"), EXPORTERS, "p")
    nginx, node = plan["exporters"]
    assert "-nginx.scrape-uri=http://[::1]:9000/status" in nginx["command"]
    assert nginx["allow"] == ["10.0.0.0/8", "::1"]
    assert node["allow"] == ["10.0.0.0/8"]


def test_an_empty_node_exporter_address_runs_no_node_exporter():
    plan = metrics_plan(metrics(realtime_proxy_metrics_node_exporter_listen=""), EXPORTERS, "p")
    assert [exporter["name"] for exporter in plan["exporters"]] == ["nginx"]
    assert plan["packages"] == ["prometheus-nginx-exporter"]


# -- the inventory checks ------------------------------------------------------------------------------------------


def test_metrics_on_with_the_defaults_is_accepted():
    assert inventory_errors(checked()) == []
    assert inventory_errors(checked(realtime_proxy_metrics="yes", realtime_proxy_metrics_node_exporter_listen="")) == []


@pytest.mark.parametrize("overrides,where,words", [
    ({"realtime_proxy_metrics": "maybe"}, "realtime_proxy_metrics", "is not true or false"),
    ({"realtime_proxy_metrics_listen": "127.0.0.1:99999"}, "realtime_proxy_metrics_listen", "1 to 65535"),
    ({"realtime_proxy_metrics_listen": ""}, "realtime_proxy_metrics_listen", "host:port"),
    ({"realtime_proxy_metrics_node_exporter_listen": "127.0.0.1:9100 --collector.x"},
     "realtime_proxy_metrics_node_exporter_listen", "port"),
    ({"realtime_proxy_metrics_stub_status_listen": "127.0.0.1:8089; allow all"},
     "realtime_proxy_metrics_stub_status_listen", "port"),
    ({"realtime_proxy_metrics_allow": ["127.0.0.1", "any"]}, "realtime_proxy_metrics_allow[1]", "not an address"),
    ({"realtime_proxy_metrics_allow": []}, "realtime_proxy_metrics_allow", "lists no address"),
    ({"realtime_proxy_metrics_textfile_dir": "/var/lib/../etc"}, "realtime_proxy_metrics_textfile_dir", "absolute path"),
    ({"realtime_proxy_metrics_textfile_dir": "/var/lib/prom%s"}, "realtime_proxy_metrics_textfile_dir", "absolute path"),
    # The site listens on 127.0.0.1:8080.
    ({"realtime_proxy_metrics_listen": "8080"}, "realtime_proxy_metrics_listen", "nginx's realtime_proxy_sites[0].listen[0]"),
    ({"realtime_proxy_metrics_node_exporter_listen": "127.0.0.1:9113"}, "realtime_proxy_metrics_node_exporter_listen",
     "realtime_proxy_metrics_listen listens on that port"),
    ({"realtime_proxy_metrics_listen": "127.0.0.1:8089"}, "realtime_proxy_metrics_listen",
     "nginx's realtime_proxy_metrics_stub_status_listen[0]"),
    ({"realtime_proxy_stub_status_allow": ["10.0.0.0/8"]}, "realtime_proxy_stub_status_allow",
     "does not allow 127.0.0.1, the address the exporter reads"),
    ({"realtime_proxy_stub_status_listen": "localhost:9000"}, "realtime_proxy_stub_status_listen", "not host names"),
])
def test_metrics_values_are_refused_by_name(overrides, where, words):
    assert words in one_error(checked(**overrides), where)


def test_the_role_s_stub_status_endpoint_claims_its_socket():
    settings = checked(realtime_proxy_metrics_stub_status_listen="127.0.0.1:8443")
    settings["realtime_proxy_sites"][0]["tls"] = {"listen": ["127.0.0.1:8443"], "certificate": "/etc/ssl/a.crt",
                                                  "certificate_key": "/etc/ssl/a.key"}
    assert "a port is either plain or TLS" in one_error(settings, "realtime_proxy_metrics_stub_status_listen[0]")


def test_with_metrics_off_only_the_values_are_checked():
    assert inventory_errors(checked(realtime_proxy_metrics=False, realtime_proxy_metrics_listen="8080",
                                    realtime_proxy_stub_status_allow=["10.0.0.0/8"])) == []
    assert one_error(checked(realtime_proxy_metrics=False, realtime_proxy_metrics_listen="x"), "realtime_proxy_metrics_listen")
