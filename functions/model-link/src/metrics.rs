//! One CloudWatch embedded-metric line per request in the shared names (`EventsProcessed`,
//! `Quarantined` for a refused link, `Failures` for one that could not be opened just now), plus this
//! function's own: `ModelLinkOpened` and `ModelLinkRefused`; an opened link also gets a line per
//! registry (`Function`, `Registry`), so use can be charted per registry.

use chrono::{DateTime, Utc};
use govsync_core::emf::{self, Metric, SharedCounts};

use crate::handler::Outcome;

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "model-link";
pub const OPENED: &str = "ModelLinkOpened";
pub const REFUSED: &str = "ModelLinkRefused";

pub fn lines(namespace: &str, outcome: &Outcome, now: DateTime<Utc>) -> Vec<String> {
    let refused = matches!(outcome, Outcome::Refused { .. } | Outcome::Unlinked { .. });
    let failed = matches!(outcome, Outcome::Unavailable { .. });
    let mut metrics = SharedCounts {
        events_processed: 1,
        duplicates: None,
        echoes_dropped: None,
        quarantined: Some(usize::from(refused)),
        failures: usize::from(failed),
        sync_lags_ms: Vec::new(),
    }
    .metrics();
    metrics.push(Metric::count(OPENED, usize::from(outcome.opened())));
    metrics.push(Metric::count(REFUSED, usize::from(refused)));
    let timestamp = now.timestamp_millis();
    let mut lines = vec![emf::line(namespace, FUNCTION, timestamp, &metrics)];
    if let (true, Some(registry)) = (outcome.opened(), outcome.registry()) {
        lines.push(emf::line_with_dimensions(
            namespace,
            &[(emf::DIMENSION, FUNCTION), ("Registry", registry)],
            timestamp,
            &[Metric::count(OPENED, 1)],
        ));
    }
    lines
}
