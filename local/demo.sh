#!/usr/bin/env bash
# govsync's demo on the local stack, from a fresh clone: sets everything up, brings the stack up, and runs
# the whole lifecycle of design.md (F1-F8) for ONE use case and ONE model as one narrated run
# (local/demo/lifecycle.py): the use case proposed and approved in governance; its model package group
# provisioned and the team emailed (F1); a version registered with the SageMaker Python SDK, synced into governance and linked
# back (F2); monitoring metrics pushed (F7); the model approved for deployment in governance, then approved
# and staged in SageMaker (F4), its decision event deploying it to pre-production through the stand-in
# pipeline (local/pipeline/standin.py), then approved for production and deployed there, the reconciler
# writing where it serves; a shadow approval in SageMaker caught by the gate (F3); the version deleted in
# SageMaker and decommissioned in governance (F5) while still served, reported, then undeployed; the
# reconciler run with an empty report (F8). govsync's
# functions run in the local runner as Lambda would (the webhook served over HTTP, the queue consumers in
# batches of <= 10). It prints a numbered timeline with both sides' state at each step and a one-screen
# summary, and leaves $GOVSYNC_STATE_DIR/demo/report.json (every step, both sides, the checks) and
# $GOVSYNC_STATE_DIR/demo/governance.html (the governance emulator's inventory page), which survive
# `local/stack.sh down`. Exit 0 when every check holds, non-zero with the reason when one does not.
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
echo "govsync demo: one use case and one model through the whole lifecycle (F1-F8)"
echo
"$venv/bin/python" local/demo/lifecycle.py \
    --runner "$CARGO_TARGET_DIR/debug/govsync-local-runner" \
    --reconciler "$CARGO_TARGET_DIR/debug/govsync-reconcile" \
    --log-dir "$state_dir/logs" \
    --pid-dir "$state_dir/pids" \
    --report-dir "$state_dir/demo"

if $detach; then
    cat <<EOF

The stack is left running (state in $state_dir):
  governance inventory page   $GOVSYNC_GOVERNANCE_URL/ (the run's copy: $state_dir/demo/governance.html)
  the run's report            $state_dir/demo/report.json
  use it from a shell         source $state_dir/stack.env
  keep syncing                $CARGO_TARGET_DIR/debug/govsync-local-runner run registry-events
  governance → registry        $CARGO_TARGET_DIR/debug/govsync-local-runner run approval-propagation
  replay an event by hand     $CARGO_TARGET_DIR/debug/govsync-local-runner replay-event FILE
Stop it with: local/stack.sh down
EOF
fi
