# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory checks of directives given in the inventory
(realtime_proxy_http_directives, a site's and a location's directives):
names, arguments that stay one argument, blocks and loaders refused, and the
directives a location's type owns (vars/main.yml's presets). A mixin of
_inventory.InventoryChecker, whose error() it uses."""

from __future__ import annotations

import math
import re

from ansible_collections.realtime.nginx.plugins.plugin_utils._role_data import preset

# Directives given in the inventory: a name nginx could know, and each
# argument written inside double quotes, where nothing but '"' and '\' (and
# '$', which starts a variable) is syntax. Variables only as $name.
DIRECTIVE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
DIRECTIVE_NAME_HELP = "an nginx directive name: lowercase letters, digits and '_', starting with a letter, at most 64"
DIRECTIVE_ARG_RE = re.compile(r'^(?:[\x20\x21\x23\x25-\x5b\x5d-\x7e]|\$[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_]))*\Z')
DIRECTIVE_ARG_HELP = ("printable ASCII up to 1024 characters without '\"' or '\\', with '$' only in a variable "
                      "written $name")
# Blocks (the role writes every block itself), and what loads files, modules or code.
REFUSED_DIRECTIVES = dict(
    [(name, "is a block; the role writes every block itself") for name in (
        "if", "location", "limit_except", "server", "upstream", "map", "geo", "types", "http", "events",
        "split_clients", "match", "mail", "stream", "charset_map")]
    + [(name, "loads files, modules or code, which the role does not allow") for name in (
        "include", "load_module", "perl", "perl_modules", "perl_require", "perl_set", "js_import", "js_path")])


class DirectiveChecks:
    """Checks of inventory directives, mixed into InventoryChecker."""

    def directives(self, where, entries, context, kind=None):
        """A list of one-directive mappings for CONTEXT (http, server or location of type KIND)."""
        if not isinstance(entries, list):
            self.error(where, "must be a list of one-directive mappings such as {client_max_body_size: 10m}")
            return
        for index, entry in enumerate(entries):
            dwhere = "%s[%d]" % (where, index)
            if not isinstance(entry, dict) or len(entry) != 1:
                self.error(dwhere, "must be a mapping of one directive name to its argument or list of arguments, "
                           "such as {add_header: [X-Frame-Options, DENY, always]}")
                continue
            (name, args), = entry.items()
            if not isinstance(name, str) or not DIRECTIVE_NAME_RE.match(name):
                self.error(dwhere, "%r is not %s" % (name, DIRECTIVE_NAME_HELP))
                continue
            nwhere = "%s.%s" % (dwhere, name)
            problem = self.directive_owner(name, args, context, kind)
            if problem:
                self.error(nwhere, problem)
            for aindex, arg in enumerate(directive_args(args)):
                awhere = nwhere if not isinstance(args, list) else "%s[%d]" % (nwhere, aindex)
                if isinstance(arg, bool):
                    self.error(awhere, "%r: write on or off as a quoted string ('on', 'off'), not a boolean" % (arg,))
                elif isinstance(arg, float) and not math.isfinite(arg):
                    self.error(awhere, "%r is not a number nginx reads" % (arg,))
                elif not isinstance(arg, (str, int, float)):
                    self.error(awhere, "%r is not a string or a number" % (arg,))
                elif isinstance(arg, str) and (len(arg) > 1024 or not DIRECTIVE_ARG_RE.match(arg)):
                    self.error(awhere, "%r is not %s" % (arg, DIRECTIVE_ARG_HELP))

    @staticmethod
    def directive_owner(name, args, context, kind):
        """Why directive NAME cannot be given in CONTEXT, or None."""
        if name in REFUSED_DIRECTIVES:
            return REFUSED_DIRECTIVES[name]
        if name == "proxy_set_header":
            header = str(directive_args(args)[0]).lower() if directive_args(args) else None
            owned = {header_name.lower(): header_name for header_name in preset(kind).get("headers", {})} if context == "location" else {}
            if header in owned:
                return "the %s header is set by the location type %s and cannot be replaced" % (owned[header], kind)
            if context == "location":
                return "use the location's proxy_headers, which also replaces the forwarded headers"
            return ("nginx does not pass proxy_set_header down to a location that sets its own, and every "
                    "location does; use each location's proxy_headers")
        if context == "location" and name in preset(kind).get("owns", {}):
            return "is set by the location type %s%s" % (kind, owner_hint(preset(kind)["owns"][name]))
        return None


def owner_hint(option):
    """How to set a directive that a type owns, from its preset's OPTION: a location option's name, the path of an
    upstream option (realtime_proxy_upstreams.next_upstream.tries), or None."""
    if not option:
        return ""
    variable, dot, path = option.partition(".")
    if dot:
        return "; use %s on the location's upstream in %s" % (path, variable)
    return "; use the location's %s" % option


def directive_args(args):
    """The arguments of one inventory directive: a list as it is, None as none, anything else as one."""
    if args is None:
        return []
    return args if isinstance(args, list) else [args]
