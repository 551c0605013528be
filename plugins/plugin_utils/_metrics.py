# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What realtime_proxy_metrics asks of a host, from the inventory.

The stub_status endpoint the nginx exporter reads, the exporters to run (each
with its package, its command line and the addresses systemd lets reach it)
and the label that ties the nginx exporter's series to the capacity gauges.
Pure Python with no Ansible imports, like _inventory: the filter plugin, the
inventory checks and the unit tests call the same functions.
"""

from __future__ import annotations

import ipaddress
import re

# The label every series of a proxy carries, on the nginx exporter's (its
# -prometheus.const-labels) and on the capacity gauges alike, so that PromQL
# joins them whatever job and instance labels Prometheus gives each target.
LABEL = "realtime_proxy"
# The capacity gauges' file in the node exporter's textfile directory.
TEXTFILE = "realtime_nginx.prom"
# A label value that is safe as it is in a systemd command line, in the
# exporter's const-labels and in Prometheus's text format.
LABEL_VALUE_RE = re.compile(r"[^A-Za-z0-9._:-]")


# What Ansible's bool filter reads as true or false (an INI inventory or -e key=value gives strings).
TRUE_TEXTS = ("true", "yes", "on", "1", "y", "t")
FALSE_TEXTS = ("false", "no", "off", "0", "n", "f", "")


def as_bool(value):
    """VALUE as Ansible's ``bool`` filter reads it, or None when it reads as neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_TEXTS + FALSE_TEXTS:
        return value.strip().lower() in TRUE_TEXTS
    return None


def enabled(settings):
    return as_bool(settings.get("realtime_proxy_metrics", False)) is True


def stub_status_listen(settings):
    """The address nginx serves stub_status on: the inventory's own, or, when metrics are on and the inventory
    has none, realtime_proxy_metrics_stub_status_listen; empty for none.

    vars/main.yml (realtime_proxy__stub_status_listen) says the same in Jinja for the template; a unit test
    renders both ways and compares.
    """
    own = settings.get("realtime_proxy_stub_status_listen") or ""
    if own or not enabled(settings):
        return own
    return settings.get("realtime_proxy_metrics_stub_status_listen") or ""


def split_listen(listen):
    """(host, port) of a valid listen value; host is "*" for every address (8089, "*:8089", "0.0.0.0:8089")."""
    text = str(listen)
    if text.isdigit():
        return "*", int(text)
    host, _sep, port = text.rpartition(":")
    return ("*" if host in ("*", "0.0.0.0") else host), int(port)


def exporter_address(listen):
    """The exporters' -web.listen-address form of a listen value: ":9113" for every address."""
    host, port = split_listen(listen)
    return "%s:%d" % ("" if host == "*" else host, port)


def scrape_host(listen):
    """The address a local client connects to for a listen value: loopback for every address."""
    host, _port = split_listen(listen)
    if host == "*":
        return "127.0.0.1"
    if host == "[::]":
        return "[::1]"
    return host


def scrape_url(listen, path):
    return "http://%s:%d%s" % (scrape_host(listen), split_listen(listen)[1], path)


def host_address(host):
    """The IP address of a host part ("127.0.0.1", "[::1]"), or None for a name."""
    try:
        return ipaddress.ip_address(host[1:-1] if host.startswith("[") else host)
    except ValueError:
        return None


def label_value(name):
    """The realtime_proxy label's value for inventory host NAME: characters other than letters, digits and
    . _ : - become _."""
    return LABEL_VALUE_RE.sub("_", str(name))[:128] or "_"


def metrics_plan(settings, exporters, name):
    """{label, textfile, textfile_dir, exporters, packages}: what realtime_proxy_metrics asks of a host.

    SETTINGS are the role's realtime_proxy_* variables, EXPORTERS the OS family's packages
    (vars/<family>.yml, realtime_proxy__metrics_exporters: {nginx: {package, service, binary, flags}, node: ...};
    flags names the nginx exporter's listen, scrape and label flags and lists the ones it starts with),
    NAME the inventory host name. ``exporters`` lists the exporters to run, each with its package, service,
    listen address, command line and ``allow`` (the addresses systemd lets it talk to); it is empty when
    metrics are off. An inventory that realtime_proxy_errors refuses gives no meaningful plan.
    """
    label = label_value(name)
    textfile_dir = settings.get("realtime_proxy_metrics_textfile_dir") or ""
    plan = {"label": label, "textfile_dir": textfile_dir, "textfile": "%s/%s" % (textfile_dir, TEXTFILE),
            "exporters": [], "packages": []}
    if not enabled(settings):
        return plan
    allow = list(settings.get("realtime_proxy_metrics_allow") or [])
    stub = stub_status_listen(settings)
    # The exporter connects to stub_status itself, so systemd must let it reach that address too.
    reach = host_address(scrape_host(stub))
    nginx = exporters["nginx"]
    flags = nginx["flags"]
    wanted = [dict(nginx, name="nginx", listen=settings["realtime_proxy_metrics_listen"],
                   allow=allow + ([str(reach)] if reach is not None and str(reach) not in allow else []),
                   command=[nginx["binary"],
                            "%s=%s" % (flags["listen"], exporter_address(settings["realtime_proxy_metrics_listen"])),
                            "%s=%s" % (flags["scrape"],
                                       scrape_url(stub, settings.get("realtime_proxy_stub_status_path", "/nginx_status"))),
                            "%s=%s=%s" % (flags["label"], LABEL, label)] + list(flags.get("start", [])))]
    node_listen = settings.get("realtime_proxy_metrics_node_exporter_listen") or ""
    if node_listen:
        node = exporters["node"]
        wanted.append(dict(node, name="node", listen=node_listen, allow=allow,
                           command=[node["binary"], "--web.listen-address=" + exporter_address(node_listen),
                                    "--collector.textfile.directory=" + textfile_dir]))
    plan["exporters"] = wanted
    plan["packages"] = [exporter["package"] for exporter in wanted]
    return plan
