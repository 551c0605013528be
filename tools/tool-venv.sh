#!/usr/bin/env bash
# Print the path of build/venvs/NAME, a virtualenv with exactly what
# REQUIREMENTS (a pip requirements file) pins, creating it first - or again,
# when the file changed since the venv was built.
#
#   venv="$(tools/tool-venv.sh nox tools/nox-requirements.txt)"
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"
requirements="$2"
venv="${root}/build/venvs/${name}"
stamp="${venv}/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "tool-venv: installing ${requirements#"${root}/"} into build/venvs/${name}" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # pip's notes about this machine's missing local index folders are noise.
    "${venv}/bin/pip" install -q -r "$requirements" 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
    [ "${PIPESTATUS[0]}" = 0 ]
    echo "$want" >"$stamp"
fi
echo "$venv"
