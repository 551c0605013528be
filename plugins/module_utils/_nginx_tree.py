# -*- coding: utf-8 -*-
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copies of an nginx configuration directory, kept for rollback (private)."""

from __future__ import annotations

import os
import shutil


def copy_tree(source, destination):
    """Make DESTINATION an exact copy of SOURCE (empty if SOURCE is missing)."""
    if os.path.lexists(destination):
        shutil.rmtree(destination)
    if os.path.isdir(source):
        shutil.copytree(source, destination, symlinks=True)
    else:
        os.makedirs(destination, 0o755)


def restore_tree(backup, conf_dir):
    """Put the copy BACKUP back into CONF_DIR, dropping what was added since. False without a copy."""
    if not os.path.isdir(backup):
        return False
    for entry in os.listdir(conf_dir):
        path = os.path.join(conf_dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    for entry in os.listdir(backup):
        source, target = os.path.join(backup, entry), os.path.join(conf_dir, entry)
        if os.path.isdir(source) and not os.path.islink(source):
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
    return True
