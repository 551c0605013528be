#!/usr/bin/env bash
# Install Debian's gdb on the controller, unless it is there already. The
# benchmark (bench/heap.py) attaches it to nginx's workers for a moment to read
# glibc's own count of their heap; without it those figures are left out.
set -euo pipefail

if command -v gdb >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" gdb
echo "ensure-gdb: installed $(dpkg-query -W -f '${Package} ${Version}' gdb)" >&2
