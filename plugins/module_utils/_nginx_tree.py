# -*- coding: utf-8 -*-
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copies of an nginx configuration directory, kept for rollback (private).

Copies keep content, mode, owner and link targets, and a restore touches only
what differs, so files nobody changed keep their inode and timestamps.
"""

from __future__ import annotations

import os
import shutil
import stat


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
