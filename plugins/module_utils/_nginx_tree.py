# -*- coding: utf-8 -*-
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state nginx_config and nginx_reload keep beside an nginx configuration directory (private).

STATE_DIR (only root may read it: the copies hold private keys) holds
* ``previous/``: a copy of the configuration directory as it was before the
  last change was written, which a failed activation puts back;
* ``active.sha256``: the digest of the configuration directory that nginx
  last loaded, written after every confirmed reload. When the live files no
  longer match it (a run that died after writing and before reloading), the
  next run activates them although nothing differs any more.

Copies keep content, mode, owner and link targets, and a restore touches only
what differs, so files nobody changed keep their inode and timestamps.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile

PREVIOUS = "previous"
ACTIVE = "active.sha256"


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


def tree_digest(root):
    """sha256 over every path, type, mode, link target and content under ROOT ('' when ROOT is missing)."""
    if not os.path.isdir(root):
        return ""
    digest = hashlib.sha256()
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(top, d))]):
            path = os.path.join(top, name)
            info = os.lstat(path)
            digest.update(("%s\0%o\0" % (os.path.relpath(path, root), info.st_mode)).encode("utf-8", "surrogateescape"))
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 16), b""):
                        digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


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


def record_active(state_dir, conf_dir):
    """Remember that nginx now serves CONF_DIR as it is on disk."""
    _private_dir(state_dir)
    handle, temporary = tempfile.mkstemp(dir=state_dir, prefix=".active.")
    with os.fdopen(handle, "w") as out:
        out.write(tree_digest(conf_dir) + "\n")
    os.rename(temporary, os.path.join(state_dir, ACTIVE))


def active_digest(state_dir):
    """The digest record_active() last wrote, or None."""
    try:
        with open(os.path.join(state_dir, ACTIVE)) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def awaiting_activation(state_dir, conf_dir):
    """Whether CONF_DIR differs from what nginx last loaded through these modules."""
    return active_digest(state_dir) != tree_digest(conf_dir)
