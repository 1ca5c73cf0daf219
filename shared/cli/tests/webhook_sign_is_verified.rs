//! `govsync webhook sign` output is what the governance-webhook function accepts: the headers the
//! binary prints, on a request with the same body, are verified and the delivery accepted (202) by the
//! function's handler (on in-memory adapters), with the secret given by variable or file in any form
//! the function's Secrets Manager secret takes.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use chrono::{Duration, Utc};
use govsync_adapters::fakes::{FakeIdempotencyStore, FakeMessageQueue};
use govsync_governance_webhook::{Handler, Outcome, Settings};

const SECRET_JSON: &str = r#"{"current":"whsec_dGVuYW50LXNpZ25pbmcta2V5","previous":""}"#;

fn body() -> String {
    r#"{"type":"object.updated","timestamp":"2026-11-27T05:00:00.000Z","object":{"id":"1042","type_definition_id":"Model","name":"churn v3"},"changed_fields":["MRG-Model:Status"]}"#
        .to_owned()
}

fn sign(args: &[&str], stdin: &str) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govsync"))
        .args(args)
        .env("TENANT_WEBHOOK_SECRET", SECRET_JSON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("govsync runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("body written");
    let out = child.wait_with_output().expect("govsync finishes");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON headers on stdout")
}

fn handler() -> Handler<FakeIdempotencyStore, FakeMessageQueue> {
    let secrets = govsync_governance_webhook::signing_secrets::parse(
        &govsync_core::secret::Secret::new(SECRET_JSON),
    )
    .expect("the function's secret parses");
    Handler::new(
        Settings::new(secrets, "/object/id"),
        Arc::new(FakeIdempotencyStore::new()),
        Arc::new(FakeMessageQueue::new()),
    )
}

fn request(headers: &serde_json::Value, body: &str) -> ApiGatewayV2httpRequest {
    let mut map = HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let value = headers[name].as_str().expect("header printed");
        map.insert(name, HeaderValue::from_str(value).expect("header value"));
    }
    map.insert("content-type", HeaderValue::from_static("application/json"));
    let mut request = ApiGatewayV2httpRequest::default();
    request.headers = map;
    request.body = Some(body.to_owned());
    request
}

async fn deliver(request: &ApiGatewayV2httpRequest) -> Outcome {
    let now = Utc::now();
    handler()
        .handle(request, now, now + Duration::seconds(10))
        .await
}

#[tokio::test]
async fn signed_headers_from_the_cli_are_accepted_by_the_webhook_handler() {
    let body = body();
    let headers = sign(
        &[
            "webhook",
            "sign",
            "--secret-env",
            "TENANT_WEBHOOK_SECRET",
            "--json",
        ],
        &body,
    );
    let outcome = deliver(&request(&headers, &body)).await;
    assert_eq!(outcome.status(), 202, "{:?}", outcome.body());
    assert!(matches!(outcome, Outcome::Accepted { .. }));
}

#[tokio::test]
async fn a_body_file_and_a_secret_file_sign_the_same_way_and_a_changed_body_is_refused() {
    let dir = std::env::temp_dir().join(format!("govsync-sign-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let body = body();
    let body_file = dir.join("body.json");
    std::fs::write(&body_file, &body).expect("body file");
    let secret_file = dir.join("secret");
    // The bare current secret, as a tenant would paste it.
    std::fs::write(&secret_file, "whsec_dGVuYW50LXNpZ25pbmcta2V5\n").expect("secret file");
    let headers = sign(
        &[
            "webhook",
            "sign",
            body_file.to_str().expect("utf-8"),
            "--secret-file",
            secret_file.to_str().expect("utf-8"),
            "--id",
            "msg_cli_test",
            "--json",
        ],
        "",
    );
    assert_eq!(headers["webhook-id"], "msg_cli_test");
    let outcome = deliver(&request(&headers, &body)).await;
    assert_eq!(outcome.status(), 202, "{:?}", outcome.body());

    let tampered = body.replace("churn v3", "churn v4");
    let refused = deliver(&request(&headers, &tampered)).await;
    assert_eq!(refused.status(), 401);
}

#[test]
fn the_curl_form_carries_the_signed_headers() {
    let dir = std::env::temp_dir().join(format!("govsync-curl-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let body_file = dir.join("body.json");
    std::fs::write(&body_file, body()).expect("body file");
    let out = Command::new(env!("CARGO_BIN_EXE_govsync"))
        .args([
            "webhook",
            "sign",
            body_file.to_str().expect("utf-8"),
            "--secret-env",
            "TENANT_WEBHOOK_SECRET",
            "--curl",
            "http://127.0.0.1:9/webhook",
        ])
        .env("TENANT_WEBHOOK_SECRET", SECRET_JSON)
        .output()
        .expect("govsync runs");
    assert_eq!(out.status.code(), Some(0));
    let curl = String::from_utf8_lossy(&out.stdout);
    assert!(curl.starts_with("curl -sS -X POST 'http://127.0.0.1:9/webhook'"));
    for header in [
        "webhook-id: msg_",
        "webhook-timestamp: ",
        "webhook-signature: v1,",
    ] {
        assert!(curl.contains(header), "{header}: {curl}");
    }
    assert!(!curl.contains("dGVuYW50"), "the secret is not printed");
}
