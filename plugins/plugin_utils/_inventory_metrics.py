# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory checks of realtime_proxy_metrics_*: the exporters' addresses, the addresses allowed to
reach them, the stub_status endpoint they read and the textfile directory. A mixin of
_inventory.InventoryChecker, whose error(), networks() and claim_sockets() it uses, and whose sockets (the
listeners nginx has already claimed) it checks the exporters' ports against."""

from __future__ import annotations

import ipaddress

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_values import (
    FILE_PATH_HELP, FILE_PATH_RE, check_host_port)
from ansible_collections.realtime.nginx.plugins.plugin_utils._metrics import (
    as_bool, host_address, scrape_host, split_listen, stub_status_listen)

EXPORTER_LISTENS = ("realtime_proxy_metrics_listen", "realtime_proxy_metrics_node_exporter_listen")


class MetricsChecks:
    """Checks of realtime_proxy_metrics and the variables it reads."""

    def metrics(self, settings):
        on = as_bool(settings.get("realtime_proxy_metrics", False))
        if on is None:
            self.error("realtime_proxy_metrics", "%r is not true or false" % (settings.get("realtime_proxy_metrics"),))
            return
        listens = {}
        for name in EXPORTER_LISTENS + ("realtime_proxy_metrics_stub_status_listen",):
            value = settings.get(name)
            if value is None or (value == "" and name != "realtime_proxy_metrics_listen"):
                continue  # not given; or no node exporter of the role's, no stub_status of the role's
            problem = check_host_port(value, allow_port_only=True)
            if problem:
                self.error(name, "%r: %s" % (value, problem))
            else:
                listens[name] = value
        allow = settings.get("realtime_proxy_metrics_allow")
        if allow is not None:
            self.networks("realtime_proxy_metrics_allow", allow)
            if on and allow == []:
                self.error("realtime_proxy_metrics_allow", "lists no address, so nothing could reach the exporters; "
                           "list Prometheus's address or network (127.0.0.1 when it runs on this host)")
        textfile_dir = settings.get("realtime_proxy_metrics_textfile_dir")
        if textfile_dir is not None and (not isinstance(textfile_dir, str) or not FILE_PATH_RE.match(textfile_dir)
                                         or "/../" in textfile_dir + "/" or "/./" in textfile_dir + "/"):
            self.error("realtime_proxy_metrics_textfile_dir", "%r is not %s" % (textfile_dir, FILE_PATH_HELP))
        if on:
            self.metrics_stub_status(settings, listens)
            self.exporter_ports(listens)

    def metrics_stub_status(self, settings, listens):
        """The stub_status endpoint the exporter reads: nginx serves it, and lets the exporter in."""
        own = bool(settings.get("realtime_proxy_stub_status_listen"))
        name = "realtime_proxy_stub_status_listen" if own else "realtime_proxy_metrics_stub_status_listen"
        listen = stub_status_listen(settings)
        if not own:
            if name not in listens:
                return
            self.claim_sockets(name, [listen], "plain")
        elif check_host_port(listen, allow_port_only=True):
            return  # already reported by the stub_status checks
        address = host_address(scrape_host(listen))
        if address is None:
            self.error(name, "%r: the exporter reads stub_status here and systemd's firewall for it "
                       "(IPAddressAllow) takes addresses, not host names; give an IP address or a port" % (listen,))
            return
        allowed = []
        for network in settings.get("realtime_proxy_stub_status_allow") or []:
            try:
                allowed.append(ipaddress.ip_network(network, strict=False))
            except (TypeError, ValueError):
                return  # already reported by the stub_status checks
        if not any(address in network for network in allowed):
            self.error("realtime_proxy_stub_status_allow", "does not allow %s, the address the exporter reads "
                       "stub_status from (%s, for realtime_proxy_metrics); add it" % (address, name))

    def exporter_ports(self, listens):
        """An exporter's port must be free: no nginx listener (or the other exporter) on it."""
        taken = {key: "nginx's %s" % where for key, (dummy, where) in self.sockets.items()}
        for name in EXPORTER_LISTENS:
            if name not in listens:
                continue
            host, port = split_listen(listens[name])
            host = host.lower()
            for (other_host, other_port), what in taken.items():
                if port == other_port and (host == other_host or "*" in (host, other_host)):
                    self.error(name, "%r: %s listens on that port too; give the exporter a port of its own"
                               % (listens[name], what))
                    break
            taken[(host, port)] = name
