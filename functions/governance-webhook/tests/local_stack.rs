//! `Function` against the local stack's moto (Secrets Manager, DynamoDB, SQS): the signing secrets are
//! read from `govsync/webhook-signing-secrets` (and re-read from Secrets Manager after a rotation), a
//! repeat of an accepted delivery is acknowledged through the real idempotency table without a second
//! message, and a valid delivery lands on `governance-events.fifo` in its object's group with the
//! documented body.
//! `local/test.sh` runs these with the stack's environment; without it they fail rather than skip.
//!
//! Each test sends to a FIFO queue of its own with governance-events.fifo's attributes (local/wiring.json),
//! so tests running at the same time never take each other's messages; each also uses its own object id.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use govsync_core::IdempotencyKey;
use govsync_core::governance_event::{GovernanceEvent, GovernanceEventSource, GovernanceEventType};
use govsync_governance_webhook::{Config, Function};
use govsync_testkit::stack::var;
use lambda_runtime::{Context, LambdaEvent};
use support::*;

struct Stack {
    moto_url: String,
    account: String,
    region: String,
}

impl Stack {
    fn from_env() -> Self {
        var("AWS_ENDPOINT_URL");
        Self {
            moto_url: var("GOVSYNC_MOTO_URL"),
            account: var("GOVSYNC_ACCOUNT_ID"),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        }
    }

    fn queue_url(&self, name: &str) -> String {
        format!(
            "{}/{}/{name}",
            self.moto_url.trim_end_matches('/'),
            self.account
        )
    }

    fn config(&self, queue_url: String) -> Config {
        self.config_with_secret(queue_url, "govsync/webhook-signing-secrets")
    }

    fn config_with_secret(&self, queue_url: String, secret_id: &str) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GOVSYNC_WEBHOOK_SECRETS_SECRET", secret_id.to_owned()),
            ("GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL", queue_url),
            (
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "govsync-idempotency".to_owned(),
            ),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .endpoint_url(self.moto_url.clone())
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await
    }

    async fn function(&self, queue_url: String) -> Function {
        Function::new(self.config(queue_url), &self.sdk().await)
            .await
            .unwrap()
    }
}

async fn invoke(
    function: &Function,
    request: aws_lambda_events::apigw::ApiGatewayV2httpRequest,
) -> Answer {
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 10_000).unwrap();
    Answer::from(
        function
            .handle(LambdaEvent::new(request, context))
            .await
            .unwrap(),
    )
}

/// Receives until `wanted` messages of `group` arrived (deleting them) or 15 s passed; other groups'
/// messages are made visible again at once.
async fn take_group(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    group: &str,
    wanted: usize,
    linger: Duration,
) -> Vec<Message> {
    let mut taken = Vec::new();
    let started = Instant::now();
    let mut satisfied_at: Option<Instant> = None;
    while started.elapsed() < Duration::from_secs(15) {
        if let Some(at) = satisfied_at
            && at.elapsed() >= linger
        {
            break;
        }
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(5)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for message in received.messages.unwrap_or_default() {
            let message_group = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .unwrap_or_default();
            let receipt = message.receipt_handle().unwrap_or_default().to_owned();
            if message_group == group {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap();
                taken.push(message);
            } else {
                sqs.change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            }
        }
        if taken.len() >= wanted && satisfied_at.is_none() {
            satisfied_at = Some(Instant::now());
        }
    }
    taken
}

/// A FIFO queue of the test's own, shaped like governance-events.fifo (local/wiring.json).
async fn private_queue(sqs: &aws_sdk_sqs::Client) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    sqs.create_queue()
        .queue_name(format!("gw-{}.fifo", uuid::Uuid::new_v4().simple()))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "360")
        .send()
        .await
        .unwrap()
        .queue_url
        .expect("moto returns the queue's URL")
}

fn body_for(object_id: &str) -> String {
    format!(
        r#"{{"type":"object.updated","timestamp":"2025-11-27T02:59:59.512Z","object":{{"id":"{object_id}","type_definition_id":"Model"}},"changed_fields":["MRG-Model:Status"]}}"#
    )
}

fn unique_object() -> String {
    format!("gw{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_valid_delivery_lands_on_governance_events_fifo_in_its_object_group() {
    govsync_lambda::logging::init();
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk().await);
    let queue = private_queue(&sqs).await;
    let function = stack.function(queue.clone()).await;

    let object = unique_object();
    let id = unique_id();
    let answer = invoke(&function, signed(CURRENT, &id, now(), &body_for(&object))).await;
    assert_eq!(answer.status, 202, "{}", answer.body);

    let messages = take_group(&sqs, &queue, &object, 1, Duration::ZERO).await;
    assert_eq!(messages.len(), 1, "one message in group {object}");
    let message = &messages[0];
    let attributes = message.attributes().unwrap();
    assert_eq!(
        attributes.get(&MessageSystemAttributeName::MessageDeduplicationId),
        Some(&id)
    );
    let event = GovernanceEvent::from_json(message.body().unwrap()).unwrap();
    assert_eq!(event.source, GovernanceEventSource::Webhook);
    assert_eq!(event.delivery_id.as_str(), id);
    assert_eq!(event.event_type, GovernanceEventType::Updated);
    assert_eq!(event.object_id.as_str(), object);
    assert_eq!(event.object_type.as_deref(), Some("Model"));
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_retry_after_a_lost_202_is_acknowledged_200_and_enqueued_once() {
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk().await);
    let queue = private_queue(&sqs).await;
    let function = stack.function(queue.clone()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk().await);

    let object = unique_object();
    let id = unique_id();
    let mut answers = Vec::new();
    for attempt in 0..3 {
        // The sender never saw our 202 and retries: same id and body, new timestamp and signature.
        let answer = invoke(
            &function,
            signed(CURRENT, &id, now() + attempt, &body_for(&object)),
        )
        .await;
        answers.push((answer.status, answer.body["status"].clone()));
    }
    assert_eq!(
        answers,
        vec![
            (202, serde_json::json!("accepted")),
            (200, serde_json::json!("duplicate")),
            (200, serde_json::json!("duplicate"))
        ]
    );
    // The same id with another body is refused, and not enqueued.
    let answer = invoke(
        &function,
        signed(CURRENT, &id, now() + 3, &body_for(&unique_object())),
    )
    .await;
    assert_eq!((answer.status, answer.code()), (409, "delivery_id_reused"));

    // The record in the real table is what answered them.
    let key = IdempotencyKey::for_webhook_delivery(&id);
    let item = dynamodb
        .get_item()
        .table_name("govsync-idempotency")
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(key.as_str().to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the delivery id is recorded");
    assert_eq!(
        item.get("status")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("COMPLETED"),
        "{item:?}"
    );
    let stored = item
        .get("data")
        .and_then(|v| v.as_s().ok())
        .expect("the record keeps its result");
    assert!(
        stored.contains(&govsync_core::webhook::body_sha256(
            body_for(&object).as_bytes()
        )),
        "{stored}"
    );
    let messages = take_group(&sqs, &queue, &object, 1, Duration::from_secs(2)).await;
    assert_eq!(messages.len(), 1, "enqueued once");
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_retry_after_a_failed_enqueue_is_accepted_because_the_claim_was_released() {
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk().await);
    let queue = private_queue(&sqs).await;
    // A queue that does not exist: SendMessage fails after the delivery id was claimed.
    let broken = stack
        .function(stack.queue_url(&format!("missing-{}.fifo", uuid::Uuid::new_v4().simple())))
        .await;
    let function = stack.function(queue.clone()).await;

    let object = unique_object();
    let id = unique_id();
    let answer = invoke(&broken, signed(CURRENT, &id, now(), &body_for(&object))).await;
    assert!(answer.status >= 500, "{} {}", answer.status, answer.body);
    assert!(
        !answer.body.to_string().contains("missing-"),
        "no internals: {}",
        answer.body
    );

    // The sender retries with the same id (new timestamp and signature): accepted and enqueued.
    let answer = invoke(
        &function,
        signed(CURRENT, &id, now() + 5, &body_for(&object)),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let messages = take_group(&sqs, &queue, &object, 1, Duration::ZERO).await;
    assert_eq!(messages.len(), 1);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn both_secrets_of_the_stored_secret_verify_and_a_stranger_does_not() {
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk().await);
    let queue = private_queue(&sqs).await;
    let function = stack.function(queue.clone()).await;

    let object = unique_object();
    for key in [CURRENT, PREVIOUS] {
        let answer = invoke(
            &function,
            signed(key, &unique_id(), now(), &body_for(&object)),
        )
        .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    let answer = invoke(
        &function,
        signed(STRANGER, &unique_id(), now(), &body_for(&object)),
    )
    .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    let messages = take_group(&sqs, &queue, &object, 2, Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_warm_instance_accepts_the_new_secret_after_a_rotation_in_secrets_manager() {
    let stack = Stack::from_env();
    let sdk = stack.sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let queue = private_queue(&sqs).await;
    // A secret of the test's own, so rotating it disturbs no other test.
    let secret_id = format!("govsync/webhook-rotation-{}", uuid::Uuid::new_v4().simple());
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(format!(r#"{{"current":"{CURRENT}"}}"#))
        .send()
        .await
        .unwrap();
    let function = Function::new(stack.config_with_secret(queue.clone(), &secret_id), &sdk)
        .await
        .unwrap();

    let object = unique_object();
    let answer = invoke(
        &function,
        signed(CURRENT, &unique_id(), now(), &body_for(&object)),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);

    // Rotation: the platform signs with a new secret; the old one stays as previous.
    const ROTATED_IN: &str = "whsec_cm90YXRlZC1pbi1zaWduaW5nLXNlY3JldA==";
    secrets
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(format!(
            r#"{{"current":"{ROTATED_IN}","previous":"{CURRENT}"}}"#
        ))
        .send()
        .await
        .unwrap();
    let answer = invoke(
        &function,
        signed(ROTATED_IN, &unique_id(), now(), &body_for(&object)),
    )
    .await;
    assert_eq!(
        answer.status, 202,
        "the warm instance re-read the secret: {}",
        answer.body
    );
    let answer = invoke(
        &function,
        signed(CURRENT, &unique_id(), now(), &body_for(&object)),
    )
    .await;
    assert_eq!(answer.status, 202, "the previous secret still verifies");
    let messages = take_group(&sqs, &queue, &object, 3, Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 3);
}
