//! Outbound webhooks: signed with core's Standard-Webhooks `sign`, verified here with `verify`,
//! delivered in order, retried, logged.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use govsync_core::webhook::{self, WebhookHeaders, WebhookSecret};
use serde_json::{Value, json};
use support::{Emulator, start, start_with, test_config};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Statuses to answer, in order; 200 once exhausted.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver
        .received
        .lock()
        .expect("lock")
        .push((headers, body));
    let code = receiver
        .answers
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(200);
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

async fn start_receiver(answers: &[u16]) -> (String, Receiver) {
    let receiver = Receiver::default();
    receiver
        .answers
        .lock()
        .expect("lock")
        .extend(answers.iter().copied());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, receiver)
}

async fn wait_for_deliveries(emulator: &Emulator, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let log = emulator.admin_get("/webhooks").await;
        let deliveries = log["deliveries"].as_array().cloned().unwrap_or_default();
        if deliveries.len() >= count {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {count} deliveries logged");
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<webhook::VerifiedDelivery, webhook::SignatureError> {
    let secrets = [WebhookSecret::parse(secret).expect("secret")];
    webhook::verify(
        &secrets,
        WebhookHeaders {
            id: header(headers, webhook::HEADER_ID),
            timestamp: header(headers, webhook::HEADER_TIMESTAMP),
            signature: header(headers, webhook::HEADER_SIGNATURE),
        },
        body,
        Utc::now().timestamp(),
        300,
    )
}

#[tokio::test]
async fn every_change_is_delivered_signed_and_in_order() {
    let (url, receiver) = start_receiver(&[]).await;
    let config = govsync_governance_emulator::EmulatorConfig {
        webhook_url: Some(url),
        webhook_secret: Some(WebhookSecret::parse(SECRET).expect("secret")),
        ..test_config()
    };
    let emulator = start_with(config).await;
    let token = emulator.token().await;
    let (entity, use_case, group) = emulator.seed_chain(&token).await;
    emulator
        .put(
            &token,
            &format!("/contents/{use_case}"),
            json!({"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Approved for Development"}}]}),
        )
        .await;
    let second = emulator
        .create(&token, "ModelUseCase", "second", Some(&entity), json!([]))
        .await;
    emulator
        .post(
            &token,
            &format!("/contents/{group}/associations"),
            json!({"associations": [{"id": second, "type": "parent"}]}),
        )
        .await;
    assert_eq!(
        emulator.delete(&token, &format!("/contents/{group}")).await,
        204
    );

    let deliveries = wait_for_deliveries(&emulator, 7).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["delivered"] == true && d["status"] == 200 && d["signed"] == true)
    );
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 7);
    let mut ids = std::collections::HashSet::new();
    let mut events = Vec::new();
    for (headers, body) in &received {
        let verified = verify(SECRET, headers, body).expect("signature verifies with core");
        assert!(verified.id.starts_with("msg_"));
        assert!(ids.insert(verified.id), "webhook ids are unique");
        let event: Value = serde_json::from_slice(body).expect("json body");
        events.push((
            event["type"].as_str().unwrap_or_default().to_owned(),
            event["object"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            event,
        ));
    }
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(k, id, _)| (k.as_str(), id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("object.created", entity.as_str()),
            ("object.created", use_case.as_str()),
            ("object.created", group.as_str()),
            ("object.updated", use_case.as_str()),
            ("object.created", second.as_str()),
            ("object.updated", group.as_str()),
            ("object.deleted", group.as_str()),
        ]
    );
    let update = &events[3].2;
    assert_eq!(
        update["changed_fields"],
        json!(["MRG-AIFacts-ModelUseCase:Status"])
    );
    assert_eq!(update["object"]["type_definition_id"], "ModelUseCase");
    assert_eq!(update["object"]["name"], "Fraud detection");
    assert!(
        update["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(events[5].2["changed_fields"], json!(["associations"]));

    // A receiver holding another secret rejects the same deliveries.
    let (headers, body) = &received[0];
    assert_eq!(
        verify("some-other-secret", headers, body),
        Err(webhook::SignatureError::NoMatchingSignature)
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_the_same_id_and_logged() {
    let (url, receiver) = start_receiver(&[500, 503]).await;
    let emulator = start().await;
    let response = emulator
        .client
        .put(emulator.url("/_emulator/webhook"))
        .json(&json!({"url": url, "secret": "plain-secret"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let token = emulator.token().await;
    let entity = emulator
        .create(&token, "SOXBusEntity", "e", None, json!([]))
        .await;

    let deliveries = wait_for_deliveries(&emulator, 1).await;
    assert_eq!(deliveries[0]["attempts"], 3);
    assert_eq!(deliveries[0]["delivered"], true);
    assert_eq!(deliveries[0]["object_id"], entity.as_str());
    assert_eq!(deliveries[0]["event_type"], "object.created");
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 3);
    let ids: Vec<&str> = received
        .iter()
        .filter_map(|(h, _)| header(h, webhook::HEADER_ID))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "retries keep the id: {ids:?}"
    );
    for (headers, body) in &received {
        assert!(verify("plain-secret", headers, body).is_ok());
    }
}

#[tokio::test]
async fn exhausted_retries_are_logged_with_the_last_status() {
    let (url, _receiver) = start_receiver(&[500, 500, 500, 500]).await;
    let emulator = start().await;
    emulator
        .client
        .put(emulator.url("/_emulator/webhook"))
        .json(&json!({"url": url, "secret": SECRET}))
        .send()
        .await
        .expect("send");
    let token = emulator.token().await;
    emulator
        .create(&token, "SOXBusEntity", "e", None, json!([]))
        .await;
    let deliveries = wait_for_deliveries(&emulator, 1).await;
    assert_eq!(deliveries[0]["delivered"], false);
    assert_eq!(deliveries[0]["status"], 500);
    assert_eq!(deliveries[0]["attempts"], 3);
    assert!(deliveries[0]["error"].is_string());
}

#[tokio::test]
async fn a_null_url_disables_webhooks() {
    let (url, receiver) = start_receiver(&[]).await;
    let emulator = start().await;
    let put = |body: Value| {
        emulator
            .client
            .put(emulator.url("/_emulator/webhook"))
            .json(&body)
            .send()
    };
    assert_eq!(
        put(json!({"url": url, "secret": SECRET}))
            .await
            .expect("send")
            .status(),
        200
    );
    assert_eq!(
        put(json!({"url": null, "secret": null}))
            .await
            .expect("send")
            .status(),
        200
    );
    assert_eq!(
        put(json!({"url": "not a url"}))
            .await
            .expect("send")
            .status(),
        400
    );
    let token = emulator.token().await;
    emulator
        .create(&token, "SOXBusEntity", "e", None, json!([]))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.received.lock().expect("lock").is_empty());
    assert_eq!(
        emulator.admin_get("/webhooks").await["deliveries"],
        json!([])
    );
}
