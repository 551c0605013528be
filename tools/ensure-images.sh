#!/usr/bin/env bash
# Build the systemd base images the test hosts run, unless they exist already.
# No container registry is reachable, so images are bootstrapped from Debian's
# packages and imported. Set REALTIME_NGINX_IMAGE_DEBIAN12 / _DEBIAN13 to use
# images of your own instead (they must boot /lib/systemd/systemd and have python3).
set -euo pipefail

log() { echo "ensure-images: $*" >&2; }
root="$(cd "$(dirname "$0")/.." && pwd)"

# What the test hosts start with: systemd and python3 for Ansible, and the
# test backends' runtimes (aiohttp; python-socketio on Debian 12, where the
# socketio scenario runs), so scenarios do not install them each time. Never
# python3-apt: a fresh host lacks it, and the pipelines scenario checks that
# the role copes. nginx itself is always installed by the role.
packages() {  # packages SUITE
    case "$1" in
        bookworm) echo "python3,systemd,systemd-sysv,dbus,python3-aiohttp,python3-socketio" ;;
        *) echo "python3,systemd,systemd-sysv,dbus,python3-aiohttp" ;;
    esac
}

build() {  # build SUITE TAG
    local suite="$1" tag="$2" rootfs include stamp
    include="$(packages "$suite")"
    # An image made from another package list (an older checkout's) is rebuilt.
    stamp="$(printf '%s\n' "$suite" "$include" "policy-rc.d" | sha256sum | cut -c1-16)"
    if [ "$(docker image inspect --format '{{ index .Config.Labels "realtime.nginx.image" }}' "$tag" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    rootfs="$(mktemp -d "${root}/build/rootfs-${suite}.XXXXXX")"
    trap 'rm -rf "$rootfs"' RETURN
    log "bootstrapping Debian ${suite} into ${rootfs} (about a minute)"
    debootstrap --variant=minbase --include="$include" \
        "$suite" "$rootfs" http://deb.debian.org/debian >"${rootfs}.log" 2>&1 \
        || { tail -n 30 "${rootfs}.log" >&2; exit 1; }
    rm -f "${rootfs}.log"
    # As in Docker's own Debian image builder: packages do not start services
    # while they are installed, so a freshly installed nginx never binds the
    # distribution's default port 80 on the shared host network; the role starts
    # nginx once its own configuration is in place.
    printf '#!/bin/sh\nexit 101\n' >"${rootfs}/usr/sbin/policy-rc.d"
    chmod 755 "${rootfs}/usr/sbin/policy-rc.d"
    rm -rf "${rootfs}/var/cache/apt/archives/"*.deb "${rootfs}/var/lib/apt/lists/"*
    tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' -c "LABEL realtime.nginx.image=$stamp" \
        - "$tag" >/dev/null
    log "built image ${tag}"
}

mkdir -p "${root}/build"
[ -n "${REALTIME_NGINX_IMAGE_DEBIAN12:-}" ] || build bookworm realtime-nginx-test/debian:12
[ -n "${REALTIME_NGINX_IMAGE_DEBIAN13:-}" ] || build trixie realtime-nginx-test/debian:13
