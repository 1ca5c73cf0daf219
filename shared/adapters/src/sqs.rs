//! The quarantine port on SQS: permanent failures go to the function's FIFO dead-letter queue with
//! their reason as message attributes, ready to be replayed once the cause is fixed.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use govsync_core::ports::quarantine::attributes;
use govsync_core::ports::{Quarantine, QuarantineError, QuarantinedMessage};

use crate::sdk_error::{FailureClass, classify};

/// SQS allows 256 KiB per attribute value; reasons are cut far below that.
const MAX_REASON_CHARS: usize = 1024;
/// FIFO `MessageGroupId` / `MessageDeduplicationId`: at most 128 characters.
const MAX_FIFO_ID_CHARS: usize = 128;

#[derive(Debug, Clone)]
pub struct SqsQuarantine {
    client: Client,
    queue_url: String,
}

impl SqsQuarantine {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, QuarantineError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|error| QuarantineError::Invalid {
            message: error.to_string(),
        })
}

/// FIFO ids allow `[a-zA-Z0-9!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~]`, 1–128 characters.
fn fifo_id(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_FIFO_ID_CHARS)
        .collect();
    if cleaned.is_empty() {
        "govsync-quarantine".to_owned()
    } else {
        cleaned
    }
}

/// The URL of `queue_arn`'s queue, beside the DLQ (a redrive policy keeps both in one account and
/// region, so only the last path segment differs; this holds for SQS and the local stack alike).
fn sibling_queue_url(dlq_url: &str, queue_arn: &str) -> Option<String> {
    let name = queue_arn
        .rsplit(':')
        .next()
        .filter(|name| !name.is_empty())?;
    let (base, _) = dlq_url.rsplit_once('/')?;
    Some(format!("{base}/{name}"))
}

impl Quarantine for SqsQuarantine {
    async fn retry_later(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        delay_seconds: u32,
    ) -> Result<(), QuarantineError> {
        let url = sibling_queue_url(&self.queue_url, queue_arn).ok_or_else(|| {
            QuarantineError::Invalid {
                message: format!("no queue URL for {queue_arn:?}"),
            }
        })?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(delay_seconds).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                let failure = classify("ChangeMessageVisibility", &error);
                QuarantineError::Send {
                    code: failure.code,
                    message: failure.message,
                    retryable: true,
                }
            })
    }

    async fn quarantine(&self, message: &QuarantinedMessage) -> Result<(), QuarantineError> {
        const OP: &str = "SendMessage";
        let reason: String = message.reason.chars().take(MAX_REASON_CHARS).collect();
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body);
        // A standard queue (a function's asynchronous-failure queue) takes no FIFO ids.
        if self.queue_url.ends_with(".fifo") {
            request = request
                .message_group_id(fifo_id(&message.message_group_id))
                .message_deduplication_id(fifo_id(&message.deduplication_id));
        }
        let result = request
            .message_attributes(attributes::REASON, string_attribute(&reason)?)
            .message_attributes(
                attributes::ERROR_CODE,
                string_attribute(&message.error_code)?,
            )
            .message_attributes(
                attributes::SOURCE_MESSAGE_ID,
                string_attribute(&message.source_message_id)?,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                let failure = classify(OP, &error);
                Err(match failure.class {
                    FailureClass::Transport => QuarantineError::Transport {
                        message: failure.message,
                    },
                    FailureClass::Permanent => QuarantineError::Send {
                        code: failure.code,
                        message: failure.message,
                        retryable: false,
                    },
                    FailureClass::Throttled | FailureClass::Conflict | FailureClass::Transient => {
                        QuarantineError::Send {
                            code: failure.code,
                            message: failure.message,
                            retryable: true,
                        }
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_queue_url_sits_beside_its_dlq() {
        assert_eq!(
            sibling_queue_url(
                "http://127.0.0.1:4566/123456789012/registry-events-dlq.fifo",
                "arn:aws:sqs:us-east-1:123456789012:registry-events.fifo"
            )
            .as_deref(),
            Some("http://127.0.0.1:4566/123456789012/registry-events.fifo")
        );
        assert_eq!(sibling_queue_url("http://q/a/dlq.fifo", ""), None);
    }

    #[test]
    fn fifo_ids_keep_allowed_characters_and_the_length_limit() {
        assert_eq!(fifo_id("registry-events"), "registry-events");
        assert_eq!(fifo_id("a b\tc"), "abc");
        assert_eq!(fifo_id(&"x".repeat(200)).len(), 128);
        assert_eq!(fifo_id(" "), "govsync-quarantine");
    }
}
