"""Files the role does not own are never touched; the default site is disabled unless kept.

prepare.yml wrote conf.d/keep-me.conf, sites-available/custom and the
sites-enabled/custom link before nginx was installed, with a pinned
modification time. They must be unchanged after converge, idempotence and
the runs below, and still be included by nginx.
"""

import copy
import re

import pytest
from conftest import FOREIGN, tail
from realtime_testkit.hosts import file_state, http_get
from realtime_testkit.playbook import config_checksums, run_role

FOREIGN_MTIME = 1577934245  # 2020-01-02 03:04:05 UTC, set by prepare.yml
KEEP_ME = ("# Not managed by realtime.nginx: the role must leave this file alone.\n"
           "map $http_x_rtn_keep_me $rtn_failures_keep_me {\n"
           "    default \"kept\";\n"
           "}\n")
DEFAULT_LINK = "/etc/nginx/sites-enabled/default"
DEFAULT_SITE = "/etc/nginx/sites-available/default"


def assert_foreign_files_intact(host, variables, states):
    """Content, mode, owner, inode and mtime unchanged; conf.d and sites-enabled still served."""
    assert host.file(FOREIGN[0]).content_string == KEEP_ME
    for path in FOREIGN:
        assert int(host.check_output("stat -c %%Y %s" % path)) == FOREIGN_MTIME, "%s was rewritten" % path
        assert file_state(host, path) == states[path]
    link = host.file("/etc/nginx/sites-enabled/custom")
    assert link.is_symlink and link.linked_to == "/etc/nginx/sites-available/custom"
    dump = host.run("nginx -T").stdout
    assert "$rtn_failures_keep_me" in dump, "conf.d is no longer included"
    answer = http_get("http://127.0.0.1:%d/" % variables["realtime_test_custom_port"], timeout=5)
    assert (answer.status, answer.body) == (200, b"custom site\n"), (answer.status, answer.error)


def test_files_the_role_does_not_own_are_untouched(host, name, variables):
    """Already true after converge and idempotence; then a change and a return to the inventory."""
    states = {path: file_state(host, path) for path in FOREIGN}
    assert_foreign_files_intact(host, variables, states)
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites[1]["locations"][0]["read_timeout"] = 77
    sites[0]["state"] = "absent"
    before = config_checksums(host)
    try:
        for extra_vars in ({"realtime_proxy_sites": sites}, {}):
            run = run_role(name, extra_vars)
            assert run.rc == 0, tail(run.messages)
            assert run.stats[name]["changed"] > 0, "the run changed nothing, so it proves nothing"
            assert_foreign_files_intact(host, variables, states)
    except BaseException:
        run_role(name, {})  # the last run above is the restore; repeat it only on failure
        raise
    assert config_checksums(host) == before


def test_default_site_is_disabled(host):
    assert not host.file(DEFAULT_LINK).exists
    # Disabled, not deleted: the distribution's file is still there to enable again.
    assert host.file(DEFAULT_SITE).is_file


@pytest.fixture
def default_site_enabled(host):
    """sites-enabled/default as Debian installs it, as a file state only.

    It listens on port 80, so nginx must never load it here: only check-mode
    runs (which never reload) happen while the link exists.
    """
    assert host.run("ln -s %s %s" % (DEFAULT_SITE, DEFAULT_LINK)).rc == 0
    try:
        yield
    finally:
        host.run("rm -f %s" % DEFAULT_LINK)
        assert not host.file(DEFAULT_LINK).exists


def test_default_site_kept_or_removed_in_check_mode(host, name, default_site_enabled):
    before = config_checksums(host)
    assert before[DEFAULT_LINK] == "link:" + DEFAULT_SITE

    removed = run_role(name, {}, check=True, diff=True)
    assert removed.rc == 0, tail(removed.messages)
    assert re.search(r"--- before: %s\n\+\+\+ after: /dev/null\n.*\n-symlink to %s"
                     % (re.escape(DEFAULT_LINK), re.escape(DEFAULT_SITE)), removed.messages), tail(removed.messages)
    assert removed.stats[name]["changed"] > 0, tail(removed.messages)

    kept = run_role(name, {"realtime_proxy_keep_default_site": True}, check=True, diff=True)
    assert kept.rc == 0, tail(kept.messages)
    assert DEFAULT_LINK not in kept.messages, tail(kept.messages)
    assert kept.stats[name]["changed"] == 0, tail(kept.messages)

    assert config_checksums(host) == before, "a check-mode run changed /etc/nginx"
    assert host.file(DEFAULT_LINK).is_symlink
