#!/usr/bin/env bash
# Make sure a Docker engine answers. A fresh Debian machine has only the docker
# client, so when running as root on Debian this installs Debian's docker.io and
# starts dockerd without a bridge: test containers use host networking, so all
# test traffic stays on loopback.
set -euo pipefail

log() { echo "ensure-docker: $*" >&2; }

if docker info >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -r /etc/debian_version ]; then
    log "no Docker engine answers. Start one (dockerd) and run this again."
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io (no Docker engine is installed)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

# A machine handed back after an earlier run may hold a stale pid file.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    log "removing stale /var/run/docker.pid"
    rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (no bridge, no iptables; log: /var/log/dockerd.log)"
    setsid dockerd --bridge=none --iptables=false --ip6tables=false \
        >/var/log/dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        log "Docker engine is up"
        exit 0
    fi
    sleep 1
done
log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
