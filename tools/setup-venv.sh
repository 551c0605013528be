#!/usr/bin/env bash
# Create .venv with the pinned toolchain (requirements.txt), unless it is
# already there for the same requirements, and make the collection importable
# as realtime.nginx from this checkout through build/collections.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${root}/.venv"
stamp="${venv}/.requirements.sha256"
want="$(sha256sum "${root}/requirements.txt" | cut -d' ' -f1)"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup-venv: installing the Python toolchain into .venv (about a minute)" >&2
    python3 -m venv "$venv"
    # pip's notes about this machine's missing local index folders are noise.
    "${venv}/bin/pip" install -q -r "${root}/requirements.txt" 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
    [ "${PIPESTATUS[0]}" = 0 ]
    echo "$want" >"$stamp"
fi

link="${root}/build/collections/ansible_collections/realtime/nginx"
mkdir -p "$(dirname "$link")"
if [ ! -L "$link" ]; then
    rm -rf "$link"
    ln -s ../../../.. "$link"
fi
