#!/usr/bin/env bash
# Build the collection tarball, install it the way users do, and check that
# its role and plugins are documented from the installed copy.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export ANSIBLE_COLLECTIONS_PATH="$work/installed"
ansible-galaxy collection build --output-path "$work" "$root" >/dev/null
tarball="$(ls "$work"/realtime-nginx-*.tar.gz)"
ansible-galaxy collection install --offline -p "$work/installed" "$tarball" >/dev/null

cd "$work"
ansible-doc -t role realtime.nginx.realtime_proxy >"$work/role.txt"
grep -q "realtime_proxy_sites" "$work/role.txt"
for module in realtime_probe realtime_audit nginx_reload; do
    ansible-doc "realtime.nginx.${module}" >/dev/null
done
ansible-playbook -i localhost, --syntax-check realtime.nginx.audit >/dev/null
echo "check-collection: $(basename "$tarball") builds, installs and documents its role and plugins"
