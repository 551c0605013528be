"""Make the collection importable as ``ansible_collections.realtime.nginx``.

The checkout is not laid out as ansible_collections/realtime/nginx, so this
makes build/collections/ansible_collections/realtime/nginx -> <repo root>
(as tools/setup-venv.sh does) and puts build/collections on sys.path. When the
checkout already sits in an ansible_collections tree (ansible-test), that tree
is used and nothing is created.
"""

from __future__ import annotations

import os
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _collections_root() -> pathlib.Path:
    parts = REPO_ROOT.parts
    if len(parts) >= 3 and parts[-3:] == ("ansible_collections", "realtime", "nginx"):
        return REPO_ROOT.parents[2]
    root = REPO_ROOT / "build" / "collections"
    link = root / "ansible_collections" / "realtime" / "nginx"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != REPO_ROOT:
        link.unlink()
    if not os.path.lexists(link):
        try:
            link.symlink_to(os.path.join("..", "..", "..", ".."), target_is_directory=True)
        except FileExistsError:  # a parallel test process made it meanwhile
            pass
    return root


def ensure_importable() -> pathlib.Path:
    """Put the collections root on sys.path and return it."""
    root = str(_collections_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    package = sys.modules.get("ansible_collections")
    candidate = os.path.join(root, "ansible_collections")
    if package is not None and hasattr(package, "__path__"):
        try:
            if candidate not in list(package.__path__):
                package.__path__.append(candidate)
        except (AttributeError, TypeError):
            pass
    return pathlib.Path(root)
