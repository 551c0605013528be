# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state nginx_config and nginx_reload keep beside an nginx configuration directory (private).

STATE_DIR (only root may read it: the copies hold private keys) holds
* ``previous/``: a copy of the configuration directory as it was before the
  last change was written, which a failed activation puts back;
* ``written`` and ``active``: a token that nginx_config writes each time it
  writes files live, and that nginx_reload copies to ``active`` once nginx
  serves them. When they differ (a run that died after writing and before
  reloading), the next run activates the files although nothing differs any
  more. Only the role's own writes count: files other tools change are theirs
  to activate.

Copies keep content, mode, owner and link targets, and a restore touches only
what differs, so files nobody changed keep their inode and timestamps.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid

PREVIOUS = "previous"
WRITTEN = "written"
ACTIVE = "active"


def _copy_entry(source, target):
    """Copy one file or symlink (not a directory) with its mode and owner."""
    info = os.lstat(source)
    if os.path.lexists(target):
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
    else:
        shutil.copy2(source, target)
    os.lchown(target, info.st_uid, info.st_gid)


def _same(source, target):
    """Whether TARGET already matches SOURCE in type, content, mode and owner."""
    try:
        want, have = os.lstat(source), os.lstat(target)
    except OSError:
        return False
    if stat.S_IFMT(want.st_mode) != stat.S_IFMT(have.st_mode):
        return False
    if (want.st_uid, want.st_gid) != (have.st_uid, have.st_gid):
        return False
    if stat.S_ISLNK(want.st_mode):
        return os.readlink(source) == os.readlink(target)
    if stat.S_IMODE(want.st_mode) != stat.S_IMODE(have.st_mode):
        return False
    if stat.S_ISDIR(want.st_mode):
        return True
    if want.st_size != have.st_size:
        return False
    with open(source, "rb") as one, open(target, "rb") as other:
        return one.read() == other.read()


def _sync(source, target):
    """Make TARGET match SOURCE, touching only what differs."""
    info = os.lstat(source)
    if stat.S_ISDIR(info.st_mode):
        if os.path.lexists(target) and (os.path.islink(target) or not os.path.isdir(target)):
            os.unlink(target)
        if not os.path.isdir(target):
            os.makedirs(target)
        os.chmod(target, stat.S_IMODE(info.st_mode))
        os.lchown(target, info.st_uid, info.st_gid)
        wanted = set(os.listdir(source))
        for entry in os.listdir(target):
            if entry not in wanted:
                path = os.path.join(target, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        for entry in sorted(wanted):
            _sync(os.path.join(source, entry), os.path.join(target, entry))
    elif not _same(source, target):
        _copy_entry(source, target)


def copy_tree(source, destination):
    """Make DESTINATION an exact copy of SOURCE (empty if SOURCE is missing)."""
    if not os.path.isdir(source):
        if os.path.lexists(destination):
            shutil.rmtree(destination)
        os.makedirs(destination, 0o755)
        return
    _sync(source, destination)


def restore_tree(backup, conf_dir):
    """Put the copy BACKUP back into CONF_DIR, dropping what was added since. False without a copy."""
    if not os.path.isdir(backup):
        return False
    _sync(backup, conf_dir)
    return True


def _private_dir(state_dir):
    if not os.path.isdir(state_dir):
        os.makedirs(state_dir, 0o700)
    os.chmod(state_dir, 0o700)


def keep_previous(conf_dir, state_dir):
    """Copy CONF_DIR to STATE_DIR/previous before a change is written; return the copy's path."""
    _private_dir(state_dir)
    previous = os.path.join(state_dir, PREVIOUS)
    copy_tree(conf_dir, previous)
    return previous


def restore_previous(state_dir, conf_dir):
    """Put STATE_DIR/previous back into CONF_DIR. False when there is no copy."""
    return restore_tree(os.path.join(state_dir, PREVIOUS), conf_dir)


def _read(state_dir, name):
    try:
        with open(os.path.join(state_dir, name)) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _write(state_dir, name, value):
    _private_dir(state_dir)
    handle, temporary = tempfile.mkstemp(dir=state_dir, prefix="." + name + ".")
    with os.fdopen(handle, "w") as out:
        out.write(value + "\n")
    os.rename(temporary, os.path.join(state_dir, name))


def mark_written(state_dir):
    """Record that a new configuration was written live; it awaits activation until mark_active()."""
    _write(state_dir, WRITTEN, uuid.uuid4().hex)


def mark_active(state_dir):
    """Record that nginx now serves what was last written."""
    written = _read(state_dir, WRITTEN)
    if written is not None:
        _write(state_dir, ACTIVE, written)


def mark_rolled_back(state_dir):
    """Record that the live files are again the ones nginx served before the last write."""
    active = _read(state_dir, ACTIVE)
    if active is not None:
        _write(state_dir, WRITTEN, active)


def awaiting_activation(state_dir):
    """Whether files written live were never activated (a run that stopped between writing and reloading)."""
    written = _read(state_dir, WRITTEN)
    return written is not None and written != _read(state_dir, ACTIVE)
