//! Every sample in events/metrics-relay decodes as the function reads it.

use govsync_core::metrics::{Subject, decode_event};

fn decode(text: &str) -> govsync_core::metrics::MetricsEvent {
    decode_event(&serde_json::from_str(text).unwrap()).unwrap()
}

#[test]
fn every_metrics_sample_decodes() {
    let metric = decode(include_str!(
        "../../../events/metrics-relay/govsync-model-metric-recorded.json"
    ));
    assert_eq!(metric.observations[0].metric.as_str(), "AUC");
    assert_eq!(metric.observations[0].thresholds.lower, Some(0.8));

    let bare = decode(include_str!(
        "../../../events/metrics-relay/govsync-model-metric-without-thresholds.json"
    ));
    assert!(bare.observations[0].thresholds.is_empty());

    let monitor = decode(include_str!(
        "../../../events/metrics-relay/model-monitor-processing-job-completed-with-violations.json"
    ));
    assert!(matches!(monitor.subject, Subject::Schedule { .. }));
    assert_eq!(monitor.observations[0].value, 3.0);

    let clarify = decode(include_str!(
        "../../../events/metrics-relay/govsync-clarify-bias-drift-violations.json"
    ));
    assert_eq!(clarify.observations.len(), 3);
    assert!(clarify.observations[..2].iter().all(|o| o.violated));

    let quality = decode(include_str!(
        "../../../events/metrics-relay/govsync-model-monitor-model-quality-violations.json"
    ));
    let values: Vec<(String, f64, Option<f64>)> = quality
        .observations
        .iter()
        .map(|o| (o.metric.to_string(), o.value, o.thresholds.lower))
        .collect();
    assert_eq!(
        values,
        vec![
            ("weightedF2".to_owned(), 0.39, Some(0.71)),
            ("accuracy".to_owned(), 0.62, Some(0.8)),
            ("ModelQuality violations".to_owned(), 2.0, None),
        ]
    );
}
