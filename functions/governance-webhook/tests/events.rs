//! Every sample in `events/governance-webhook/` decodes as an API Gateway v2 request and gets the answer
//! its README promises. Signed samples carry a fixed, long-stale timestamp, so each is re-signed here
//! with the current time (or the offset it stands for) before it is sent; the stored signature of the
//! valid sample is also checked at its own timestamp, so the files are really signed with the
//! documented secret.

mod support;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use chrono::DateTime;
use govsync_core::governance_event::GovernanceEvent;
use govsync_governance_webhook::Outcome;
use serde_json::{Value, json};
use support::*;

/// How a sample is prepared before sending.
enum Prepare {
    /// Re-signed with the test secret at now + offset seconds.
    Resign(i64),
    /// Only the timestamp set to now (the signature stays what the file holds).
    TimestampNow,
}

const SAMPLES: &[(&str, Prepare, i64, &str)] = &[
    (
        "valid-object-updated.json",
        Prepare::Resign(0),
        202,
        "accepted",
    ),
    (
        "valid-object-created-base64.json",
        Prepare::Resign(0),
        202,
        "accepted",
    ),
    (
        "unhandled-event-type.json",
        Prepare::Resign(0),
        202,
        "skipped",
    ),
    (
        "bad-signature.json",
        Prepare::TimestampNow,
        401,
        "invalid_signature",
    ),
    (
        "missing-signature.json",
        Prepare::TimestampNow,
        401,
        "missing_signature_header",
    ),
    (
        "stale-timestamp.json",
        Prepare::Resign(-600),
        401,
        "stale_timestamp",
    ),
    (
        "malformed-json.json",
        Prepare::Resign(0),
        400,
        "malformed_json",
    ),
    (
        "missing-object-id.json",
        Prepare::Resign(0),
        400,
        "missing_object_id",
    ),
];

#[test]
fn every_sample_file_is_listed_and_decodes_as_an_api_gateway_v2_request() {
    let dir = sample_path("");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = SAMPLES
        .iter()
        .map(|(name, ..)| (*name).to_owned())
        .collect();
    listed.sort();
    assert_eq!(files, listed, "every sample has a row in SAMPLES");
    for name in files {
        let request: ApiGatewayV2httpRequest = serde_json::from_value(sample(&name)).unwrap();
        assert_eq!(
            request.raw_path.as_deref(),
            Some("/webhooks/governance"),
            "{name}"
        );
        assert_eq!(
            request.request_context.http.method.as_str(),
            "POST",
            "{name}"
        );
        assert!(request.body.is_some(), "{name}");
    }
}

#[tokio::test]
async fn each_sample_gets_the_answer_its_readme_promises() {
    let rig = Rig::new();
    for (name, prepare, status, expected) in SAMPLES {
        let request = with_fresh_id(sample(name));
        let request = match prepare {
            Prepare::Resign(offset) => resign(request, CURRENT, now() + offset),
            Prepare::TimestampNow => {
                let mut request = request;
                request["headers"]["webhook-timestamp"] = json!(now().to_string());
                request
            }
        };
        let answer = rig.send(decode(request)).await;
        assert_eq!(answer.status, *status, "{name}: {}", answer.body);
        let got = answer.body["status"]
            .as_str()
            .or(answer.body["error"].as_str())
            .unwrap_or_default();
        assert_eq!(got, *expected, "{name}: {}", answer.body);
    }
    // The two valid samples, in their groups.
    let groups: Vec<String> = rig
        .queue
        .messages()
        .iter()
        .map(|m| m.message_group_id.clone())
        .collect();
    assert_eq!(groups, vec!["1042".to_owned(), "1017".to_owned()]);
    let created = GovernanceEvent::from_json(&rig.queue.messages()[1].body).unwrap();
    assert_eq!(created.object_type.as_deref(), Some("ModelUseCase"));
}

#[tokio::test]
async fn the_stored_signatures_are_real_at_the_samples_own_timestamp() {
    for name in [
        "valid-object-updated.json",
        "valid-object-created-base64.json",
    ] {
        let rig = Rig::new();
        let value: Value = sample(name);
        let signed_at: i64 = value["headers"]["webhook-timestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let request = decode(value);
        let at = DateTime::from_timestamp(signed_at, 0).unwrap();
        let outcome = rig
            .handler
            .handle(&request, at, at + chrono::TimeDelta::seconds(10))
            .await;
        assert!(
            matches!(outcome, Outcome::Accepted { .. }),
            "{name}: {outcome:?}"
        );
        // And as sent now, the same file is stale.
        let answer = rig.send(decode(sample(name))).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "stale_timestamp"),
            "{name}"
        );
    }
}
