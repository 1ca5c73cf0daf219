//! What Lambda hands an SQS-triggered function: the `SqsEvent` (records with Lambda's field names) and the
//! invocation `Context` (request id, function ARN, deadline). Built from JSON, as the runtime would.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{Message, MessageAttributeValue};
use base64::Engine;
use lambda_runtime::Context;
use serde_json::{Map, Value, json};

use crate::error::RunnerError;

/// The queue a mapping consumes, as Lambda names it in every record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueIdentity {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub region: String,
}

/// The function being invoked, as its Lambda configuration would describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionIdentity {
    pub name: String,
    pub arn: String,
    /// The function timeout: the invocation's deadline is now + this, and the runner stops waiting then.
    pub timeout: Duration,
    pub memory_mb: i32,
}

impl FunctionIdentity {
    /// A function named `name` in `account`/`region`, with the given timeout and 512 MB (the templates' size).
    pub fn new(name: &str, account: &str, region: &str, timeout: Duration) -> Self {
        FunctionIdentity {
            name: name.to_owned(),
            arn: format!("arn:aws:lambda:{region}:{account}:function:{name}"),
            timeout,
            memory_mb: 512,
        }
    }
}

/// The invocation context Lambda's runtime API would give for one batch.
pub fn invocation_context(
    function: &FunctionIdentity,
    request_id: &str,
    now: SystemTime,
) -> Context {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let deadline_ms = now_ms.saturating_add(function.timeout.as_millis());
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    context.deadline = u64::try_from(deadline_ms).unwrap_or(u64::MAX);
    context.invoked_function_arn = function.arn.clone();
    context.env_config = Arc::new(lambda_runtime::Config {
        function_name: function.name.clone(),
        memory: function.memory_mb,
        version: "$LATEST".to_owned(),
        log_stream: format!("local/[$LATEST]/{request_id}"),
        log_group: format!("/aws/lambda/{}", function.name),
    });
    context
}

/// The `SqsEvent` Lambda would build from one ReceiveMessage answer, records in the order received.
pub fn sqs_event(messages: &[Message], queue: &QueueIdentity) -> Result<SqsEvent, RunnerError> {
    let records = messages
        .iter()
        .map(|message| record_json(message, queue))
        .collect::<Result<Vec<_>, _>>()?;
    serde_json::from_value(json!({ "Records": records })).map_err(|error| RunnerError::Record {
        queue: queue.name.clone(),
        problem: format!("the event does not fit aws_lambda_events' SqsEvent: {error}"),
    })
}

/// One record, exactly as Lambda serialises it (camelCase, `eventSourceARN`, `awsRegion`).
pub fn sqs_record(message: &Message, queue: &QueueIdentity) -> Result<SqsMessage, RunnerError> {
    serde_json::from_value(record_json(message, queue)?).map_err(|error| RunnerError::Record {
        queue: queue.name.clone(),
        problem: format!("the record does not fit aws_lambda_events' SqsMessage: {error}"),
    })
}

fn record_json(message: &Message, queue: &QueueIdentity) -> Result<Value, RunnerError> {
    let missing = |what: &str| RunnerError::Record {
        queue: queue.name.clone(),
        problem: format!("ReceiveMessage gave a message without {what}"),
    };
    let message_id = message.message_id().ok_or_else(|| missing("MessageId"))?;
    let receipt_handle = message
        .receipt_handle()
        .ok_or_else(|| missing("ReceiptHandle"))?;
    let attributes: Map<String, Value> = message
        .attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
                .collect()
        })
        .unwrap_or_default();
    let message_attributes: Map<String, Value> = message
        .message_attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| (name.clone(), message_attribute_json(value)))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "md5OfMessageAttributes": message.md5_of_message_attributes(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": queue.region,
    }))
}

fn message_attribute_json(value: &MessageAttributeValue) -> Value {
    let encode = |blob: &aws_sdk_sqs::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
    };
    json!({
        "stringValue": value.string_value(),
        "binaryValue": value.binary_value().map(encode),
        "stringListValues": value.string_list_values(),
        "binaryListValues": value.binary_list_values().iter().map(encode).collect::<Vec<_>>(),
        "dataType": value.data_type(),
    })
}

/// The message group of a received message (FIFO queues always have one).
pub fn message_group(message: &Message) -> Option<&str> {
    message
        .attributes()
        .and_then(|attributes| {
            attributes.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        })
        .map(String::as_str)
}

/// A received message's system attributes by name (for reports).
pub fn attribute_map(message: &Message) -> HashMap<String, String> {
    message
        .attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageSystemAttributeName;

    fn queue() -> QueueIdentity {
        QueueIdentity {
            name: "registry-events.fifo".into(),
            url: "http://127.0.0.1:4566/123456789012/registry-events.fifo".into(),
            arn: "arn:aws:sqs:us-east-1:123456789012:registry-events.fifo".into(),
            region: "us-east-1".into(),
        }
    }

    fn message() -> Message {
        Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body("{\"detail-type\":\"x\"}")
            .md5_of_body("abc")
            .attributes(
                MessageSystemAttributeName::MessageGroupId,
                "registry-events",
            )
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .message_attributes(
                "reason",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("bad")
                    .build()
                    .unwrap_or_else(|_| unreachable!("data_type is set")),
            )
            .build()
    }

    #[test]
    fn record_uses_lambda_field_names_and_values() {
        let Ok(event) = sqs_event(&[message()], &queue()) else {
            panic!("a complete message must become an event")
        };
        let Ok(serialised) = serde_json::to_value(&event) else {
            panic!("SqsEvent serialises")
        };
        let record = &serialised["Records"][0];
        assert_eq!(record["messageId"], "m-1");
        assert_eq!(record["receiptHandle"], "rh-1");
        assert_eq!(record["body"], "{\"detail-type\":\"x\"}");
        assert_eq!(record["md5OfBody"], "abc");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:registry-events.fifo"
        );
        assert_eq!(record["awsRegion"], "us-east-1");
        assert_eq!(record["attributes"]["MessageGroupId"], "registry-events");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(record["messageAttributes"]["reason"]["stringValue"], "bad");
        assert_eq!(record["messageAttributes"]["reason"]["dataType"], "String");
    }

    #[test]
    fn message_without_receipt_handle_is_refused() {
        let message = Message::builder().message_id("m-1").body("{}").build();
        assert!(matches!(
            sqs_record(&message, &queue()),
            Err(RunnerError::Record { .. })
        ));
    }

    #[test]
    fn context_carries_request_id_function_arn_and_deadline() {
        let function = FunctionIdentity::new(
            "govsync-registry-events",
            "123456789012",
            "us-east-1",
            Duration::from_secs(60),
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let context = invocation_context(&function, "req-1", now);
        assert_eq!(context.request_id, "req-1");
        assert_eq!(
            context.invoked_function_arn,
            "arn:aws:lambda:us-east-1:123456789012:function:govsync-registry-events"
        );
        assert_eq!(context.deadline, 1_060_000);
        assert_eq!(context.env_config.function_name, "govsync-registry-events");
    }
}
