# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory checks of an nginx the role does not own: realtime_proxy_snippets,
realtime_proxy_manage_nginx_conf and realtime_proxy_state. A mixin of
_inventory.InventoryChecker: a snippet is checked by its location() (a
snippet is a location's body, so it takes a location's options but what the
location line says), with its own name and state. What the live
configuration allows is checked on the host's nginx -T (_adopt)."""

from __future__ import annotations

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_values import STATES, as_bool, as_int
from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import suboption_names

# What a location line says, not its body.
LOCATION_LINE_KEYS = frozenset(["path", "match"])
SNIPPET_KEYS = (suboption_names("realtime_proxy_sites", "locations") - LOCATION_LINE_KEYS) | frozenset(["name", "state"])


class AdoptChecks:
    """Checks of the settings of an nginx the role does not own, mixed into InventoryChecker."""

    def snippets(self, snippets, upstream_names):
        seen = set()
        for where, dummy, snippet in self.mappings("realtime_proxy_snippets", snippets, "snippets",
                                                   "name, type and upstream", SNIPPET_KEYS | LOCATION_LINE_KEYS):
            for key in sorted(LOCATION_LINE_KEYS & set(snippet)):
                self.error("%s.%s" % (where, key), "a snippet has none: the location block of yours that includes it "
                           "says which requests it serves")
            self.name(where + ".name", snippet.get("name"), seen)
            present = self.state(where, snippet) == "present"
            self.location(where, snippet, upstream_names if present else None)

    def mode(self, settings):
        """What realtime_proxy_manage_nginx_conf and realtime_proxy_state allow of the other settings."""
        manage = as_bool(settings.get("realtime_proxy_manage_nginx_conf", True))
        if manage is None:
            self.error("realtime_proxy_manage_nginx_conf", "must be true or false")
            return
        state = settings.get("realtime_proxy_state", "present")
        if state not in STATES:
            self.error("realtime_proxy_state", "%r is not one of: %s" % (state, ", ".join(STATES)))
        if manage:
            if settings.get("realtime_proxy_snippets"):
                self.error("realtime_proxy_snippets", "need realtime_proxy_manage_nginx_conf: false; where the role "
                           "owns nginx.conf, give the locations to a site of realtime_proxy_sites")
            if state == "absent":
                self.error("realtime_proxy_state", "absent applies with realtime_proxy_manage_nginx_conf: false; where "
                           "the role owns nginx.conf, its files are all the configuration nginx has")
            return
        refused = (
            ("realtime_proxy_sites", settings.get("realtime_proxy_sites"),
             "the role writes no server blocks with realtime_proxy_manage_nginx_conf: false; give the locations to "
             "realtime_proxy_snippets and include each in a location block of your own server"),
            ("realtime_proxy_limit_conn_per_client", as_int(settings.get("realtime_proxy_limit_conn_per_client", 0)),
             "limits the role's own server blocks, and there are none with realtime_proxy_manage_nginx_conf: false; "
             "set limit_conn in your server (with a limit_conn_zone in http {})"),
            ("realtime_proxy_limit_req_rate", settings.get("realtime_proxy_limit_req_rate"),
             "limits the role's own server blocks, and there are none with realtime_proxy_manage_nginx_conf: false; "
             "set limit_req in your server (with a limit_req_zone in http {})"),
        )
        for name, value, why in refused:
            if value:
                self.error(name, why)
