//! Why a delivery was not accepted, the HTTP status it is answered with, and whether the sender's retry
//! can succeed. The public code and message name the problem and never carry internals (no SDK error,
//! table or queue name, no secret).

use govsync_core::governance_event::WebhookBodyError;
use govsync_core::ports::{QueueError, StoreError};
use govsync_core::webhook::SignatureError;

/// One delivery's failure.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the body is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the body is marked base64-encoded but does not decode")]
    UndecodableBase64,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Body(#[from] WebhookBodyError),
    #[error("delivery {delivery_id} was already accepted with another body")]
    ReusedDeliveryId { delivery_id: String },
    #[error("delivery {delivery_id} is being processed by another invocation")]
    InProgress { delivery_id: String },
    #[error("recording the delivery id: {0}")]
    Store(#[from] StoreError),
    #[error("enqueueing the delivery: {0}")]
    Queue(#[from] QueueError),
}

impl DeliveryError {
    /// Whether the sender's retry of the same delivery can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            DeliveryError::InProgress { .. } => true,
            DeliveryError::Store(error) => error.is_retryable(),
            DeliveryError::Queue(error) => error.is_retryable(),
            DeliveryError::TooLarge { .. }
            | DeliveryError::UndecodableBase64
            | DeliveryError::Signature(_)
            | DeliveryError::Body(_)
            | DeliveryError::ReusedDeliveryId { .. } => false,
        }
    }

    /// The HTTP status the delivery is answered with.
    pub fn status(&self) -> u16 {
        match self {
            DeliveryError::TooLarge { .. } => 413,
            DeliveryError::UndecodableBase64 | DeliveryError::Body(_) => 400,
            // Over the limits the request is malformed whatever the secrets: no key would make it pass.
            DeliveryError::Signature(
                SignatureError::TooManySignatures { .. }
                | SignatureError::SignatureHeaderTooLong { .. },
            ) => 400,
            DeliveryError::Signature(_) => 401,
            DeliveryError::InProgress { .. } | DeliveryError::ReusedDeliveryId { .. } => 409,
            DeliveryError::Store(_) | DeliveryError::Queue(_) => {
                if self.is_retryable() {
                    503
                } else {
                    500
                }
            }
        }
    }

    /// A short stable code: the `error` of the answer, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryError::TooLarge { .. } => "payload_too_large",
            DeliveryError::UndecodableBase64 => "malformed_body",
            DeliveryError::Signature(error) => match error {
                SignatureError::MissingHeader(_) => "missing_signature_header",
                SignatureError::MalformedTimestamp => "malformed_timestamp",
                SignatureError::MalformedSignature => "malformed_signature",
                SignatureError::TooManySignatures { .. } => "too_many_signatures",
                SignatureError::SignatureHeaderTooLong { .. } => "signature_header_too_long",
                SignatureError::StaleTimestamp => "stale_timestamp",
                SignatureError::FutureTimestamp => "future_timestamp",
                SignatureError::NoMatchingSignature => "invalid_signature",
            },
            DeliveryError::Body(error) => match error {
                WebhookBodyError::NotJsonObject => "malformed_json",
                WebhookBodyError::MissingEventType => "missing_event_type",
                WebhookBodyError::MissingObjectId { .. } => "missing_object_id",
                WebhookBodyError::InvalidObjectId { .. } => "invalid_object_id",
                WebhookBodyError::InvalidDeliveryId => "invalid_delivery_id",
            },
            DeliveryError::ReusedDeliveryId { .. } => "delivery_id_reused",
            DeliveryError::InProgress { .. } => "delivery_in_progress",
            DeliveryError::Store(_) | DeliveryError::Queue(_) => {
                if self.is_retryable() {
                    "temporarily_unavailable"
                } else {
                    "internal_error"
                }
            }
        }
    }

    /// The `message` of the answer: what is wrong, for the sender's operator. No internals.
    pub fn public_message(&self) -> String {
        match self {
            DeliveryError::TooLarge { limit, .. } => {
                format!("the body is larger than the limit of {limit} bytes")
            }
            DeliveryError::UndecodableBase64
            | DeliveryError::Signature(_)
            | DeliveryError::Body(_) => self.to_string(),
            DeliveryError::ReusedDeliveryId { .. } => {
                "this webhook-id was already accepted with a different body; a new delivery needs a new webhook-id"
                    .to_owned()
            }
            DeliveryError::InProgress { .. } => {
                "this webhook-id is being accepted by another request; retry later".to_owned()
            }
            DeliveryError::Store(_) | DeliveryError::Queue(_) => {
                if self.is_retryable() {
                    "the delivery could not be accepted now; retry later".to_owned()
                } else {
                    "the delivery could not be accepted".to_owned()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_reveal_nothing_to_the_sender() {
        let store = DeliveryError::Store(StoreError::Throttled {
            operation: "PutItem",
            message: "table govsync-idempotency throttled".into(),
        });
        assert_eq!(store.status(), 503);
        assert!(!store.public_message().contains("govsync-idempotency"));
        let queue = DeliveryError::Queue(QueueError::Send {
            code: "AccessDenied".into(),
            message: "arn:aws:sqs:us-east-1:123456789012:governance-events.fifo".into(),
            retryable: false,
        });
        assert_eq!(queue.status(), 500);
        assert_eq!(queue.code(), "internal_error");
        assert!(!queue.public_message().contains("arn:"));
    }

    #[test]
    fn signature_limits_are_400_and_a_reused_id_is_a_409_of_its_own() {
        let cases = [
            (
                DeliveryError::Signature(SignatureError::TooManySignatures { count: 6, limit: 5 }),
                400,
                "too_many_signatures",
            ),
            (
                DeliveryError::Signature(SignatureError::SignatureHeaderTooLong {
                    length: 2000,
                    limit: 1024,
                }),
                400,
                "signature_header_too_long",
            ),
            (
                DeliveryError::ReusedDeliveryId {
                    delivery_id: "d".into(),
                },
                409,
                "delivery_id_reused",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status(), error.code()), (status, code), "{error}");
            assert!(!error.is_retryable(), "{error}");
        }
    }

    #[test]
    fn rejections_are_not_retryable_and_in_progress_is() {
        assert!(!DeliveryError::Signature(SignatureError::StaleTimestamp).is_retryable());
        assert!(
            DeliveryError::InProgress {
                delivery_id: "d".into()
            }
            .is_retryable()
        );
    }
}
