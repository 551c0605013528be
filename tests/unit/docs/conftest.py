"""Make realtime_testkit and ansible_collections.realtime.nginx importable."""

from __future__ import annotations

import pathlib
import sys

_TESTS = str(pathlib.Path(__file__).resolve().parents[2])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from realtime_testkit.collection import ensure_importable  # noqa: E402  pylint: disable=wrong-import-position

ensure_importable()
