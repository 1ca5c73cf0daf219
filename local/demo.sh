#!/usr/bin/env bash
# govsync's demo on the local stack, from a fresh clone: sets everything up, brings the stack up, and runs
# the registry → governance scenario (flows F2 and F3, local/demo/registry_sync.py): a use case approved in
# governance, its model package group in SageMaker, two versions registered with boto3 and synced into
# governance with the write-back on each package, and an out-of-band approval reverted by the gate. The
# registry-events function runs in the local runner, as Lambda would. Part 2 (local/demo/governance_to_registry.py)
# goes the other way (flows F1 and F4): a use case approved in governance gets its group, model group and
# email; a version registered with boto3 is synced; governance approves it for deployment and the package
# shows Approved and the mapped lifecycle stage, with no echo back (approval-propagation and the webhook in
# the runner). Each part prints a numbered timeline of both sides; the demo exits 0 when every expectation
# holds (non-zero, with the reason, when one does not).
#
#   local/demo.sh            run it, then stop everything it started (on every exit path)
#   local/demo.sh --detach   run it, then leave the stack up to explore (stop it with local/stack.sh down)
#
# Settings as for local/stack.sh (GOVSYNC_STATE_DIR, GOVSYNC_*_PORT, CARGO_TARGET_DIR).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/govsync-target}"
state_dir="${GOVSYNC_STATE_DIR:-$repo/.local/stack}"
venv="${GOVSYNC_VENV:-$repo/.venv}"
detach=false
case "${1:-}" in
    "") ;;
    --detach) detach=true ;;
    *)
        echo "usage: local/demo.sh [--detach]" >&2
        exit 2
        ;;
esac

log() { printf '[demo] %s\n' "$*" >&2; }

local/stack.sh up
# From here on every exit stops the stack (and the runner, through its pid file), unless detached and
# successful.
stop_stack() {
    local status=$?
    if ! $detach || ((status != 0)); then
        local/stack.sh down
    fi
    exit "$status"
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC1091
source "$state_dir/stack.env"

echo
echo "govsync demo, part 1: SageMaker Model Registry → governance (F2), and the approval gate (F3)"
echo
"$venv/bin/python" local/demo/registry_sync.py \
    --runner "$CARGO_TARGET_DIR/debug/govsync-local-runner" \
    --runner-log "$state_dir/logs/runner.log" \
    --pid-file "$state_dir/pids/runner"

echo
echo "govsync demo, part 2: governance → SageMaker Model Registry (F1 use case approval, F4 model approval)"
echo
"$venv/bin/python" local/demo/governance_to_registry.py \
    --runner "$CARGO_TARGET_DIR/debug/govsync-local-runner" \
    --log-dir "$state_dir/logs" \
    --pid-dir "$state_dir/pids"

echo
echo "govsync demo, part 3: decommissioning both ways (F5, F6) and monitoring metrics (F7)"
echo
"$venv/bin/python" local/demo/decommission_and_metrics.py \
    --runner "$CARGO_TARGET_DIR/debug/govsync-local-runner" \
    --log-dir "$state_dir/logs" \
    --pid-dir "$state_dir/pids"

echo
echo "govsync demo, part 4: events lost on purpose, found and repaired by the reconciler (F8)"
echo
"$venv/bin/python" local/demo/reconcile.py \
    --reconciler "$CARGO_TARGET_DIR/debug/govsync-reconcile"

if $detach; then
    cat <<EOF

The stack is left running (state in $state_dir):
  governance inventory page   $GOVSYNC_GOVERNANCE_URL/
  use it from a shell         source $state_dir/stack.env
  keep syncing                $CARGO_TARGET_DIR/debug/govsync-local-runner run registry-events
  governance → registry        $CARGO_TARGET_DIR/debug/govsync-local-runner run approval-propagation
  replay an event by hand     $CARGO_TARGET_DIR/debug/govsync-local-runner replay-event FILE
Stop it with: local/stack.sh down
EOF
fi
