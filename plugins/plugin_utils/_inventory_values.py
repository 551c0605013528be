# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of single values that the inventory checks share: whole numbers,
host:port addresses, absolute file paths. Pure Python, like _inventory."""

from __future__ import annotations

import ipaddress
import re

HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(r"^%s(?:\.%s)*\Z" % (HOST_LABEL, HOST_LABEL))
FILE_PATH_RE = re.compile(r"^/(?:[A-Za-z0-9._@+-]+/)*[A-Za-z0-9._@+-]+\Z")
FILE_PATH_HELP = "an absolute path of letters, digits and . _ @ + - (no '..')"
MAX_TIMEOUT = 7 * 24 * 3600
# What an item's state may be.
STATES = ("present", "absent")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def as_bool(value):
    """True or False for what Ansible's bool options accept (a bool, yes/no, true/false, on/off, 1/0), else None."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    return {"yes": True, "true": True, "on": True, "1": True, "y": True, "t": True,
            "no": False, "false": False, "off": False, "0": False, "n": False, "f": False}.get(text)


def as_int(value):
    """An int, or a string of digits (inventory from INI files), else None."""
    if is_int(value):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value)
    return None


def port_ok(text):
    port = as_int(text)
    return port is not None and 1 <= port <= 65535


def check_host_port(value, allow_port_only=False):
    """None when VALUE is a safe listen or server address, else why not."""
    if allow_port_only and is_int(value):
        return None if 1 <= value <= 65535 else "a port must be 1 to 65535"
    if not isinstance(value, str):
        return "must be a string \"host:port\"" + (" or a port number" if allow_port_only else "")
    if allow_port_only and value.isascii() and value.isdigit():
        return None if port_ok(value) else "a port must be 1 to 65535"
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            return "an IPv6 address must be written \"[address]:port\""
        if not re.match(r"^[0-9A-Fa-f:.]+\Z", host):
            return "'%s' is not an IPv6 address (zone ids such as %%eth0 are not supported)" % host
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "'%s' is not an IPv6 address" % host
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            return "must be \"host:port\"" + (" or a port number" if allow_port_only else "")
        if not (host == "*" and allow_port_only) and not HOSTNAME_RE.match(host):
            return "'%s' is not an IPv4 address or host name" % host
    if not (port.isascii() and port.isdigit()) or not port_ok(port):
        return "the port must be 1 to 65535"
    return None
