#!/usr/bin/env bash
# Install Debian's Chromium for the demo's browser test (molecule/demo), unless
# it is there already. Playwright drives this binary; `playwright install`
# (a download from Playwright's CDN) is never used.
set -euo pipefail

chromium="${REALTIME_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get; set REALTIME_CHROMIUM to a Chromium binary for the demo's browser test" >&2
    exit 1
fi
bash "$(dirname "$0")/apt-install.sh" chromium
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)" >&2
