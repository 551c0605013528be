#!/usr/bin/env bash
# Install Debian's pebble (Let's Encrypt's ACME test server, with
# pebble-challtestsrv, its DNS server for tests) on the controller, unless it
# is there already. The acme molecule scenario runs both on loopback
# (tests/realtime_testkit/acme.py).
set -euo pipefail

if command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" pebble
echo "ensure-pebble: installed $(dpkg-query -W -f '${Package} ${Version}' pebble)" >&2
