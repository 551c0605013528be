"""The realtime_proxy filter plugin exposes the inventory checks to the role."""

from __future__ import annotations

from ansible_collections.realtime.nginx.plugins.filter.realtime_proxy import (
    FilterModule, realtime_proxy_errors, realtime_proxy_files)
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, owned_files


def test_filter_module_exposes_both_filters():
    filters = FilterModule().filters()
    assert filters["realtime_proxy_errors"] is realtime_proxy_errors
    assert filters["realtime_proxy_files"] is realtime_proxy_files


def test_errors_filter_is_inventory_errors():
    settings = {"realtime_proxy_upstreams": [{"name": "a b", "servers": []}], "realtime_proxy_sites": []}
    assert realtime_proxy_errors(settings) == inventory_errors(settings)
    assert realtime_proxy_errors(settings)


def test_files_filter_is_owned_files_and_accepts_any_sequence():
    upstreams = ({"name": "app", "servers": ["127.0.0.1:1"]},)
    assert realtime_proxy_files(upstreams, ()) == owned_files(list(upstreams), [])
