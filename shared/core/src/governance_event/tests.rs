use super::*;

const SAMPLE: &str = r#"{"schema":"govsync.governance-event/v1","source":"webhook","delivery_id":"msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19","event_type":"object.updated","object_id":"1042","object_type":"Model","occurred_at":"2024-05-01T12:00:00.000Z","changed_fields":["MRG-Model:Status"]}"#;

fn sample() -> GovernanceEvent {
    GovernanceEvent {
        source: GovernanceEventSource::Webhook,
        delivery_id: DeliveryId::parse("msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19").unwrap(),
        event_type: GovernanceEventType::Updated,
        object_id: GovernanceId::parse("1042").unwrap(),
        object_type: Some("Model".to_owned()),
        occurred_at: DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .to_utc(),
        changed_fields: vec!["MRG-Model:Status".to_owned()],
    }
}

#[test]
fn encodes_the_documented_shape_exactly() {
    assert_eq!(sample().to_json(), SAMPLE);
}

#[test]
fn round_trips_through_json() {
    assert_eq!(
        GovernanceEvent::from_json(&sample().to_json()).unwrap(),
        sample()
    );
    let poller = GovernanceEvent {
        source: GovernanceEventSource::Poller,
        delivery_id: DeliveryId::parse("poll-1042-1714564800000").unwrap(),
        event_type: GovernanceEventType::Created,
        object_type: None,
        changed_fields: vec![],
        ..sample()
    };
    assert_eq!(
        GovernanceEvent::from_json(&poller.to_json()).unwrap(),
        poller
    );
}

fn with(field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    v[field] = value;
    v.to_string()
}

fn without(field: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    v.as_object_mut().unwrap().remove(field);
    v.to_string()
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Json,
    Schema,
    Field(&'static str),
}

fn outcome(body: &str) -> Outcome {
    match GovernanceEvent::from_json(body) {
        Ok(_) => Outcome::Ok,
        Err(GovernanceEventError::Json(_)) => Outcome::Json,
        Err(GovernanceEventError::Schema { .. }) => Outcome::Schema,
        Err(GovernanceEventError::Field { field, .. }) => Outcome::Field(field),
    }
}

#[test]
fn decode_table() {
    use serde_json::json;
    let cases: Vec<(&str, String, Outcome)> = vec![
        ("the documented sample", SAMPLE.to_owned(), Outcome::Ok),
        ("not json", "{".to_owned(), Outcome::Json),
        ("not an object", "[1]".to_owned(), Outcome::Schema),
        ("no schema", without("schema"), Outcome::Schema),
        (
            "another schema",
            with("schema", json!("govsync.decommission-request/v1")),
            Outcome::Schema,
        ),
        (
            "unknown fields are ignored",
            with("extra", json!({"a": 1})),
            Outcome::Ok,
        ),
        (
            "poller source",
            with("source", json!("poller")),
            Outcome::Ok,
        ),
        (
            "unknown source",
            with("source", json!("email")),
            Outcome::Json,
        ),
        ("no source", without("source"), Outcome::Json),
        (
            "created",
            with("event_type", json!("object.created")),
            Outcome::Ok,
        ),
        (
            "deleted",
            with("event_type", json!("object.deleted")),
            Outcome::Ok,
        ),
        (
            "unhandled event type",
            with("event_type", json!("object.viewed")),
            Outcome::Json,
        ),
        ("no object id", without("object_id"), Outcome::Json),
        (
            "numeric object id",
            with("object_id", json!(1042)),
            Outcome::Json,
        ),
        (
            "empty object id",
            with("object_id", json!("")),
            Outcome::Field("object_id"),
        ),
        (
            "object id with forbidden characters",
            with("object_id", json!("10<42>")),
            Outcome::Field("object_id"),
        ),
        ("no delivery id", without("delivery_id"), Outcome::Json),
        (
            "empty delivery id",
            with("delivery_id", json!("")),
            Outcome::Field("delivery_id"),
        ),
        (
            "delivery id with a space",
            with("delivery_id", json!("msg 1")),
            Outcome::Field("delivery_id"),
        ),
        (
            "delivery id too long",
            with("delivery_id", json!("x".repeat(129))),
            Outcome::Field("delivery_id"),
        ),
        (
            "delivery id of 128",
            with("delivery_id", json!("x".repeat(128))),
            Outcome::Ok,
        ),
        (
            "occurred_at with an offset",
            with("occurred_at", json!("2024-05-01T14:00:00+02:00")),
            Outcome::Ok,
        ),
        (
            "occurred_at not a time",
            with("occurred_at", json!("yesterday")),
            Outcome::Field("occurred_at"),
        ),
        ("no occurred_at", without("occurred_at"), Outcome::Json),
        (
            "null object type",
            with("object_type", json!(null)),
            Outcome::Ok,
        ),
        ("absent object type", without("object_type"), Outcome::Ok),
        (
            "empty object type",
            with("object_type", json!("")),
            Outcome::Field("object_type"),
        ),
        (
            "absent changed fields",
            without("changed_fields"),
            Outcome::Ok,
        ),
        (
            "too many changed fields",
            with("changed_fields", json!(vec!["f"; 101])),
            Outcome::Field("changed_fields"),
        ),
        (
            "changed field not a string",
            with("changed_fields", json!([1])),
            Outcome::Json,
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(outcome(&body), expected, "case: {name}");
    }
}

#[test]
fn decode_errors_are_permanent() {
    let err = GovernanceEvent::from_json("{").unwrap_err();
    assert!(!err.is_retryable());
}

#[test]
fn group_is_the_object_id_and_dedup_is_the_delivery_id() {
    let event = sample();
    assert_eq!(event.message_group_id(), "1042");
    assert_eq!(
        event.deduplication_id(),
        "msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19"
    );
    let spaced = GovernanceEvent {
        object_id: GovernanceId::parse("use case 7").unwrap(),
        ..sample()
    };
    let group = spaced.message_group_id();
    assert_eq!(group.len(), 64);
    assert!(group.bytes().all(|b| b.is_ascii_hexdigit()));
}

// ---------------------------------------------------------------------------------------------
// from_webhook

const SIGNED_AT: i64 = 1_714_564_805;
const EMULATOR_BODY: &str = r#"{"type":"object.updated","timestamp":"2024-05-01T12:00:00.000Z","object":{"id":"1042","type_definition_id":"Model","name":"churn v3"},"changed_fields":["MRG-Model:Status"]}"#;

fn webhook(body: &str) -> Result<WebhookNotification, WebhookBodyError> {
    GovernanceEvent::from_webhook(
        "msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19",
        SIGNED_AT,
        body.as_bytes(),
        DEFAULT_OBJECT_ID_POINTER,
    )
}

#[test]
fn emulator_notification_becomes_the_documented_event() {
    assert_eq!(
        webhook(EMULATOR_BODY),
        Ok(WebhookNotification::Change(sample()))
    );
}

#[test]
fn webhook_table() {
    let missing = WebhookBodyError::MissingObjectId {
        pointer: DEFAULT_OBJECT_ID_POINTER.to_owned(),
    };
    let cases: Vec<(&str, &str, Result<&str, WebhookBodyError>)> = vec![
        (
            "created",
            r#"{"type":"object.created","object":{"id":"7"}}"#,
            Ok("object.created"),
        ),
        (
            "deleted",
            r#"{"type":"object.deleted","object":{"id":"7"},"changed_fields":[]}"#,
            Ok("object.deleted"),
        ),
        (
            "numeric object id",
            r#"{"type":"object.updated","object":{"id":7}}"#,
            Ok("object.updated"),
        ),
        (
            "unhandled type needs no object",
            r#"{"type":"object.viewed"}"#,
            Ok("skip:object.viewed"),
        ),
        (
            "case matters in the type",
            r#"{"type":"Object.Updated","object":{"id":"7"}}"#,
            Ok("skip:Object.Updated"),
        ),
        (
            "not json",
            r#"{"type":"#,
            Err(WebhookBodyError::NotJsonObject),
        ),
        (
            "json array",
            r#"[{"type":"object.updated"}]"#,
            Err(WebhookBodyError::NotJsonObject),
        ),
        (
            "json string",
            r#""object.updated""#,
            Err(WebhookBodyError::NotJsonObject),
        ),
        (
            "no type",
            r#"{"object":{"id":"7"}}"#,
            Err(WebhookBodyError::MissingEventType),
        ),
        (
            "type not a string",
            r#"{"type":5,"object":{"id":"7"}}"#,
            Err(WebhookBodyError::MissingEventType),
        ),
        (
            "blank type",
            r#"{"type":"  ","object":{"id":"7"}}"#,
            Err(WebhookBodyError::MissingEventType),
        ),
        (
            "no object",
            r#"{"type":"object.updated"}"#,
            Err(missing.clone()),
        ),
        (
            "no object id",
            r#"{"type":"object.updated","object":{"name":"x"}}"#,
            Err(missing.clone()),
        ),
        (
            "null object id",
            r#"{"type":"object.updated","object":{"id":null}}"#,
            Err(missing.clone()),
        ),
        (
            "blank object id",
            r#"{"type":"object.updated","object":{"id":" "}}"#,
            Err(missing.clone()),
        ),
        (
            "fractional object id",
            r#"{"type":"object.updated","object":{"id":7.5}}"#,
            Err(missing.clone()),
        ),
        (
            "object id with forbidden characters",
            r#"{"type":"object.updated","object":{"id":"<script>"}}"#,
            Err(WebhookBodyError::InvalidObjectId {
                pointer: DEFAULT_OBJECT_ID_POINTER.to_owned(),
            }),
        ),
    ];
    for (name, body, expected) in cases {
        let got = webhook(body).map(|n| match n {
            WebhookNotification::Change(e) => e.event_type.as_str().to_owned(),
            WebhookNotification::Unhandled { event_type } => format!("skip:{event_type}"),
        });
        assert_eq!(got, expected.map(str::to_owned), "case: {name}");
    }
}

#[test]
fn occurred_at_falls_back_to_the_signed_timestamp() {
    for body in [
        r#"{"type":"object.updated","object":{"id":"7"}}"#,
        r#"{"type":"object.updated","timestamp":"not a time","object":{"id":"7"}}"#,
    ] {
        let Ok(WebhookNotification::Change(event)) = webhook(body) else {
            panic!("{body} must be a change");
        };
        assert_eq!(event.occurred_at.timestamp(), SIGNED_AT, "{body}");
        assert_eq!(event.object_type, None);
        assert!(event.changed_fields.is_empty());
    }
}

#[test]
fn configured_object_id_pointer_is_used() {
    let body = br#"{"type":"object.updated","resource":{"resourceId":"88"}}"#;
    let got = GovernanceEvent::from_webhook("d-1", SIGNED_AT, body, "/resource/resourceId");
    let Ok(WebhookNotification::Change(event)) = got else {
        panic!("must be a change: {got:?}");
    };
    assert_eq!(event.object_id.as_str(), "88");
}

#[test]
fn unusable_delivery_id_is_refused() {
    let got =
        GovernanceEvent::from_webhook("msg 1", SIGNED_AT, EMULATOR_BODY.as_bytes(), "/object/id");
    assert_eq!(got, Err(WebhookBodyError::InvalidDeliveryId));
}

#[test]
fn unhandled_type_is_cut_and_stripped_for_logs() {
    let long = format!(r#"{{"type":"x\n{}"}}"#, "y".repeat(100));
    let Ok(WebhookNotification::Unhandled { event_type }) = webhook(&long) else {
        panic!("must be unhandled");
    };
    assert_eq!(event_type.chars().count(), 64);
    assert!(!event_type.contains('\n'));
}

#[test]
fn hints_are_bounded() {
    let fields: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
    let body = serde_json::json!({
        "type": "object.updated",
        "object": {"id": "7", "type_definition_id": "T".repeat(300)},
        "changed_fields": fields,
    })
    .to_string();
    let Ok(WebhookNotification::Change(event)) = webhook(&body) else {
        panic!("must be a change");
    };
    assert_eq!(
        event.changed_fields.len(),
        GovernanceEvent::MAX_CHANGED_FIELDS
    );
    assert_eq!(
        event.object_type.map(|t| t.chars().count()),
        Some(GovernanceEvent::MAX_OBJECT_TYPE_CHARS)
    );
    // And what the webhook builds always decodes.
    let Ok(WebhookNotification::Change(event)) = webhook(&body) else {
        panic!("must be a change");
    };
    assert_eq!(GovernanceEvent::from_json(&event.to_json()).unwrap(), event);
}

#[test]
fn outgoing_message_carries_body_group_and_dedup_id() {
    let message = sample().to_outgoing_message();
    assert_eq!(message.body, SAMPLE);
    assert_eq!(message.message_group_id, "1042");
    assert_eq!(
        message.deduplication_id,
        "msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19"
    );
}
