use super::*;

#[test]
fn a_dlq_name_implies_its_source_queue() {
    assert_eq!(
        source_name_of("registry-events-dlq.fifo").as_deref(),
        Some("registry-events.fifo")
    );
    assert_eq!(source_name_of("lane-7-dlq").as_deref(), Some("lane-7"));
    assert_eq!(source_name_of("govsync-async-failures"), None);
    assert_eq!(source_name_of("-dlq.fifo"), None);
    assert_eq!(
        queue_name("http://127.0.0.1:4566/123456789012/decommission-dlq.fifo"),
        "decommission-dlq.fifo"
    );
    assert_eq!(queue_name("decommission-dlq.fifo"), "decommission-dlq.fifo");
}

#[test]
fn replay_deduplication_ids_are_fifo_safe_and_stable() {
    let id = replay_deduplication_id("0b6c7a2e-1f3d-4c55-9e7e-2a5b8f3c1d00");
    assert_eq!(id, "replay-0b6c7a2e-1f3d-4c55-9e7e-2a5b8f3c1d00");
    assert_eq!(
        id,
        replay_deduplication_id("0b6c7a2e-1f3d-4c55-9e7e-2a5b8f3c1d00")
    );
    let odd = replay_deduplication_id(&format!("a b\n{}", "x".repeat(300)));
    assert!(odd.len() <= 128 && odd.chars().all(|c| c.is_ascii_graphic()));
}

fn message(reason: Option<&str>, code: Option<&str>) -> QuarantinedMessage {
    QuarantinedMessage {
        message_id: "m-1".into(),
        message_group_id: Some("registry-events".into()),
        sent_at: DateTime::from_timestamp(1_700_000_000, 0),
        receive_count: Some(1),
        reason: reason.map(str::to_owned),
        error_code: code.map(str::to_owned),
        source_message_id: None,
        body: "{\"detail\":{}}".into(),
    }
}

#[test]
fn the_list_shows_each_message_with_its_quarantine_reason() {
    let listing = QueueListing {
        queue: "registry-events-dlq.fifo".into(),
        url: "http://x/registry-events-dlq.fifo".into(),
        approximate_messages: Some(2),
        messages: vec![
            message(
                Some("account 999 is not in the registry map"),
                Some("unknown_registry"),
            ),
            message(None, None),
        ],
    };
    let text = render_listings(&[listing]);
    assert!(text.starts_with("registry-events-dlq.fifo: 2 messages listed (SQS counts 2)"));
    assert!(text.contains("unknown_registry: account 999 is not in the registry map"));
    assert!(text.contains("moved by the redrive policy"));
    assert!(text.contains("2023-11-14 22:13:20Z"));
}

#[test]
fn a_replay_exits_0_only_when_every_message_moved() {
    let entry = |status| ReplayedMessage {
        message_id: "m".into(),
        message_group_id: None,
        reason: None,
        error_code: None,
        status,
        new_message_id: None,
        error: None,
    };
    let mut report = ReplayReport {
        queue: "q-dlq.fifo".into(),
        to: "q.fifo".into(),
        dry_run: false,
        messages: vec![entry(ReplayStatus::Moved), entry(ReplayStatus::Moved)],
    };
    assert_eq!(report.exit(), Exit::Ok);
    assert_eq!(render_replay(&report), "q-dlq.fifo → q.fifo: 2 moved\n");
    report.messages.push(entry(ReplayStatus::Failed));
    report.messages.push(entry(ReplayStatus::HeldForOrder));
    assert_eq!(report.exit(), Exit::Error);
    assert_eq!(
        render_replay(&report),
        "q-dlq.fifo → q.fifo: 1 failed, 1 held for order, 2 moved\n"
    );
}

/// Issue 18, 2: an event EventBridge could not deliver to a rule's target carries EventBridge's own
/// attributes, which the list shows as its reason.
#[test]
fn an_undelivered_event_shows_eventbridge_s_error_as_its_reason() {
    use aws_sdk_sqs::types::{Message, MessageAttributeValue};
    let text = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .unwrap()
    };
    let message = Message::builder()
        .message_id("m-1")
        .body("{}")
        .message_attributes("ERROR_CODE", text("SQSPermissionDenied"))
        .message_attributes("ERROR_MESSAGE", text("Access denied to the target queue"))
        .message_attributes(
            "RULE_ARN",
            text("arn:aws:events:us-east-1:111111111111:rule/govsync-decommission"),
        )
        .build();
    let listed = QuarantinedMessage::from_sqs(&message);
    assert_eq!(
        listed.reason_line(),
        "SQSPermissionDenied: Access denied to the target queue (rule arn:aws:events:us-east-1:111111111111:rule/govsync-decommission)"
    );
}
