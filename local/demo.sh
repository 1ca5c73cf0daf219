#!/usr/bin/env bash
# govsync's main job on the local stack. From a fresh clone it sets everything up, brings the stack up
# and prints where each service listens. It stays in the foreground until Ctrl-C (or SIGTERM) and then
# stops every process it started; with --detach it leaves the stack running (stop it with
# `local/stack.sh down`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
state_dir="${GOVSYNC_STATE_DIR:-$repo/.local/stack}"
detach=false
[[ "${1:-}" == "--detach" ]] && detach=true

local/stack.sh up
$detach || trap 'echo; local/stack.sh down' EXIT
# shellcheck disable=SC1091
source "$state_dir/stack.env"

cat <<EOF

govsync local stack is up (state in $state_dir):
  AWS services (moto: DynamoDB, SQS, EventBridge, SES v2, STS, Secrets Manager)  $GOVSYNC_MOTO_URL
  SageMaker Model Registry (registry emulator; AWS_ENDPOINT_URL_SAGEMAKER)        $GOVSYNC_REGISTRY_URL
  Governance, OpenPages v2 (governance emulator; API under /opgrc/api/v2)          $GOVSYNC_GOVERNANCE_URL
  Governance inventory page                                                       $GOVSYNC_GOVERNANCE_URL/

Use it from another shell:  source $state_dir/stack.env
EOF

if $detach; then
    echo "Left running; stop it with: local/stack.sh down"
    exit 0
fi
echo "Press Ctrl-C to stop it."
# Sleep in the background and wait, so a signal interrupts the wait at once.
sleep infinity &
sleeper=$!
trap 'kill "$sleeper" 2>/dev/null; exit 0' INT TERM
wait "$sleeper"
