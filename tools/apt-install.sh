#!/usr/bin/env bash
# Install Debian packages without their recommends, refreshing the package
# index only when the first try fails (a fresh machine has none). For the
# tools/ensure-*.sh scripts: tools/apt-install.sh PACKAGE...
set -euo pipefail

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-install: no apt-get to install $*" >&2
    exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
fi
