//! The Powertools idempotency protocol around one message's work (design §4): claim the business key
//! until the invocation deadline, complete it on success, release it on failure.

use chrono::{DateTime, Utc};
use govsync_core::IdempotencyKey;
use govsync_core::ports::{IdempotencyBegin, IdempotencyStore, StoreError};

/// What claiming a business key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The caller owns the key: do the work, then [`settle_claim`].
    Owned,
    /// Done before; the stored result.
    Duplicate(serde_json::Value),
    /// Another invocation holds the key until its deadline: retry later.
    InProgress,
}

/// Claims `key` from `now` until `deadline`.
pub async fn claim<I: IdempotencyStore>(
    store: &I,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    Ok(match store.begin(key, now, deadline).await? {
        IdempotencyBegin::Started => Claim::Owned,
        IdempotencyBegin::AlreadyCompleted(result) => Claim::Duplicate(result),
        IdempotencyBegin::InProgress => Claim::InProgress,
    })
}

/// Completes the claim with `record` on success, releases it on failure. Failing to complete is only
/// logged (the work is done and a repeat decides to nothing); failing to release leaves the claim to
/// expire at its deadline.
pub async fn settle_claim<I: IdempotencyStore>(
    store: &I,
    key: &IdempotencyKey,
    record: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) {
    match record {
        Some(record) => {
            if let Err(error) = store.complete(key, record, now).await {
                tracing::warn!(error = %error, key = key.as_str(), "could not complete the idempotency record");
            }
        }
        None => {
            if let Err(error) = store.release(key).await {
                tracing::warn!(error = %error, key = key.as_str(), "could not release the idempotency record; it expires at the deadline");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use govsync_adapters::fakes::FakeIdempotencyStore;

    use super::*;

    #[tokio::test]
    async fn a_claim_is_owned_once_then_duplicate_after_completion() {
        let store = FakeIdempotencyStore::new();
        let deadline = Utc::now() + Duration::seconds(30);
        assert_eq!(
            claim(
                &store,
                &IdempotencyKey::for_cloudtrail_event("k"),
                Utc::now(),
                deadline
            )
            .await
            .unwrap(),
            Claim::Owned
        );
        assert_eq!(
            claim(
                &store,
                &IdempotencyKey::for_cloudtrail_event("k"),
                Utc::now(),
                deadline
            )
            .await
            .unwrap(),
            Claim::InProgress
        );
        settle_claim(
            &store,
            &IdempotencyKey::for_cloudtrail_event("k"),
            None,
            Utc::now(),
        )
        .await;
        assert_eq!(
            claim(
                &store,
                &IdempotencyKey::for_cloudtrail_event("k"),
                Utc::now(),
                deadline
            )
            .await
            .unwrap(),
            Claim::Owned
        );
        settle_claim(
            &store,
            &IdempotencyKey::for_cloudtrail_event("k"),
            Some(&serde_json::json!({"outcome": "x"})),
            Utc::now(),
        )
        .await;
        assert_eq!(
            claim(
                &store,
                &IdempotencyKey::for_cloudtrail_event("k"),
                Utc::now(),
                deadline
            )
            .await
            .unwrap(),
            Claim::Duplicate(serde_json::json!({"outcome": "x"}))
        );
    }
}
