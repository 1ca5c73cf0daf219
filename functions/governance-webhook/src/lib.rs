//! governance-webhook: governance-platform webhooks into govsync (design §2, the front of F1/F4/F6),
//! as an API Gateway HTTP API (payload v2) Lambda (`LambdaEvent<ApiGatewayV2httpRequest>` →
//! `ApiGatewayV2httpResponse`).
//!
//! Per request ([`handler`]): body at most 256 KiB (base64-decoded when `isBase64Encoded`) → the
//! Standard-Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) against the
//! current or previous signing secret, constant-time, 5-minute tolerance both ways → the notification
//! read in core ([`govsync_core::governance_event::GovernanceEvent::from_webhook`]) → the delivery id
//! claimed in the idempotency table (a completed record = already accepted: the same body is
//! acknowledged, another body refused) → a
//! [`govsync_core::governance_event::GovernanceEvent`] on `governance-events.fifo` (group = object id,
//! deduplication id = delivery id) → 202. The approval-propagation function does the work later.
//!
//! Answers (`openapi.yaml`, README.md): 202 accepted or skipped (an event type govsync does not
//! handle, counted); 200 duplicate (the same delivery again, nothing enqueued); 400 malformed body, no
//! object id, more than 5 signatures or an over-long signature header; 401 bad/missing signature,
//! stale or future timestamp; 409 the same delivery is being accepted concurrently, or an accepted id
//! reused with another body; 413 over 256 KiB; 500/503 when the table or the queue fails (the claim is
//! released, so the sender's retry succeeds). Every answer is a small JSON object; errors are
//! `{"error": code, "message": text}` with no internals.
//!
//! The signing secrets are read from Secrets Manager at cold start, again after 5 minutes and on a
//! signature miss (at most every 30 s) so a rotation needs no restart ([`secret_cache`]); never logged.

pub mod config;
pub mod error;
pub mod handler;
pub mod metrics;
pub mod secret_cache;
pub mod signing_secrets;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use aws_lambda_events::http::header::CONTENT_TYPE;
use chrono::{DateTime, TimeDelta, Utc};
use govsync_adapters::aws::{dynamodb_client, secretsmanager_client, sqs_client};
use govsync_adapters::dynamodb::DynamoIdempotencyStore;
use govsync_adapters::queue::SqsMessageQueue;
use govsync_core::ports::{IdempotencyStore, MessageQueue};
use lambda_runtime::LambdaEvent;
use signing_secrets::SigningSecretSource;

pub use config::{Config, ConfigError};
pub use error::DeliveryError;
pub use handler::{Handler, MAX_BODY_BYTES, Outcome, Settings, TOLERANCE_SECS};
use signing_secrets::{SecretSourceError, SecretsManagerSigningSecrets};

/// The handler on the real adapters.
pub type LiveHandler =
    Handler<DynamoIdempotencyStore, SqsMessageQueue, SecretsManagerSigningSecrets>;

/// How long a delivery id is claimed when the invocation has no usable deadline (the function's timeout).
const DEFAULT_CLAIM_SECONDS: i64 = 10;

/// The deployed function: configuration and secrets read and clients built once, at cold start.
pub struct Function {
    handler: LiveHandler,
    metrics_namespace: Option<String>,
}

impl Function {
    /// Reads configuration and secrets from the environment exactly as in Lambda; builds clients once.
    pub async fn from_env() -> Result<Function, ConfigError> {
        let config = Config::from_env()?;
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        Self::new(config, &sdk).await
    }

    /// Builds the function from an explicit configuration and SDK configuration (the local runner and
    /// tests use this to choose credentials and endpoints without touching the process environment).
    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        let source = SecretsManagerSigningSecrets::new(
            secretsmanager_client(sdk),
            config.signing_secrets_secret_id.clone(),
        );
        // Unreadable at cold start fails the start; later failed re-reads keep these.
        let secrets = source.read().await.map_err(|error| match error {
            SecretSourceError::Read(error) => ConfigError::SecretRead(error),
            SecretSourceError::Unusable(error) => ConfigError::Secrets(error),
        })?;
        tracing::info!(
            signing_secrets = secrets.len(),
            object_id_pointer = config.object_id_pointer,
            "governance-webhook ready"
        );
        let handler = Handler::with_secret_source(
            Settings::new(secrets, config.object_id_pointer.clone()),
            source,
            Arc::new(DynamoIdempotencyStore::new(
                dynamodb_client(sdk),
                config.idempotency_table.clone(),
            )),
            Arc::new(SqsMessageQueue::new(
                sqs_client(sdk),
                config.queue_url.clone(),
            )),
        );
        Ok(Function {
            handler,
            metrics_namespace: config.metrics_namespace,
        })
    }

    /// One HTTP request, as API Gateway (payload v2) delivers it.
    pub async fn handle(
        &self,
        event: LambdaEvent<ApiGatewayV2httpRequest>,
    ) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
        Ok(handle_with(&self.handler, event, self.metrics_namespace.as_deref()).await)
    }
}

/// How long to hold a claim: until the invocation's deadline, or [`DEFAULT_CLAIM_SECONDS`] without one.
pub fn claim_until(deadline_ms: u64, now: DateTime<Utc>) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|deadline| *deadline > now)
        .unwrap_or_else(|| now + TimeDelta::seconds(DEFAULT_CLAIM_SECONDS))
}

/// [`Function::handle`] for any handler (tests pass one on fakes). Never fails: every problem is an
/// HTTP answer.
pub async fn handle_with<I: IdempotencyStore, Q: MessageQueue, S: SigningSecretSource>(
    handler: &Handler<I, Q, S>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
    metrics_namespace: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let now = Utc::now();
    let claim = claim_until(event.context.deadline, now);
    let request_id = event
        .payload
        .request_context
        .request_id
        .clone()
        .unwrap_or_else(|| event.context.request_id.clone());
    let outcome = handler.handle(&event.payload, now, claim).await;
    log_outcome(&outcome, &request_id);
    if let Some(namespace) = metrics_namespace {
        // Measured when the outcome is known: an accepted delivery's lag ends at its enqueueing.
        println!(
            "{}",
            metrics::embedded_metrics(&outcome, namespace, Utc::now())
        );
    }
    response(&outcome)
}

fn log_outcome(outcome: &Outcome, request_id: &str) {
    match outcome {
        Outcome::Accepted {
            delivery_id,
            object_id,
            event_type,
            ..
        } => tracing::info!(
            request_id,
            delivery_id,
            object_id,
            event_type = event_type.as_str(),
            "delivery accepted and enqueued"
        ),
        Outcome::Skipped {
            delivery_id,
            event_type,
        } => tracing::info!(
            request_id,
            delivery_id,
            event_type,
            metric = "SkippedUnhandledEventType",
            "delivery skipped: govsync does not handle this event type"
        ),
        Outcome::Duplicate { delivery_id } => tracing::info!(
            request_id,
            delivery_id,
            "delivery already accepted with this body: acknowledged, nothing enqueued"
        ),
        Outcome::Refused(error) if error.status() >= 500 => tracing::error!(
            request_id,
            code = error.code(),
            status = error.status(),
            error = %error,
            "delivery failed"
        ),
        Outcome::Refused(error) => tracing::warn!(
            request_id,
            code = error.code(),
            status = error.status(),
            error = %error,
            "delivery refused"
        ),
    }
}

/// The HTTP answer of an outcome: its status and JSON body.
pub fn response(outcome: &Outcome) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(outcome.status());
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(outcome.body().to_string()));
    response.is_base64_encoded = false;
    response
}
