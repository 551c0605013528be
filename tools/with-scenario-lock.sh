#!/usr/bin/env bash
# Run a command while holding a molecule scenario's machine-wide lock:
#
#   tools/with-scenario-lock.sh SCENARIO COMMAND [ARG...]
#
# A scenario's container names and loopback ports are fixed (its molecule.yml),
# so the same scenario must not run twice at once on one machine, whichever
# checkout runs it. Two checkouts' `make test` therefore run side by side: a
# scenario the other checkout is running waits for it, all others go ahead.
# The locks live in /run/lock (REALTIME_NGINX_LOCK_DIR names another folder),
# one file per scenario, and are released when the command ends, however it ends.
# Once the lock is held, the scenario's containers that a stopped earlier run
# left behind are removed (no other run can be using them then), and the
# scenario's molecule state goes to this checkout's build/molecule/SCENARIO.
set -euo pipefail

scenario="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
lock="${REALTIME_NGINX_LOCK_DIR:-/run/lock}/realtime-nginx-scenario-${scenario}.lock"
export MOLECULE_EPHEMERAL_DIRECTORY="${root}/build/molecule/${scenario}"
mkdir -p "$(dirname "$lock")" "$MOLECULE_EPHEMERAL_DIRECTORY"

exec 8>>"$lock"
if ! flock -n 8; then
    echo "with-scenario-lock: ${scenario} is running in another checkout; waiting for it" >&2
    flock 8
fi
# Then one of the machine's lanes: at most REALTIME_NGINX_MACHINE_LANES
# scenarios (4, as `make molecule`'s lanes) run at once on the machine, however
# many checkouts run them, so two suites load it as one does and take longer,
# rather than crossing the tests' timing bounds with eight scenarios on a few
# cores. The lane is taken after the scenario's lock, so a run waiting for a
# scenario holds no lane.
machine_lanes="${REALTIME_NGINX_MACHINE_LANES:-4}"
take_lane() {  # hold a free lane's lock on fd 9; fail when every lane is taken
    local slot
    for ((slot = 0; slot < machine_lanes; slot++)); do
        exec 9>>"${lock%/*}/realtime-nginx-lane-${slot}.lock"
        flock -n 9 && return 0
        exec 9>&-
    done
    return 1
}
if ! take_lane; then
    echo "with-scenario-lock: all ${machine_lanes} of the machine's lanes are busy; ${scenario} waits for one" >&2
    until take_lane; do sleep 2; done
fi
names="$(sed -n 's/^  - name: *//p' "${root}/molecule/${scenario}/molecule.yml")"
[ -z "$names" ] || docker rm -f $names >/dev/null 2>&1 || true
"$@"
