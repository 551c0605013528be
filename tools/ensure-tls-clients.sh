#!/usr/bin/env bash
# Create build/tls-clients-venv with sslyze (Mozilla TLS profile checks) and
# aioquic (an HTTP/3 client), unless it is there already. They get a venv of
# their own: both pin cryptography and OpenSSL bindings (sslyze's nassl) in
# ranges that need not agree with the shared toolchain in requirements.txt.
# The platforms scenario runs them as subprocesses with this venv's python.
# Prints the venv's python on stdout.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${root}/build/tls-clients-venv"
want="sslyze aioquic httpx websockets"
if [ ! -x "${venv}/bin/python" ] || [ "$(cat "${venv}/.packages" 2>/dev/null)" != "$want" ]; then
    echo "ensure-tls-clients: installing ${want} into build/tls-clients-venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # the package list is split on purpose
    "${venv}/bin/pip" install -q ${want} 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
    [ "${PIPESTATUS[0]}" = 0 ]
    "${venv}/bin/pip" check >&2
    echo "$want" >"${venv}/.packages"
fi
echo "${venv}/bin/python"
