//! Whatever arrives, the decoders answer with a result, never a panic.

use std::fs;
use std::path::Path;

use govsync_core::registry_event;
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
