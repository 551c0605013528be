#!/usr/bin/env bash
# Run molecule scenarios in a few parallel lanes. Every scenario has its own
# host names and loopback ports, so lanes do not meet; most of a scenario's
# time is spent waiting on apt and on streams, which overlaps well. A
# scenario runs under its machine-wide lock (tools/with-scenario-lock.sh), so
# another checkout's `make test` on the same machine never runs the same
# scenario, with the same names and ports, at the same time.
#
#   tools/run-scenarios.sh [-j LANES] SCENARIO...
#
# The scenarios form one queue, taken in the order given: a lane that
# finishes a scenario takes the next one, so list the longest first and the
# lanes end close together whatever each scenario takes on the day.
# Each scenario's output goes to build/molecule-logs/SCENARIO.log and is
# printed in full when the scenario ends, so the output stays readable.
set -uo pipefail

lanes=2
if [ "${1:-}" = "-j" ]; then
    lanes="$2"
    shift 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
logs="${root}/build/molecule-logs"
mkdir -p "$logs"
queue="${logs}/queue"

next_scenario() {  # take the first scenario off the queue (under a lock), or fail when it is empty
    exec 9>"${queue}.lock"
    flock 9
    local first
    first="$(head -n 1 "$queue")"
    if [ -n "$first" ]; then
        tail -n +2 "$queue" >"${queue}.rest" && mv "${queue}.rest" "$queue"
    fi
    flock -u 9
    exec 9>&-
    [ -n "$first" ] && echo "$first"
}

run_lane() {  # scenarios off the queue, one after another, until it is empty
    local scenario status=0
    while scenario="$(next_scenario)"; do
        local started=$SECONDS
        if "${root}/tools/with-scenario-lock.sh" "$scenario" molecule test -s "$scenario" \
            >"${logs}/${scenario}.log" 2>&1; then
            echo "PASS ${scenario} $((SECONDS - started))s" >>"${logs}/summary"
        else
            echo "FAIL ${scenario} $((SECONDS - started))s" >>"${logs}/summary"
            status=1
        fi
        echo "== molecule scenario ${scenario} ($((SECONDS - started)) s)"
        cat "${logs}/${scenario}.log"
    done
    return $status
}

: >"${logs}/summary"
printf '%s\n' "$@" >"$queue"
pids=()
for ((lane = 0; lane < lanes && lane < $#; lane++)); do
    run_lane &
    pids+=($!)
    sleep 2  # lanes start a little apart, so their first docker runs do not collide
done

status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
echo "== molecule summary"
cat "${logs}/summary"
exit $status
