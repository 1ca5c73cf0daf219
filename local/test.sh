#!/usr/bin/env bash
# Every test of govsync, from a fresh clone: sets up the venv and the builds, starts a private local
# stack on its own ports, runs the Rust tests (unit, adapter and local-stack integration) and the
# boto3 fidelity tests, validates the infrastructure templates, stops the stack, and prints one
# summary line.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/govsync-target}"
# Each run builds a workspace crate once: incremental caches would only grow the shared target dir
# (tens of GB over repeated runs on one machine).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# A private stack, on ports apart from the demo's, so tests never touch a stack someone is using.
export GOVSYNC_STATE_DIR="$repo/.local/test-stack"
export GOVSYNC_MOTO_PORT="${GOVSYNC_TEST_MOTO_PORT:-4576}"
export GOVSYNC_REGISTRY_PORT="${GOVSYNC_TEST_REGISTRY_PORT:-4577}"
export GOVSYNC_GOVERNANCE_PORT="${GOVSYNC_TEST_GOVERNANCE_PORT:-4578}"

logs="$GOVSYNC_STATE_DIR/test-logs"
log() { printf '[test] %s\n' "$*" >&2; }

# A stack left by an interrupted run is stopped first.
local/stack.sh down
local/setup.sh all
log "building the workspace and its tests"
cargo build --quiet --locked --workspace --all-targets
# Built once: stacks the tests start themselves (the demo tests) reuse these binaries.
export GOVSYNC_SKIP_BUILD=1

trap 'local/stack.sh down' EXIT
local/stack.sh up
# shellcheck disable=SC1091
source "$GOVSYNC_STATE_DIR/stack.env"
mkdir -p "$logs"

# The reliability suite runs on its own afterwards, uncaptured, so its counts reach the output.
reliability_suite=thousands_of_mixed_events_with_faults_end_in_the_state_the_last_event_implies
reliability_moto_slice=registry_events_on_the_wire_with_dynamodb_throttling_loses_nothing_and_quarantines_only_poison
outage_drill=a_six_hour_governance_outage_applies_every_change_in_order_and_dead_letters_nothing
log "cargo test (unit and local-stack integration tests)"
set +e
cargo test --locked --workspace --no-fail-fast -- --include-ignored \
    --skip "$reliability_suite" --skip "$reliability_moto_slice" --skip "$outage_drill" 2>&1 | tee "$logs/cargo-test.log"
cargo_status=${PIPESTATUS[0]}
log "reliability suite and outage drill (seeded, randomised, with faults; their counts and drain time are printed)"
cargo test --locked --workspace --no-fail-fast --test reliability_suite --test moto_slice --test outage_drill -- \
    --include-ignored --nocapture --test-threads 1 "$reliability_suite" "$reliability_moto_slice" "$outage_drill" 2>&1 |
    tee "$logs/reliability.log" | tee -a "$logs/cargo-test.log"
reliability_status=${PIPESTATUS[0]}
((reliability_status == 0)) || cargo_status=$reliability_status
log "pytest (boto3 against the registry emulator, events through moto)"
"${GOVSYNC_VENV:-$repo/.venv}/bin/python" -m pytest -q -p no:cacheprovider local/tests 2>&1 | tee "$logs/pytest.log"
pytest_status=${PIPESTATUS[0]}
log "infra/validate.sh (cfn-lint, sam validate, checkov, cdk synth with cdk-nag, wiring drift)"
infra/validate.sh 2>&1 | tee "$logs/infra-validate.log"
infra_status=${PIPESTATUS[0]}
set -e

# One closing line over both runners.
sum_cargo() { # field of cargo's "test result:" lines to add up
    awk -v field="$1" '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ "^" field) n += $i } END { print n + 0 }' \
        "$logs/cargo-test.log"
}
last_pytest() { # the count before WORD on pytest's closing line
    tail -n 1 "$logs/pytest.log" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0
}
echo
echo "reliability suite:"
grep -E "^ *(reliability suite summary|moto slice summary|outage drill:|events:|packages:|duplicates delivered|faults injected|hostile events|retries|lost:)" \
    "$logs/reliability.log" || echo "  (no summary: see $logs/reliability.log)"
echo "govsync: $(($(sum_cargo passed) + $(last_pytest passed))) passed," \
    "$(($(sum_cargo failed) + $(last_pytest failed) + $(last_pytest error))) failed"
if ((cargo_status != 0 || pytest_status != 0 || infra_status != 0)); then
    log "FAILED (cargo test exit $cargo_status, pytest exit $pytest_status, infra validation exit $infra_status)"
    exit 1
fi
