//! The quarantine (SQS FIFO DLQ) and the secret reader against moto.

mod common;

use govsync_adapters::secrets::{SecretError, read_secret};
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::ports::quarantine::attributes;
use govsync_core::ports::{Quarantine, QuarantinedMessage};

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_quarantined_message_lands_in_the_fifo_dlq_with_its_reason() {
    let config = common::moto_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", common::unique("quarantine")))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let message = QuarantinedMessage {
        body: "{not json".to_owned(),
        message_group_id: "registry-events".to_owned(),
        deduplication_id: "quarantine-m1".to_owned(),
        reason: "undecodable registry event: input is not JSON".to_owned(),
        error_code: "not_json".to_owned(),
        source_message_id: "m1".to_owned(),
    };
    SqsQuarantine::new(sqs.clone(), &queue)
        .quarantine(&message)
        .await
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(&queue)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some("{not json"));
    let attribute = |name: &str| {
        messages[0]
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_owned)
    };
    assert_eq!(
        attribute(attributes::ERROR_CODE).as_deref(),
        Some("not_json")
    );
    assert_eq!(
        attribute(attributes::SOURCE_MESSAGE_ID).as_deref(),
        Some("m1")
    );
    assert!(attribute(attributes::REASON).is_some_and(|r| r.contains("not JSON")));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn secrets_are_read_once_and_a_missing_one_is_a_clear_error() {
    let config = common::moto_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let name = common::unique("govsync/test-key");
    client
        .create_secret()
        .name(&name)
        .secret_string("s3cr3t-value")
        .send()
        .await
        .unwrap();
    let secret = read_secret(&client, &name).await.unwrap();
    assert_eq!(secret.expose(), "s3cr3t-value");
    assert!(!format!("{secret:?}").contains("s3cr3t"));
    let missing = read_secret(&client, &common::unique("govsync/absent"))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, SecretError::Service { code, retryable: false, .. } if code == "ResourceNotFoundException"),
        "{missing:?}"
    );
}
