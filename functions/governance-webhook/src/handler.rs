//! One webhook request: read the body (base64 when API Gateway says so, at most 256 KiB), verify the
//! Standard-Webhooks signature against the signing secrets (5-minute tolerance both ways; the secrets
//! are re-read after a rotation, [`crate::secret_cache`]), read the notification (core), claim the
//! delivery id in the idempotency table (Powertools protocol; a failed enqueue releases the claim so the
//! sender's retry succeeds), and put the change on `governance-events.fifo`. The work itself is not
//! waited for.
//!
//! An id already accepted is answered by comparing bodies: the completed record keeps the SHA-256 of the
//! accepted body, so the sender's retry after a lost 202 (same body) is acknowledged 200 `duplicate`
//! with nothing enqueued, and a different body under a reused id is refused 409 `delivery_id_reused`.
//!
//! Order of checks (cheapest first, and nothing unauthenticated reaches the table or the queue):
//! size → base64 → signature → body → replay claim → enqueue.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use govsync_core::IdempotencyKey;
use govsync_core::governance_event::{GovernanceEvent, GovernanceEventType, WebhookNotification};
use govsync_core::ports::{IdempotencyBegin, IdempotencyStore, MessageQueue};
use govsync_core::webhook::{self, SignatureError, WebhookHeaders, WebhookSecret};
use serde_json::json;

use crate::error::DeliveryError;
use crate::secret_cache::{SecretRefresh, SigningSecretsCache};
use crate::signing_secrets::{SigningSecretSource, StaticSigningSecrets};

/// Bodies larger than this are refused with 413 (decoded bytes).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How far a signed timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 300;
/// The member of a completed delivery record holding the accepted body's SHA-256 (hex).
pub const RECORD_BODY_SHA256: &str = "body_sha256";

/// What the handler is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The keys a signature may match at start: the current secret, and the previous one during a
    /// rotation. The handler re-reads them from its secret source later.
    pub secrets: Vec<WebhookSecret>,
    /// JSON pointer of the object id in the notification body.
    pub object_id_pointer: String,
    pub tolerance_secs: i64,
    pub max_body_bytes: usize,
    pub secret_refresh: SecretRefresh,
}

impl Settings {
    /// The deployed limits: 5-minute tolerance, 256 KiB bodies, secrets re-read after 5 minutes or on a
    /// miss (at most every 30 s).
    pub fn new(secrets: Vec<WebhookSecret>, object_id_pointer: impl Into<String>) -> Self {
        Self {
            secrets,
            object_id_pointer: object_id_pointer.into(),
            tolerance_secs: TOLERANCE_SECS,
            max_body_bytes: MAX_BODY_BYTES,
            secret_refresh: SecretRefresh::default(),
        }
    }
}

/// What one request came to.
#[derive(Debug)]
pub enum Outcome {
    /// Verified, new, and on the queue: 202.
    Accepted {
        delivery_id: String,
        object_id: String,
        event_type: GovernanceEventType,
        /// When the change happened (the notification's `timestamp`, else the signed timestamp).
        occurred_at: DateTime<Utc>,
    },
    /// Verified, but a notification type govsync does not handle: 202, counted, nothing enqueued.
    Skipped {
        delivery_id: String,
        event_type: String,
    },
    /// Verified, and the same body under this id was accepted before (the sender did not get our 2xx):
    /// 200, nothing enqueued.
    Duplicate { delivery_id: String },
    /// Refused (4xx) or failed (5xx).
    Refused(DeliveryError),
}

impl Outcome {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Accepted { .. } | Outcome::Skipped { .. } => 202,
            Outcome::Duplicate { .. } => 200,
            Outcome::Refused(error) => error.status(),
        }
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Refused(error) => error.code(),
        }
    }

    /// The JSON body of the answer (see `openapi.yaml`).
    pub fn body(&self) -> serde_json::Value {
        match self {
            Outcome::Accepted { delivery_id, .. } => {
                json!({"status": "accepted", "delivery_id": delivery_id})
            }
            Outcome::Skipped {
                delivery_id,
                event_type,
            } => json!({
                "status": "skipped",
                "reason": "unhandled_event_type",
                "event_type": event_type,
                "delivery_id": delivery_id,
            }),
            Outcome::Duplicate { delivery_id } => {
                json!({"status": "duplicate", "delivery_id": delivery_id})
            }
            Outcome::Refused(error) => {
                json!({"error": error.code(), "message": error.public_message()})
            }
        }
    }
}

/// The handler on its ports (the idempotency table and the queue) and its signing-secret source
/// (by default the fixed secrets of its settings).
pub struct Handler<I, Q, S = StaticSigningSecrets> {
    settings: Settings,
    secrets: SigningSecretsCache<S>,
    store: Arc<I>,
    queue: Arc<Q>,
}

impl<I: IdempotencyStore, Q: MessageQueue> Handler<I, Q, StaticSigningSecrets> {
    /// Verifies with `settings.secrets` only.
    pub fn new(settings: Settings, store: Arc<I>, queue: Arc<Q>) -> Self {
        let source = StaticSigningSecrets(settings.secrets.clone());
        Self::with_secret_source(settings, source, store, queue)
    }
}

impl<I: IdempotencyStore, Q: MessageQueue, S: SigningSecretSource> Handler<I, Q, S> {
    /// Starts with `settings.secrets` (already read from `source`) and re-reads `source` as
    /// `settings.secret_refresh` says.
    pub fn with_secret_source(settings: Settings, source: S, store: Arc<I>, queue: Arc<Q>) -> Self {
        let secrets =
            SigningSecretsCache::new(source, settings.secrets.clone(), settings.secret_refresh);
        Self {
            settings,
            secrets,
            store,
            queue,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Handles one request at `now`; a delivery id claimed in the table is held until `claim_until`
    /// (the invocation's deadline) unless completed or released first.
    pub async fn handle(
        &self,
        request: &ApiGatewayV2httpRequest,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> Outcome {
        match self.accept(request, now, claim_until).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Refused(error),
        }
    }

    async fn accept(
        &self,
        request: &ApiGatewayV2httpRequest,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> Result<Outcome, DeliveryError> {
        let body = request_body(request, self.settings.max_body_bytes)?;
        // `HeaderMap` names are case-insensitive (stored lowercase).
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let headers = WebhookHeaders {
            id: header(webhook::HEADER_ID),
            timestamp: header(webhook::HEADER_TIMESTAMP),
            signature: header(webhook::HEADER_SIGNATURE),
        };
        let verified = self.verify(headers, &body, now).await?;
        let event = match GovernanceEvent::from_webhook(
            &verified.id,
            verified.timestamp,
            &body,
            &self.settings.object_id_pointer,
        )? {
            WebhookNotification::Change(event) => event,
            WebhookNotification::Unhandled { event_type } => {
                return Ok(Outcome::Skipped {
                    delivery_id: verified.id,
                    event_type,
                });
            }
        };

        let key = IdempotencyKey::for_webhook_delivery(event.delivery_id.as_str());
        match self.store.begin(&key, now, claim_until).await? {
            IdempotencyBegin::Started => {}
            IdempotencyBegin::AlreadyCompleted(record) => {
                return match record.get(RECORD_BODY_SHA256).and_then(|v| v.as_str()) {
                    // A record from before bodies were kept cannot be compared; the sender is
                    // authenticated and nothing new happens either way.
                    None => Ok(Outcome::Duplicate {
                        delivery_id: verified.id,
                    }),
                    Some(accepted) if accepted == webhook::body_sha256(&body) => {
                        Ok(Outcome::Duplicate {
                            delivery_id: verified.id,
                        })
                    }
                    Some(_) => Err(DeliveryError::ReusedDeliveryId {
                        delivery_id: verified.id,
                    }),
                };
            }
            IdempotencyBegin::InProgress => {
                return Err(DeliveryError::InProgress {
                    delivery_id: verified.id,
                });
            }
        }
        if let Err(error) = self.queue.send(&event.to_outgoing_message()).await {
            // Powertools: delete the claim on failure so the sender's retry (same id) can succeed.
            if let Err(release_error) = self.store.release(&key).await {
                tracing::warn!(
                    key = key.as_str(),
                    error = %release_error,
                    "cannot release the delivery claim; a retry is refused as in progress until the claim expires"
                );
            }
            return Err(error.into());
        }
        let record = json!({
            "object_id": event.object_id.as_str(),
            "event_type": event.event_type.as_str(),
            "enqueued_at": now.to_rfc3339(),
            RECORD_BODY_SHA256: webhook::body_sha256(&body),
        });
        if let Err(error) = self.store.complete(&key, &record, now).await {
            // The message is on the queue: answer 202. Until the claim expires a repeat is refused as in
            // progress; after it, a repeat is enqueued again with the same deduplication id (SQS drops it
            // within its 5-minute window; the consumer is idempotent on the object's revision anyway).
            tracing::warn!(key = key.as_str(), error = %error, "cannot complete the delivery record");
        }
        Ok(Outcome::Accepted {
            delivery_id: verified.id,
            object_id: event.object_id.as_str().to_owned(),
            event_type: event.event_type,
            occurred_at: event.occurred_at,
        })
    }
}

impl<I: IdempotencyStore, Q: MessageQueue, S: SigningSecretSource> Handler<I, Q, S> {
    /// Verifies with the held secrets (re-read first when expired); on a miss, re-reads them (rate
    /// limited) and verifies once more if they changed: the sender may have rotated before us.
    async fn verify(
        &self,
        headers: WebhookHeaders<'_>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<webhook::VerifiedDelivery, DeliveryError> {
        self.secrets.refresh_if_expired(now).await;
        let verify = |secrets: &[WebhookSecret]| {
            webhook::verify(
                secrets,
                headers,
                body,
                now.timestamp(),
                self.settings.tolerance_secs,
            )
        };
        match verify(&self.secrets.current()) {
            Err(SignatureError::NoMatchingSignature) => {
                match self.secrets.refresh_after_miss(now).await {
                    Some(fresh) => Ok(verify(&fresh)?),
                    None => Err(SignatureError::NoMatchingSignature.into()),
                }
            }
            other => Ok(other?),
        }
    }
}

/// The request body as bytes: base64-decoded when API Gateway marked it so; at most `limit` bytes.
pub fn request_body(
    request: &ApiGatewayV2httpRequest,
    limit: usize,
) -> Result<Vec<u8>, DeliveryError> {
    let raw = request.body.as_deref().unwrap_or_default();
    if !request.is_base64_encoded {
        if raw.len() > limit {
            return Err(DeliveryError::TooLarge {
                size: raw.len(),
                limit,
            });
        }
        return Ok(raw.as_bytes().to_vec());
    }
    // Every 4 base64 characters are at most 3 bytes: refuse before decoding what cannot fit.
    let at_least = raw.trim_end_matches('=').len().saturating_mul(3) / 4;
    if at_least > limit {
        return Err(DeliveryError::TooLarge {
            size: at_least,
            limit,
        });
    }
    let bytes = BASE64
        .decode(raw.trim())
        .map_err(|_| DeliveryError::UndecodableBase64)?;
    if bytes.len() > limit {
        return Err(DeliveryError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    Ok(bytes)
}
