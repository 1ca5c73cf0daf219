//! The webhook handler on in-memory fakes: signatures, limits, bodies, replay, and what lands on the
//! queue.

mod support;

use std::sync::Arc;

use chrono::Utc;
use govsync_adapters::fakes::{FakeIdempotencyStore, FakeMessageQueue};
use govsync_core::IdempotencyKey;
use govsync_core::governance_event::{GovernanceEvent, GovernanceEventSource, GovernanceEventType};
use govsync_core::ports::{IdempotencyStore, QueueError, StoreError};
use govsync_governance_webhook::{MAX_BODY_BYTES, Outcome, metrics};
use serde_json::json;
use support::*;

#[tokio::test]
async fn valid_delivery_is_enqueued_in_its_object_group_and_answered_202() {
    let rig = Rig::new();
    let (id, request) = fresh(UPDATED_BODY);
    let answer = rig.send(request).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(
        answer.body,
        json!({"status": "accepted", "delivery_id": id})
    );
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));

    let messages = rig.queue.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message_group_id, "1042");
    assert_eq!(messages[0].deduplication_id, id);
    let event = GovernanceEvent::from_json(&messages[0].body).unwrap();
    assert_eq!(event.source, GovernanceEventSource::Webhook);
    assert_eq!(event.delivery_id.as_str(), id);
    assert_eq!(event.event_type, GovernanceEventType::Updated);
    assert_eq!(event.object_id.as_str(), "1042");
    assert_eq!(event.object_type.as_deref(), Some("Model"));
    assert_eq!(event.changed_fields, vec!["MRG-Model:Status".to_owned()]);
    assert_eq!(
        event.occurred_at.to_rfc3339(),
        "2025-11-27T02:59:59.512+00:00"
    );
    assert!(
        rig.store
            .is_completed(IdempotencyKey::for_webhook_delivery(&id).as_str())
    );
}

#[tokio::test]
async fn the_previous_secret_still_verifies_during_a_rotation() {
    let rig = Rig::new();
    let id = unique_id();
    let answer = rig.send(signed(PREVIOUS, &id, now(), UPDATED_BODY)).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn the_previous_secret_is_refused_once_rotated_out() {
    let rig = Rig::with_secrets(&[CURRENT]);
    let answer = rig
        .send(signed(PREVIOUS, &unique_id(), now(), UPDATED_BODY))
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
}

#[tokio::test]
async fn a_signature_by_an_unknown_secret_is_refused_401() {
    let rig = Rig::new();
    let answer = rig
        .send(signed(STRANGER, &unique_id(), now(), UPDATED_BODY))
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    assert_eq!(
        answer.body["message"],
        "no signature matches any configured secret"
    );
    assert!(rig.queue.messages().is_empty());
    assert!(
        rig.store.is_empty(),
        "nothing unauthenticated reaches the table"
    );
}

#[tokio::test]
async fn timestamps_more_than_five_minutes_away_either_way_are_refused_401() {
    let rig = Rig::new();
    let cases = [
        (-301, 401, "stale_timestamp"),
        (301, 401, "future_timestamp"),
        (-3600, 401, "stale_timestamp"),
        (-290, 202, ""),
        (290, 202, ""),
    ];
    for (offset, status, code) in cases {
        let answer = rig
            .send(signed(CURRENT, &unique_id(), now() + offset, UPDATED_BODY))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "offset {offset}"
        );
    }
    assert_eq!(rig.queue.messages().len(), 2);
}

#[tokio::test]
async fn a_body_tampered_by_one_byte_is_refused_401() {
    let rig = Rig::new();
    let id = unique_id();
    let ts = now();
    let mut headers = signed_headers(CURRENT, &id, ts, UPDATED_BODY.as_bytes());
    let tampered = UPDATED_BODY.replace("\"1042\"", "\"1043\"");
    assert_eq!(tampered.len(), UPDATED_BODY.len());
    let answer = rig
        .send(decode(request_json(headers.clone(), &tampered, false)))
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    // The id and the timestamp are signed too.
    headers["webhook-id"] = json!(unique_id());
    let answer = rig
        .send(decode(request_json(headers.clone(), UPDATED_BODY, false)))
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    headers["webhook-id"] = json!(id);
    headers["webhook-timestamp"] = json!((ts - 1).to_string());
    let answer = rig
        .send(decode(request_json(headers, UPDATED_BODY, false)))
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    assert!(rig.queue.messages().is_empty());
}

#[tokio::test]
async fn each_missing_or_malformed_signature_header_is_refused_401_naming_it() {
    let rig = Rig::new();
    for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut headers = signed_headers(CURRENT, &unique_id(), now(), UPDATED_BODY.as_bytes());
        headers.as_object_mut().unwrap().remove(header);
        let answer = rig
            .send(decode(request_json(headers, UPDATED_BODY, false)))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "missing_signature_header"),
            "{header}"
        );
        assert_eq!(
            answer.body["message"],
            format!("missing header `{header}`"),
            "{header}"
        );
    }
    let malformed = [
        ("webhook-timestamp", "yesterday", "malformed_timestamp"),
        ("webhook-signature", "sha256=abc", "malformed_signature"),
        ("webhook-signature", "v1,", "malformed_signature"),
    ];
    for (header, value, code) in malformed {
        let mut headers = signed_headers(CURRENT, &unique_id(), now(), UPDATED_BODY.as_bytes());
        headers[header] = json!(value);
        let answer = rig
            .send(decode(request_json(headers, UPDATED_BODY, false)))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, code),
            "{header}={value}"
        );
    }
    assert!(rig.queue.messages().is_empty());
}

#[tokio::test]
async fn header_names_are_matched_case_insensitively() {
    let rig = Rig::new();
    let id = unique_id();
    let ts = now();
    let headers = json!({
        "Content-Type": "application/json",
        "Webhook-Id": id,
        "WEBHOOK-TIMESTAMP": ts.to_string(),
        "Webhook-Signature": govsync_core::webhook::sign(&secret(CURRENT), &id, ts, UPDATED_BODY.as_bytes()),
    });
    let answer = rig
        .send(decode(request_json(headers, UPDATED_BODY, false)))
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_before_verifying() {
    let rig = Rig::new();
    let id = unique_id();
    let headers = signed_headers(CURRENT, &id, now(), UPDATED_BODY.as_bytes());
    let answer = rig
        .send(decode(request_json(headers, UPDATED_BODY, true)))
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(rig.queue.messages()[0].message_group_id, "1042");

    let mut request = request_json(
        signed_headers(CURRENT, &unique_id(), now(), b"x"),
        "x",
        true,
    );
    request["body"] = json!("not base64 at all!");
    let answer = rig.send(decode(request)).await;
    assert_eq!((answer.status, answer.code()), (400, "malformed_body"));
}

fn body_of_size(size: usize) -> String {
    let head = r#"{"type":"object.updated","object":{"id":"1042"},"padding":""#;
    let tail = "\"}";
    assert!(size > head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(size - head.len() - tail.len()))
}

#[tokio::test]
async fn a_body_over_256_kib_is_refused_413_before_anything_else() {
    let rig = Rig::new();
    let exactly = body_of_size(MAX_BODY_BYTES);
    assert_eq!(exactly.len(), 262_144);
    let answer = rig
        .send(signed(CURRENT, &unique_id(), now(), &exactly))
        .await;
    assert_eq!(answer.status, 202, "exactly 256 KiB is accepted");

    let over = body_of_size(MAX_BODY_BYTES + 1);
    for base64 in [false, true] {
        let headers = signed_headers(CURRENT, &unique_id(), now(), over.as_bytes());
        let answer = rig.send(decode(request_json(headers, &over, base64))).await;
        assert_eq!(
            (answer.status, answer.code()),
            (413, "payload_too_large"),
            "base64 {base64}"
        );
        assert_eq!(
            answer.body["message"],
            "the body is larger than the limit of 262144 bytes"
        );
    }
    // Even unsigned: size is checked first.
    let answer = rig
        .send(decode(request_json(json!({}), &over, false)))
        .await;
    assert_eq!(answer.status, 413);
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn unusable_bodies_are_refused_400_naming_the_problem() {
    let rig = Rig::new();
    let cases = [
        (
            r#"{"type":"object.updated","object":{"id":"1042""#,
            "malformed_json",
            "the body is not a JSON object",
        ),
        ("", "malformed_json", "the body is not a JSON object"),
        (
            r#"["object.updated"]"#,
            "malformed_json",
            "the body is not a JSON object",
        ),
        (
            r#"{"object":{"id":"1042"}}"#,
            "missing_event_type",
            "the body has no event type (a string at `/type`)",
        ),
        (
            r#"{"type":"object.updated","object":{}}"#,
            "missing_object_id",
            "the body has no object id (a string or integer at `/object/id`)",
        ),
        (
            r#"{"type":"object.deleted"}"#,
            "missing_object_id",
            "the body has no object id (a string or integer at `/object/id`)",
        ),
        (
            r#"{"type":"object.updated","object":{"id":"<b>"}}"#,
            "invalid_object_id",
            "the object id at `/object/id` is not a valid governance id",
        ),
    ];
    for (body, code, message) in cases {
        let answer = rig.send(signed(CURRENT, &unique_id(), now(), body)).await;
        assert_eq!((answer.status, answer.code()), (400, code), "{body}");
        assert_eq!(answer.body["message"], message, "{body}");
    }
    let answer = rig
        .send(signed(CURRENT, "msg with spaces", now(), UPDATED_BODY))
        .await;
    assert_eq!((answer.status, answer.code()), (400, "invalid_delivery_id"));
    assert!(rig.queue.messages().is_empty());
    assert!(rig.store.is_empty());
}

#[tokio::test]
async fn an_unhandled_event_type_is_answered_202_counted_and_not_enqueued() {
    let rig = Rig::new();
    let (id, request) = fresh(r#"{"type":"object.viewed","object":{"id":"1042"}}"#);
    let answer = rig.send(request).await;
    assert_eq!(answer.status, 202);
    assert_eq!(
        answer.body,
        json!({"status": "skipped", "reason": "unhandled_event_type", "event_type": "object.viewed", "delivery_id": id})
    );
    assert!(rig.queue.messages().is_empty());
    assert!(rig.store.is_empty());

    // The count: one embedded-metric line with SkippedUnhandledEventType = 1.
    let (_, request) = fresh(r#"{"type":"ping"}"#);
    let outcome = rig
        .handler
        .handle(
            &request,
            Utc::now(),
            Utc::now() + chrono::TimeDelta::seconds(10),
        )
        .await;
    assert!(matches!(&outcome, Outcome::Skipped { event_type, .. } if event_type == "ping"));
    let line: serde_json::Value =
        serde_json::from_str(&metrics::embedded_metrics(&outcome, "govsync", Utc::now())).unwrap();
    assert_eq!(line["SkippedUnhandledEventType"], 1);
    assert_eq!(line["Accepted"], 0);
}

#[tokio::test]
async fn a_retry_of_an_accepted_delivery_is_acknowledged_200_duplicate_and_enqueues_nothing() {
    let rig = Rig::new();
    let id = unique_id();
    let mut answers = Vec::new();
    for attempt in 0..3 {
        // The sender did not get our 202 (lost): it re-signs with a new timestamp, same id and body.
        let answer = rig
            .send(signed(CURRENT, &id, now() + attempt, UPDATED_BODY))
            .await;
        answers.push((answer.status, answer.body));
    }
    assert_eq!(
        answers,
        vec![
            (202, json!({"status": "accepted", "delivery_id": id})),
            (200, json!({"status": "duplicate", "delivery_id": id})),
            (200, json!({"status": "duplicate", "delivery_id": id})),
        ]
    );
    assert_eq!(rig.queue.calls(), vec!["send"], "one SendMessage in all");
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn the_accepted_record_keeps_the_sha256_of_the_body() {
    let rig = Rig::new();
    let (id, request) = fresh(UPDATED_BODY);
    assert_eq!(rig.send(request).await.status, 202);
    let key = IdempotencyKey::for_webhook_delivery(&id);
    let record = rig
        .store
        .begin(
            &key,
            Utc::now(),
            Utc::now() + chrono::TimeDelta::seconds(10),
        )
        .await
        .unwrap();
    let govsync_core::ports::IdempotencyBegin::AlreadyCompleted(record) = record else {
        panic!("the delivery is recorded as completed: {record:?}");
    };
    assert_eq!(
        record["body_sha256"],
        govsync_core::webhook::body_sha256(UPDATED_BODY.as_bytes())
    );
}

#[tokio::test]
async fn an_accepted_id_reused_with_another_body_is_refused_409_delivery_id_reused() {
    let rig = Rig::new();
    let id = unique_id();
    assert_eq!(
        rig.send(signed(CURRENT, &id, now(), UPDATED_BODY))
            .await
            .status,
        202
    );
    let other = UPDATED_BODY.replace("\"1042\"", "\"1043\"");
    let answer = rig.send(signed(CURRENT, &id, now() + 1, &other)).await;
    assert_eq!((answer.status, answer.code()), (409, "delivery_id_reused"));
    assert_eq!(
        answer.body["message"],
        "this webhook-id was already accepted with a different body; a new delivery needs a new webhook-id"
    );
    assert_eq!(
        rig.queue.messages().len(),
        1,
        "the second body is not enqueued"
    );
    assert_eq!(rig.queue.messages()[0].message_group_id, "1042");

    // The original body under that id is still a duplicate, not a conflict.
    let answer = rig
        .send(signed(CURRENT, &id, now() + 2, UPDATED_BODY))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn a_record_without_a_body_digest_is_acknowledged_as_a_duplicate() {
    // Records written before bodies were kept (they live an hour) cannot be compared.
    let rig = Rig::new();
    let id = unique_id();
    let key = IdempotencyKey::for_webhook_delivery(&id);
    let now_at = Utc::now();
    rig.store
        .begin(&key, now_at, now_at + chrono::TimeDelta::seconds(10))
        .await
        .unwrap();
    rig.store
        .complete(&key, &json!({"object_id": "1042"}), now_at)
        .await
        .unwrap();
    let answer = rig.send(signed(CURRENT, &id, now(), UPDATED_BODY)).await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (200, Some("duplicate"))
    );
    assert!(rig.queue.messages().is_empty());
}

#[tokio::test]
async fn more_than_five_signatures_or_an_over_long_header_are_refused_400_before_the_table() {
    let rig = Rig::new();
    let foreign = |n: u8| format!("v1,{}", base64_of(&[n; 32]));
    let cases = [
        (
            // The valid signature is sixth: a sender cannot buy more comparisons with one good tag.
            format!(
                "{} {}",
                (1..=5).map(foreign).collect::<Vec<_>>().join(" "),
                "{valid}"
            ),
            "too_many_signatures",
            "`webhook-signature` carries 6 signatures; the limit is 5",
        ),
        (
            format!("{{valid}} {}", "v2,".repeat(400)),
            "signature_header_too_long",
            "`webhook-signature` is {len} bytes; the limit is 1024",
        ),
    ];
    for (template, code, message) in cases {
        let id = unique_id();
        let ts = now();
        let mut headers = signed_headers(CURRENT, &id, ts, UPDATED_BODY.as_bytes());
        let valid = headers["webhook-signature"].as_str().unwrap().to_owned();
        let header = template.replace("{valid}", &valid);
        let message = message.replace("{len}", &header.len().to_string());
        headers["webhook-signature"] = json!(header);
        let answer = rig
            .send(decode(request_json(headers, UPDATED_BODY, false)))
            .await;
        assert_eq!((answer.status, answer.code()), (400, code));
        assert_eq!(answer.body["message"], message);
        assert!(rig.store.is_empty(), "{code}: nothing reaches the table");
    }
    // Five, one of them valid, is accepted.
    let id = unique_id();
    let ts = now();
    let mut headers = signed_headers(CURRENT, &id, ts, UPDATED_BODY.as_bytes());
    let valid = headers["webhook-signature"].as_str().unwrap().to_owned();
    headers["webhook-signature"] = json!(format!(
        "{} {valid}",
        (1..=4).map(foreign).collect::<Vec<_>>().join(" ")
    ));
    let answer = rig
        .send(decode(request_json(headers, UPDATED_BODY, false)))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_failed_enqueue_answers_503_releases_the_claim_and_the_retry_is_accepted() {
    let rig = Rig::new();
    rig.queue.fail_next(
        "send",
        QueueError::Send {
            code: "ServiceUnavailable".into(),
            message:
                "https://sqs.us-east-1.amazonaws.com/123456789012/governance-events.fifo is down"
                    .into(),
            retryable: true,
        },
    );
    let id = unique_id();
    let answer = rig.send(signed(CURRENT, &id, now(), UPDATED_BODY)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "temporarily_unavailable")
    );
    assert!(
        !answer.body.to_string().contains("sqs"),
        "no internals: {}",
        answer.body
    );
    assert!(rig.queue.messages().is_empty());
    assert!(rig.store.is_empty(), "the claim is released");

    let answer = rig
        .send(signed(CURRENT, &id, now() + 5, UPDATED_BODY))
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_permanent_queue_error_answers_500_and_releases_the_claim() {
    let rig = Rig::new();
    rig.queue.fail_next(
        "send",
        QueueError::Send {
            code: "AccessDenied".into(),
            message: "not authorized".into(),
            retryable: false,
        },
    );
    let answer = rig
        .send(signed(CURRENT, &unique_id(), now(), UPDATED_BODY))
        .await;
    assert_eq!((answer.status, answer.code()), (500, "internal_error"));
    assert_eq!(answer.body["message"], "the delivery could not be accepted");
    assert!(rig.store.is_empty());
}

#[tokio::test]
async fn a_table_failure_answers_503_and_enqueues_nothing() {
    let rig = Rig::new();
    rig.store.fail_next(
        "begin",
        StoreError::Throttled {
            operation: "PutItem",
            message: "govsync-idempotency throttled".into(),
        },
    );
    let answer = rig
        .send(signed(CURRENT, &unique_id(), now(), UPDATED_BODY))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "temporarily_unavailable")
    );
    assert!(!answer.body.to_string().contains("govsync-idempotency"));
    assert!(rig.queue.calls().is_empty());
}

#[tokio::test]
async fn a_failure_to_complete_the_record_still_answers_202() {
    let rig = Rig::new();
    rig.store.fail_next(
        "complete",
        StoreError::Transport {
            operation: "PutItem",
            message: "connection reset".into(),
        },
    );
    let answer = rig
        .send(signed(CURRENT, &unique_id(), now(), UPDATED_BODY))
        .await;
    assert_eq!(answer.status, 202);
    assert_eq!(rig.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_delivery_claimed_by_a_concurrent_request_answers_409() {
    let store = Arc::new(FakeIdempotencyStore::new());
    let queue = Arc::new(FakeMessageQueue::new());
    let rig = Rig {
        handler: govsync_governance_webhook::Handler::new(
            govsync_governance_webhook::Settings::new(vec![secret(CURRENT)], "/object/id"),
            store.clone(),
            queue.clone(),
        ),
        store,
        queue,
    };
    let id = unique_id();
    let key = IdempotencyKey::for_webhook_delivery(&id);
    rig.store
        .begin(
            &key,
            Utc::now(),
            Utc::now() + chrono::TimeDelta::seconds(30),
        )
        .await
        .unwrap();
    let answer = rig.send(signed(CURRENT, &id, now(), UPDATED_BODY)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "delivery_in_progress")
    );
    assert!(rig.queue.messages().is_empty());
}

#[tokio::test]
async fn a_configured_object_id_pointer_reads_another_body_shape() {
    let store = Arc::new(FakeIdempotencyStore::new());
    let queue = Arc::new(FakeMessageQueue::new());
    let handler = govsync_governance_webhook::Handler::new(
        govsync_governance_webhook::Settings::new(vec![secret(CURRENT)], "/resource/resourceId"),
        store.clone(),
        queue.clone(),
    );
    let rig = Rig {
        store,
        queue,
        handler,
    };
    let (_, request) = fresh(r#"{"type":"object.updated","resource":{"resourceId":7731}}"#);
    let answer = rig.send(request).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(rig.queue.messages()[0].message_group_id, "7731");
}

#[tokio::test]
async fn a_delivery_its_repeat_and_a_forgery_each_print_one_line_in_the_shared_metric_names() {
    let rig = Rig::new();
    let id = unique_id();
    let at = Utc::now();
    let claim = at + chrono::TimeDelta::seconds(10);
    let delivery = signed(CURRENT, &id, now(), UPDATED_BODY);
    let accepted = rig.handler.handle(&delivery, at, claim).await;
    let replayed = rig
        .handler
        .handle(&signed(CURRENT, &id, now(), UPDATED_BODY), at, claim)
        .await;
    let forged = rig
        .handler
        .handle(
            &signed(STRANGER, &unique_id(), now(), UPDATED_BODY),
            at,
            claim,
        )
        .await;
    let line = |outcome: &Outcome| -> serde_json::Value {
        serde_json::from_str(&metrics::embedded_metrics(outcome, "govsync", at)).unwrap()
    };
    // The notification's own timestamp is the change's time.
    let changed = chrono::DateTime::parse_from_rfc3339("2025-11-27T02:59:59.512Z").unwrap();
    let lag = (at - changed.to_utc()).num_milliseconds() as f64;
    for (outcome, duplicates, quarantined, lags) in [
        (&accepted, 0, 0, json!([lag])),
        (&replayed, 1, 0, serde_json::Value::Null),
        (&forged, 0, 1, serde_json::Value::Null),
    ] {
        let line = line(outcome);
        let label = outcome.label();
        assert_eq!(line["Function"], "governance-webhook", "{label}");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(line["EventsProcessed"], 1, "{label}");
        assert_eq!(line["Duplicates"], duplicates, "{label}");
        assert_eq!(line["Quarantined"], quarantined, "{label}");
        assert_eq!(line["Failures"], 0, "{label}");
        assert_eq!(line["SyncLagMs"], lags, "{label}");
    }
    assert_eq!(rig.queue.messages().len(), 1);
}
