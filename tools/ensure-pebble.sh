#!/usr/bin/env bash
# Install Debian's pebble (Let's Encrypt's ACME test server, with
# pebble-challtestsrv, its DNS server for tests) on the controller, unless it
# is there already. The acme molecule scenario runs both on loopback
# (tests/realtime_testkit/acme.py).
set -euo pipefail

if command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-pebble: no apt-get; install pebble (with pebble-challtestsrv) for the acme scenario" >&2
    exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pebble >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pebble >/dev/null
fi
echo "ensure-pebble: installed $(dpkg-query -W -f '${Package} ${Version}' pebble)" >&2
