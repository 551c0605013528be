#!/usr/bin/env bash
# `make demo`: provision a container with the example inventory, then show SSE
# events and a WebSocket echo flowing through its nginx. `--clean` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--clean" ]; then
    molecule destroy -s demo
    echo "demo removed"
    exit 0
fi

# Re-running converges the same host again, so a changed inventory shows as a change.
molecule create -s demo
molecule prepare --force -s demo  # the backend and its pages as this checkout has them
molecule converge -s demo

echo
echo "== Traffic through nginx on 127.0.0.1:18080"
python -m realtime_testkit show --base http://127.0.0.1:18080

cat <<'TEXT'

== In a browser on this machine
  http://127.0.0.1:18080/demo/                 live SSE events with their delay, a WebSocket echo to type into
  http://127.0.0.1:18082/demo/other.html       the same stream and socket from another origin: refused both

== Try it by hand
  curl -N 'http://127.0.0.1:18080/sse/demo?count=5&interval=0.5'   # events, one every 0.5 s
  curl -i http://127.0.0.1:18080/api/hello                          # plain HTTP, echoes the forwarded headers
  .venv/bin/python -m websockets ws://127.0.0.1:18080/ws/echo     # type a line, get it back through nginx
  docker exec -it realtime-nginx-demo cat /etc/nginx/realtime_proxy/sites/demo.conf

The inventory is docs/examples/group_vars/all.yml. Change it and run
`make demo` again to see the role apply the change.

== Remove it
  make demo-clean
TEXT
