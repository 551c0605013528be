"""The state nginx_config and nginx_reload keep: the previous tree, and writes awaiting activation."""

from __future__ import annotations

import os
import stat

from ansible_collections.realtime.nginx.plugins.module_utils._nginx_tree import (
    awaiting_activation, keep_previous, mark_active, mark_rolled_back, mark_written, restore_previous)


def test_nothing_awaits_activation_before_anything_was_written(tmp_path):
    assert not awaiting_activation(str(tmp_path / "state"))
    mark_active(str(tmp_path / "state"))  # nginx reloaded for someone else's change
    assert not awaiting_activation(str(tmp_path / "state"))


def test_a_write_awaits_activation_until_nginx_serves_it(tmp_path):
    state = str(tmp_path / "state")
    mark_written(state)
    assert awaiting_activation(state)
    # A run that stops here leaves the write pending for the next run.
    assert awaiting_activation(state)
    mark_active(state)
    assert not awaiting_activation(state)
    mark_written(state)
    assert awaiting_activation(state), "each write is a new token"


def test_a_rollback_clears_the_pending_write(tmp_path):
    state = str(tmp_path / "state")
    mark_written(state)
    mark_active(state)
    mark_written(state)
    mark_rolled_back(state)
    assert not awaiting_activation(state)


def test_the_state_directory_is_private_and_the_previous_tree_comes_back(tmp_path):
    conf, state = tmp_path / "conf", tmp_path / "state"
    (conf / "sites").mkdir(parents=True)
    (conf / "nginx.conf").write_text("old\n")
    keep_previous(str(conf), str(state))
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    (conf / "nginx.conf").write_text("new\n")
    (conf / "sites" / "added.conf").write_text("x\n")
    assert restore_previous(str(state), str(conf))
    assert (conf / "nginx.conf").read_text() == "old\n"
    assert not (conf / "sites" / "added.conf").exists()


def test_restore_without_a_copy_does_nothing(tmp_path):
    assert not restore_previous(str(tmp_path / "state"), str(tmp_path / "conf"))
