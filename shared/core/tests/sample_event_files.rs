//! Every sample event in the repository's `events/` and in the shared fixtures decodes.

use std::fs;
use std::path::{Path, PathBuf};

use govsync_core::registry_event::{self, DecodedInput, EVENT_SOURCE};
use serde_json::Value;

fn json_files_under(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read sample folder {}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            files.extend(json_files_under(&path));
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn manifest_relative(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Whether a file is a registry event in any input form (other functions' events live beside them).
fn is_registry_shaped(value: &Value) -> bool {
    // aws.sagemaker also sends other events (e.g. metrics-relay's processing job state changes).
    let envelope_is_registry = |v: &Value| {
        v.get("source").and_then(Value::as_str) == Some(EVENT_SOURCE)
            && v.get("detail-type")
                .and_then(Value::as_str)
                .is_some_and(|detail_type| {
                    [
                        registry_event::STATE_CHANGE_DETAIL_TYPE,
                        registry_event::CLOUDTRAIL_DETAIL_TYPE,
                    ]
                    .contains(&detail_type)
                })
    };
    let body_is_registry = |record: &Value| {
        record
            .get("body")
            .and_then(Value::as_str)
            .and_then(|body| serde_json::from_str::<Value>(body).ok())
            .is_some_and(|body| envelope_is_registry(&body))
    };
    envelope_is_registry(value)
        || body_is_registry(value)
        || value
            .get("Records")
            .and_then(Value::as_array)
            .is_some_and(|records| records.iter().any(body_is_registry))
}

fn assert_decodes(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let decoded = registry_event::decode_input(&bytes)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    let results = decoded.into_results();
    assert!(!results.is_empty(), "{} holds no event", path.display());
    for result in &results {
        if let Err(error) = result {
            panic!("{} does not decode: {error}", path.display());
        }
    }
    results.len()
}

#[test]
fn every_registry_event_sample_in_the_repository_decodes() {
    let events = manifest_relative("../../events");
    let mut decoded = 0;
    for path in json_files_under(&events) {
        let in_registry_folder = path
            .parent()
            .is_some_and(|dir| dir.ends_with("registry-events"));
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        if in_registry_folder || is_registry_shaped(&value) {
            decoded += assert_decodes(&path);
        }
    }
    // One state change, seven CloudTrail calls, one failed call, one SQS record at least.
    assert!(
        decoded >= 10,
        "only {decoded} registry events found under {}",
        events.display()
    );
}

/// The design's sample events, kept in the repository (a clone has nothing beside it).
#[test]
fn every_design_sample_decodes() {
    let fixtures = manifest_relative("tests/fixtures/design-samples");
    assert!(
        fixtures.is_dir(),
        "design samples folder {} is missing",
        fixtures.display()
    );
    let files = json_files_under(&fixtures);
    assert!(!files.is_empty(), "no fixtures in {}", fixtures.display());
    for path in files {
        assert_decodes(&path);
    }
}

#[test]
fn the_sqs_record_sample_carries_its_message_and_group_ids() {
    let bytes = fs::read(manifest_relative(
        "../../events/registry-events/sqs-record-model-package-state-change.json",
    ))
    .unwrap_or_else(|e| panic!("SQS record sample missing: {e}"));
    let DecodedInput::SqsRecord(message) = registry_event::decode_input(&bytes).unwrap() else {
        panic!("the SQS record sample is not recognised as an SQS record");
    };
    assert_eq!(
        message.message_id.as_deref(),
        Some("059f36b4-87a3-44ab-83d2-661975830a7d")
    );
    assert_eq!(
        message.message_group_id.as_deref(),
        Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-4711/2")
    );
    assert!(message.event.is_ok());
}
