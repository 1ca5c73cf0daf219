//! The SES v2 notifier against moto: the sent message is visible in moto's data dump.

mod common;

use govsync_adapters::ses::SesNotifier;
use govsync_core::ports::{Email, Notifier};

const SENDER: &str = "govsync@example.com";

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn sent_email_reaches_moto_with_subject_and_recipients() {
    let config = common::moto_config().await;
    let client = aws_sdk_sesv2::Client::new(&config);
    // The bootstrap verifies the identity; doing it again is harmless and covers bare moto.
    let _ = client
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await;
    let subject = common::unique("Use case approved");
    let recipient = format!("{}@example.com", common::unique("ds-team"));
    let message_id = SesNotifier::new(client)
        .send(&Email {
            from: SENDER.to_owned(),
            to: vec![recipient.clone()],
            subject: subject.clone(),
            text_body: "Model package group credit-risk is ready.".to_owned(),
            html_body: Some("<p>Model package group <b>credit-risk</b> is ready.</p>".to_owned()),
        })
        .await
        .unwrap();
    assert!(!message_id.is_empty());

    let moto = common::required_env("GOVSYNC_MOTO_URL");
    let dump: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .unwrap_or_else(|error| panic!("moto data dump: {error}"))
        .json()
        .await
        .unwrap_or_else(|error| panic!("moto data dump is not JSON: {error}"));
    let text = dump.to_string();
    assert!(
        text.contains(&subject),
        "subject not found in moto's sent mail"
    );
    assert!(
        text.contains(&recipient),
        "recipient not found in moto's sent mail"
    );
}
