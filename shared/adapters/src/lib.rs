//! govsync adapters: the ports of `govsync_core::ports` implemented on real services.
//!
//! - [`governance::GovernanceClient`]: the OpenPages REST API v2 subset (reqwest), four auth modes,
//!   shared token cache, retries.
//! - [`sagemaker::SageMakerRegistry`]: one SageMaker Model Registry.
//! - [`dynamodb`]: idempotency records (Powertools protocol), links with applied revisions and the
//!   our-write ledger, poll cursors.
//! - [`ses::SesNotifier`]: email through SES v2.
//! - [`sqs::SqsQuarantine`]: a function's dead-letter queue (permanent failures, with their reason).
//! - [`queue::SqsMessageQueue`]: a FIFO queue govsync feeds itself (governance events, decommission requests).
//! - [`secrets`]: secrets read from Secrets Manager at cold start.
//! - [`eventbridge::EventBridgePublisher`]: governance decision events onto govsync's bus.
//! - [`registry_map`]: the governed registries, from the `govsync-registries` table (or `GOVSYNC_REGISTRY_MAP`).
//! - [`aws`]: SDK configuration from the environment, assume-role per registry.
//!
//! With the `test-util` feature, [`fakes`] holds in-memory implementations of every port.

pub mod aws;
pub mod dynamodb;
pub mod ecr;
pub mod eventbridge;
pub mod governance;
pub mod queue;
pub mod registry_map;
pub mod s3;
pub mod sagemaker;
mod sdk_error;
pub mod secrets;
pub mod ses;
pub mod sqs;

#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
