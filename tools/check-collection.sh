#!/usr/bin/env bash
# Build the collection tarball, check that it leaves out what only developers
# use (galaxy.yml's build_ignore), install it the way users do, check that its
# role and plugins are documented from the installed copy, and that an
# execution environment built with it gets only the collection's runtime
# needs (tools/check-ee.py).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export ANSIBLE_COLLECTIONS_PATH="$work/installed"
ansible-galaxy collection build --output-path "$work" "$root" >/dev/null
tarball="$(ls "$work"/realtime-nginx-*.tar.gz)"

# Developer-only paths (galaxy.yml build_ignore) must not ship: the toolchain
# and its configuration, the benchmarks and their plots (make bench
# regenerates them), the molecule scenarios (they need tools/ to build their
# images and the checkout's test kit) and the interop scenario's servers and figures, build
# output and caches.
leaked="$(tar -tzf "$tarball" | sed 's|^\./||' | grep -E \
    '^(bench|tools|\.ci|\.config|build|molecule|docs/performance|docs/demo[a-z-]*\.png|docs/interop|tests/output|tests/docs|tests/interop|\.nox|\.venv)(/|$)|^(noxfile\.py|requirements\.txt|Makefile|ansible\.cfg|\.ansible-lint|\.yamllint|\.gitignore)$|(^|/)(__pycache__|\.pytest_cache|\.hypothesis|\.cache|\.mypy_cache)(/|$)|\.pyc$' \
    || true)"
if [ -n "$leaked" ]; then
    echo "check-collection: $(basename "$tarball") holds developer-only files (see galaxy.yml build_ignore):" >&2
    echo "$leaked" >&2
    exit 1
fi
# What users load into Prometheus ships with the collection (README, Metrics).
listing="$(tar -tzf "$tarball" | sed 's|^\./||')"
for shipped in extensions/prometheus/realtime_nginx.rules.yml roles/realtime_proxy/files/realtime_nginx_metrics.py; do
    if ! grep -qxF "$shipped" <<<"$listing"; then
        echo "check-collection: $(basename "$tarball") lacks $shipped" >&2
        exit 1
    fi
done
ansible-galaxy collection install --offline -p "$work/installed" "$tarball" >/dev/null

cd "$work"
ansible-doc -t role realtime.nginx.realtime_proxy >"$work/role.txt"
grep -q "realtime_proxy_sites" "$work/role.txt"
for module in realtime_probe realtime_audit nginx_reload; do
    ansible-doc "realtime.nginx.${module}" >/dev/null
done
ansible-playbook -i localhost, --syntax-check realtime.nginx.audit >/dev/null
echo "check-collection: $(basename "$tarball") builds, installs and documents its role and plugins"

builder="$(bash "${root}/tools/tool-venv.sh" ansible-builder "${root}/tools/ee-check-requirements.txt")"
"${builder}/bin/python" "${root}/tools/check-ee.py" "$tarball" "$work/ee"
