"""How tests start a browser: Debian's Chromium, headless, quiet on a closed network.

pytest-playwright drives it (``browser_type_launch_args`` in a conftest), but
never with a browser that ``playwright install`` downloads: the machines have
no route to its CDN, and Debian's package is the one ``make setup`` installs
(tools/ensure-chromium.sh). REALTIME_CHROMIUM names another binary.
"""

from __future__ import annotations

import os

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "launch_args"]

CHROMIUM = os.environ.get("REALTIME_CHROMIUM", "/usr/bin/chromium")

# No sandbox: tests run as root. The background-networking, component-update
# and sync switches stop Chromium from calling Google's services, which on a
# closed network it would retry without end.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch_args(defaults: dict) -> dict:
    """pytest-playwright's launch arguments DEFAULTS, set to Debian's Chromium and the switches above."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError("no Chromium at %s: run `make setup` (tools/ensure-chromium.sh installs Debian's), "
                           "or set REALTIME_CHROMIUM to a Chromium binary" % CHROMIUM)
    return dict(defaults, executable_path=CHROMIUM, args=CHROMIUM_ARGS)
