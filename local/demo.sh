#!/usr/bin/env bash
# govsync's demo on the local stack, from a fresh clone: sets everything up, brings the stack up, and runs
# the registry → governance scenario (flows F2 and F3, local/demo/registry_sync.py): a use case approved in
# governance, its model package group in SageMaker, two versions registered with boto3 and synced into
# governance with the write-back on each package, and an out-of-band approval reverted by the gate. The
# registry-events function runs in the local runner, as Lambda would. It prints a numbered timeline of both
# sides and exits 0 when every expectation holds (non-zero, with the reason, when one does not).
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

if $detach; then
    cat <<EOF

The stack is left running (state in $state_dir):
  governance inventory page   $GOVSYNC_GOVERNANCE_URL/
  use it from a shell         source $state_dir/stack.env
  keep syncing                $CARGO_TARGET_DIR/debug/govsync-local-runner run registry-events
  replay an event by hand     $CARGO_TARGET_DIR/debug/govsync-local-runner replay-event FILE
Stop it with: local/stack.sh down
EOF
fi
