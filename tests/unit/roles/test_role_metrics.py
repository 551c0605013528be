"""realtime_proxy_metrics on the templates and the capacity collector, without a host.

The stub_status endpoint the template renders must be the one the metrics plan points the exporter at
(vars/main.yml and _metrics.stub_status_listen() say it twice); the exporters' drop-ins and the collector's
unit render the plan's command lines; the collector, installed as the role installs it (the collection's
_proc.py, then files/realtime_nginx_metrics.py), turns a /proc tree into the gauges.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import crossplane
import pytest
import yaml

from ansible_collections.realtime.nginx.plugins.plugin_utils._metrics import metrics_plan, stub_status_listen
from realtime_testkit.render import REPO_ROOT, inventory_check, merged_variables, render_tree, role, validate_tree

ROLE = REPO_ROOT / "roles" / "realtime_proxy"
COLLECTOR = ROLE / "files" / "realtime_nginx_metrics.py"
PROC_READER = REPO_ROOT / "plugins" / "module_utils" / "_proc.py"
SITE = {
    "realtime_proxy_upstreams": [{"name": "app", "servers": ["127.0.0.1:8000"]}],
    "realtime_proxy_sites": [{"name": "live", "listen": ["127.0.0.1:8080"],
                              "locations": [{"path": "/sse/", "type": "sse", "upstream": "app"}]}],
}


def settings(**overrides):
    return dict(SITE, **overrides)


def stub_status_server(root):
    """The listen address of the stub_status server in the rendered tree, or None when there is none."""
    payload = crossplane.parse(str(root / "realtime_proxy/http.d/stub_status.conf"), single=True, comments=False,
                               check_ctx=False)
    assert payload["status"] == "ok", payload["errors"]
    servers = [d for d in payload["config"][0]["parsed"] if d["directive"] == "server"]
    if not servers:
        return None
    [server] = servers
    [listen] = [d["args"] for d in server["block"] if d["directive"] == "listen"]
    locations = {d["args"][-1]: d["block"] for d in server["block"] if d["directive"] == "location"}
    assert [d["directive"] for d in locations["/nginx_status"]][0] == "stub_status"
    return listen[0]


@pytest.mark.parametrize("overrides,listen", [
    ({}, None),
    ({"realtime_proxy_metrics": True}, "127.0.0.1:8089"),
    ({"realtime_proxy_metrics": "yes", "realtime_proxy_metrics_stub_status_listen": "127.0.0.1:9001"}, "127.0.0.1:9001"),
    ({"realtime_proxy_metrics": True, "realtime_proxy_stub_status_listen": "127.0.0.1:9002"}, "127.0.0.1:9002"),
    ({"realtime_proxy_metrics": False, "realtime_proxy_stub_status_listen": "127.0.0.1:9002"}, "127.0.0.1:9002"),
], ids=["defaults: none", "metrics", "metrics, own address", "metrics, user's endpoint", "user's endpoint"])
def test_the_rendered_stub_status_endpoint_is_the_one_the_exporter_reads(tmp_path, overrides, listen):
    inventory = settings(**overrides)
    assert inventory_check(inventory) == []
    render_tree(inventory, tmp_path)
    assert stub_status_server(tmp_path) == listen
    assert (stub_status_listen(merged_variables(inventory)) or None) == listen
    rc, stderr = validate_tree(tmp_path)
    assert rc == 0, stderr


def plan_for(**overrides):
    merged = merged_variables(settings(realtime_proxy_metrics=True, **overrides))
    return merged, metrics_plan(merged, merged["realtime_proxy__metrics_exporters"], "proxy1")


def test_each_exporter_s_drop_in_runs_the_planned_command_behind_the_allowlist():
    merged, plan = plan_for(realtime_proxy_stub_status_path="/nginx%status", realtime_proxy_metrics_allow=["10.1.0.0/16"])
    for exporter in plan["exporters"]:
        text = role().render("metrics/exporter-dropin.conf.j2", dict(merged, item=exporter))
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        command = " ".join(exporter["command"]).replace("%", "%%")  # systemd reads % as a specifier
        assert lines == ["[Unit]", "StartLimitIntervalSec=60", "StartLimitBurst=5", "[Service]", "ExecStart=",
                         "ExecStart=" + command, "Restart=on-failure", "RestartSec=2", "IPAddressDeny=any",
                         "IPAddressAllow=" + " ".join(exporter["allow"])]
    assert "-nginx.scrape-uri=http://127.0.0.1:8089/nginx%%status" in role().render(
        "metrics/exporter-dropin.conf.j2", dict(merged, item=plan["exporters"][0]))


def test_the_collector_unit_runs_the_installed_collector_for_the_planned_textfile():
    merged, plan = plan_for(realtime_proxy_metrics_textfile_dir="/srv/textfiles")
    text = role().render("metrics/collector.service.j2", dict(merged, realtime_proxy__metrics_plan=plan))
    assert ("ExecStart=/usr/bin/python3 /usr/local/lib/realtime-nginx-metrics.py --pid-file /run/nginx.pid --conf "
            "/etc/nginx/nginx.conf --output /srv/textfiles/realtime_nginx.prom --label proxy1") in text.splitlines()
    assert "ReadWritePaths=/srv/textfiles" in text.splitlines()
    assert "Restart=on-failure" in text.splitlines()


# -- the collector ---------------------------------------------------------------------------------------------------

def installed_collector(tmp_path):
    """The collector as tasks/metrics_setup.yml installs it: _proc.py, then the collector, in one file."""
    path = tmp_path / "realtime-nginx-metrics.py"
    path.write_text(PROC_READER.read_text().rstrip("\n") + "\n\n" + COLLECTOR.read_text().rstrip("\n") + "\n")
    return path


@pytest.fixture(scope="module")
def collector():
    spec = importlib.util.spec_from_file_location("realtime_nginx_metrics", COLLECTOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BOOT = 1000  # btime in the fake /proc/stat
TICKS = 100  # clock ticks a second


class FakeProc:
    """A /proc tree with nginx's processes, each a (pid, ppid, title, start tick, open-files limit)."""

    def __init__(self, root):
        self.root = root
        root.mkdir()
        (root / "stat").write_text("cpu  1 2 3\nbtime %d\n" % BOOT)

    def add(self, pid, ppid, title, start, nofile=1024):
        directory = self.root / str(pid)
        directory.mkdir()
        (directory / "stat").write_text("%d (nginx) S %d 0 0 0 0 0 0 0 0 0 5 3 0 0 20 0 1 0 %d 0 0\n" % (pid, ppid, start))
        (directory / "cmdline").write_bytes(title.encode() + b"\0")
        (directory / "limits").write_text("Limit                     Soft Limit           Hard Limit           Units\n"
                                          "Max open files            %d                 %d                 files\n"
                                          % (nofile, nofile))
        return pid

    def remove(self, pid):
        for path in (self.root / str(pid)).iterdir():
            path.unlink()
        (self.root / str(pid)).rmdir()


@pytest.fixture
def host(tmp_path):
    """A fake host: /proc with nginx's master (100), two workers started at the reload of time 1005, an old
    worker still shutting down, pid file and nginx.conf as the role writes them."""
    proc = FakeProc(tmp_path / "proc")
    proc.add(1, 0, "/sbin/init", 0)
    proc.add(100, 1, "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", 100)
    proc.add(101, 100, "nginx: worker process", 500, nofile=20000)
    proc.add(102, 100, "nginx: worker process", 501, nofile=19000)
    proc.add(90, 100, "nginx: worker process is shutting down", 200)
    proc.add(200, 1, "nginx: worker process", 500)  # not a child of this master
    (tmp_path / "nginx.pid").write_text("100\n")
    (tmp_path / "nginx.conf").write_text("user www-data;\nworker_processes auto;\nworker_rlimit_nofile 20000;\n"
                                         "worker_shutdown_timeout 30s;\n\nevents {\n    worker_connections 19000;\n}\n")
    return proc, tmp_path


def test_gauges_count_the_workers_nginx_runs(collector, host):
    proc, root = host
    values = collector.gauges(str(root / "nginx.pid"), str(root / "nginx.conf"), {}, 1010.0, str(proc.root), TICKS)
    assert values == {"worker_processes": 2, "worker_connections": 19000, "connection_capacity": 38000,
                      "worker_open_files_limit": 19000, "worker_shutdown_timeout_seconds": 30, "retiring_workers": 1,
                      # The current generation started at tick 500: the reload retired the old worker then.
                      "retiring_since_timestamp_seconds": 1005.0}


def test_an_old_worker_keeps_its_age_across_later_reloads(collector, host):
    proc, root = host
    seen = {}
    args = (str(root / "nginx.pid"), str(root / "nginx.conf"), seen)
    assert collector.gauges(*args, 1010.0, str(proc.root), TICKS)["retiring_since_timestamp_seconds"] == 1005.0
    # Another reload at time 1100: 101 and 102 retire and leave, two new workers start. The old worker 90 was
    # seen shutting down at 1010, earlier than the new generation's start.
    for pid in (101, 102):
        proc.remove(pid)
    proc.add(103, 100, "nginx: worker process", 10000)
    proc.add(104, 100, "nginx: worker process", 10000)
    values = collector.gauges(*args, 1101.0, str(proc.root), TICKS)
    assert (values["retiring_workers"], values["retiring_since_timestamp_seconds"]) == (1, 1005.0)
    # The old worker leaves: no retiring workers, no timestamp, nothing remembered.
    proc.remove(90)
    values = collector.gauges(*args, 1102.0, str(proc.root), TICKS)
    assert values["retiring_workers"] == 0 and "retiring_since_timestamp_seconds" not in values
    assert seen == {}


def test_without_nginx_there_is_no_capacity(collector, host):
    proc, root = host
    proc.remove(100)
    values = collector.gauges(str(root / "nginx.pid"), str(root / "nginx.conf"), {}, 1010.0, str(proc.root), TICKS)
    assert values == {"worker_processes": 0, "worker_connections": 19000, "connection_capacity": 0,
                      "worker_shutdown_timeout_seconds": 30, "retiring_workers": 0}


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("30", 30), ("1m", 60), ("500ms", 0.5), ("2h", 7200),
                                          ("30x", None), (None, None)])
def test_nginx_times(collector, text, seconds):
    assert collector.seconds(text) == seconds


def test_the_installed_collector_writes_the_textfile(host, tmp_path):
    proc, root = host
    output = tmp_path / "textfile" / "realtime_nginx.prom"
    output.parent.mkdir()
    done = subprocess.run([sys.executable, "-I", str(installed_collector(tmp_path)), "--once", "--proc", str(proc.root),
                           "--pid-file", str(root / "nginx.pid"), "--conf", str(root / "nginx.conf"),
                           "--output", str(output), "--label", "proxy1"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    samples = dict(re.findall(r'(?m)^(realtime_nginx_\w+)\{realtime_proxy="proxy1"\} (\S+)$', text))
    assert samples["realtime_nginx_worker_processes"] == "2"
    assert samples["realtime_nginx_connection_capacity"] == "38000"
    assert "# TYPE realtime_nginx_connection_capacity gauge" in text
    assert oct(output.stat().st_mode & 0o777) == "0o644"
    assert [path.name for path in output.parent.iterdir()] == ["realtime_nginx.prom"]  # no temporary file left


def test_the_collector_and_the_node_exporter_agree_on_the_textfile_name():
    defaults = yaml.safe_load((ROLE / "defaults" / "main" / "metrics.yml").read_text())
    merged, plan = plan_for()
    assert plan["textfile"] == defaults["realtime_proxy_metrics_textfile_dir"] + "/realtime_nginx.prom"
    assert "--collector.textfile.directory=" + defaults["realtime_proxy_metrics_textfile_dir"] in plan["exporters"][1]["command"]
    assert merged["realtime_proxy__metrics_exporters"]["node"]["package"] == "prometheus-node-exporter"
