#!/usr/bin/env bash
# The ansible-core version matrix (noxfile.py), as `make matrix` runs it: the
# molecule session (mostly waiting on apt and on streams) runs beside the
# ansible-test sessions (mostly CPU), one after another. The molecule
# session's output goes to build/matrix-logs/molecule_oldest.log and is
# printed when both are done.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
logs="${root}/build/matrix-logs"
mkdir -p "$logs"
# Both nox runs below would otherwise race to create nox's own venv.
bash "${root}/tools/tool-venv.sh" nox "${root}/tools/nox-requirements.txt" >/dev/null || exit

started=$SECONDS
bash "${root}/tools/nox.sh" -s molecule_oldest >"${logs}/molecule_oldest.log" 2>&1 &
molecule=$!
status=0
bash "${root}/tools/nox.sh" -s ansible_test || status=1
echo "== ansible-test sessions done after $((SECONDS - started)) s"
wait "$molecule" || status=1
echo "== molecule_oldest (build/matrix-logs/molecule_oldest.log)"
cat "${logs}/molecule_oldest.log"
echo "== version matrix: $([ $status = 0 ] && echo PASS || echo FAIL) in $((SECONDS - started)) s"
exit $status
