//! Security suite: configured secrets never reach a log line.
//!
//! Every log event (govsync's and the SDKs', at trace level) is captured as JSON into a buffer while the
//! adapters use the secrets on paths that succeed and paths that fail: the governance API key refused
//! (401) at the token endpoint, a wrong password, a secret that cannot be read, the signing secrets read
//! from Secrets Manager; errors are logged as functions log them (`%error` and `?error`). The buffer is
//! then searched for every secret value and its base64 forms.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use govsync_adapters::governance::{
    GovernanceAuth, GovernanceClient, GovernanceConfig, RetryPolicy,
};
use govsync_adapters::secrets::read_secret;
use govsync_core::ports::GovernanceKind;
use govsync_core::secret::Secret;
use govsync_core::webhook::WebhookSecret;

/// The local stack's secrets (`local/wiring.json`).
const API_KEY: &str = "local-api-key";
const CURRENT: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA==";
const PREVIOUS: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtcHJldmlvdXM=";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// A value, its base64 forms, and for a `whsec_` secret its key (base64 part, raw bytes, hex).
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_owned(),
        STANDARD.encode(value),
        URL_SAFE.encode(value),
    ];
    if let Some(encoded) = value.strip_prefix("whsec_") {
        forms.push(encoded.to_owned());
        forms.push(encoded.trim_end_matches('=').to_owned());
        let key = STANDARD.decode(encoded).unwrap();
        forms.push(String::from_utf8_lossy(&key).into_owned());
        forms.push(key.iter().map(|b| format!("{b:02x}")).collect());
    }
    forms
}

fn assert_no_secret(text: &str, secrets: &[&str]) {
    let leaks: Vec<String> = secrets
        .iter()
        .flat_map(|secret| forms(secret).into_iter().map(move |form| (*secret, form)))
        .filter(|(_, form)| text.contains(form.as_str()))
        .map(|(secret, form)| format!("{secret} as {form}"))
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets in the captured output: {leaks:?}\n{text}"
    );
}

#[test]
fn secrets_are_redacted_in_debug_and_display() {
    let secret = Secret::new(API_KEY);
    let auth = GovernanceAuth::Mcsp {
        token_url: "http://127.0.0.1:9/token".to_owned(),
        api_key: secret.clone(),
    };
    let basic = GovernanceAuth::Basic {
        username: "admin".to_owned(),
        password: Secret::new("a-password-never-logged"),
    };
    let config = GovernanceConfig::new("http://127.0.0.1:9", auth.clone());
    let client = GovernanceClient::new(config.clone()).unwrap();
    let webhook_secret = WebhookSecret::parse(CURRENT).unwrap();
    let text = format!(
        "{secret:?} {secret} {auth:?} {basic:?} {config:?} {client:?} {webhook_secret:?} {:?}",
        WebhookSecret::parse(PREVIOUS).unwrap()
    );
    assert!(text.contains("***"), "{text}");
    assert_no_secret(
        &text,
        &[API_KEY, "a-password-never-logged", CURRENT, PREVIOUS],
    );
}

fn quick(config: &mut GovernanceConfig) {
    config.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    };
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn failing_and_succeeding_secret_uses_log_no_secret() {
    let base = common::required_env("GOVSYNC_GOVERNANCE_URL");
    let wrong_key = format!("wrong-key-{}", common::unique("k"));
    let wrong_password = format!("wrong-password-{}", common::unique("p"));
    let (captured, _guard) = capture();

    // The configured API key sent to an endpoint that refuses it (404), and a
    // wrong key at the right one.
    for (token_path, key) in [
        ("/no-such-token-endpoint", API_KEY),
        (
            "/api/2.0/services/local-instance/apikeys/token",
            wrong_key.as_str(),
        ),
    ] {
        let mut config = GovernanceConfig::new(
            base.clone(),
            GovernanceAuth::Mcsp {
                token_url: format!("{base}{token_path}"),
                api_key: Secret::new(key),
            },
        );
        quick(&mut config);
        let client = GovernanceClient::new(config).unwrap();
        let error = client
            .type_definition(GovernanceKind::Model)
            .await
            .expect_err("a refused key fails");
        tracing::error!(%error, ?error, "governance call failed");
    }
    // A wrong basic-auth password (401 on the API itself).
    let mut config = GovernanceConfig::new(
        base.clone(),
        GovernanceAuth::Basic {
            username: "admin".to_owned(),
            password: Secret::new(wrong_password.clone()),
        },
    );
    quick(&mut config);
    let error = GovernanceClient::new(config)
        .unwrap()
        .type_definition(GovernanceKind::Model)
        .await
        .expect_err("a wrong password fails");
    tracing::error!(%error, ?error, "governance call failed");

    // The signing secrets and the API key read from Secrets Manager, and a secret that cannot be read.
    let sdk = common::moto_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let signing = read_secret(&secrets, "govsync/webhook-signing-secrets")
        .await
        .expect("the stack's signing secrets");
    assert!(
        signing.expose().contains(CURRENT),
        "the scan must search for what was read"
    );
    tracing::debug!(?signing, "read the signing secrets");
    let api_key = read_secret(&secrets, "govsync/governance-api-key")
        .await
        .expect("the stack's API key");
    tracing::debug!(?api_key, %api_key, "read the API key");
    let error = read_secret(&secrets, &common::unique("govsync/absent"))
        .await
        .expect_err("a missing secret fails");
    tracing::error!(%error, ?error, "secret read failed");

    let text = captured.text();
    assert!(
        text.lines().count() >= 5
            && text.contains("governance call failed")
            && text.contains("ResourceNotFoundException"),
        "the capture holds the logged events:\n{text}"
    );
    assert_no_secret(
        &text,
        &[
            API_KEY,
            &wrong_key,
            &wrong_password,
            CURRENT,
            PREVIOUS,
            api_key.expose(),
        ],
    );
}
