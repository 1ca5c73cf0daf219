#!/usr/bin/env bash
# Builds every function's Lambda `bootstrap` with cargo-lambda (release, x86_64) and reports each size
# against the 15 MB budget (design.md §6). Output: $CARGO_TARGET_DIR/lambda/<function>/bootstrap, which is
# what `sam build` (BuildMethod rust-cargolambda) packages.
#
#   infra/build.sh            # x86_64
#   infra/build.sh --arm64    # Graviton; needs the aarch64-unknown-linux-gnu Rust target installed
#
# cargo-lambda and zig come from infra/requirements.txt, in the same venv as the validators.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${GOVSYNC_INFRA_VENV:-$repo/.venv-infra}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/govsync-target}"
budget_bytes=15000000
architecture="--x86-64"
if [[ "${1:-}" == "--arm64" ]]; then
    architecture="--arm64"
fi

log() { printf '[build] %s\n' "$*" >&2; }

stamp="$venv/.requirements.sha256"
wanted=$(sha256sum "$repo/infra/requirements.txt" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    log "installing the infrastructure tools (infra/requirements.txt) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/infra/requirements.txt"
    echo "$wanted" >"$stamp"
fi
export PATH="$venv/bin:$PATH"

# One binary per directory under functions/, named after it (the template's Metadata BuildProperties.Binary).
functions=()
for manifest in "$repo"/functions/*/Cargo.toml; do
    functions+=("$(basename "$(dirname "$manifest")")")
done
bins=()
for function in "${functions[@]}"; do
    bins+=(--bin "$function")
done

log "cargo lambda build --release $architecture ${bins[*]}"
(cd "$repo" && cargo lambda build --release "$architecture" --locked "${bins[@]}")

over=0
printf '%-24s %12s\n' function "bootstrap size"
for function in "${functions[@]}"; do
    bootstrap="$CARGO_TARGET_DIR/lambda/$function/bootstrap"
    size=$(stat -c %s "$bootstrap")
    awk -v name="$function" -v size="$size" 'BEGIN { printf "%-24s %9.1f MB\n", name, size / 1e6 }'
    if ((size > budget_bytes)); then
        log "$function: $size bytes is over the 15 MB budget"
        over=1
    fi
done
exit "$over"
