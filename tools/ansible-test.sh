#!/usr/bin/env bash
# ansible-test sanity and units for realtime.nginx, offline.
#
#   tools/setup-venv.sh && tools/ansible-test.sh [sanity|units|all] [extra ansible-test args]
#
# ansible-test needs the collection at .../ansible_collections/realtime/nginx/
# and walks real paths, so this copies the checkout's files (git-tracked, and
# untracked but not ignored: what `git ls-files -co --exclude-standard` lists)
# into build/ansible-test/ansible_collections/realtime/nginx/ - a copy, not a
# symlink. The copy gets a throwaway git repository of its own (nothing is
# ever committed): ansible-test lists a collection's files with git when the
# nearest .git above it is a repository, and the checkout's own repository
# ignores build/, so without one ansible-test would see no files at all.
#
# ansible-test --venv bootstraps pip in each sanity test's virtualenv with a
# script it downloads from a host that cannot be reached here. Any script at
# ~/.ansible/test/cache/get_pip_<pip version>.py is used instead, so a
# stand-in built on ensurepip is put there when none is (docs: see
# environment notes; the pip version is the one the ansible-test in use pins).
#
# ANSIBLE_TEST_VENV names another virtualenv whose ansible-test (and so
# ansible-core) to use instead of the checkout's .venv, and ANSIBLE_TEST_TREE
# another directory for the copy than build/ansible-test: the version matrix
# (noxfile.py) runs this once per ansible-core, each in its own tree.
#
# Units run tests/unit/plugins/ only: tests/unit/roles and tests/unit/testkit
# test the repository's test kit and role templates with the repository's own
# venv (`make unit` runs them), not the collection's plugins.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
what="${1:-all}"
[ $# -gt 0 ] && shift
python_version=3.11

venv="${ANSIBLE_TEST_VENV:-${root}/.venv}"
tree="${ANSIBLE_TEST_TREE:-${root}/build/ansible-test}"
export PATH="${venv}/bin:${PATH}"
export ANSIBLE_FORCE_COLOR=0
# The checkout's ansible.cfg and collections path must not leak into the copy.
unset ANSIBLE_TEST_VENV ANSIBLE_TEST_TREE ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS PYTHONPATH

if ! command -v ansible-test >/dev/null; then
    echo "ansible-test.sh: no ansible-test on PATH; run tools/setup-venv.sh first (or set ANSIBLE_TEST_VENV)" >&2
    exit 2
fi

# 1. The copy. tests/output (ansible-test's results) and .git survive between runs.
dest="${tree}/ansible_collections/realtime/nginx"
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
if [ -d "$dest/tests" ]; then
    find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
fi
git -C "$root" ls-files -z -co --exclude-standard | python3 -c '
import os, shutil, sys
src, dest = sys.argv[1], sys.argv[2]
for rel in sys.stdin.buffer.read().decode().split("\0"):
    path = os.path.join(src, rel)
    if not rel or not os.path.lexists(path):  # deleted in the work tree, not yet in git
        continue
    target = os.path.join(dest, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(path, target, follow_symlinks=False)
' "$root" "$dest"
if [ ! -d "$dest/.git" ]; then
    git init -q "$dest"
fi

# 2. The pip bootstrap stand-in, named for the pip version this ansible-test
# pins (24.2 for ansible-core 2.19).
pip_version="$(python3 -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$python_version"'"))["pip"])
' 2>/dev/null)" || pip_version=24.2
get_pip="${HOME}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$get_pip" ]; then
    mkdir -p "$(dirname "$get_pip")"
    cat >"$get_pip" <<'EOF'
# Offline stand-in for pip's get-pip.py, written by realtime.nginx tools/ansible-test.sh.
import ensurepip, os, subprocess, sys
ensurepip.bootstrap(upgrade=True)
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip sets it to /dev/null, hiding the machine's pip config (its CA)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
EOF
fi

# 3. The tests.
cd "$dest"
status=0
if [ "$what" = sanity ] || [ "$what" = all ]; then
    echo "== ansible-test sanity (all default tests, Python ${python_version})"
    ansible-test sanity --venv --python "$python_version" --color no "$@" || status=$?
fi
if [ "$what" = units ] || [ "$what" = all ]; then
    echo "== ansible-test units tests/unit/plugins/ (Python ${python_version})"
    # One worker: the end-to-end unit tests start nginx and a backend on fixed
    # loopback ports in module-scoped fixtures, which parallel workers would share.
    ansible-test units --venv --python "$python_version" --requirements --num-workers 1 --color no "$@" \
        tests/unit/plugins/ || status=$?
fi
exit "$status"
