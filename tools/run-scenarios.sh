#!/usr/bin/env bash
# Run molecule scenarios in a few parallel lanes. Every scenario has its own
# host names and loopback ports, so lanes do not meet; most of a scenario's
# time is spent waiting on apt and on streams, which overlaps well.
#
#   tools/run-scenarios.sh [-j LANES] SCENARIO...
#
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

run_lane() {  # scenarios of one lane, one after another
    local scenario status=0
    for scenario in "$@"; do
        local started=$SECONDS
        if molecule test -s "$scenario" >"${logs}/${scenario}.log" 2>&1; then
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
pids=()
for ((lane = 0; lane < lanes; lane++)); do
    mine=()
    index=0
    for scenario in "$@"; do
        if [ $((index % lanes)) -eq "$lane" ]; then
            mine+=("$scenario")
        fi
        index=$((index + 1))
    done
    if [ ${#mine[@]} -gt 0 ]; then
        run_lane "${mine[@]}" &
        pids+=($!)
    fi
done

status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
echo "== molecule summary"
cat "${logs}/summary"
exit $status
