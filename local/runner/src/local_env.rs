//! The environment a function gets on the local stack: what Lambda would set from the hub template's
//! parameters (infra/DEPLOYMENT.md, "What the functions receive"), with the local stack's endpoints and
//! resources. A variable already set in the runner's environment wins, so any of them can be overridden.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::RunnerError;

/// The registry the local stack emulates, and the business entity the demo maps it to.
pub const LOCAL_BUSINESS_ENTITY: &str = "Retail Banking";
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
pub const DEFAULT_REGION: &str = "us-east-1";
/// Any instance id works with the governance emulator's mcsp token endpoint.
const LOCAL_MCSP_INSTANCE: &str = "local";

/// `stack.env` as written by `local/stack.sh up`: `export NAME=value` lines.
pub fn parse_stack_env(text: &str) -> Result<BTreeMap<String, String>, RunnerError> {
    let mut variables = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let assignment = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(RunnerError::Setting {
                name: "stack.env".into(),
                problem: format!("line {} is not NAME=value: {line:?}", number + 1),
            });
        };
        let value = value.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .or_else(|| {
                value
                    .strip_prefix('\'')
                    .and_then(|rest| rest.strip_suffix('\''))
            })
            .unwrap_or(value);
        variables.insert(name.trim().to_owned(), unquoted.to_owned());
    }
    Ok(variables)
}

/// Reads `stack.env` from a file.
pub fn read_stack_env(path: &Path) -> Result<BTreeMap<String, String>, RunnerError> {
    let text = std::fs::read_to_string(path).map_err(|error| RunnerError::Setting {
        name: path.display().to_string(),
        problem: format!(
            "cannot read the local stack's environment ({error}); start the stack with `local/stack.sh up`"
        ),
    })?;
    parse_stack_env(&text)
}

/// The variables to set for the registry-events function, given the stack's variables; `current` says
/// what the process environment already has (those are left alone).
///
/// The function writes to SageMaker as govsync: its access key is the stack's `GOVSYNC_ACCESS_KEY_ID`,
/// which the registry emulator maps to govsync's role, so CloudTrail records (and echo detection) see
/// govsync as the caller. That one replaces a generic `AWS_ACCESS_KEY_ID` (the stack's `testing`).
///
/// With `metrics`, the function writes CloudWatch embedded-metric lines on stdout, as in Lambda; without
/// it, `GOVSYNC_METRICS_NAMESPACE` stays unset (unless already set) and stdout carries only the runner's
/// own output.
pub fn registry_events_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
) -> Result<Vec<(String, String)>, RunnerError> {
    let lookup = |name: &str| current(name).or_else(|| stack.get(name).cloned());
    let require = |name: &str| {
        lookup(name).ok_or_else(|| RunnerError::Setting {
            name: name.to_owned(),
            problem: "not set and not in the local stack's stack.env; start the stack with `local/stack.sh up`".into(),
        })
    };
    let moto_url = require("GOVSYNC_MOTO_URL")?;
    let governance_url = require("GOVSYNC_GOVERNANCE_URL")?;
    let registry_url = require("GOVSYNC_REGISTRY_URL")?;
    let account = lookup("GOVSYNC_ACCOUNT_ID").unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned());
    let region = lookup("AWS_REGION")
        .or_else(|| lookup("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let business_entity =
        lookup("GOVSYNC_LOCAL_BUSINESS_ENTITY").unwrap_or_else(|| LOCAL_BUSINESS_ENTITY.to_owned());
    let writer_role = require("GOVSYNC_ROLE_ARN")?;
    let registry_map = local_registry_map(&account, &region, &business_entity);
    let dlq_url = format!(
        "{}/{account}/registry-events-dlq.fifo",
        moto_url.trim_end_matches('/')
    );

    let mut defaults: Vec<(&str, String)> = vec![
        // Endpoints and region: every AWS client on moto, SageMaker on the registry emulator.
        ("AWS_ENDPOINT_URL", moto_url.clone()),
        ("AWS_ENDPOINT_URL_SAGEMAKER", registry_url),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "govsync-registry-events".to_owned(),
        ),
        // The hub template's parameters, local values.
        // mcsp against the emulator's token endpoint; the API key secret holds the emulator's key.
        (
            "GOVSYNC_GOVERNANCE_TOKEN_URL",
            format!(
                "{}/api/2.0/services/{LOCAL_MCSP_INSTANCE}/apikeys/token",
                governance_url.trim_end_matches('/')
            ),
        ),
        ("GOVSYNC_GOVERNANCE_URL", governance_url),
        ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
        (
            "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
            "govsync/governance-api-key".to_owned(),
        ),
        ("GOVSYNC_REGISTRY_MAP", registry_map),
        ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
        // The identity the registry emulator records for govsync's writes (its echoes).
        ("GOVSYNC_WRITER_ROLE_ARNS", writer_role),
        (
            "GOVSYNC_IDEMPOTENCY_TABLE",
            "govsync-idempotency".to_owned(),
        ),
        ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
        ("GOVSYNC_CURSORS_TABLE", "govsync-cursors".to_owned()),
        ("GOVSYNC_DLQ_URL", dlq_url),
    ];
    if metrics {
        defaults.push(("GOVSYNC_METRICS_NAMESPACE", "govsync".to_owned()));
    }
    // Models carry the signed govsync link when the model-link function's URL is given (the demo
    // serves it beside the webhook); the keys are the stack's.
    if lookup("GOVSYNC_MODEL_LINK_URL").is_some() {
        defaults.push((
            "GOVSYNC_MODEL_LINK_KEYS_SECRET",
            MODEL_LINK_KEYS_SECRET.to_owned(),
        ));
    }
    let mut to_set: Vec<(String, String)> = Vec::new();
    // The stack's own variables first (GOVSYNC_ROLE_ARN and the like), then the function's defaults.
    for (name, value) in stack {
        if current(name).is_none() && name != "AWS_ACCESS_KEY_ID" {
            to_set.push((name.clone(), value.clone()));
        }
    }
    for (name, value) in defaults {
        if current(name).is_none() && !to_set.iter().any(|(set, _)| set == name) {
            to_set.push((name.to_owned(), value));
        }
    }
    match lookup("GOVSYNC_ACCESS_KEY_ID") {
        Some(govsync_key) => to_set.push(("AWS_ACCESS_KEY_ID".to_owned(), govsync_key)),
        None if current("AWS_ACCESS_KEY_ID").is_none() => {
            to_set.push(("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()));
        }
        None => {}
    }
    Ok(to_set)
}

/// The Studio domain and the governance reviewer's user profile of the local stack's registry
/// (`local/stack.sh` configures the registry emulator with them), where a Model's govsync link signs in.
pub const LOCAL_STUDIO_DOMAIN: &str = "d-local000001";
pub const LOCAL_STUDIO_REVIEWER: &str = "governance-reviewer";
/// The secret holding the model link keys (local/wiring.json).
pub const MODEL_LINK_KEYS_SECRET: &str = "govsync/model-link-keys";

/// The local stack's one registry, as `GOVSYNC_REGISTRY_MAP` holds it, with its Studio settings.
pub fn local_registry_map(account: &str, region: &str, business_entity: &str) -> String {
    serde_json::json!([{
        "account": account,
        "region": region,
        "business_entity": business_entity,
        "studio_domain_id": LOCAL_STUDIO_DOMAIN,
        "studio_user_profile": LOCAL_STUDIO_REVIEWER,
        "studio_url_expires_seconds": 60,
    }])
    .to_string()
}

/// The verified local SES identity's sender (local/wiring.json `email_identities`).
pub const LOCAL_NOTIFICATION_SENDER: &str = "govsync@example.com";

/// The variables for the approval-propagation function: registry-events' (same governance, registries,
/// tables and mapping) with its own DLQ, the decommission queue and the email sender.
pub fn approval_propagation_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
) -> Result<Vec<(String, String)>, RunnerError> {
    let queue = |name: &str| -> Result<String, RunnerError> {
        let moto_url = current("GOVSYNC_MOTO_URL")
            .or_else(|| stack.get("GOVSYNC_MOTO_URL").cloned())
            .ok_or_else(|| RunnerError::Setting {
                name: "GOVSYNC_MOTO_URL".to_owned(),
                problem: "not set and not in the local stack's stack.env; start the stack with `local/stack.sh up`".into(),
            })?;
        let account = current("GOVSYNC_ACCOUNT_ID")
            .or_else(|| stack.get("GOVSYNC_ACCOUNT_ID").cloned())
            .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned());
        Ok(format!(
            "{}/{account}/{name}",
            moto_url.trim_end_matches('/')
        ))
    };
    let own: Vec<(String, String)> = [
        ("GOVSYNC_DLQ_URL", queue("governance-events-dlq.fifo")?),
        (
            "GOVSYNC_DECOMMISSION_QUEUE_URL",
            queue("decommission.fifo")?,
        ),
        (
            "GOVSYNC_NOTIFICATION_SENDER",
            LOCAL_NOTIFICATION_SENDER.to_owned(),
        ),
        // govsync's decision bus (local/wiring.json `decision_bus`), as the hub template sets it.
        ("GOVSYNC_DECISION_BUS", "govsync-decisions".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "govsync-approval-propagation".to_owned(),
        ),
    ]
    .into_iter()
    .filter(|(name, _)| current(name).is_none())
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let base = registry_events_env(
        stack,
        |name| {
            current(name).or_else(|| {
                own.iter()
                    .find(|(set, _)| set == name)
                    .map(|(_, value)| value.clone())
            })
        },
        metrics,
    )?;
    Ok(own.into_iter().chain(base).collect())
}

/// The variables for the governance poller: the governance settings of registry-events plus its queue.
pub fn governance_poller_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
) -> Result<Vec<(String, String)>, RunnerError> {
    let mut vars = approval_propagation_env(stack, &current, metrics)?;
    let queue = vars
        .iter()
        .find(|(name, _)| name == "GOVSYNC_DLQ_URL")
        .map(|(_, url)| url.replace("governance-events-dlq.fifo", "governance-events.fifo"));
    for (name, value) in &mut vars {
        if name == "AWS_LAMBDA_FUNCTION_NAME" {
            *value = "govsync-governance-poller".to_owned();
        }
    }
    if current("GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL").is_none()
        && let Some(queue) = queue
    {
        vars.push(("GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL".to_owned(), queue));
    }
    Ok(vars)
}

/// The local value of `GOVSYNC_DECOMMISSION_NOTE_FIELD` (the governance emulator's `Model` has it).
pub const LOCAL_DECOMMISSION_NOTE_FIELD: &str = "MRG-Model:Decommission Note";
/// The metrics relay's failure queue (the template's `govsync-async-failures`; a standard queue).
pub const ASYNC_FAILURES_QUEUE: &str = "govsync-async-failures";

/// Sets function `function`'s environment (`approval-propagation`, `governance-poller`,
/// `decommission`; anything else gets registry-events') in this process, as Lambda would: the local
/// stack's `stack.env` (`stack_env`, else `$GOVSYNC_STATE_DIR/stack.env` when it exists, else only the
/// process environment) plus the function's local defaults; variables already set win.
///
/// Call it before any other thread exists (before the async runtime starts): it calls `set_var`.
pub fn set_function_environment(
    function: &str,
    stack_env: Option<&Path>,
    metrics: bool,
) -> Result<(), RunnerError> {
    let variables = function_environment(function, stack_env, metrics, |name: &str| {
        std::env::var(name).ok()
    })?;
    for (name, value) in variables {
        // SAFETY: the caller calls this before the async runtime or any other thread exists.
        unsafe { std::env::set_var(name, value) };
    }
    Ok(())
}

/// The variables `function` needs on the local stack that `current` does not already hold: read from
/// `stack_env`, else from `$GOVSYNC_STATE_DIR/stack.env` when it exists, else from `current` alone.
pub fn function_environment(
    function: &str,
    stack_env: Option<&Path>,
    metrics: bool,
    current: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, RunnerError> {
    let path = match stack_env {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let state_dir = std::env::var_os("GOVSYNC_STATE_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::PathBuf::from(".local/stack"));
            let path = state_dir.join("stack.env");
            path.exists().then_some(path)
        }
    };
    let stack = match path {
        Some(path) => read_stack_env(&path)?,
        // Without a file, the process environment must hold the stack's variables (e.g. sourced).
        None => Default::default(),
    };
    match function {
        "approval-propagation" => approval_propagation_env(&stack, current, metrics),
        "governance-poller" => governance_poller_env(&stack, current, metrics),
        "decommission" => decommission_env(&stack, current, metrics),
        _ => registry_events_env(&stack, current, metrics),
    }
}

/// A queue URL of the local stack.
fn local_queue_url(
    stack: &BTreeMap<String, String>,
    current: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<String, RunnerError> {
    let moto_url = current("GOVSYNC_MOTO_URL")
        .or_else(|| stack.get("GOVSYNC_MOTO_URL").cloned())
        .ok_or_else(|| RunnerError::Setting {
            name: "GOVSYNC_MOTO_URL".to_owned(),
            problem: "not set and not in the local stack's stack.env; start the stack with `local/stack.sh up`".into(),
        })?;
    let account = current("GOVSYNC_ACCOUNT_ID")
        .or_else(|| stack.get("GOVSYNC_ACCOUNT_ID").cloned())
        .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned());
    Ok(format!(
        "{}/{account}/{name}",
        moto_url.trim_end_matches('/')
    ))
}

/// registry-events' variables with a function's own ones in front (its own win).
fn with_own(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
    own: Vec<(&str, String)>,
) -> Result<Vec<(String, String)>, RunnerError> {
    let own: Vec<(String, String)> = own
        .into_iter()
        .filter(|(name, _)| current(name).is_none())
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let base = registry_events_env(
        stack,
        |name| {
            current(name).or_else(|| {
                own.iter()
                    .find(|(set, _)| set == name)
                    .map(|(_, value)| value.clone())
            })
        },
        metrics,
    )?;
    Ok(own.into_iter().chain(base).collect())
}

/// The variables for the decommission function: registry-events' with its own DLQ and note field.
pub fn decommission_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
) -> Result<Vec<(String, String)>, RunnerError> {
    let own = vec![
        (
            "GOVSYNC_DLQ_URL",
            local_queue_url(stack, &current, "decommission-dlq.fifo")?,
        ),
        (
            "GOVSYNC_DECOMMISSION_NOTE_FIELD",
            LOCAL_DECOMMISSION_NOTE_FIELD.to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "govsync-decommission".to_owned(),
        ),
    ];
    with_own(stack, current, metrics, own)
}

/// The variables for the metrics relay: registry-events' with its failure queue and, locally, a breach
/// moving the model to `Under Review`.
pub fn metrics_relay_env(
    stack: &BTreeMap<String, String>,
    current: impl Fn(&str) -> Option<String>,
    metrics: bool,
) -> Result<Vec<(String, String)>, RunnerError> {
    let own = vec![
        (
            "GOVSYNC_DLQ_URL",
            local_queue_url(stack, &current, ASYNC_FAILURES_QUEUE)?,
        ),
        ("GOVSYNC_METRIC_BREACH_STATUS", "Under Review".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "govsync-metrics-relay".to_owned(),
        ),
    ];
    with_own(stack, current, metrics, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK_ENV: &str = "export GOVSYNC_MOTO_URL=http://127.0.0.1:4566\n\
        export GOVSYNC_REGISTRY_URL=http://127.0.0.1:4567\n\
        export GOVSYNC_GOVERNANCE_URL=http://127.0.0.1:4568\n\
        export GOVSYNC_ACCOUNT_ID=123456789012\n\
        export GOVSYNC_ACCESS_KEY_ID=AKIAGOVSYNCLOCAL0001\n\
        export GOVSYNC_ROLE_ARN=arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync\n\
        export AWS_ACCESS_KEY_ID=testing\n\
        export AWS_REGION=us-east-1\n";

    fn value<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|(set, _)| set == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn stack_env_lines_are_parsed_and_malformed_ones_refused() {
        let Ok(parsed) = parse_stack_env("# comment\n\nexport A=1\nB=\"two\"\n") else {
            panic!("valid lines parse")
        };
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("two"));
        assert!(parse_stack_env("export NOVALUE\n").is_err());
    }

    #[test]
    fn function_env_points_at_the_local_stack_and_writes_as_govsync() {
        let Ok(stack) = parse_stack_env(STACK_ENV) else {
            panic!("stack.env parses")
        };
        let Ok(vars) = registry_events_env(&stack, |_| None, true) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(
            value(&vars, "AWS_ACCESS_KEY_ID"),
            Some("AKIAGOVSYNCLOCAL0001")
        );
        assert_eq!(
            value(&vars, "AWS_ENDPOINT_URL_SAGEMAKER"),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(
            value(&vars, "GOVSYNC_DLQ_URL"),
            Some("http://127.0.0.1:4566/123456789012/registry-events-dlq.fifo")
        );
        let Some(map) = value(&vars, "GOVSYNC_REGISTRY_MAP") else {
            panic!("registry map is set")
        };
        let Ok(map) = serde_json::from_str::<serde_json::Value>(map) else {
            panic!("registry map is JSON")
        };
        assert_eq!(map[0]["account"], "123456789012");
        assert_eq!(map[0]["business_entity"], LOCAL_BUSINESS_ENTITY);
    }

    #[test]
    fn variables_already_set_are_left_alone() {
        let Ok(stack) = parse_stack_env(STACK_ENV) else {
            panic!("stack.env parses")
        };
        let Ok(vars) = registry_events_env(
            &stack,
            |name| (name == "GOVSYNC_GATE_MODE").then(|| "alert".to_owned()),
            false,
        ) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(value(&vars, "GOVSYNC_GATE_MODE"), None);
        assert_eq!(value(&vars, "GOVSYNC_METRICS_NAMESPACE"), None);
    }

    #[test]
    fn approval_propagation_gets_its_own_dlq_decommission_queue_and_sender() {
        let Ok(stack) = parse_stack_env(STACK_ENV) else {
            panic!("stack.env parses")
        };
        let Ok(vars) = approval_propagation_env(&stack, |_| None, false) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(
            value(&vars, "GOVSYNC_DLQ_URL"),
            Some("http://127.0.0.1:4566/123456789012/governance-events-dlq.fifo")
        );
        assert_eq!(
            value(&vars, "GOVSYNC_DECOMMISSION_QUEUE_URL"),
            Some("http://127.0.0.1:4566/123456789012/decommission.fifo")
        );
        assert_eq!(
            value(&vars, "GOVSYNC_NOTIFICATION_SENDER"),
            Some(LOCAL_NOTIFICATION_SENDER)
        );
        assert_eq!(
            vars.iter().filter(|(n, _)| n == "GOVSYNC_DLQ_URL").count(),
            1
        );
        let Ok(poller) = governance_poller_env(&stack, |_| None, false) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(
            value(&poller, "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL"),
            Some("http://127.0.0.1:4566/123456789012/governance-events.fifo")
        );
        assert_eq!(
            value(&poller, "AWS_LAMBDA_FUNCTION_NAME"),
            Some("govsync-governance-poller")
        );
    }

    #[test]
    fn decommission_and_metrics_relay_get_their_own_failure_queues() {
        let Ok(stack) = parse_stack_env(STACK_ENV) else {
            panic!("stack.env parses")
        };
        let Ok(vars) = decommission_env(&stack, |_| None, false) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(
            value(&vars, "GOVSYNC_DLQ_URL"),
            Some("http://127.0.0.1:4566/123456789012/decommission-dlq.fifo")
        );
        assert_eq!(
            value(&vars, "GOVSYNC_DECOMMISSION_NOTE_FIELD"),
            Some(LOCAL_DECOMMISSION_NOTE_FIELD)
        );
        assert_eq!(
            vars.iter().filter(|(n, _)| n == "GOVSYNC_DLQ_URL").count(),
            1
        );
        let Ok(relay) = metrics_relay_env(&stack, |_| None, false) else {
            panic!("a complete stack gives an environment")
        };
        assert_eq!(
            value(&relay, "GOVSYNC_DLQ_URL"),
            Some("http://127.0.0.1:4566/123456789012/govsync-async-failures")
        );
        assert_eq!(
            value(&relay, "GOVSYNC_METRIC_BREACH_STATUS"),
            Some("Under Review")
        );
    }

    #[test]
    fn missing_stack_is_a_clear_error() {
        assert!(matches!(
            registry_events_env(&BTreeMap::new(), |_| None, true),
            Err(RunnerError::Setting { name, .. }) if name == "GOVSYNC_MOTO_URL"
        ));
    }
}
