//! The relay on moto's SQS: a message it cannot relay, received as many times as govsync allows,
//! reaches its ingest queue's DLQ with the reason, never through the redrive policy without one
//! (issue 14, 2). `local/test.sh` runs it with the stack's environment; without it, it fails.

use std::collections::HashMap;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::ports::quarantine::attributes;
use govsync_lambda::sqs_batch::{MAX_RECEIVE_COUNT, REDRIVE_MAX_RECEIVE_COUNT, RETRIES_EXHAUSTED};
use govsync_registry_relay::{Relay, Route};
use govsync_testkit::stack::Stack;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_to: Option<&str>,
) -> (String, String) {
    let mut create = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "0");
    if let Some(dlq_arn) = redrive_to {
        create = create.attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": REDRIVE_MAX_RECEIVE_COUNT})
                .to_string(),
        );
    }
    let url = create
        .send()
        .await
        .expect("queue created")
        .queue_url
        .expect("queue URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue ARN");
    (url, arn)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn a_message_never_relayed_reaches_the_ingest_dlq_with_its_reason_on_govsyncs_last_receive() {
    let stack = Stack::from_env();
    let sdk = stack.sdk_in("testing", "us-east-1").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let ingest_name = format!("relay-lane-{run_id}-ingest");
    let (dlq_url, dlq_arn) = queue(&sqs, &format!("{ingest_name}-dlq"), None).await;
    let (ingest_url, ingest_arn) = queue(&sqs, &ingest_name, Some(&dlq_arn)).await;
    // The FIFO queue it relays to does not exist: every send fails.
    let missing_fifo = format!(
        "{}/relay-lane-{run_id}-missing.fifo",
        ingest_url.rsplit_once('/').unwrap().0
    );
    let relay = Relay::new(vec![Route {
        ingest_queue: ingest_name.clone(),
        fifo: SqsMessageQueue::new(sqs.clone(), missing_fifo),
        dead_letters: SqsQuarantine::new(sqs.clone(), dlq_url.clone()),
    }]);
    let body = json!({"version": "0", "id": run_id, "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": "123456789012", "region": "us-east-1", "time": "2026-01-01T00:00:00Z",
        "detail": {"ModelPackageGroupName": format!("g-{run_id}"), "ModelPackageVersion": 1}})
    .to_string();
    sqs.send_message()
        .queue_url(&ingest_url)
        .message_body(&body)
        .send()
        .await
        .expect("sent");

    // Lambda's event source mapping, by hand: receive, invoke, delete what the response does not name.
    let mut last_receive = 0;
    for _ in 0..REDRIVE_MAX_RECEIVE_COUNT {
        let received = sqs
            .receive_message()
            .queue_url(&ingest_url)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("received")
            .messages
            .unwrap_or_default();
        let Some(message) = received.into_iter().next() else {
            break;
        };
        let mut record = SqsMessage::default();
        record.message_id = message.message_id().map(str::to_owned);
        record.body = message.body().map(str::to_owned);
        record.event_source_arn = Some(ingest_arn.clone());
        record.attributes = message
            .attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_else(HashMap::new);
        last_receive = record.attributes["ApproximateReceiveCount"]
            .parse()
            .unwrap();
        let mut event = SqsEvent::default();
        event.records = vec![record];
        let response = relay
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .expect("handled");
        if response.batch_item_failures.is_empty() {
            sqs.delete_message()
                .queue_url(&ingest_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .expect("deleted");
        }
    }
    assert_eq!(
        last_receive, MAX_RECEIVE_COUNT,
        "given up on govsync's last receive, not later"
    );
    let dead = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .expect("DLQ read")
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body(), Some(body.as_str()));
    let attribute = |name: &str| {
        dead[0]
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|value| value.string_value())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(attribute(attributes::ERROR_CODE), RETRIES_EXHAUSTED);
    let reason = attribute(attributes::REASON);
    assert!(
        reason.contains(&format!("not relayed after {MAX_RECEIVE_COUNT} receives")),
        "{reason}"
    );
}
