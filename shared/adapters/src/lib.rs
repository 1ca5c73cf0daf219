//! govsync adapters: the ports of `govsync_core::ports` implemented on real services.
//!
//! - [`governance::GovernanceClient`]: the OpenPages REST API v2 subset (reqwest), four auth modes,
//!   shared token cache, retries.
//! - [`sagemaker::SageMakerRegistry`]: one SageMaker Model Registry.
//! - [`dynamodb`]: idempotency records (Powertools protocol), links with applied revisions and the
//!   our-write ledger, poll cursors.
//! - [`ses::SesNotifier`]: email through SES v2.
//! - [`sqs::SqsQuarantine`]: a function's dead-letter queue (permanent failures, with their reason).
//! - [`secrets`]: secrets read from Secrets Manager at cold start.
//! - [`aws`]: SDK configuration from the environment, assume-role per registry.
//!
//! With the `test-util` feature, [`fakes`] holds in-memory implementations of every port.

pub mod aws;
pub mod dynamodb;
pub mod governance;
pub mod sagemaker;
mod sdk_error;
pub mod secrets;
pub mod ses;
pub mod sqs;

#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
