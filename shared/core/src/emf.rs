//! CloudWatch embedded metric format (EMF): the one JSON line a function prints per invocation when
//! `GOVSYNC_METRICS_NAMESPACE` is set (CloudWatch Logs turns it into metrics; no API calls).
//!
//! Every function uses the same names ([`EVENTS_PROCESSED`], [`DUPLICATES`], [`ECHOES_DROPPED`],
//! [`QUARANTINED`], [`FAILURES`], [`SYNC_LAG_MS`]) and the one dimension [`DIMENSION`] (`Function`,
//! valued with the function's name, e.g. `registry-events`), so the template's dashboard can chart them
//! per function. Functions may add metrics of their own after these. SQS batch functions count theirs
//! with [`crate::batch_report`]; the others (a request, an event, a scheduled run) with [`SharedCounts`],
//! leaving out the names they cannot observe. A line may add dimensions after `Function`
//! ([`document_with_dimensions`]: the reconciler's per-drift-kind lines).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The environment variable holding the namespace; unset = no metric lines.
pub const NAMESPACE_ENV: &str = "GOVSYNC_METRICS_NAMESPACE";
/// The one dimension of every govsync metric.
pub const DIMENSION: &str = "Function";

/// Events (messages, requests) the invocation handled, whatever became of them.
pub const EVENTS_PROCESSED: &str = "EventsProcessed";
/// Events already applied (idempotency record found).
pub const DUPLICATES: &str = "Duplicates";
/// govsync's own writes coming back, dropped.
pub const ECHOES_DROPPED: &str = "EchoesDropped";
/// Events failed permanently and sent to the dead-letter queue.
pub const QUARANTINED: &str = "Quarantined";
/// Retryable failures reported back (batch item failures, failed requests).
pub const FAILURES: &str = "Failures";
/// Milliseconds from the source event's time to when its change was applied (one value per change).
pub const SYNC_LAG_MS: &str = "SyncLagMs";

/// The CloudWatch unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// What a metric carries: one count, or several values (EMF takes an array for one metric).
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Count(u64),
    Values(Vec<f64>),
}

/// One metric of a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: MetricValue,
}

impl Metric {
    /// A count (unit `Count`).
    pub fn count(name: &'static str, count: usize) -> Self {
        Self {
            name,
            unit: Unit::Count,
            value: MetricValue::Count(u64::try_from(count).unwrap_or(u64::MAX)),
        }
    }

    /// Durations in milliseconds, one value each (unit `Milliseconds`).
    pub fn millis(name: &'static str, values: &[u64]) -> Self {
        Self {
            name,
            unit: Unit::Milliseconds,
            value: MetricValue::Values(values.iter().map(|value| *value as f64).collect()),
        }
    }

    fn json_value(&self) -> Option<Value> {
        match &self.value {
            MetricValue::Count(count) => Some(json!(count)),
            // An empty array is no observation: the metric is left out of the line.
            MetricValue::Values(values) if values.is_empty() => None,
            MetricValue::Values(values) => Some(json!(values)),
        }
    }
}

/// Milliseconds from `event_time` to `applied_at` (0 when the clocks put the event in the future).
pub fn sync_lag_ms(event_time: DateTime<Utc>, applied_at: DateTime<Utc>) -> u64 {
    u64::try_from((applied_at - event_time).num_milliseconds()).unwrap_or(0)
}

/// The EMF document: `_aws` (timestamp in epoch milliseconds, one directive in `namespace` with
/// dimension `Function`, the metrics with their units), `Function` = `function`, and each metric's value
/// as a top-level member. Metrics without values (an empty list) are left out of directive and members.
pub fn document(namespace: &str, function: &str, timestamp_ms: i64, metrics: &[Metric]) -> Value {
    document_with_dimensions(namespace, &[(DIMENSION, function)], timestamp_ms, metrics)
}

/// [`document`] with a dimension set of its own: `dimensions` are `(name, value)` pairs, `Function`
/// first (e.g. the reconciler's per-kind lines: `Function`, `DriftKind`).
pub fn document_with_dimensions(
    namespace: &str,
    dimensions: &[(&str, &str)],
    timestamp_ms: i64,
    metrics: &[Metric],
) -> Value {
    let present: Vec<(&Metric, Value)> = metrics
        .iter()
        .filter_map(|metric| metric.json_value().map(|value| (metric, value)))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": present
                    .iter()
                    .map(|(metric, _)| json!({"Name": metric.name, "Unit": metric.unit.as_str()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        line.insert((*name).into(), json!(value));
    }
    for (metric, value) in present {
        line.insert(metric.name.into(), value);
    }
    Value::Object(line)
}

/// [`document`] as the one line to print.
pub fn line(namespace: &str, function: &str, timestamp_ms: i64, metrics: &[Metric]) -> String {
    document(namespace, function, timestamp_ms, metrics).to_string()
}

/// [`document_with_dimensions`] as the one line to print.
pub fn line_with_dimensions(
    namespace: &str,
    dimensions: &[(&str, &str)],
    timestamp_ms: i64,
    metrics: &[Metric],
) -> String {
    document_with_dimensions(namespace, dimensions, timestamp_ms, metrics).to_string()
}

/// The shared metrics of one invocation that is not an SQS batch (a webhook request, an EventBridge
/// event, a scheduled run; batches count theirs with [`crate::batch_report`]). A count the function
/// cannot observe is `None` and left out of the line rather than reported as a zero it could never
/// leave (e.g. echoes where nothing can echo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedCounts {
    /// [`EVENTS_PROCESSED`]: events, requests or rows the invocation handled, whatever became of them.
    pub events_processed: usize,
    /// [`DUPLICATES`].
    pub duplicates: Option<usize>,
    /// [`ECHOES_DROPPED`].
    pub echoes_dropped: Option<usize>,
    /// [`QUARANTINED`]: sent to a dead-letter queue, or refused where there is no queue to send to.
    pub quarantined: Option<usize>,
    /// [`FAILURES`].
    pub failures: usize,
    /// [`SYNC_LAG_MS`], one value per applied change.
    pub sync_lags_ms: Vec<u64>,
}

impl SharedCounts {
    /// The metrics under the shared names, in their order; a function appends its own after them.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = vec![Metric::count(EVENTS_PROCESSED, self.events_processed)];
        for (name, count) in [
            (DUPLICATES, self.duplicates),
            (ECHOES_DROPPED, self.echoes_dropped),
            (QUARANTINED, self.quarantined),
        ] {
            if let Some(count) = count {
                metrics.push(Metric::count(name, count));
            }
        }
        metrics.push(Metric::count(FAILURES, self.failures));
        metrics.push(Metric::millis(SYNC_LAG_MS, &self.sync_lags_ms));
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn standard(lags: &[u64]) -> Vec<Metric> {
        vec![
            Metric::count(EVENTS_PROCESSED, 5),
            Metric::count(DUPLICATES, 1),
            Metric::count(ECHOES_DROPPED, 1),
            Metric::count(QUARANTINED, 0),
            Metric::count(FAILURES, 2),
            Metric::millis(SYNC_LAG_MS, lags),
        ]
    }

    /// Checks the EMF structure rules and returns the directive's `(name, unit)` list.
    fn validated(doc: &Value) -> Vec<(String, String)> {
        let aws = &doc["_aws"];
        assert!(
            aws["Timestamp"].is_i64(),
            "Timestamp must be epoch ms: {doc}"
        );
        let directives = aws["CloudWatchMetrics"].as_array().expect("directive list");
        assert_eq!(directives.len(), 1);
        let directive = &directives[0];
        assert!(directive["Namespace"].is_string());
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert!(
            doc["Function"].is_string(),
            "dimension member missing: {doc}"
        );
        let metrics = directive["Metrics"].as_array().expect("metric list");
        metrics
            .iter()
            .map(|metric| {
                let name = metric["Name"].as_str().expect("metric name").to_owned();
                let unit = metric["Unit"].as_str().expect("metric unit").to_owned();
                let member = &doc[&name];
                let numeric = member.is_number()
                    || member.as_array().is_some_and(|values| {
                        !values.is_empty() && values.iter().all(Value::is_number)
                    });
                assert!(numeric, "{name} must be a number or numbers: {doc}");
                (name, unit)
            })
            .collect()
    }

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        struct Case {
            name: &'static str,
            lags: Vec<u64>,
            expected: Vec<(&'static str, &'static str)>,
        }
        let counts = vec![
            ("EventsProcessed", "Count"),
            ("Duplicates", "Count"),
            ("EchoesDropped", "Count"),
            ("Quarantined", "Count"),
            ("Failures", "Count"),
        ];
        let with_lag = counts
            .iter()
            .copied()
            .chain([("SyncLagMs", "Milliseconds")])
            .collect::<Vec<_>>();
        let cases = [
            Case {
                name: "one lag",
                lags: vec![120],
                expected: with_lag.clone(),
            },
            Case {
                name: "several lags",
                lags: vec![5, 1500, 30],
                expected: with_lag,
            },
            Case {
                name: "no change applied leaves the lag out",
                lags: vec![],
                expected: counts,
            },
        ];
        for case in cases {
            let doc = document(
                "govsync",
                "registry-events",
                1_700_000_000_000,
                &standard(&case.lags),
            );
            let units = validated(&doc);
            let expected: Vec<(String, String)> = case
                .expected
                .iter()
                .map(|(name, unit)| ((*name).to_owned(), (*unit).to_owned()))
                .collect();
            assert_eq!(units, expected, "{}", case.name);
            assert_eq!(
                doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync",
                "{}",
                case.name
            );
            assert_eq!(doc["Function"], "registry-events", "{}", case.name);
            assert_eq!(
                doc["_aws"]["Timestamp"], 1_700_000_000_000_i64,
                "{}",
                case.name
            );
            assert_eq!(doc["Failures"], 2, "{}", case.name);
            if case.lags.is_empty() {
                assert!(doc.get("SyncLagMs").is_none(), "{}", case.name);
            } else {
                let lags: Vec<f64> = case.lags.iter().map(|lag| *lag as f64).collect();
                assert_eq!(doc["SyncLagMs"], json!(lags), "{}", case.name);
            }
        }
    }

    #[test]
    fn the_line_is_the_document_on_one_line() {
        let metrics = standard(&[1]);
        let text = line("govsync", "decommission", 1, &metrics);
        assert!(!text.contains('\n'));
        let parsed: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(parsed, document("govsync", "decommission", 1, &metrics));
    }

    #[test]
    fn a_line_with_more_dimensions_names_each_in_one_dimension_set() {
        let doc = document_with_dimensions(
            "govsync",
            &[(DIMENSION, "reconciler"), ("DriftKind", "shadow_approval")],
            1,
            &[Metric::count("DriftsFound", 2)],
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "DriftKind"]])
        );
        assert_eq!(doc["Function"], "reconciler");
        assert_eq!(doc["DriftKind"], "shadow_approval");
        assert_eq!(doc["DriftsFound"], 2);
        assert_eq!(
            document_with_dimensions(
                "govsync",
                &[(DIMENSION, "decommission")],
                1,
                &standard(&[3])
            ),
            document("govsync", "decommission", 1, &standard(&[3]))
        );
    }

    #[test]
    fn shared_counts_leave_out_what_a_function_cannot_observe() {
        let counts = SharedCounts {
            events_processed: 3,
            duplicates: Some(1),
            echoes_dropped: None,
            quarantined: Some(0),
            failures: 1,
            sync_lags_ms: vec![40],
        };
        let doc = document("govsync", "governance-poller", 1, &counts.metrics());
        let names: Vec<(String, String)> = validated(&doc);
        let expected = [
            ("EventsProcessed", "Count"),
            ("Duplicates", "Count"),
            ("Quarantined", "Count"),
            ("Failures", "Count"),
            ("SyncLagMs", "Milliseconds"),
        ];
        assert_eq!(
            names,
            expected
                .iter()
                .map(|(name, unit)| ((*name).to_owned(), (*unit).to_owned()))
                .collect::<Vec<_>>()
        );
        assert!(doc.get("EchoesDropped").is_none());
        assert_eq!(doc["Quarantined"], 0);
        let all = SharedCounts {
            duplicates: Some(0),
            echoes_dropped: Some(0),
            quarantined: Some(0),
            ..SharedCounts::default()
        };
        assert_eq!(
            all.metrics()
                .iter()
                .map(|metric| metric.name)
                .collect::<Vec<_>>(),
            standard(&[])
                .iter()
                .map(|metric| metric.name)
                .collect::<Vec<_>>(),
            "every shared name, in the shared order"
        );
    }

    #[test]
    fn sync_lag_is_milliseconds_from_event_to_applied_and_never_negative() {
        let event = Utc.with_ymd_and_hms(2026, 1, 2, 9, 0, 0).unwrap();
        let cases = [
            (event + chrono::Duration::milliseconds(1_250), 1_250),
            (event, 0),
            (event - chrono::Duration::seconds(3), 0),
        ];
        for (applied, expected) in cases {
            assert_eq!(
                sync_lag_ms(event, applied),
                expected,
                "applied at {applied}"
            );
        }
    }
}
