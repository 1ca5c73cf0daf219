use serde_json::json;

use super::*;

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3";

fn t(lower: Option<f64>, upper: Option<f64>) -> Thresholds {
    Thresholds { lower, upper }
}

#[test]
fn breach_status_follows_the_thresholds() {
    use BreachStatus::*;
    let cases = [
        // value, thresholds, violated, expected
        (0.9, t(None, None), false, None),
        (0.9, t(None, None), true, Some(Red)),
        (0.9, t(Some(0.8), None), false, Some(Green)),
        (0.79, t(Some(0.8), None), false, Some(Red)),
        (0.8, t(Some(0.8), None), false, Some(Amber)),
        (0.82, t(Some(0.8), None), false, Some(Amber)),
        (0.85, t(Some(0.8), None), false, Some(Green)),
        (0.5, t(Some(0.0), Some(1.0)), false, Some(Green)),
        (0.97, t(Some(0.0), Some(1.0)), false, Some(Amber)),
        (0.02, t(Some(0.0), Some(1.0)), false, Some(Amber)),
        (1.01, t(Some(0.0), Some(1.0)), false, Some(Red)),
        (-0.1, t(Some(0.0), Some(1.0)), false, Some(Red)),
        (0.0, t(None, Some(0.0)), false, Some(Green)),
        (3.0, t(None, Some(0.0)), false, Some(Red)),
        (-5.0, t(None, Some(0.0)), false, Some(Green)),
        (0.5, t(Some(0.8), None), true, Some(Red)),
    ];
    for (value, thresholds, violated, expected) in cases {
        assert_eq!(
            breach_status(value, &thresholds, violated, DEFAULT_AMBER_MARGIN),
            expected,
            "{value} {thresholds:?} {violated}"
        );
    }
}

fn govsync_event(detail: serde_json::Value) -> serde_json::Value {
    json!({"version": "0", "id": "1", "source": "govsync.metrics", "detail-type": "Model Metric Recorded",
           "account": "123456789012", "region": "us-east-1", "time": "2026-01-02T09:00:05Z",
           "resources": [], "detail": detail})
}

#[test]
fn govsync_metric_events_decode_with_and_without_thresholds() {
    let with = decode_event(&govsync_event(json!({
        "model_package_arn": ARN, "metric": "auc", "value": 0.91,
        "timestamp": "2026-01-02T09:00:00Z", "thresholds": {"lower": 0.8, "upper": null},
        "source": "nightly-evaluation"
    })))
    .unwrap();
    assert_eq!(
        with.subject,
        Subject::Package(ModelPackageArn::parse(ARN).unwrap())
    );
    assert_eq!(with.timestamp.to_rfc3339(), "2026-01-02T09:00:00+00:00");
    assert_eq!(with.source, "nightly-evaluation");
    assert_eq!(with.observations.len(), 1);
    assert_eq!(with.observations[0].thresholds, t(Some(0.8), None));

    let without = decode_event(&govsync_event(json!({
        "model_package_arn": ARN, "metric": "latency p99", "value": 120,
        "timestamp": 1767344400000_i64
    })))
    .unwrap();
    assert!(without.observations[0].thresholds.is_empty());
    assert_eq!(without.observations[0].value, 120.0);
    assert_eq!(without.source, "govsync.metrics");
}

#[test]
fn malformed_metric_events_are_refused_with_a_code() {
    let cases = [
        (
            json!({"metric": "auc", "value": 1, "timestamp": "2026-01-02T09:00:00Z"}),
            "missing_field",
        ),
        (
            json!({"model_package_arn": "arn:x", "metric": "auc", "value": 1}),
            "bad_arn",
        ),
        (
            json!({"model_package_arn": ARN, "metric": "", "value": 1}),
            "bad_metric_name",
        ),
        (
            json!({"model_package_arn": ARN, "metric": "auc", "value": "high"}),
            "bad_metric_value",
        ),
        (
            json!({"model_package_arn": ARN, "metric": "auc", "value": 1, "thresholds": {"lower": 2, "upper": 1}}),
            "bad_thresholds",
        ),
        (json!({"model_package_arn": ARN}), "no_metric"),
    ];
    for (detail, code) in cases {
        let error = decode_event(&govsync_event(detail.clone())).unwrap_err();
        assert_eq!(error.code(), code, "{detail}");
    }
    let mut other = govsync_event(json!({}));
    other["source"] = json!("aws.s3");
    assert_eq!(
        decode_event(&other).unwrap_err().code(),
        "unsupported_event"
    );
}

#[test]
fn model_monitor_and_clarify_violations_become_values() {
    let report = json!({"violations": [
        {"metric_name": "weightedF2", "constraint_check_type": "LessThanThreshold",
         "description": "Metric weightedF2 with 0.39 was LessThanThreshold '0.71'"},
        {"facet": "Age", "facet_value": "40", "metric_name": "CI", "constraint_check_type": "bias_drift_check",
         "description": "Value 0.34 does not meet the constraint requirement"},
        {"feature_name": "income", "constraint_check_type": "baseline_drift_check",
         "description": "Baseline drift distance: 0.57 exceeds threshold: 0.1"},
        {"feature_name": "zip", "constraint_check_type": "missing_column_check",
         "description": "There are missing columns in current dataset."}
    ]});
    let values = observations_from_violations("ModelQuality", &report).unwrap();
    let summary: Vec<(String, f64, Thresholds, bool)> = values
        .iter()
        .map(|o| (o.metric.to_string(), o.value, o.thresholds, o.violated))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("weightedF2".to_owned(), 0.39, t(Some(0.71), None), true),
            ("CI (Age=40)".to_owned(), 0.34, t(None, None), true),
            (
                "baseline_drift_check income".to_owned(),
                0.57,
                t(None, Some(0.1)),
                true
            ),
            (
                "ModelQuality violations".to_owned(),
                4.0,
                t(None, Some(0.0)),
                false
            ),
        ]
    );
    assert_eq!(
        observations_from_violations("DataQuality", &json!({"violations": []}))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn processing_job_state_changes_carry_the_violation_count() {
    let event = |exit: Option<&str>| {
        let mut detail = json!({
            "ProcessingJobName": "model-monitoring-202601020900-abc",
            "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/model-monitoring-202601020900-abc",
            "ProcessingJobStatus": "Completed",
            "ProcessingEndTime": 1767344700000_i64,
            "MonitoringScheduleArn": "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/credit-risk-quality"
        });
        if let Some(exit) = exit {
            detail["ExitMessage"] = json!(exit);
        }
        json!({"version": "0", "id": "2", "source": "aws.sagemaker",
               "detail-type": "SageMaker Processing Job State Change", "account": "123456789012",
               "region": "us-east-1", "time": "2026-01-02T09:05:10Z", "resources": [], "detail": detail})
    };
    let cases = [
        (
            Some("CompletedWithViolations: Job completed successfully with 3 violations."),
            3.0,
        ),
        (
            Some("CompletedWithViolations: Job completed successfully with 1 violation."),
            1.0,
        ),
        (
            Some("Completed: Job completed successfully with no violations."),
            0.0,
        ),
        (None, 0.0),
    ];
    for (exit, expected) in cases {
        let decoded = decode_event(&event(exit)).unwrap();
        assert_eq!(
            decoded.subject,
            Subject::Schedule {
                arn: "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/credit-risk-quality".into(),
                account: "123456789012".into(),
                region: "us-east-1".into(),
            }
        );
        assert_eq!(
            decoded.observations[0].metric.as_str(),
            "credit-risk-quality violations"
        );
        assert_eq!(decoded.observations[0].value, expected, "{exit:?}");
        assert_eq!(decoded.timestamp.timestamp_millis(), 1_767_344_700_000);
    }
    let mut plain = event(None);
    plain["detail"]
        .as_object_mut()
        .unwrap()
        .remove("MonitoringScheduleArn");
    assert_eq!(decode_event(&plain).unwrap_err().code(), "not_monitoring");
}

#[test]
fn value_keys_identify_model_metric_and_timestamp() {
    let arn = ModelPackageArn::parse(ARN).unwrap();
    let auc = MetricName::parse("auc").unwrap();
    let time = DateTime::parse_from_rfc3339("2026-01-02T09:00:00Z")
        .unwrap()
        .to_utc();
    let key = value_key(&arn, &auc, time);
    assert_eq!(key, value_key(&arn, &auc, time));
    assert_ne!(
        key,
        value_key(&arn, &MetricName::parse("f1").unwrap(), time)
    );
    assert_ne!(
        key,
        value_key(&arn, &auc, time + chrono::Duration::milliseconds(1))
    );
    assert!(key.as_str().len() <= crate::IdempotencyKey::MAX_LEN);
    assert!(
        key.as_str().starts_with("metric-value:"),
        "the stored key format is kept"
    );
    assert_eq!(metric_external_id(&arn, &auc), format!("{ARN}#metric/auc"));
    assert!(is_value_at(
        Some(&FieldValue::Text("2026-01-02T10:00:00+01:00".into())),
        time
    ));
    assert!(!is_value_at(
        Some(&FieldValue::Text("2026-01-02T09:00:01Z".into())),
        time
    ));
    assert!(!is_value_at(None, time));
}
