//! Whatever arrives, the decoders answer with a result, never a panic.

use std::fs;
use std::path::Path;

use govsync_core::decommission_request::DecommissionRequest;
use govsync_core::governance_event::GovernanceEvent;
use govsync_core::webhook::{self, WebhookHeaders, WebhookSecret};
use govsync_core::{metrics, registry_event};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("aws.sagemaker"),
            Just("SageMaker Model Package State Change"),
            Just("AWS API Call via CloudTrail"),
            Just("sagemaker.amazonaws.com"),
            Just("UpdateModelPackage"),
            Just("123456789012"),
            Just("us-east-1"),
            Just("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"),
            Just("2026-01-02T09:18:24Z"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        let key = prop_oneof![
            Just("source".to_string()),
            Just("detail-type".to_string()),
            Just("detail".to_string()),
            Just("account".to_string()),
            Just("region".to_string()),
            Just("time".to_string()),
            Just("body".to_string()),
            Just("Records".to_string()),
            Just("ModelPackageArn".to_string()),
            Just("ModelLifeCycle".to_string()),
            Just("CustomerMetadataProperties".to_string()),
            Just("eventName".to_string()),
            Just("eventSource".to_string()),
            Just("requestParameters".to_string()),
            Just("errorCode".to_string()),
            "[a-zA-Z]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn samples() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/registry-events");
    let mut values = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        values.push(serde_json::from_str(&text).unwrap());
    }
    values.sort_by_key(|v: &Value| v.to_string());
    values
}

/// Every sample event of every function (events/*/*.json), as the corpus that mutations start from.
fn all_samples() -> &'static [Value] {
    static SAMPLES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(read_all_samples)
}

fn read_all_samples() -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    let mut values = Vec::new();
    for dir in dirs {
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for path in files {
            let text = fs::read_to_string(&path).unwrap();
            // A sample that is deliberately not JSON is still fed to the decoders as text.
            values.push(serde_json::from_str(&text).unwrap_or(Value::String(text)));
        }
    }
    values
}

/// Feeds one document to every decoder govsync has for queue bodies, envelopes and webhook bodies,
/// including the string bodies of any SQS records (and API Gateway events) inside it.
fn decode_everywhere(value: &Value) {
    let text = value.to_string();
    let _ = registry_event::decode_input(text.as_bytes());
    let _ = metrics::decode_event(value);
    let _ = GovernanceEvent::from_json(&text);
    let _ = DecommissionRequest::from_json(&text);
    let _ = GovernanceEvent::from_webhook("msg_1", 1_764_212_400, text.as_bytes(), "/object/id");
    let mut bodies = Vec::new();
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        bodies.extend(records.iter().filter_map(|r| r.get("body")).cloned());
    }
    bodies.extend(value.get("body").cloned());
    for body in bodies {
        let body = body
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string());
        let _ = GovernanceEvent::from_json(&body);
        let _ = DecommissionRequest::from_json(&body);
        let _ =
            GovernanceEvent::from_webhook("msg_1", 1_764_212_400, body.as_bytes(), "/object/id");
        if let Ok(inner) = serde_json::from_str::<Value>(&body) {
            let _ = metrics::decode_event(&inner);
            let _ = registry_event::decode_envelope_value(&inner);
        }
    }
}

/// Header-ish text: printable ASCII, the separators the parser splits on, and anything else.
fn header_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        "[ -~]{0,64}",
        "(v1,[A-Za-z0-9+/=]{0,48} ?){0,4}",
        "[0-9]{0,22}",
        "-?[0-9]{1,20}",
        ".{0,40}",
    ])
}

/// Every (pointer, value) place in a document, so a mutation can hit any of them.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
            out.push(child.clone());
            pointers(v, child, out);
        }),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| {
            let child = format!("{at}/{i}");
            out.push(child.clone());
            pointers(v, child, out);
        }),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = registry_event::decode_input(&bytes);
        let _ = registry_event::decode_envelope(&bytes);
        let _ = registry_event::decode_sqs_record(&bytes);
        let _ = registry_event::decode_sqs_event(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        let _ = registry_event::decode_envelope_value(&value);
        let _ = registry_event::decode_sqs_record_value(&value);
        let _ = registry_event::decode_sqs_event_value(&value);
        let _ = registry_event::decode_input(value.to_string().as_bytes());
    }

    #[test]
    fn real_events_with_one_field_replaced_never_panic(
        sample_index in 0usize..64,
        place in any::<prop::sample::Index>(),
        replacement in arbitrary_json(),
    ) {
        let all = samples();
        let mut event = all[sample_index % all.len()].clone();
        let mut places = Vec::new();
        pointers(&event, String::new(), &mut places);
        let pointer = place.get(&places).clone();
        if let Some(slot) = event.pointer_mut(&pointer) {
            *slot = replacement;
        }
        let _ = registry_event::decode_input(event.to_string().as_bytes());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics_any_decoder(text in ".{0,256}", bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = GovernanceEvent::from_json(&text);
        let _ = DecommissionRequest::from_json(&text);
        let _ = GovernanceEvent::from_webhook(&text, i64::MIN, &bytes, &text);
        let _ = GovernanceEvent::from_webhook("msg_1", i64::MAX, text.as_bytes(), "/object/id");
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            decode_everywhere(&value);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_any_decoder(value in arbitrary_json()) {
        decode_everywhere(&value);
    }

    #[test]
    fn every_functions_sample_with_one_field_replaced_never_panics(
        sample_index in 0usize..256,
        place in any::<prop::sample::Index>(),
        replacement in arbitrary_json(),
    ) {
        let all = all_samples();
        let mut event = all[sample_index % all.len()].clone();
        let mut places = Vec::new();
        pointers(&event, String::new(), &mut places);
        if !places.is_empty() {
            let pointer = place.get(&places).clone();
            if let Some(slot) = event.pointer_mut(&pointer) {
                *slot = replacement;
            }
        }
        decode_everywhere(&event);
    }

    #[test]
    fn webhook_secrets_and_signature_headers_never_panic(
        secret_text in ".{0,64}",
        id in header_text(),
        timestamp in header_text(),
        signature in header_text(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
        tolerance in any::<i64>(),
    ) {
        let _ = WebhookSecret::parse(&secret_text);
        let _ = WebhookSecret::parse(&format!("whsec_{secret_text}"));
        let secrets: Vec<WebhookSecret> = [secret_text.as_str(), "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA=="]
            .iter()
            .filter_map(|s| WebhookSecret::parse(s).ok())
            .collect();
        let headers = WebhookHeaders {
            id: id.as_deref(),
            timestamp: timestamp.as_deref(),
            signature: signature.as_deref(),
        };
        let _ = webhook::verify(&secrets, headers, &body, now, tolerance);
        let _ = webhook::verify(&[], headers, &body, now, tolerance);
    }

    #[test]
    fn only_the_exact_signed_delivery_verifies(
        id in "[!-~]{1,64}",
        timestamp in 0i64..=4_102_444_800,
        body in prop::collection::vec(any::<u8>(), 0..256),
        flip in any::<prop::sample::Index>(),
    ) {
        let secret = WebhookSecret::parse("whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA==").unwrap();
        let signature = webhook::sign(&secret, &id, timestamp, &body);
        let stamp = timestamp.to_string();
        let headers = WebhookHeaders { id: Some(&id), timestamp: Some(&stamp), signature: Some(&signature) };
        let verified = webhook::verify(std::slice::from_ref(&secret), headers, &body, timestamp, 300);
        prop_assert_eq!(verified.map(|d| d.timestamp), Ok(timestamp));
        // Any one changed byte of the body is refused, never accepted.
        let mut tampered = body.clone();
        tampered.push(0);
        let index = flip.index(tampered.len());
        tampered[index] ^= 0x01;
        prop_assert!(webhook::verify(&[secret], headers, &tampered, timestamp, 300).is_err());
    }
}
