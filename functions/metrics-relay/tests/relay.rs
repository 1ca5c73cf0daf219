//! The relay on in-memory fakes: metrics with and without thresholds, breach status, duplicates,
//! Model Monitor / Clarify shapes, status moves, quarantine and retries, and events whose envelope is
//! not the package's own registry.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use govsync_adapters::fakes::{
    FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine, FakeRegistry,
};
use govsync_core::metrics::fields as metric_fields;
use govsync_core::ports::{
    Field, FieldValue, GovernanceError, GovernanceKind, GovernanceObject, Link, LinkKind,
    LinkStore, NewGovernanceObject,
};
use govsync_core::sync::fields;
use govsync_core::{GovernanceStatus, RegistryMap};
use govsync_metrics_relay::{Relay, Settings, handle_with, metrics};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3";
const SCHEDULE: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/credit-risk-quality";

type FakeRelay =
    Relay<FakeGovernance, FakeRegistry, FakeIdempotencyStore, FakeLinkStore, FakeQuarantine>;

struct World {
    governance: Arc<FakeGovernance>,
    registry: Arc<FakeRegistry>,
    quarantine: Arc<FakeQuarantine>,
    relay: FakeRelay,
    model: GovernanceObject,
}

impl World {
    async fn new(breach_status: Option<&str>) -> Self {
        let governance = Arc::new(FakeGovernance::new());
        let registry = Arc::new(FakeRegistry::new(ACCOUNT, "us-east-1"));
        let links = Arc::new(FakeLinkStore::new());
        let quarantine = Arc::new(FakeQuarantine::new());
        let registries = RegistryMap::parse(&format!(
            r#"[{{"account":"{ACCOUNT}","region":"us-east-1","business_entity":"Retail"}}]"#
        ))
        .unwrap();
        let relay = Relay::new(
            Settings {
                registries: registries.clone(),
                breach_status: breach_status.map(|s| GovernanceStatus::parse(s).unwrap()),
                terminal_statuses: vec!["Decommissioned".into()],
                amber_margin: 0.05,
            },
            Arc::clone(&governance),
            vec![(registries.registries()[0].clone(), Arc::clone(&registry))],
            Arc::new(FakeIdempotencyStore::new()),
            Arc::clone(&links),
            Arc::clone(&quarantine),
        );
        let model = governance.insert(&NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: "credit-risk version 3".into(),
            description: None,
            parent_id: None,
            fields: vec![
                Field::text(fields::EXTERNAL_ID, ARN),
                Field::choice(fields::MODEL_STATUS, "In Production"),
            ],
        });
        links
            .put_link(&Link {
                kind: LinkKind::Model,
                arn: govsync_core::RegistryArn::parse(ARN).unwrap(),
                governance_id: model.id.clone(),
            })
            .await
            .unwrap();
        Self {
            governance,
            registry,
            quarantine,
            relay,
            model,
        }
    }

    async fn send(&self, event: Value) -> Result<Value, lambda_runtime::Error> {
        let mut context = Context::default();
        context.request_id = format!("req-{}", uuid::Uuid::new_v4());
        context.deadline = u64::try_from(Utc::now().timestamp_millis() + 60_000).unwrap_or(0);
        handle_with(&self.relay, LambdaEvent::new(event, context)).await
    }

    fn of_type(&self, type_id: &str) -> Vec<GovernanceObject> {
        self.governance
            .objects()
            .into_iter()
            .filter(|o| o.type_definition_id == type_id)
            .collect()
    }

    fn model_status(&self) -> Option<String> {
        self.governance
            .object(&self.model.id)
            .unwrap()
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
    }
}

fn metric_event(metric: &str, value: f64, timestamp: &str, thresholds: Option<Value>) -> Value {
    let mut detail = json!({"model_package_arn": ARN, "metric": metric, "value": value,
                            "timestamp": timestamp, "source": "nightly-evaluation"});
    if let Some(thresholds) = thresholds {
        detail["thresholds"] = thresholds;
    }
    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "source": "govsync.metrics",
           "detail-type": "Model Metric Recorded", "account": ACCOUNT, "region": "us-east-1",
           "time": "2026-01-02T09:00:05Z", "resources": [], "detail": detail})
}

fn breach(object: &GovernanceObject) -> Option<String> {
    object
        .field(metric_fields::BREACH_STATUS)
        .and_then(FieldValue::as_text)
}

#[tokio::test]
async fn a_metric_with_thresholds_is_created_under_the_model_with_its_value_and_breach_status() {
    let world = World::new(None).await;
    let answer = world
        .send(metric_event(
            "auc",
            0.75,
            "2026-01-02T09:00:00Z",
            Some(json!({"lower": 0.8})),
        ))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "recorded");

    let metrics = world.of_type("Metric");
    assert_eq!(metrics.len(), 1);
    let metric = &metrics[0];
    assert_eq!(metric.name, "auc");
    assert_eq!(metric.primary_parent_id.as_ref(), Some(&world.model.id));
    assert_eq!(
        metric.field(metric_fields::LOWER_THRESHOLD),
        Some(&FieldValue::Number(0.8))
    );
    assert_eq!(breach(metric).as_deref(), Some("Red"));

    let values = world.of_type("MetricValue");
    assert_eq!(values.len(), 1);
    let value = &values[0];
    assert_eq!(value.primary_parent_id.as_ref(), Some(&metric.id));
    assert_eq!(
        value.field(metric_fields::VALUE),
        Some(&FieldValue::Number(0.75))
    );
    assert_eq!(
        value
            .field(metric_fields::VALUE_DATE)
            .and_then(FieldValue::as_text)
            .as_deref(),
        Some("2026-01-02T09:00:00.000Z")
    );
    assert_eq!(breach(value).as_deref(), Some("Red"));
    assert_eq!(
        world.model_status().as_deref(),
        Some("In Production"),
        "no breach status configured"
    );
}

#[tokio::test]
async fn a_metric_without_thresholds_records_values_without_a_breach_status() {
    let world = World::new(Some("Under Review")).await;
    world
        .send(metric_event(
            "latency p99",
            120.0,
            "2026-01-02T09:00:00Z",
            None,
        ))
        .await
        .unwrap();
    let values = world.of_type("MetricValue");
    assert_eq!(values.len(), 1);
    assert_eq!(breach(&values[0]), None);
    assert_eq!(
        world.of_type("Metric")[0].field(metric_fields::LOWER_THRESHOLD),
        None
    );
    assert_eq!(world.model_status().as_deref(), Some("In Production"));
}

#[tokio::test]
async fn later_values_reuse_the_metric_and_its_stored_thresholds() {
    let world = World::new(None).await;
    world
        .send(metric_event(
            "auc",
            0.95,
            "2026-01-02T09:00:00Z",
            Some(json!({"lower": 0.8, "upper": 1.0})),
        ))
        .await
        .unwrap();
    world
        .send(metric_event("auc", 0.7, "2026-01-03T09:00:00Z", None))
        .await
        .unwrap();
    assert_eq!(world.of_type("Metric").len(), 1);
    let mut values = world.of_type("MetricValue");
    values.sort_by_key(|v| v.id.to_string());
    let statuses: Vec<_> = values.iter().map(breach).collect();
    assert_eq!(statuses, [Some("Green".to_owned()), Some("Red".to_owned())]);
    assert_eq!(
        breach(&world.of_type("Metric")[0]).as_deref(),
        Some("Red"),
        "the metric shows the latest"
    );
}

#[tokio::test]
async fn the_same_value_delivered_twice_is_recorded_once() {
    let world = World::new(None).await;
    let event = metric_event(
        "auc",
        0.9,
        "2026-01-02T09:00:00Z",
        Some(json!({"lower": 0.8})),
    );
    world.send(event.clone()).await.unwrap();
    let again = world.send(event.clone()).await.unwrap();
    assert_eq!(again["duplicates"], 1);
    // A different envelope for the same (model, metric, timestamp) is the same value too.
    let mut reissued = event;
    reissued["id"] = json!("another-envelope");
    world.send(reissued).await.unwrap();
    assert_eq!(world.of_type("MetricValue").len(), 1);
    assert_eq!(world.of_type("Metric").len(), 1);
}

#[tokio::test]
async fn a_red_value_moves_the_model_to_the_configured_status_once() {
    let world = World::new(Some("Under Review")).await;
    let answer = world
        .send(metric_event(
            "auc",
            0.5,
            "2026-01-02T09:00:00Z",
            Some(json!({"lower": 0.8})),
        ))
        .await
        .unwrap();
    assert_eq!(answer["status_moved"], true);
    assert_eq!(world.model_status().as_deref(), Some("Under Review"));
    let answer = world
        .send(metric_event("auc", 0.4, "2026-01-03T09:00:00Z", None))
        .await
        .unwrap();
    assert_eq!(answer["red"], 1);
    assert_eq!(answer["status_moved"], false, "already under review");
}

#[tokio::test]
async fn a_breach_never_moves_a_decommissioned_model() {
    let world = World::new(Some("Under Review")).await;
    world.governance.edit(
        &world.model.id,
        &[Field::choice(fields::MODEL_STATUS, "Decommissioned")],
    );
    world
        .send(metric_event(
            "auc",
            0.5,
            "2026-01-02T09:00:00Z",
            Some(json!({"lower": 0.8})),
        ))
        .await
        .unwrap();
    assert_eq!(world.model_status().as_deref(), Some("Decommissioned"));
}

#[tokio::test]
async fn an_unknown_model_is_quarantined_with_the_reason() {
    let world = World::new(None).await;
    let mut event = metric_event("auc", 0.9, "2026-01-02T09:00:00Z", None);
    event["detail"]["model_package_arn"] =
        json!("arn:aws:sagemaker:us-east-1:123456789012:model-package/unknown/1");
    let answer = world.send(event.clone()).await.unwrap();
    assert_eq!(
        answer,
        json!({"outcome": "quarantined", "code": "unknown_model"})
    );
    let quarantined = world.quarantine.messages();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].error_code, "unknown_model");
    assert!(quarantined[0].reason.contains("model-package/unknown/1"));
    assert_eq!(
        serde_json::from_str::<Value>(&quarantined[0].body).unwrap(),
        event
    );
    assert!(world.of_type("Metric").is_empty());

    let mut unmapped = metric_event("auc", 0.9, "2026-01-02T09:00:00Z", None);
    unmapped["detail"]["model_package_arn"] =
        json!("arn:aws:sagemaker:eu-west-1:999999999999:model-package/x/1");
    unmapped["account"] = json!("999999999999");
    unmapped["region"] = json!("eu-west-1");
    assert_eq!(
        world.send(unmapped).await.unwrap()["code"],
        "unknown_registry"
    );
    let mut broken = metric_event("auc", 0.9, "2026-01-02T09:00:00Z", None);
    broken["detail"]["value"] = json!("NaN");
    assert_eq!(
        world.send(broken).await.unwrap()["code"],
        "bad_metric_value"
    );
}

#[tokio::test]
async fn governance_unavailable_is_returned_for_retry_and_the_retry_records_once() {
    let world = World::new(None).await;
    world.governance.fail_next(
        "create_object",
        GovernanceError::Status {
            operation: "create object",
            status: 503,
            body: String::new(),
        },
    );
    let event = metric_event(
        "auc",
        0.9,
        "2026-01-02T09:00:00Z",
        Some(json!({"lower": 0.8})),
    );
    assert!(world.send(event.clone()).await.is_err());
    assert!(world.quarantine.messages().is_empty());
    world.send(event).await.unwrap();
    assert_eq!(world.of_type("Metric").len(), 1);
    assert_eq!(world.of_type("MetricValue").len(), 1);
}

#[tokio::test]
async fn a_model_monitor_execution_records_its_violation_count_on_the_scheduled_model() {
    let world = World::new(None).await;
    world.registry.tag_resource(
        SCHEDULE,
        BTreeMap::from([("govsync:model-package-arn".to_owned(), ARN.to_owned())]),
    );
    let event: Value = serde_json::from_str(include_str!(
        "../../../events/metrics-relay/model-monitor-processing-job-completed-with-violations.json"
    ))
    .unwrap();
    world.send(event).await.unwrap();
    let metric = &world.of_type("Metric")[0];
    assert_eq!(metric.name, "credit-risk-quality violations");
    assert_eq!(metric.primary_parent_id.as_ref(), Some(&world.model.id));
    let value = &world.of_type("MetricValue")[0];
    assert_eq!(
        value.field(metric_fields::VALUE),
        Some(&FieldValue::Number(3.0))
    );
    assert_eq!(breach(value).as_deref(), Some("Red"));

    // A schedule without the tag cannot be attributed: quarantined with the reason.
    let mut untagged: Value = serde_json::from_str(include_str!(
        "../../../events/metrics-relay/model-monitor-processing-job-completed-with-violations.json"
    ))
    .unwrap();
    untagged["detail"]["MonitoringScheduleArn"] =
        json!("arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/untagged");
    assert_eq!(
        world.send(untagged).await.unwrap()["code"],
        "unlinked_schedule"
    );
}

#[tokio::test]
async fn a_forwarded_clarify_report_records_each_violation_as_a_red_value() {
    let world = World::new(None).await;
    let event: Value = serde_json::from_str(include_str!(
        "../../../events/metrics-relay/govsync-clarify-bias-drift-violations.json"
    ))
    .unwrap();
    let answer = world.send(event).await.unwrap();
    assert_eq!(answer["recorded"], 3);
    let mut names: Vec<String> = world
        .of_type("Metric")
        .into_iter()
        .map(|m| m.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["CI (Age=40)", "DPL (Gender=female)", "ModelBias violations"]
    );
}

#[tokio::test]
async fn each_event_prints_one_line_in_the_shared_metric_names_with_its_lag() {
    let world = World::new(None).await;
    let event = metric_event(
        "auc",
        0.7,
        "2026-01-02T09:00:00Z",
        Some(json!({"lower": 0.8})),
    );
    let deadline = Utc::now() + chrono::TimeDelta::seconds(60);
    let line = |result: &Result<_, _>, now| -> Value {
        serde_json::from_str(&metrics::embedded_metrics(result, "govsync", now)).unwrap()
    };

    let now = Utc::now();
    let first = line(&world.relay.handle(&event, "req-1", deadline).await, now);
    assert_eq!(first["Function"], "metrics-relay");
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Function"]])
    );
    let measured_at = chrono::DateTime::parse_from_rfc3339("2026-01-02T09:00:00Z").unwrap();
    let lag = (now - measured_at.to_utc()).num_milliseconds() as f64;
    assert_eq!(first["SyncLagMs"], json!([lag]));
    for (name, value) in [
        ("EventsProcessed", 1),
        ("Duplicates", 0),
        ("Quarantined", 0),
        ("Failures", 0),
        ("ValuesRecorded", 1),
        ("RedValues", 1),
    ] {
        assert_eq!(first[name], value, "first delivery: {name}");
    }

    let again = line(
        &world.relay.handle(&event, "req-2", deadline).await,
        Utc::now(),
    );
    assert_eq!(again["Duplicates"], 1);
    assert_eq!(again["DuplicateValues"], 1);
    assert_eq!(again["ValuesRecorded"], 0);
    assert!(again.get("SyncLagMs").is_none());

    let mut unknown = metric_event("auc", 0.9, "2026-01-02T09:00:00Z", None);
    unknown["detail"]["model_package_arn"] =
        json!("arn:aws:sagemaker:us-east-1:123456789012:model-package/unknown/1");
    let refused = line(
        &world.relay.handle(&unknown, "req-3", deadline).await,
        Utc::now(),
    );
    assert_eq!(refused["Quarantined"], 1);
    assert_eq!(refused["EventsProcessed"], 1);
    assert_eq!(world.quarantine.messages().len(), 1);
}

/// A Red value about the mapped package, sent from the envelope `account`/`region`.
fn red_event_from(account: Option<&str>, region: Option<&str>) -> Value {
    let mut event = metric_event(
        "auc",
        0.1,
        "2026-01-02T09:00:00Z",
        Some(json!({"lower": 0.8})),
    );
    let envelope = event.as_object_mut().unwrap();
    for (key, value) in [("account", account), ("region", region)] {
        match value {
            Some(value) => envelope.insert(key.to_owned(), json!(value)),
            None => envelope.remove(key),
        };
    }
    event
}

#[tokio::test]
async fn metrics_from_another_account_or_region_are_quarantined_as_foreign_and_change_nothing() {
    let cases = [
        (
            "another account and region",
            Some("999999999999"),
            Some("eu-west-1"),
        ),
        (
            "another account, same region",
            Some("999999999999"),
            Some("us-east-1"),
        ),
        (
            "same account, another region",
            Some(ACCOUNT),
            Some("eu-west-1"),
        ),
        ("no account", None, Some("us-east-1")),
        ("no region", Some(ACCOUNT), None),
        ("not an account id", Some("12345"), Some("us-east-1")),
    ];
    for (name, account, region) in cases {
        let world = World::new(Some("Under Review")).await;
        let calls_before = world.governance.calls().len();
        let event = red_event_from(account, region);
        let answer = world.send(event.clone()).await.unwrap();
        assert_eq!(
            answer,
            json!({"outcome": "quarantined", "code": "foreign_metrics"}),
            "{name}"
        );
        let quarantined = world.quarantine.messages();
        assert_eq!(quarantined.len(), 1, "{name}");
        assert_eq!(quarantined[0].error_code, "foreign_metrics", "{name}");
        assert!(
            quarantined[0].reason.contains(ARN),
            "{name}: {}",
            quarantined[0].reason
        );
        if let Some(account) = account {
            assert!(quarantined[0].reason.contains(account), "{name}");
        }
        assert_eq!(
            serde_json::from_str::<Value>(&quarantined[0].body).unwrap(),
            event,
            "{name}: the original event, for an operator"
        );
        assert_eq!(
            world.governance.calls().len(),
            calls_before,
            "{name}: governance is not even read"
        );
        assert!(world.of_type("Metric").is_empty(), "{name}");
        assert!(world.of_type("MetricValue").is_empty(), "{name}");
        assert_eq!(
            world.model_status().as_deref(),
            Some("In Production"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_same_red_value_from_the_package_s_own_registry_is_recorded_and_moves_the_status() {
    let world = World::new(Some("Under Review")).await;
    let answer = world
        .send(red_event_from(Some(ACCOUNT), Some("us-east-1")))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "recorded", "{answer}");
    assert_eq!(answer["status_moved"], true);
    assert_eq!(world.of_type("MetricValue").len(), 1);
}

#[tokio::test]
async fn a_foreign_monitoring_execution_is_refused_before_its_schedule_is_read() {
    let world = World::new(Some("Under Review")).await;
    world.registry.tag_resource(
        SCHEDULE,
        BTreeMap::from([("govsync:model-package-arn".to_owned(), ARN.to_owned())]),
    );
    let sample: Value = serde_json::from_str(include_str!(
        "../../../events/metrics-relay/model-monitor-processing-job-completed-with-violations.json"
    ))
    .unwrap();
    let mut foreign = sample.clone();
    foreign["account"] = json!("999999999999");
    let registry_calls = world.registry.calls().len();
    assert_eq!(
        world.send(foreign).await.unwrap()["code"],
        "foreign_metrics"
    );
    assert_eq!(
        world.registry.calls().len(),
        registry_calls,
        "the schedule's tags are not read for a foreign envelope"
    );

    // The schedule is the envelope's own, but its tag names a package of another account.
    let other_account_package =
        "arn:aws:sagemaker:us-east-1:999999999999:model-package/credit-risk/3";
    world.registry.tag_resource(
        SCHEDULE,
        BTreeMap::from([(
            "govsync:model-package-arn".to_owned(),
            other_account_package.to_owned(),
        )]),
    );
    assert_eq!(world.send(sample).await.unwrap()["code"], "foreign_metrics");
    assert!(world.of_type("MetricValue").is_empty());
    assert_eq!(world.model_status().as_deref(), Some("In Production"));
    assert_eq!(world.quarantine.messages().len(), 2);
}

#[tokio::test]
async fn refused_credentials_are_returned_for_retry_not_quarantined() {
    let world = World::new(None).await;
    world.governance.fail_next(
        "create_object",
        GovernanceError::Unauthorized {
            operation: "create object",
            status: 401,
            body: String::new(),
        },
    );
    let event = metric_event(
        "auc",
        0.9,
        "2026-01-02T09:00:00Z",
        Some(json!({"lower": 0.8})),
    );
    let deadline = Utc::now() + chrono::TimeDelta::seconds(60);
    let result = world.relay.handle(&event, "req-1", deadline).await;
    let error = result.as_ref().unwrap_err();
    assert_eq!(error.code(), "governance_unauthorized");
    assert!(world.quarantine.messages().is_empty());
    let line: Value =
        serde_json::from_str(&metrics::embedded_metrics(&result, "govsync", Utc::now())).unwrap();
    assert_eq!(line["GovernanceUnauthorized"], 1);
    assert_eq!(line["Failures"], 1);
    world.send(event).await.unwrap();
    assert_eq!(world.of_type("MetricValue").len(), 1);
}
