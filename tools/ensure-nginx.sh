#!/usr/bin/env bash
# Unpack Debian's nginx (binary and nginx-common's mime.types) into
# build/nginx, unless it is there already, so the unit and property tests
# run `nginx -t` on rendered trees without installing or starting an nginx
# service on this machine. Nothing is installed system-wide.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${root}/build/nginx"
# nginx -t creates its compiled-in temporary directories under this one,
# as Debian's packaging does.
mkdir -p /var/lib/nginx 2>/dev/null || true
if [ -x "${dest}/usr/sbin/nginx" ] && [ -f "${dest}/etc/nginx/mime.types" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-nginx: no apt-get; set REALTIME_NGINX_BINARY to an nginx binary for the nginx -t tests" >&2
    exit 0
fi
bash "${root}/tools/unpack-debs.sh" "$dest" nginx nginx-common
echo "ensure-nginx: unpacked $("${dest}/usr/sbin/nginx" -v 2>&1) into build/nginx" >&2
