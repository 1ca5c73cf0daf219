//! Shared helpers of the integration tests that need the local stack.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_smithy_types::retry::RetryConfig;

/// Reads a local-stack variable; a missing one fails the test (it never skips silently).
pub fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{name} is not set: these tests need the local stack; run them through local/test.sh \
             (or export the variables of .local/stack.env)"
        ),
    }
}

/// SDK config pointing at moto, with static test credentials and SDK retries off.
pub async fn moto_config() -> SdkConfig {
    let moto = required_env("GOVSYNC_MOTO_URL");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "govsync-tests",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
