//! Test support: the handler on in-memory fakes, signed API Gateway v2 requests, and the samples of
//! `events/governance-webhook/`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use govsync_adapters::fakes::{FakeIdempotencyStore, FakeMessageQueue};
use govsync_adapters::secrets::SecretError;
use govsync_core::governance_event::DEFAULT_OBJECT_ID_POINTER;
use govsync_core::webhook::{self, WebhookSecret};
use govsync_governance_webhook::signing_secrets::{SecretSourceError, SigningSecretSource};
use govsync_governance_webhook::{Handler, Settings, handle_with};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

/// The local stack's signing secrets (`local/wiring.json`); the samples are signed with `CURRENT`.
pub const CURRENT: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA==";
pub const PREVIOUS: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtcHJldmlvdXM=";
/// A secret govsync is not configured with.
pub const STRANGER: &str = "not-the-configured-secret";

pub const UPDATED_BODY: &str = r#"{"type":"object.updated","timestamp":"2025-11-27T02:59:59.512Z","object":{"id":"1042","type_definition_id":"Model","name":"churn-classifier v3"},"changed_fields":["MRG-Model:Status"]}"#;

pub fn base64_of(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// A signing-secret source the test rotates, counting reads; `fail` makes reads fail (an outage).
#[derive(Clone)]
pub struct RotatingSecrets {
    state: Arc<std::sync::Mutex<(Vec<&'static str>, bool)>>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl RotatingSecrets {
    pub fn new(secrets: &[&'static str]) -> Self {
        Self {
            state: Arc::new(std::sync::Mutex::new((secrets.to_vec(), false))),
            reads: Arc::default(),
        }
    }

    /// What Secrets Manager holds from now on.
    pub fn rotate(&self, secrets: &[&'static str]) {
        *self.state.lock().unwrap() = (secrets.to_vec(), false);
    }

    pub fn fail(&self) {
        self.state.lock().unwrap().1 = true;
    }

    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl SigningSecretSource for RotatingSecrets {
    async fn read(&self) -> Result<Vec<WebhookSecret>, SecretSourceError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (secrets, failing) = self.state.lock().unwrap().clone();
        if failing {
            return Err(SecretSourceError::Read(SecretError::Service {
                secret_id: "govsync/webhook-signing-secrets".into(),
                code: "ServiceUnavailable".into(),
                message: "injected outage".into(),
                retryable: true,
            }));
        }
        Ok(secrets.iter().map(|s| secret(s)).collect())
    }
}

/// The handler on fakes, reading its secrets from `source` (which holds `initial` at start).
pub fn rotating_handler(
    source: RotatingSecrets,
    initial: &[&str],
) -> (
    Arc<FakeIdempotencyStore>,
    Arc<FakeMessageQueue>,
    Handler<FakeIdempotencyStore, FakeMessageQueue, RotatingSecrets>,
) {
    let store = Arc::new(FakeIdempotencyStore::new());
    let queue = Arc::new(FakeMessageQueue::new());
    let handler = Handler::with_secret_source(
        Settings::new(
            initial.iter().map(|s| secret(s)).collect(),
            DEFAULT_OBJECT_ID_POINTER,
        ),
        source,
        store.clone(),
        queue.clone(),
    );
    (store, queue, handler)
}

pub fn secret(text: &str) -> WebhookSecret {
    WebhookSecret::parse(text).expect("test secrets parse")
}

/// The handler on fakes, configured with the current and previous secrets.
pub struct Rig {
    pub store: Arc<FakeIdempotencyStore>,
    pub queue: Arc<FakeMessageQueue>,
    pub handler: Handler<FakeIdempotencyStore, FakeMessageQueue>,
}

impl Rig {
    pub fn new() -> Self {
        Self::with_secrets(&[CURRENT, PREVIOUS])
    }

    pub fn with_secrets(secrets: &[&str]) -> Self {
        let store = Arc::new(FakeIdempotencyStore::new());
        let queue = Arc::new(FakeMessageQueue::new());
        let handler = Handler::new(
            Settings::new(
                secrets.iter().map(|s| secret(s)).collect(),
                DEFAULT_OBJECT_ID_POINTER,
            ),
            store.clone(),
            queue.clone(),
        );
        Self {
            store,
            queue,
            handler,
        }
    }

    /// Sends one request through `handle_with`, as Lambda would.
    pub async fn send(&self, request: ApiGatewayV2httpRequest) -> Answer {
        let response = handle_with(
            &self.handler,
            LambdaEvent::new(request, Context::default()),
            None,
        )
        .await;
        Answer::from(response)
    }
}

/// A response's status and JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: i64,
    pub body: Value,
    pub content_type: Option<String>,
}

impl From<ApiGatewayV2httpResponse> for Answer {
    fn from(response: ApiGatewayV2httpResponse) -> Self {
        let text = match response.body {
            Some(Body::Text(text)) => text,
            other => panic!("the answer body must be text, got {other:?}"),
        };
        Self {
            status: response.status_code,
            body: serde_json::from_str(&text).expect("every answer is JSON"),
            content_type: response
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Headers of a delivery signed with `key` at `timestamp`.
pub fn signed_headers(key: &str, id: &str, timestamp: i64, body: &[u8]) -> Value {
    json!({
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": timestamp.to_string(),
        "webhook-signature": webhook::sign(&secret(key), id, timestamp, body),
    })
}

/// An API Gateway v2 request (as JSON) with these headers and body.
pub fn request_json(headers: Value, body: &str, base64: bool) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/governance",
        "rawPath": "/webhooks/governance",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "http": {"method": "POST", "path": "/webhooks/governance", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "POST /webhooks/governance",
            "stage": "$default",
            "time": "27/Nov/2025:03:00:00 +0000",
            "timeEpoch": 1_764_212_400_000_i64
        },
        "body": if base64 { BASE64.encode(body) } else { body.to_owned() },
        "isBase64Encoded": base64,
    })
}

pub fn decode(request: Value) -> ApiGatewayV2httpRequest {
    serde_json::from_value(request).expect("an API Gateway v2 request")
}

/// A request signed with `key` at `timestamp`.
pub fn signed(key: &str, id: &str, timestamp: i64, body: &str) -> ApiGatewayV2httpRequest {
    decode(request_json(
        signed_headers(key, id, timestamp, body.as_bytes()),
        body,
        false,
    ))
}

/// A fresh, valid delivery of `body` with a unique id.
pub fn fresh(body: &str) -> (String, ApiGatewayV2httpRequest) {
    let id = unique_id();
    let request = signed(CURRENT, &id, now(), body);
    (id, request)
}

pub fn unique_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// `events/governance-webhook/<name>`.
pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/governance-webhook")
        .join(name)
}

pub fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(sample_path(name)).expect("sample exists");
    serde_json::from_str(&text).expect("sample is JSON")
}

/// The body bytes of a request JSON (base64-decoded when flagged).
pub fn body_bytes(request: &Value) -> Vec<u8> {
    let body = request["body"].as_str().unwrap_or_default();
    if request["isBase64Encoded"].as_bool().unwrap_or(false) {
        BASE64.decode(body).expect("sample base64 body")
    } else {
        body.as_bytes().to_vec()
    }
}

/// Re-signs a request JSON with `key` at `timestamp` (the samples' own timestamps are long stale).
pub fn resign(mut request: Value, key: &str, timestamp: i64) -> Value {
    let id = request["headers"]["webhook-id"]
        .as_str()
        .expect("sample has a webhook-id")
        .to_owned();
    let body = body_bytes(&request);
    request["headers"]["webhook-timestamp"] = json!(timestamp.to_string());
    request["headers"]["webhook-signature"] =
        json!(webhook::sign(&secret(key), &id, timestamp, &body));
    request
}

/// Gives a request JSON a fresh delivery id (so samples can run more than once against one store).
pub fn with_fresh_id(mut request: Value) -> Value {
    if request["headers"].get("webhook-id").is_some() {
        request["headers"]["webhook-id"] = json!(unique_id());
    }
    request
}
