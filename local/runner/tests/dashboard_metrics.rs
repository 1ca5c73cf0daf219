//! The template's dashboard and alarms chart what the functions emit, and every function's shared metrics
//! are charted.
//!
//! The functions' embedded-metric lines are produced by their own code (each function's metrics builder on
//! a representative invocation), and every metric the `govsync` dashboard (`Dashboard` in
//! `infra/template.yaml`) or an alarm reads from the `govsync` namespace must be one of them, with the same
//! dimensions; each function's shared metric (`govsync_core::emf`) must be on the dashboard, each drift kind
//! of the reconciler too, and the quarantine alarm must sum `Quarantined` over every function that emits it,
//! as the credentials alarm sums `GovernanceUnauthorized` and the foreign-metrics alarm
//! `ForeignMetricsRefused`. The queue functions' lines include what the batch driver
//! (`govsync_lambda::sqs_batch`) adds to them.
//! The CDK app's synthesized template is held to the SAM template's metrics by
//! `local/tests/test_dashboard_matches_template.py` (run by `infra/validate.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{TimeDelta, Utc};
use govsync_approval_propagation::FunctionReport as _;
use govsync_core::emf;
use govsync_core::governance_event::GovernanceEventType;
use govsync_core::reconcile::DriftKind;
use govsync_lambda::sqs_batch::GOVERNANCE_UNAUTHORIZED_METRIC;
use govsync_registry_events::FunctionReport as _;
use serde_json::Value;
use serde_yaml::Value as Yaml;

/// One metric as CloudWatch knows it in govsync's namespace: its name and its dimensions (name → value).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MetricId {
    name: String,
    dimensions: BTreeMap<String, String>,
}

impl std::fmt::Display for MetricId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.name, self.dimensions)
    }
}

fn id(name: &str, dimensions: &[(&str, &str)]) -> MetricId {
    MetricId {
        name: name.to_owned(),
        dimensions: dimensions
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    }
}

/// A queue function's own line, and what the batch driver adds to it (`GovernanceUnauthorized`) as a line
/// of its own under the same `Function`.
fn with_batch_driver_metrics(line: String, ns: &str) -> [String; 2] {
    let doc: Value = serde_json::from_str(&line).expect("an EMF line is JSON");
    let function = doc[emf::DIMENSION]
        .as_str()
        .expect("the line names its function")
        .to_owned();
    let driver = emf::line(
        ns,
        &function,
        Utc::now().timestamp_millis(),
        &[emf::Metric::count(GOVERNANCE_UNAUTHORIZED_METRIC, 0)],
    );
    [line, driver]
}

/// Every line each function prints for a representative invocation (lags included, so `SyncLagMs` shows).
fn emitted_lines() -> Vec<String> {
    let now = Utc::now();
    let ns = "govsync";
    let queue_lines = [
        govsync_registry_events::BatchReport::default()
            .with_sync_lags(vec![10])
            .embedded_metrics(ns),
        govsync_approval_propagation::BatchReport::default()
            .with_sync_lags(vec![10])
            .embedded_metrics(ns),
        govsync_decommission::metrics::embedded_metrics(&[], &[10], ns, now),
    ];
    let mut lines: Vec<String> = queue_lines
        .into_iter()
        .flat_map(|line| with_batch_driver_metrics(line, ns))
        .collect();
    lines.extend([
        govsync_governance_webhook::metrics::embedded_metrics(
            &govsync_governance_webhook::Outcome::Accepted {
                delivery_id: "msg_1".into(),
                object_id: "1042".into(),
                event_type: GovernanceEventType::Updated,
                occurred_at: now - TimeDelta::seconds(1),
            },
            ns,
            now,
        ),
        govsync_governance_poller::metrics::embedded_metrics(
            &govsync_governance_poller::PollRun {
                kinds: vec![govsync_governance_poller::KindReport {
                    type_id: "Model".into(),
                    from: None,
                    rows: 1,
                    enqueued: 1,
                    skipped: 0,
                    reread: 0,
                    sync_lags_ms: vec![10],
                    watermark: None,
                }],
                failure: None,
            },
            ns,
            now,
        ),
        govsync_metrics_relay::metrics::embedded_metrics(
            &Ok(govsync_metrics_relay::Outcome::Recorded {
                recorded: 1,
                duplicates: 0,
                red: 0,
                status_moved: false,
                event_time: now - TimeDelta::seconds(1),
            }),
            ns,
            now,
        ),
    ]);
    let package = govsync_core::ModelPackageArn::parse(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1",
    )
    .unwrap();
    for outcome in [
        govsync_model_link::Outcome::Redirected {
            package,
            model: govsync_core::GovernanceId::parse("1042").unwrap(),
            registry: "123456789012/us-east-1".into(),
            location: "https://d-1.studio.us-east-1.sagemaker.aws/auth?token=t".into(),
        },
        govsync_model_link::Outcome::Refused {
            reason: "bad_signature",
            message: "altered".into(),
        },
    ] {
        lines.extend(govsync_model_link::metrics::lines(ns, &outcome, now));
    }
    let counts = govsync_reconciler::Counts::default();
    let report = govsync_reconciler::ReconcileReport {
        deep: govsync_reconciler::report::DeepSlice {
            slice: 0,
            slices: 1,
        },
        registries: Vec::new(),
        dry_run: false,
        complete: true,
        started_at: now,
        finished_at: now,
        elapsed_ms: 0,
        resumed_from: None,
        stopped_at: None,
        governance_models: 0,
        counts,
        total: counts,
        calls: govsync_reconciler::limiter::CallStats::default(),
        drifts: Vec::new(),
    };
    lines.extend(govsync_reconciler::metrics::embedded_metrics(&report, ns));
    lines
}

/// The metrics the lines carry, checked to be well-formed EMF in the `govsync` namespace.
fn emitted() -> BTreeSet<MetricId> {
    let mut metrics = BTreeSet::new();
    for line in emitted_lines() {
        let doc: Value = serde_json::from_str(&line).expect("an EMF line is JSON");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "govsync", "{line}");
        let dimension_set = directive["Dimensions"][0]
            .as_array()
            .expect("one dimension set");
        assert_eq!(
            dimension_set.first().and_then(Value::as_str),
            Some(emf::DIMENSION),
            "Function comes first: {line}"
        );
        let dimensions: BTreeMap<String, String> = dimension_set
            .iter()
            .filter_map(Value::as_str)
            .map(|name| {
                let value = doc[name].as_str().expect("a dimension's value is a string");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        for metric in directive["Metrics"].as_array().expect("a metric list") {
            let name = metric["Name"].as_str().expect("a metric name");
            assert!(doc[name].is_number() || doc[name].is_array(), "{line}");
            metrics.insert(MetricId {
                name: name.to_owned(),
                dimensions: dimensions.clone(),
            });
        }
    }
    metrics
}

fn template() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
    serde_yaml::from_str(&text).expect("infra/template.yaml is YAML")
}

fn resources<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().unwrap_or("?"), &resource["Properties"]))
        .collect()
}

/// `${...}` substitutions replaced by a placeholder, so the body parses as JSON.
fn without_substitutions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str("SUBSTITUTED");
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `govsync` metric the dashboard charts, per widget title.
fn dashboard(template: &Yaml) -> BTreeMap<String, BTreeSet<MetricId>> {
    let dashboards = resources(template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = &dashboards[0].1["DashboardBody"];
    let text = match body {
        Yaml::String(text) => text.clone(),
        Yaml::Tagged(tagged) => match &tagged.value {
            Yaml::String(text) => text.clone(),
            Yaml::Sequence(parts) => parts[0].as_str().expect("!Sub's string").to_owned(),
            other => panic!("unexpected DashboardBody {other:?}"),
        },
        other => panic!("unexpected DashboardBody {other:?}"),
    };
    let body: Value =
        serde_json::from_str(&without_substitutions(&text)).expect("the dashboard body is JSON");
    let mut widgets = BTreeMap::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let title = widget["properties"]["title"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        for row in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let parts: Vec<&str> = row
                .as_array()
                .expect("a metric row")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                !parts.contains(&"."),
                "{title}: write every metric row out in full (no \".\" shorthand): {row}"
            );
            if parts.first() != Some(&"govsync") {
                continue;
            }
            assert!(
                parts.len().is_multiple_of(2),
                "{title}: namespace, name, then dimension pairs: {row}"
            );
            let dimensions: Vec<(&str, &str)> = parts[2..]
                .chunks(2)
                .map(|pair| (pair[0], pair[1]))
                .collect();
            widgets
                .entry(title.clone())
                .or_insert_with(BTreeSet::new)
                .insert(id(parts[1], &dimensions));
        }
    }
    widgets
}

/// Every `govsync` metric each alarm reads, by alarm name.
fn alarms(template: &Yaml) -> BTreeMap<String, BTreeSet<MetricId>> {
    let mut alarms = BTreeMap::new();
    for (logical_id, properties) in resources(template, "AWS::CloudWatch::Alarm") {
        let name = properties["AlarmName"]
            .as_str()
            .unwrap_or(logical_id)
            .to_owned();
        let mut read = Vec::new();
        if properties["Namespace"].is_string() {
            read.push(properties);
        }
        for query in properties["Metrics"].as_sequence().into_iter().flatten() {
            let metric = &query["MetricStat"]["Metric"];
            if metric.is_mapping() {
                read.push(metric);
            }
        }
        for metric in read {
            if metric["Namespace"].as_str() != Some("govsync") {
                continue;
            }
            let dimensions: Vec<(&str, &str)> = metric["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|dimension| {
                    (
                        dimension["Name"].as_str().expect("dimension name"),
                        dimension["Value"]
                            .as_str()
                            .expect("a govsync dimension value is a literal"),
                    )
                })
                .collect();
            alarms
                .entry(name.clone())
                .or_insert_with(BTreeSet::new)
                .insert(id(
                    metric["MetricName"].as_str().expect("MetricName"),
                    &dimensions,
                ));
        }
    }
    alarms
}

/// Functions that emit no metric lines, with the reason.
const SILENT_FUNCTIONS: &[(&str, &str)] = &[(
    "registry-relay",
    "it only re-sends events; Lambda's Errors/Throttles and the ingest DLQ alarm watch it",
)];

/// The `Function` dimension values the template's functions emit under: their binary names.
fn template_functions(template: &Yaml) -> BTreeSet<String> {
    resources(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(logical_id, _)| {
            let binary =
                template["Resources"][*logical_id]["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_default();
            !SILENT_FUNCTIONS.iter().any(|(silent, _)| *silent == binary)
        })
        .map(|(logical_id, _)| {
            template["Resources"][logical_id]["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{logical_id} names its binary"))
                .to_owned()
        })
        .collect()
}

#[test]
fn every_function_of_the_template_prints_metric_lines_under_its_name() {
    let emitting: BTreeSet<String> = emitted()
        .into_iter()
        .filter_map(|metric| metric.dimensions.get(emf::DIMENSION).cloned())
        .collect();
    assert_eq!(emitting, template_functions(&template()));
}

#[test]
fn every_govsync_metric_the_dashboard_and_alarms_read_is_emitted_by_the_functions() {
    let template = template();
    let emitted = emitted();
    let mut unknown = Vec::new();
    for (place, metrics) in dashboard(&template)
        .into_iter()
        .map(|(title, metrics)| (format!("dashboard widget {title:?}"), metrics))
        .chain(
            alarms(&template)
                .into_iter()
                .map(|(name, metrics)| (format!("alarm {name}"), metrics)),
        )
    {
        for metric in metrics {
            if !emitted.contains(&metric) {
                unknown.push(format!("{place}: {metric}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "read but never emitted:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn every_shared_metric_each_function_emits_is_on_the_dashboard() {
    let template = template();
    let charted: BTreeSet<MetricId> = dashboard(&template).into_values().flatten().collect();
    let shared = [
        emf::EVENTS_PROCESSED,
        emf::DUPLICATES,
        emf::ECHOES_DROPPED,
        emf::QUARANTINED,
        emf::FAILURES,
        emf::SYNC_LAG_MS,
    ];
    let missing: Vec<String> = emitted()
        .into_iter()
        .filter(|metric| metric.dimensions.len() == 1 && shared.contains(&metric.name.as_str()))
        .filter(|metric| !charted.contains(metric))
        .map(|metric| metric.to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "emitted but not on the dashboard:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_dashboard_charts_drift_found_and_repaired_for_every_drift_kind() {
    let charted: BTreeSet<MetricId> = dashboard(&template()).into_values().flatten().collect();
    for kind in DriftKind::ALL {
        for name in [
            govsync_reconciler::metrics::DRIFTS_FOUND,
            govsync_reconciler::metrics::DRIFTS_REPAIRED,
        ] {
            let metric = id(
                name,
                &[
                    (emf::DIMENSION, govsync_reconciler::metrics::FUNCTION),
                    (govsync_reconciler::metrics::KIND_DIMENSION, kind.as_str()),
                ],
            );
            assert!(charted.contains(&metric), "not charted: {metric}");
        }
    }
}

/// The alarm `alarm` reads `metric` from exactly the functions that emit it, and its expression adds up
/// every one of them with `FILL(id, 0)` (an idle function counts 0, not missing data).
fn assert_alarm_sums_every_emitter(alarm: &str, metric: &str) -> BTreeSet<MetricId> {
    let emitting: BTreeSet<MetricId> = emitted()
        .into_iter()
        .filter(|emitted| emitted.name == metric)
        .collect();
    let template = template();
    let read = alarms(&template);
    assert_eq!(
        read.get(alarm)
            .unwrap_or_else(|| panic!("the {alarm} alarm")),
        &emitting,
        "{alarm}"
    );
    let (_, properties) = resources(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, properties)| properties["AlarmName"].as_str() == Some(alarm))
        .unwrap_or_else(|| panic!("the {alarm} alarm"));
    let queries = properties["Metrics"].as_sequence().expect("metric queries");
    let expression = queries
        .iter()
        .find_map(|query| query["Expression"].as_str())
        .expect("a total expression");
    for query in queries {
        if query["MetricStat"].is_mapping() {
            let id = query["Id"].as_str().expect("query id");
            assert!(
                expression.contains(&format!("FILL({id}, 0)")),
                "{alarm}: {id} is not in {expression}"
            );
        }
    }
    assert_eq!(properties["Threshold"].as_u64(), Some(0), "{alarm}");
    assert_eq!(
        properties["ComparisonOperator"].as_str(),
        Some("GreaterThanThreshold"),
        "{alarm}"
    );
    assert_eq!(
        properties["TreatMissingData"].as_str(),
        Some("notBreaching"),
        "{alarm}"
    );
    assert!(
        properties["AlarmActions"]
            .as_sequence()
            .is_some_and(|actions| !actions.is_empty()),
        "{alarm} notifies"
    );
    emitting
}

fn functions_of(metrics: &BTreeSet<MetricId>) -> BTreeSet<&str> {
    metrics
        .iter()
        .filter_map(|metric| metric.dimensions.get(emf::DIMENSION).map(String::as_str))
        .collect()
}

#[test]
fn the_quarantine_alarm_sums_every_function_that_quarantines() {
    let quarantining = assert_alarm_sums_every_emitter("govsync-quarantined", emf::QUARANTINED);
    assert!(quarantining.len() >= 6, "{quarantining:?}");
}

#[test]
fn the_credentials_alarm_sums_every_function_that_holds_messages_for_refused_credentials() {
    let holding = assert_alarm_sums_every_emitter(
        "govsync-governance-unauthorized",
        GOVERNANCE_UNAUTHORIZED_METRIC,
    );
    assert_eq!(
        functions_of(&holding),
        BTreeSet::from([
            "registry-events",
            "approval-propagation",
            "decommission",
            "metrics-relay"
        ])
    );
}

#[test]
fn the_foreign_metrics_alarm_reads_what_metrics_relay_refuses() {
    let refusing =
        assert_alarm_sums_every_emitter("govsync-foreign-metrics-refused", "ForeignMetricsRefused");
    assert_eq!(functions_of(&refusing), BTreeSet::from(["metrics-relay"]));
}
