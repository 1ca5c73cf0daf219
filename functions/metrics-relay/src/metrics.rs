//! One CloudWatch embedded-metric line per invocation (no API calls), in the shared names of
//! [`govsync_core::emf`] plus this function's own counts.
//!
//! An invocation is one metrics event: `EventsProcessed` 1; `Duplicates` 1 when every value it carried
//! was already recorded (idempotency record found: a redelivery); `Quarantined` 1 when it went to the
//! dead-letter queue; `Failures` 1 when it was returned for EventBridge's retry; `SyncLagMs` one value
//! when it recorded anything, from the values' time (the event's `timestamp`) to their recording.
//! Nothing govsync writes comes back here, so the line has no `EchoesDropped`. Own counts, in values:
//! `ValuesRecorded`, `DuplicateValues`, `RedValues`, `ModelStatusesMoved`; and two alarm sources:
//! `ForeignMetricsRefused` 1 when the event was refused for its origin (`foreign_metrics`: the envelope
//! is not the package's registry; `unknown_registry`: the registry is not in the map), and
//! `GovernanceUnauthorized` 1 when governance still refused the credentials after a refresh and a
//! re-read of the API key (`governance_unauthorized`: returned for retry, an operator must act).

use chrono::{DateTime, Utc};
use govsync_core::emf::{self, Metric, SharedCounts};

use crate::{Outcome, RelayError};

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "metrics-relay";

/// The shared counts of one invocation that came to `result` at `now`.
pub fn shared_counts(result: &Result<Outcome, RelayError>, now: DateTime<Utc>) -> SharedCounts {
    let mut counts = SharedCounts {
        events_processed: 1,
        duplicates: Some(0),
        echoes_dropped: None,
        quarantined: Some(0),
        failures: 0,
        sync_lags_ms: Vec::new(),
    };
    match result {
        Ok(Outcome::Recorded {
            recorded,
            duplicates,
            event_time,
            ..
        }) => {
            if *recorded > 0 {
                counts.sync_lags_ms.push(emf::sync_lag_ms(*event_time, now));
            } else if *duplicates > 0 {
                counts.duplicates = Some(1);
            }
        }
        Ok(Outcome::Quarantined(_)) => counts.quarantined = Some(1),
        Err(_) => counts.failures = 1,
    }
    counts
}

/// The metrics of one invocation: the shared names first, then this function's own.
pub fn metrics(result: &Result<Outcome, RelayError>, now: DateTime<Utc>) -> Vec<Metric> {
    let (recorded, duplicates, red, moved) = match result {
        Ok(Outcome::Recorded {
            recorded,
            duplicates,
            red,
            status_moved,
            ..
        }) => (*recorded, *duplicates, *red, usize::from(*status_moved)),
        Ok(Outcome::Quarantined(_)) | Err(_) => (0, 0, 0, 0),
    };
    let refused_origin = matches!(
        result,
        Ok(Outcome::Quarantined("foreign_metrics" | "unknown_registry"))
    );
    let unauthorized =
        matches!(result, Err(RelayError::Governance(error)) if error.is_unauthorized());
    let mut metrics = shared_counts(result, now).metrics();
    metrics.extend([
        Metric::count("ValuesRecorded", recorded),
        Metric::count("DuplicateValues", duplicates),
        Metric::count("RedValues", red),
        Metric::count("ModelStatusesMoved", moved),
        Metric::count("ForeignMetricsRefused", usize::from(refused_origin)),
        Metric::count("GovernanceUnauthorized", usize::from(unauthorized)),
    ]);
    metrics
}

/// The embedded-metric line of one invocation that came to `result` at `now` (namespace `namespace`,
/// dimension `Function`).
pub fn embedded_metrics(
    result: &Result<Outcome, RelayError>,
    namespace: &str,
    now: DateTime<Utc>,
) -> String {
    emf::line(
        namespace,
        FUNCTION,
        now.timestamp_millis(),
        &metrics(result, now),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use govsync_core::ports::GovernanceError;
    use serde_json::{Value, json};

    use super::*;

    fn line(result: &Result<Outcome, RelayError>, now: DateTime<Utc>) -> Value {
        serde_json::from_str(&embedded_metrics(result, "govsync", now)).unwrap()
    }

    #[test]
    fn a_recorded_event_becomes_one_line_with_the_shared_metric_names_and_its_lag() {
        let now = Utc::now();
        let result = Ok(Outcome::Recorded {
            recorded: 2,
            duplicates: 1,
            red: 1,
            status_moved: true,
            event_time: now - TimeDelta::seconds(5),
        });
        let line = line(&result, now);
        assert_eq!(line["Function"], "metrics-relay");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        for (name, value) in [
            ("EventsProcessed", 1),
            ("Duplicates", 0),
            ("Quarantined", 0),
            ("Failures", 0),
            ("ValuesRecorded", 2),
            ("DuplicateValues", 1),
            ("RedValues", 1),
            ("ModelStatusesMoved", 1),
        ] {
            assert_eq!(line[name], value, "{name}");
        }
        assert_eq!(line["SyncLagMs"], json!([5000.0]));
        assert!(line.get("EchoesDropped").is_none());
    }

    #[test]
    fn a_redelivery_a_quarantine_and_a_retry_each_count_under_their_shared_name() {
        let now = Utc::now();
        let cases: [(&str, Result<Outcome, RelayError>, [u64; 3]); 3] = [
            (
                "every value already recorded",
                Ok(Outcome::Recorded {
                    recorded: 0,
                    duplicates: 3,
                    red: 0,
                    status_moved: false,
                    event_time: now,
                }),
                [1, 0, 0],
            ),
            (
                "unknown model",
                Ok(Outcome::Quarantined("unknown_model")),
                [0, 1, 0],
            ),
            (
                "governance unavailable",
                Err(RelayError::Governance(GovernanceError::Status {
                    operation: "query",
                    status: 503,
                    body: String::new(),
                })),
                [0, 0, 1],
            ),
        ];
        for (name, result, [duplicates, quarantined, failures]) in cases {
            let line = line(&result, now);
            assert_eq!(line["EventsProcessed"], 1, "{name}");
            assert_eq!(line["Duplicates"], duplicates, "{name}");
            assert_eq!(line["Quarantined"], quarantined, "{name}");
            assert_eq!(line["Failures"], failures, "{name}");
            assert!(line.get("SyncLagMs").is_none(), "{name}: nothing applied");
        }
    }

    #[test]
    fn refused_origins_and_refused_credentials_each_raise_their_own_count() {
        let now = Utc::now();
        let cases: [(&str, Result<Outcome, RelayError>, [u64; 2]); 4] = [
            (
                "envelope is not the package's registry",
                Ok(Outcome::Quarantined("foreign_metrics")),
                [1, 0],
            ),
            (
                "registry not in the map",
                Ok(Outcome::Quarantined("unknown_registry")),
                [1, 0],
            ),
            (
                "credentials refused after refresh and re-read",
                Err(RelayError::Governance(GovernanceError::Unauthorized {
                    operation: "query",
                    status: 401,
                    body: String::new(),
                })),
                [0, 1],
            ),
            (
                "governance unavailable",
                Err(RelayError::Governance(GovernanceError::Status {
                    operation: "query",
                    status: 503,
                    body: String::new(),
                })),
                [0, 0],
            ),
        ];
        for (name, result, [foreign, unauthorized]) in cases {
            let line = line(&result, now);
            assert_eq!(line["ForeignMetricsRefused"], foreign, "{name}");
            assert_eq!(line["GovernanceUnauthorized"], unauthorized, "{name}");
        }
    }
}
