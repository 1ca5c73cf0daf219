//! One CloudWatch embedded-metric line per request (no API calls), in the shared names of
//! [`govsync_core::emf`] plus this function's own counts.
//!
//! A request is one event: `EventsProcessed` 1, whatever became of it; `Duplicates` a repeat of a
//! delivery already accepted with the same body (200 `duplicate`); `Quarantined` a refused one (any 4xx
//! but 409 in progress: size, encoding, signature, body, a reused id with another body; nothing is
//! enqueued and the sender is told why); `Failures` a delivery the sender's retry can still
//! get through (409, the same delivery being accepted concurrently, or 5xx); `SyncLagMs` for an accepted
//! delivery, from the change's time (the notification's `timestamp`, else the signed `webhook-timestamp`)
//! to its enqueueing. Echoes cannot be told apart here (approval-propagation drops them after re-reading
//! the object), so the line has no `EchoesDropped`. Own counts: `Accepted`, `SkippedUnhandledEventType`.

use chrono::{DateTime, Utc};
use govsync_core::emf::{self, Metric, SharedCounts};
use serde_json::{Value, json};

use crate::handler::Outcome;

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "governance-webhook";

/// The shared counts of one request that came to `outcome` at `now`.
pub fn shared_counts(outcome: &Outcome, now: DateTime<Utc>) -> SharedCounts {
    let (duplicate, refused, failed) = match outcome {
        Outcome::Accepted { .. } | Outcome::Skipped { .. } => (false, false, false),
        Outcome::Duplicate { .. } => (true, false, false),
        Outcome::Refused(error) if error.is_retryable() || error.status() >= 500 => {
            (false, false, true)
        }
        Outcome::Refused(_) => (false, true, false),
    };
    let sync_lags_ms = match outcome {
        Outcome::Accepted { occurred_at, .. } => vec![emf::sync_lag_ms(*occurred_at, now)],
        Outcome::Skipped { .. } | Outcome::Duplicate { .. } | Outcome::Refused(_) => Vec::new(),
    };
    SharedCounts {
        events_processed: 1,
        duplicates: Some(usize::from(duplicate)),
        echoes_dropped: None,
        quarantined: Some(usize::from(refused)),
        failures: usize::from(failed),
        sync_lags_ms,
    }
}

/// The metrics of one request: the shared names first, then this function's own.
pub fn metrics(outcome: &Outcome, now: DateTime<Utc>) -> Vec<Metric> {
    let mut metrics = shared_counts(outcome, now).metrics();
    metrics.extend([
        Metric::count(
            "Accepted",
            usize::from(matches!(outcome, Outcome::Accepted { .. })),
        ),
        Metric::count(
            "SkippedUnhandledEventType",
            usize::from(matches!(outcome, Outcome::Skipped { .. })),
        ),
    ]);
    metrics
}

/// The embedded-metric line of one request that came to `outcome` at `now` (namespace `namespace`,
/// dimension `Function`), with the outcome's label and HTTP status as plain members for log queries.
pub fn embedded_metrics(outcome: &Outcome, namespace: &str, now: DateTime<Utc>) -> String {
    let mut line = emf::document(
        namespace,
        FUNCTION,
        now.timestamp_millis(),
        &metrics(outcome, now),
    );
    if let Value::Object(members) = &mut line {
        members.insert("Outcome".into(), json!(outcome.label()));
        members.insert("Status".into(), json!(outcome.status()));
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use govsync_core::governance_event::GovernanceEventType;
    use govsync_core::ports::{QueueError, StoreError};
    use govsync_core::webhook::SignatureError;

    use super::*;
    use crate::error::DeliveryError;

    fn line(outcome: &Outcome, now: DateTime<Utc>) -> Value {
        serde_json::from_str(&embedded_metrics(outcome, "govsync", now)).unwrap()
    }

    fn counts(line: &Value) -> Vec<(&'static str, u64)> {
        [
            "EventsProcessed",
            "Duplicates",
            "Quarantined",
            "Failures",
            "Accepted",
            "SkippedUnhandledEventType",
        ]
        .into_iter()
        .map(|name| (name, line[name].as_u64().unwrap_or(u64::MAX)))
        .collect()
    }

    #[test]
    fn an_accepted_delivery_is_one_event_with_its_lag_from_the_change_time() {
        let now = Utc::now();
        let outcome = Outcome::Accepted {
            delivery_id: "msg_1".into(),
            object_id: "1042".into(),
            event_type: GovernanceEventType::Updated,
            occurred_at: now - TimeDelta::milliseconds(2_500),
        };
        let line = line(&outcome, now);
        assert_eq!(line["Function"], "governance-webhook");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(line["_aws"]["Timestamp"], now.timestamp_millis());
        assert_eq!(
            counts(&line),
            [
                ("EventsProcessed", 1),
                ("Duplicates", 0),
                ("Quarantined", 0),
                ("Failures", 0),
                ("Accepted", 1),
                ("SkippedUnhandledEventType", 0)
            ]
        );
        assert_eq!(line["SyncLagMs"], json!([2500.0]));
        assert!(
            line.get("EchoesDropped").is_none(),
            "the webhook cannot tell echoes"
        );
        let units: Vec<(&str, &str)> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
            .collect();
        assert!(units.contains(&("SyncLagMs", "Milliseconds")));
        assert_eq!(line["Outcome"], "accepted");
        assert_eq!(line["Status"], 202);
    }

    #[test]
    fn each_refusal_is_counted_under_its_shared_name_and_measures_no_lag() {
        let now = Utc::now();
        let cases = [
            (
                "a reused id with another body is refused",
                DeliveryError::ReusedDeliveryId {
                    delivery_id: "msg_1".into(),
                },
                [0, 1, 0],
            ),
            (
                "a bad signature is refused",
                DeliveryError::Signature(SignatureError::NoMatchingSignature),
                [0, 1, 0],
            ),
            (
                "an oversized body is refused",
                DeliveryError::TooLarge {
                    size: 300_000,
                    limit: 262_144,
                },
                [0, 1, 0],
            ),
            (
                "a concurrent acceptance fails for the retry",
                DeliveryError::InProgress {
                    delivery_id: "msg_1".into(),
                },
                [0, 0, 1],
            ),
            (
                "a throttled table fails for the retry",
                DeliveryError::Store(StoreError::Throttled {
                    operation: "PutItem",
                    message: "slow down".into(),
                }),
                [0, 0, 1],
            ),
            (
                "a queue that refuses for good is a 500 failure",
                DeliveryError::Queue(QueueError::Send {
                    code: "AccessDenied".into(),
                    message: "no".into(),
                    retryable: false,
                }),
                [0, 0, 1],
            ),
        ];
        for (name, error, [duplicates, quarantined, failures]) in cases {
            let line = line(&Outcome::Refused(error), now);
            assert_eq!(line["EventsProcessed"], 1, "{name}");
            assert_eq!(line["Duplicates"], duplicates, "{name}");
            assert_eq!(line["Quarantined"], quarantined, "{name}");
            assert_eq!(line["Failures"], failures, "{name}");
            assert_eq!(line["Accepted"], 0, "{name}");
            assert!(line.get("SyncLagMs").is_none(), "{name}");
        }
    }

    #[test]
    fn a_repeat_of_an_accepted_delivery_is_one_duplicate_and_nothing_else() {
        let outcome = Outcome::Duplicate {
            delivery_id: "msg_1".into(),
        };
        let line = line(&outcome, Utc::now());
        assert_eq!(
            counts(&line),
            [
                ("EventsProcessed", 1),
                ("Duplicates", 1),
                ("Quarantined", 0),
                ("Failures", 0),
                ("Accepted", 0),
                ("SkippedUnhandledEventType", 0)
            ]
        );
        assert_eq!(line["Outcome"], "duplicate");
        assert_eq!(line["Status"], 200);
    }

    #[test]
    fn a_skip_is_counted_once_under_its_own_metric() {
        let outcome = Outcome::Skipped {
            delivery_id: "msg_1".into(),
            event_type: "object.viewed".into(),
        };
        let line = line(&outcome, Utc::now());
        assert_eq!(line["SkippedUnhandledEventType"], 1);
        assert_eq!(line["Accepted"], 0);
        assert_eq!(line["EventsProcessed"], 1);
        assert_eq!(line["Quarantined"], 0);
        assert_eq!(line["Outcome"], "skipped");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
    }
}
