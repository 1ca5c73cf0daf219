#!/usr/bin/env bash
# Validates govsync's deployable infrastructure offline: cfn-lint, sam validate --lint and checkov on every
# template, `cdk synth` with cdk-nag's AwsSolutions pack, the wiring drift check (local/wiring.json) and the
# functions check (every crate under functions/ declared with the variables it reads) on both the SAM
# template and the synthesized CDK one, and the CDK template's dashboard and alarms reading the same govsync
# metrics as the SAM one (which local/runner/tests/dashboard_metrics.rs checks against the functions' code).
# Least privilege includes issue 21's reads: the spoke role holds exactly the artifact-fingerprint and
# serving-report reads its parameters allow, and no role writes to SageMaker hosting, S3 or ECR; the
# deployment review includes the optional deployment-pipeline rule (off by default, DLQ, retry policy, the
# target the pipeline kind needs).
# One PASS/FAIL line per check; exits 1 if any failed.
#
# Installs its own tools on first use (cheap when repeated): a Python venv from infra/requirements.txt at
# ${GOVSYNC_INFRA_VENV:-<repo>/.venv-infra}, and `npm ci` in infra/cdk. Only those installs use the network.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
infra="$repo/infra"
cdk_dir="$infra/cdk"
venv="${GOVSYNC_INFRA_VENV:-$repo/.venv-infra}"
logs="$repo/.local/infra-validate"

log() { printf '[validate] %s\n' "$*" >&2; }

ensure_venv() {
    local stamp="$venv/.requirements.sha256" wanted
    wanted=$(sha256sum "$infra/requirements.txt" | cut -d' ' -f1)
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    log "installing cfn-lint, aws-sam-cli, checkov (infra/requirements.txt) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$infra/requirements.txt"
    echo "$wanted" >"$stamp"
}

ensure_node_modules() {
    local stamp="$cdk_dir/node_modules/.package-lock.sha256" wanted
    wanted=$(sha256sum "$cdk_dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    log "installing the CDK app's packages (npm ci in infra/cdk)"
    (cd "$cdk_dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$wanted" >"$stamp"
}

ensure_venv
ensure_node_modules
mkdir -p "$logs"

# Offline and quiet: no telemetry, no version checks, no rule downloads.
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_VERSION_CHECK=1 JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_DEPRECATED=quiet
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

failures=0
check() { # NAME COMMAND... : runs the command, prints one PASS/FAIL line, shows the log tail on failure
    local name=$1 slug
    shift
    slug=$(tr -c 'a-z0-9' '-' <<<"${name,,}")
    if "$@" >"$logs/$slug.log" 2>&1; then
        printf 'PASS  %s\n' "$name"
    else
        printf 'FAIL  %s (log: %s)\n' "$name" "$logs/$slug.log"
        tail -n 40 "$logs/$slug.log" | sed 's/^/      /'
        failures=$((failures + 1))
    fi
}

templates=("$infra/template.yaml" "$infra/spoke.yaml")
synthesized="$cdk_dir/cdk.out/Govsync.template.json"

cdk_synth() {
    cd "$cdk_dir"
    rm -rf dist cdk.out
    npx --no-install tsc
    # cdk-nag reports unsuppressed AwsSolutions findings as errors, which fail the synth.
    npx --no-install cdk synth --no-notices --quiet
}

guardrails_are_json() {
    local file
    for file in "$infra"/guardrails/*.json; do
        "$venv/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$file" || return 1
    done
}

check "cfn-lint (template.yaml, spoke.yaml)" "$venv/bin/cfn-lint" -- "${templates[@]}"
check "sam validate --lint (template.yaml)" \
    "$venv/bin/sam" validate --lint --region us-east-1 --template-file "$infra/template.yaml"
check "checkov (template.yaml, spoke.yaml)" \
    "$venv/bin/checkov" --quiet --compact --skip-download --framework cloudformation \
    -f "$infra/template.yaml" -f "$infra/spoke.yaml"
check "wiring drift (template.yaml vs local/wiring.json)" \
    "$venv/bin/python" "$repo/local/tests/test_wiring_matches_template.py" "$infra/template.yaml"
check "functions and their variables (template.yaml vs functions/)" \
    "$venv/bin/python" "$repo/local/tests/test_functions_match_template.py" "$infra/template.yaml"
check "least privilege, exact artifact and serving reads, no hosting/S3/ECR write (template.yaml, spoke.yaml)" \
    "$venv/bin/python" "$repo/local/tests/test_least_privilege_template.py" "$infra/template.yaml" "$infra/spoke.yaml"
check "deployment review: undelivered events kept, FILLed sums, per-region spoke names, sender identity, trail, redeploy, no unused grant, one architecture, deployment pipeline rule (template.yaml, spoke.yaml)" \
    "$venv/bin/python" "$repo/local/tests/test_deployment_review.py" "$infra/template.yaml" "$infra/spoke.yaml"
check "guardrail policies are JSON" guardrails_are_json
check "cdk synth with cdk-nag AwsSolutions" cdk_synth
if [[ -f "$synthesized" ]]; then
    # W3005: the CDK writes explicit DependsOn on roles that a GetAtt already implies.
    check "cfn-lint (synthesized CDK template)" "$venv/bin/cfn-lint" --ignore-checks W3005 -- "$synthesized"
    check "checkov (synthesized CDK template)" \
        "$venv/bin/checkov" --quiet --compact --skip-download --framework cloudformation -f "$synthesized"
    check "wiring drift (CDK template vs local/wiring.json)" \
        "$venv/bin/python" "$repo/local/tests/test_wiring_matches_template.py" "$synthesized"
    check "functions and their variables (CDK template vs functions/)" \
        "$venv/bin/python" "$repo/local/tests/test_functions_match_template.py" "$synthesized"
    check "least privilege, no hosting/S3/ECR write (CDK template)" \
        "$venv/bin/python" "$repo/local/tests/test_least_privilege_template.py" "$synthesized"
    check "deployment review, deployment pipeline rule (CDK template)" \
        "$venv/bin/python" "$repo/local/tests/test_deployment_review.py" "$synthesized"
    check "dashboard and alarm metrics (CDK template vs template.yaml)" \
        "$venv/bin/python" "$repo/local/tests/test_dashboard_matches_template.py" "$synthesized"
else
    printf 'FAIL  synthesized CDK template missing (%s)\n' "$synthesized"
    failures=$((failures + 1))
fi

if ((failures > 0)); then
    log "$failures check(s) failed"
    exit 1
fi
log "all checks passed"
