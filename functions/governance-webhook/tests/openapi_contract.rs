//! `openapi.yaml` against the handler's real answers: every input class is sent through the handler,
//! each answer's status must be documented and its body must satisfy the documented schema for that
//! status (required properties, types, consts, enums); and every documented status must be produced
//! by some input class, so the document describes exactly what the handler does.

mod support;

use std::collections::BTreeSet;

use govsync_core::ports::{QueueError, StoreError};
use serde_json::{Value, json};
use support::*;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    serde_json::to_value(yaml).unwrap()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// The JSON Schema subset the document uses: $ref, allOf, oneOf, type, required, properties, const, enum.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(doc, part, value, at)?;
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|part| check(doc, part, value, at).is_ok())
            .count();
        if matching != 1 {
            return Err(format!("{at}: {matching} oneOf branches match {value}"));
        }
    }
    match schema.get("type") {
        Some(Value::String(name)) if !type_matches(name, value) => {
            return Err(format!("{at}: {value} is not {name}"));
        }
        Some(Value::Array(names))
            if !names
                .iter()
                .filter_map(Value::as_str)
                .any(|name| type_matches(name, value)) =>
        {
            return Err(format!("{at}: {value} is none of {names:?}"));
        }
        _ => {}
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if value.get(name).is_none() {
                return Err(format!(
                    "{at}: required property {name} is missing in {value}"
                ));
            }
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            if let Some(field) = value.get(name) {
                check(doc, property, field, &format!("{at}.{name}"))?;
            }
        }
    }
    Ok(())
}

/// One request per input class, and the rig state it needs.
async fn answers() -> Vec<(&'static str, Answer)> {
    let mut answers = Vec::new();
    let rig = Rig::new();
    let (id, valid) = fresh(UPDATED_BODY);
    answers.push(("valid", rig.send(valid).await));
    answers.push((
        "repeat with the same body",
        rig.send(signed(CURRENT, &id, now() + 1, UPDATED_BODY))
            .await,
    ));
    answers.push((
        "accepted id with another body",
        rig.send(signed(
            CURRENT,
            &id,
            now() + 2,
            &UPDATED_BODY.replace("1042", "1043"),
        ))
        .await,
    ));
    let mut six = signed_headers(CURRENT, &unique_id(), now(), UPDATED_BODY.as_bytes());
    let valid = six["webhook-signature"].as_str().unwrap().to_owned();
    six["webhook-signature"] = json!([valid.as_str(); 6].join(" "));
    answers.push((
        "six signatures",
        rig.send(decode(request_json(six, UPDATED_BODY, false)))
            .await,
    ));
    let mut long = signed_headers(CURRENT, &unique_id(), now(), UPDATED_BODY.as_bytes());
    long["webhook-signature"] = json!(format!("{valid}{}", "=".repeat(1024)));
    answers.push((
        "signature header over 1 KiB",
        rig.send(decode(request_json(long, UPDATED_BODY, false)))
            .await,
    ));
    answers.push((
        "unhandled event type",
        rig.send(fresh(r#"{"type":"object.viewed"}"#).1).await,
    ));
    answers.push((
        "wrong secret",
        rig.send(signed(STRANGER, &unique_id(), now(), UPDATED_BODY))
            .await,
    ));
    answers.push((
        "stale",
        rig.send(signed(CURRENT, &unique_id(), now() - 400, UPDATED_BODY))
            .await,
    ));
    answers.push((
        "future",
        rig.send(signed(CURRENT, &unique_id(), now() + 400, UPDATED_BODY))
            .await,
    ));
    answers.push((
        "missing headers",
        rig.send(decode(request_json(json!({}), UPDATED_BODY, false)))
            .await,
    ));
    answers.push(("malformed json", rig.send(fresh("{nope").1).await));
    answers.push((
        "no object id",
        rig.send(fresh(r#"{"type":"object.updated"}"#).1).await,
    ));
    let mut bad_base64 = request_json(signed_headers(CURRENT, &unique_id(), now(), b""), "", true);
    bad_base64["body"] = json!("%%%");
    answers.push(("undecodable base64", rig.send(decode(bad_base64)).await));
    let big = "x".repeat(300 * 1024);
    answers.push(("oversize", rig.send(fresh(&big).1).await));

    rig.queue.fail_next(
        "send",
        QueueError::Transport {
            message: "reset".into(),
        },
    );
    answers.push(("queue down", rig.send(fresh(UPDATED_BODY).1).await));
    rig.queue.fail_next(
        "send",
        QueueError::Invalid {
            message: "bad group".into(),
        },
    );
    answers.push(("queue refuses", rig.send(fresh(UPDATED_BODY).1).await));
    rig.store.fail_next(
        "begin",
        StoreError::Throttled {
            operation: "PutItem",
            message: "slow down".into(),
        },
    );
    answers.push(("table throttled", rig.send(fresh(UPDATED_BODY).1).await));

    let (id, request) = fresh(UPDATED_BODY);
    use govsync_core::ports::IdempotencyStore as _;
    rig.store
        .begin(
            &govsync_core::IdempotencyKey::for_webhook_delivery(&id),
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::TimeDelta::seconds(30),
        )
        .await
        .unwrap();
    answers.push(("concurrent", rig.send(request).await));
    answers
}

#[tokio::test]
async fn every_answer_is_documented_and_matches_its_schema() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let operation = &doc["paths"]["/webhooks/governance"]["post"];
    let responses = operation["responses"].as_object().unwrap();
    let documented: BTreeSet<String> = responses.keys().cloned().collect();

    let mut produced = BTreeSet::new();
    for (class, answer) in answers().await {
        let status = answer.status.to_string();
        let response = responses
            .get(&status)
            .unwrap_or_else(|| panic!("{class}: status {status} is not documented"));
        let schema = &response["content"]["application/json"]["schema"];
        assert!(!schema.is_null(), "{status} documents a JSON body");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json"),
            "{class}"
        );
        if let Err(problem) = check(&doc, schema, &answer.body, &format!("{class} ({status})")) {
            panic!("{problem}");
        }
        produced.insert(status);
    }
    assert_eq!(
        produced, documented,
        "every documented status is produced by some input and nothing else is"
    );
}

#[test]
fn the_documented_signature_headers_are_the_ones_the_handler_reads() {
    let doc = document();
    let parameters = doc["paths"]["/webhooks/governance"]["post"]["parameters"]
        .as_array()
        .unwrap();
    let headers: BTreeSet<&str> = parameters
        .iter()
        .filter(|p| p["in"] == "header" && p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        headers,
        BTreeSet::from([
            govsync_core::webhook::HEADER_ID,
            govsync_core::webhook::HEADER_TIMESTAMP,
            govsync_core::webhook::HEADER_SIGNATURE,
        ])
    );
    let signature = parameters
        .iter()
        .find(|p| p["name"] == govsync_core::webhook::HEADER_SIGNATURE)
        .unwrap();
    assert_eq!(
        signature["schema"]["maxLength"],
        govsync_core::webhook::MAX_SIGNATURE_HEADER_BYTES
    );
    let described = signature["description"].as_str().unwrap();
    assert!(described.contains("One to five"), "{described}");
    assert_eq!(govsync_core::webhook::MAX_SIGNATURES, 5);
    assert!(
        doc["paths"]["/webhooks/governance"]["post"]["requestBody"]["description"]
            .as_str()
            .unwrap()
            .contains(&govsync_governance_webhook::MAX_BODY_BYTES.to_string())
    );
}

#[test]
fn every_error_code_of_a_status_is_documented_under_that_status() {
    // A schema mismatch of a code would already fail above for the produced ones; this pins the
    // full list, including codes no single input above produces.
    let doc = document();
    let responses = &doc["paths"]["/webhooks/governance"]["post"]["responses"];
    let codes = |status: &str| -> BTreeSet<String> {
        let schema = resolve(
            &doc,
            &responses[status]["content"]["application/json"]["schema"],
        );
        let error = &schema["properties"]["error"];
        match (error.get("enum"), error.get("const")) {
            (Some(Value::Array(values)), _) => values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            (_, Some(Value::String(value))) => BTreeSet::from([value.clone()]),
            _ => panic!("{status} names its codes"),
        }
    };
    assert_eq!(
        codes("401"),
        [
            "missing_signature_header",
            "malformed_timestamp",
            "malformed_signature",
            "stale_timestamp",
            "future_timestamp",
            "invalid_signature",
        ]
        .map(str::to_owned)
        .into()
    );
    assert_eq!(
        codes("400"),
        [
            "malformed_body",
            "malformed_json",
            "missing_event_type",
            "missing_object_id",
            "invalid_object_id",
            "invalid_delivery_id",
            "too_many_signatures",
            "signature_header_too_long",
        ]
        .map(str::to_owned)
        .into()
    );
    assert_eq!(
        codes("409"),
        ["delivery_in_progress", "delivery_id_reused"]
            .map(str::to_owned)
            .into()
    );
}
