#!/usr/bin/env bash
# Run noxfile.py (the ansible-core version matrix) with the nox pinned in
# tools/nox-requirements.txt, kept in build/venvs/nox. Arguments go to nox:
# `tools/nox.sh -l` lists the sessions.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(bash "${root}/tools/tool-venv.sh" nox "${root}/tools/nox-requirements.txt")"
exec "${venv}/bin/nox" --noxfile "${root}/noxfile.py" "$@"
