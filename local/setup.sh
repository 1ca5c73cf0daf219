#!/usr/bin/env bash
# One-time (and cheap when repeated) setup of everything the local stack and the tests need:
# the Python venv with the pinned local-stack requirements, and the Rust binaries.
# Safe to run on a fresh machine: it creates what is missing and skips what is current.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${GOVSYNC_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/govsync-target}"
# Each run builds a workspace crate once: incremental caches would only grow the shared target dir
# (tens of GB over repeated runs on one machine).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

log() { printf '[setup] %s\n' "$*" >&2; }

ensure_venv() {
    local stamp="$venv/.requirements.sha256"
    local wanted
    wanted=$(sha256sum "$repo/local/requirements.txt" | cut -d' ' -f1)
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    log "creating the Python venv at $venv (moto, boto3, pytest; pinned in local/requirements.txt)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/local/requirements.txt"
    echo "$wanted" >"$stamp"
}

build_binaries() {
    if [[ -n "${GOVSYNC_SKIP_BUILD:-}" ]]; then
        log "GOVSYNC_SKIP_BUILD is set: using the binaries already in $CARGO_TARGET_DIR"
        return
    fi
    # The whole workspace with every target, always: building a subset would resolve features
    # differently and compile the SDK crates a second time.
    log "building the workspace (cargo, target dir $CARGO_TARGET_DIR)"
    (cd "$repo" && cargo build --quiet --locked --workspace --all-targets)
}

case "${1:-all}" in
    venv) ensure_venv ;;
    binaries) build_binaries ;;
    all)
        ensure_venv
        build_binaries
        ;;
    *)
        echo "usage: local/setup.sh [all|venv|binaries]" >&2
        exit 2
        ;;
esac
