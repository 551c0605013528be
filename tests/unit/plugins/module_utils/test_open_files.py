"""The open files a host allows nginx, and the worker settings sized from it (module_utils/_open_files.py)."""

from __future__ import annotations

import pytest

from ansible_collections.realtime.nginx.plugins.module_utils._open_files import (
    can_raise_limits, connections_for, host_limit, master_shortfall, open_files_plan, process_open_files)

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


# /proc/PID/status CapEff lines: full root, root in these test containers (no CAP_SYS_RESOURCE, bit 24), a
# worker after it dropped root.
CAP_FULL = "Name:\tnginx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
CAP_CONTAINER = "Name:\tnginx\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n"
CAP_NONE = "Name:\tnginx\nCapEff:\t0000000000000000\n"


@pytest.mark.parametrize("text, expect", [(limits("4096", "4096"), (4096, 4096)), (limits("20000"), (1024, 20000)),
                                          (limits("unlimited", "unlimited"), (None, None))])
def test_process_open_files_reads_soft_and_hard(text, expect):
    assert process_open_files(text) == expect


@pytest.mark.parametrize("status, expect", [(CAP_FULL, True), (CAP_CONTAINER, False), (CAP_NONE, False),
                                            ("Name:\tnginx\n", False)])
def test_can_raise_limits_is_cap_sys_resource_in_the_effective_set(status, expect):
    assert can_raise_limits(status) is expect


def master(hard, soft=None, can_raise=False):
    return {"pid": 4242, "soft": hard if soft is None else soft, "hard": hard, "can_raise": can_raise}


def test_a_master_below_the_workers_limit_that_cannot_raise_it_is_reported_by_name():
    message = master_shortfall(8192, master(4096))
    assert message.startswith("realtime_proxy_worker_rlimit_nofile: nginx's workers need 8192 open files, but the "
                              "running master (PID 4242) may give them at most 4096"), message
    assert "lacks CAP_SYS_RESOURCE" in message and "its workers keep 4096 files" in message
    assert "LimitNOFILE=8192 applies only when nginx restarts" in message
    assert "realtime_proxy_restart_for_open_files: true" in message and "closes every open SSE stream" in message
    assert "its workers keep 1024 files" in master_shortfall(8192, master(4096, soft=1024))


@pytest.mark.parametrize("running", [
    None,                               # no nginx runs: it starts with the drop-in's limit
    master(8192),                       # already enough
    master(20000, soft=1024),           # the hard limit is what counts: workers raise their soft limit to it
    master(4096, can_raise=True),       # a master with CAP_SYS_RESOURCE: its workers raise their own
    master(None, soft=None),            # unlimited
])
def test_nothing_is_reported_when_the_workers_get_their_limit(running):
    assert master_shortfall(8192, running) is None
