//! The message-queue port on SQS FIFO: `SendMessage` with an explicit group and deduplication id.

use aws_sdk_sqs::Client;
use govsync_core::ports::{MessageQueue, OutgoingMessage, QueueError};

use crate::sdk_error::{FailureClass, classify};

/// FIFO `MessageGroupId` / `MessageDeduplicationId`: 1–128 of `[!-~]`.
fn valid_fifo_id(value: &str) -> bool {
    (1..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_graphic())
}

#[derive(Debug, Clone)]
pub struct SqsMessageQueue {
    client: Client,
    queue_url: String,
}

impl SqsMessageQueue {
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

impl MessageQueue for SqsMessageQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), QueueError> {
        for (what, value) in [
            ("MessageGroupId", &message.message_group_id),
            ("MessageDeduplicationId", &message.deduplication_id),
        ] {
            if !valid_fifo_id(value) {
                return Err(QueueError::Invalid {
                    message: format!("{what} {value:?} is not 1-128 printable ASCII characters"),
                });
            }
        }
        let result = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body)
            .message_group_id(&message.message_group_id)
            .message_deduplication_id(&message.deduplication_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                let failure = classify("SendMessage", &error);
                Err(match failure.class {
                    FailureClass::Transport => QueueError::Transport {
                        message: failure.message,
                    },
                    FailureClass::Permanent => QueueError::Send {
                        code: failure.code,
                        message: failure.message,
                        retryable: false,
                    },
                    FailureClass::Throttled | FailureClass::Conflict | FailureClass::Transient => {
                        QueueError::Send {
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
    fn fifo_ids_must_be_printable_ascii_of_at_most_128() {
        assert!(valid_fifo_id("governance-4711"));
        assert!(!valid_fifo_id(""));
        assert!(!valid_fifo_id("has space"));
        assert!(!valid_fifo_id(&"x".repeat(129)));
    }
}
