# -*- coding: utf-8 -*-
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the realtime_proxy role uses to check its inventory."""

from __future__ import annotations

from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, owned_files


def realtime_proxy_errors(settings):
    """The list of problems in a mapping of realtime_proxy_* variables."""
    return inventory_errors(dict(settings))


def realtime_proxy_files(upstreams, sites):
    """The files the role owns, each with its template and source item."""
    return owned_files(list(upstreams), list(sites))


class FilterModule:
    """Filters for realtime.nginx."""

    def filters(self):
        return {
            "realtime_proxy_errors": realtime_proxy_errors,
            "realtime_proxy_files": realtime_proxy_files,
        }
