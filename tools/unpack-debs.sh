#!/usr/bin/env bash
# Download Debian packages with apt-get (refreshing the index once if a
# download fails) and unpack them into DEST, replacing what was there.
# Nothing is installed, and no maintainer script runs.
#
#   tools/unpack-debs.sh DEST PACKAGE...
set -euo pipefail

dest="$1"
shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download "$@" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download "$@" >/dev/null 2>&1
fi
rm -rf "$dest"
mkdir -p "$dest"
for deb in ./*.deb; do
    dpkg-deb -x "$deb" "$dest"
done
