"""The open files a host allows nginx, and the worker settings sized from it (plugin_utils/_open_files.py)."""

from __future__ import annotations

import pytest

from ansible_collections.realtime.nginx.plugins.plugin_utils._open_files import connections_for, host_limit, open_files_plan

# /proc/1/limits of the systemd in the test containers (the hard limit there is 20,000).
CONTAINER_LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
"""


def limits(hard, soft="1024"):
    return CONTAINER_LIMITS.replace("20000                20000", "%-20s %s" % (soft, hard))


@pytest.mark.parametrize("text, nr_open, expect", [
    (CONTAINER_LIMITS, "1048576\n", 20000),
    (limits("524288"), "1048576\n", 524288),
    (limits("unlimited"), "1048576", 1048576),
    (limits("4194304"), "1048576", 1048576),
])
def test_host_limit_is_pid1_hard_limit_at_most_nr_open(text, nr_open, expect):
    assert host_limit(text, nr_open) == expect


def test_host_limit_refuses_other_text():
    with pytest.raises(ValueError, match="Max open files"):
        host_limit("nothing here", "1048576")


def test_sized_from_the_host():
    # The bench machine: 20,000 files, so 19,000 connections (16,000 streams on two workers fit).
    assert open_files_plan(20000) == {"host_limit": 20000, "rlimit": 20000, "connections": 19000, "errors": []}
    assert open_files_plan(524288)["rlimit"] == 65536
    assert open_files_plan(524288)["connections"] == 65536 - 65536 // 20
    assert connections_for(1024) == 768


def test_inventory_values_win_when_the_host_allows_them():
    assert open_files_plan(20000, 8192, 4096) == {"host_limit": 20000, "rlimit": 8192, "connections": 4096, "errors": []}
    assert open_files_plan(20000, "8192", 0)["connections"] == 8192 - 409


def test_more_than_the_host_allows_is_refused_with_the_figure():
    plan = open_files_plan(20000, 65536, 0)
    assert len(plan["errors"]) == 1
    assert plan["errors"][0].startswith("realtime_proxy_worker_rlimit_nofile: 65536 ")
    assert "at most 20000, or to 0" in plan["errors"][0]


def test_connections_above_the_rlimit_are_refused():
    plan = open_files_plan(20000, 0, 20001)
    assert [e.split(":")[0] for e in plan["errors"]] == ["realtime_proxy_worker_connections"]
    assert "at most 19000" in plan["errors"][0]
