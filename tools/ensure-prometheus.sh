#!/usr/bin/env bash
# Unpack Debian's prometheus package (the server and promtool) into
# build/prometheus, unless it is there already. `make lint` checks and unit
# tests the alert rules with its promtool, and the metrics molecule scenario
# runs its server on loopback for the length of the test session. Unpacked,
# not installed: installing would start a Prometheus service on every
# address of this machine (and a node exporter it recommends).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${root}/build/prometheus"
if [ -x "${dest}/usr/bin/prometheus" ] && [ -x "${dest}/usr/bin/promtool" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-prometheus: no apt-get; unpack a prometheus release into build/prometheus/usr/bin" >&2
    exit 1
fi
bash "${root}/tools/unpack-debs.sh" "$dest" prometheus
echo "ensure-prometheus: unpacked $("${dest}/usr/bin/prometheus" --version 2>&1 | head -n 1) into build/prometheus" >&2
