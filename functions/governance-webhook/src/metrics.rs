//! One CloudWatch embedded-metric line per request (no API calls): the outcome counted under
//! `Accepted`, `SkippedUnhandledEventType`, `Replayed`, `Rejected` (any other 4xx) or `Failed` (5xx).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::handler::Outcome;

const METRICS: [&str; 5] = [
    "Accepted",
    "SkippedUnhandledEventType",
    "Replayed",
    "Rejected",
    "Failed",
];

/// The metric an outcome counts under.
pub fn metric_of(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted { .. } => "Accepted",
        Outcome::Skipped { .. } => "SkippedUnhandledEventType",
        Outcome::Refused(crate::error::DeliveryError::Replayed { .. }) => "Replayed",
        Outcome::Refused(error) if error.status() >= 500 => "Failed",
        Outcome::Refused(_) => "Rejected",
    }
}

/// The embedded-metric line for one request (namespace `namespace`, dimension `Function`).
pub fn embedded_metrics(outcome: &Outcome, namespace: &str, now: DateTime<Utc>) -> String {
    let counted = metric_of(outcome);
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Function"]],
                "Metrics": METRICS.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        }),
    );
    line.insert("Function".into(), json!("governance-webhook"));
    line.insert("Outcome".into(), json!(outcome.label()));
    line.insert("Status".into(), json!(outcome.status()));
    for name in METRICS {
        line.insert(name.into(), json!(u8::from(name == counted)));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_counted_once_under_its_own_metric() {
        let outcome = Outcome::Skipped {
            delivery_id: "msg_1".into(),
            event_type: "object.viewed".into(),
        };
        let line: Value =
            serde_json::from_str(&embedded_metrics(&outcome, "govsync", Utc::now())).unwrap();
        assert_eq!(line["SkippedUnhandledEventType"], 1);
        assert_eq!(line["Accepted"], 0);
        assert_eq!(line["Outcome"], "skipped");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
    }
}
