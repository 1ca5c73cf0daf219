#!/usr/bin/env bash
# The local stack: moto (AWS services), the registry emulator (SageMaker Model Registry) and the
# governance emulator (OpenPages v2), all on 127.0.0.1, with govsync's resources bootstrapped.
#
#   local/stack.sh up       set up (venv, builds), start, bootstrap, write $STATE_DIR/stack.env
#   local/stack.sh down     stop everything this state dir started; leaves no process behind
#   local/stack.sh status   show what runs where
#
# Settings (environment): GOVSYNC_STATE_DIR (default .local/stack), GOVSYNC_MOTO_PORT (4566),
# GOVSYNC_REGISTRY_PORT (4567), GOVSYNC_GOVERNANCE_PORT (4568), GOVSYNC_REGION (us-east-1),
# GOVSYNC_ACCOUNT_ID (123456789012), CARGO_TARGET_DIR (/var/tmp/govsync-target).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir="${GOVSYNC_STATE_DIR:-$repo/.local/stack}"
venv="${GOVSYNC_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/govsync-target}"
moto_port="${GOVSYNC_MOTO_PORT:-4566}"
registry_port="${GOVSYNC_REGISTRY_PORT:-4567}"
governance_port="${GOVSYNC_GOVERNANCE_PORT:-4568}"
region="${GOVSYNC_REGION:-us-east-1}"
account_id="${GOVSYNC_ACCOUNT_ID:-123456789012}"
# The identity govsync's own functions use against the registry; CloudTrail records it, so echoes can be recognised.
govsync_access_key="AKIAGOVSYNCLOCAL0001"
govsync_role_arn="arn:aws:sts::${account_id}:assumed-role/govsync-sync/govsync"
# A data scientist in SageMaker Studio: the domain's shared execution role, told apart by user profile.
studio_access_key="ASIASTUDIOALICE00001"
studio_role_arn="arn:aws:sts::${account_id}:assumed-role/StudioExecutionRole/SageMaker"
studio_user="d-local000001/alice"
# The Studio domain's user profiles: alice, and the governance reviewer a Model's govsync link signs in as
# (local/runner's local registry map names them).
studio_domains="${account_id}:${region}:d-local000001/alice+governance-reviewer,${account_id}:ap-northeast-3:d-lane000001/governance-reviewer"

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

port_is_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

wait_for() { # name url seconds pid
    local name=$1 url=$2 deadline=$((SECONDS + $3)) pid=$4
    until curl -s -o /dev/null --max-time 1 "$url"; do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up; see $state_dir/logs/$name.log"
        ((SECONDS < deadline)) || die "$name did not answer at $url within $3 s; see $state_dir/logs/$name.log"
        sleep 0.1
    done
}

start() { # name command...
    local name=$1
    shift
    # setsid: each service leads its own process group, so `down` can stop it with all its children.
    setsid "$@" >"$state_dir/logs/$name.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$state_dir/pids/$name"
    echo "$pid"
}

stop_all() {
    [[ -d "$state_dir/pids" ]] || return 0
    local pidfile pid name
    for pidfile in "$state_dir"/pids/*; do
        [[ -f "$pidfile" ]] || continue
        pid=$(cat "$pidfile")
        name=$(basename "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
            log "stopped $name (pid $pid)"
        fi
        rm -f "$pidfile"
    done
    rm -f "$state_dir/stack.env"
}

up() {
    if [[ -f "$state_dir/stack.env" ]]; then
        die "a stack is already up for $state_dir (run local/stack.sh down first)"
    fi
    "$repo/local/setup.sh" all
    mkdir -p "$state_dir/logs" "$state_dir/pids"
    local port
    for port in "$moto_port" "$registry_port" "$governance_port"; do
        port_is_free "$port" || die "port $port on 127.0.0.1 is in use (set GOVSYNC_*_PORT to choose others)"
    done
    # Whatever fails from here on, stop what was started: no process is left behind.
    trap '[[ -f "$state_dir/stack.env" ]] || stop_all' EXIT

    local moto_url="http://127.0.0.1:$moto_port"
    local registry_url="http://127.0.0.1:$registry_port"
    local governance_url="http://127.0.0.1:$governance_port"

    local pid
    pid=$(start moto "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port")
    wait_for moto "$moto_url/moto-api/" 30 "$pid"
    log "moto listening on $moto_url"

    pid=$(start registry-emulator env REGISTRY_EMULATOR_IDENTITIES="$govsync_access_key=$govsync_role_arn,$studio_access_key=$studio_role_arn" \
        REGISTRY_EMULATOR_STUDIO_USERS="$studio_access_key=$studio_user" \
        REGISTRY_EMULATOR_STUDIO_DOMAINS="$studio_domains" \
        "$CARGO_TARGET_DIR/debug/govsync-registry-emulator" --host 127.0.0.1 --port "$registry_port" \
        --account-id "$account_id" --default-region "$region" --events-endpoint "$moto_url" \
        --sts-endpoint "$moto_url")
    wait_for registry-emulator "$registry_url/_emulator/health" 30 "$pid"
    log "registry emulator listening on $registry_url"

    pid=$(start governance-emulator "$CARGO_TARGET_DIR/debug/govsync-governance-emulator" \
        --host 127.0.0.1 --port "$governance_port")
    wait_for governance-emulator "$governance_url/_emulator/health" 30 "$pid"
    log "governance emulator listening on $governance_url"

    "$venv/bin/python" "$repo/local/bootstrap.py" --endpoint "$moto_url" --region "$region" \
        >"$state_dir/bootstrap.json"
    log "bootstrapped queues, rules, tables, secrets and email identity (see $state_dir/bootstrap.json)"

    cat >"$state_dir/stack.env" <<EOF
export GOVSYNC_MOTO_URL=$moto_url
export GOVSYNC_REGISTRY_URL=$registry_url
export GOVSYNC_GOVERNANCE_URL=$governance_url
export GOVSYNC_ACCOUNT_ID=$account_id
export GOVSYNC_ROLE_ARN=$govsync_role_arn
export GOVSYNC_ACCESS_KEY_ID=$govsync_access_key
export GOVSYNC_STUDIO_ACCESS_KEY_ID=$studio_access_key
export AWS_ENDPOINT_URL=$moto_url
export AWS_ENDPOINT_URL_SAGEMAKER=$registry_url
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=$region
export AWS_DEFAULT_REGION=$region
EOF
    # The reconciler's environment on this stack, for the operator CLI (`govsync`), which reads the
    # file GOVSYNC_ENV_FILE names: it has no knowledge of the local stack of its own.
    "$CARGO_TARGET_DIR/debug/govsync-local-runner" function-env approval-propagation \
        --stack-env "$state_dir/stack.env" >"$state_dir/govsync.env"
    echo "export GOVSYNC_ENV_FILE=$state_dir/govsync.env" >>"$state_dir/stack.env"
}

status() {
    if [[ ! -f "$state_dir/stack.env" ]]; then
        echo "no stack is up for $state_dir"
        return 1
    fi
    local pidfile
    for pidfile in "$state_dir"/pids/*; do
        if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "$(basename "$pidfile"): running (pid $(cat "$pidfile"))"
        else
            echo "$(basename "$pidfile"): NOT running"
        fi
    done
    grep -E 'GOVSYNC_(MOTO|REGISTRY|GOVERNANCE)_URL' "$state_dir/stack.env" | sed 's/^export //'
}

case "${1:-}" in
    up) up ;;
    down) stop_all ;;
    status) status ;;
    *)
        echo "usage: local/stack.sh up|down|status" >&2
        exit 2
        ;;
esac
