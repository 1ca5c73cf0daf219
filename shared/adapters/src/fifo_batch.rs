//! The SQS FIFO batch rules every queue-driven govsync function follows (design §4), generic over the
//! function's message handling:
//!
//! - [`run_in_groups`]: messages of one logical group run one after the other in batch order, a group
//!   stops at its first failure (that message and every later one of the group are failures: they return
//!   to the queue in order), and independent groups run concurrently (futures joined on one task), so a
//!   batch costs about its longest group's calls.
//! - [`claim`] / [`settle_claim`]: the Powertools idempotency protocol around one message's work
//!   (claim until the invocation deadline; complete on success; release on failure).
//! - [`quarantined`]: the dead-letter copy of a record, with its reason as attributes.
//! - [`claim_until`]: the claim's deadline from Lambda's context.
//!
//! registry-events' batch handler follows the same rules; decommission uses these pieces.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use govsync_core::ports::{IdempotencyBegin, IdempotencyStore, QuarantinedMessage, StoreError};

/// The idempotency claim when the context has no deadline (Lambda's longest run).
const DEFAULT_CLAIM_SECONDS: i64 = 900;

/// Runs `process` over `items` grouped by `group_of`: groups concurrently, each in order, stopping a
/// group at its first failure (`is_failure`); the later items of a stopped group get `blocked()`.
/// Results come back in input order.
pub async fn run_in_groups<'a, T, O, G, P, Fut, F, B>(
    items: &'a [T],
    group_of: G,
    process: P,
    is_failure: F,
    blocked: B,
) -> Vec<O>
where
    G: Fn(usize, &'a T) -> String,
    P: Fn(&'a T) -> Fut,
    Fut: Future<Output = O>,
    F: Fn(&O) -> bool,
    B: Fn(&'a T) -> O,
{
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<(usize, &'a T)>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let key = group_of(index, item);
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push((index, item));
    }
    let process = &process;
    let is_failure = &is_failure;
    let blocked = &blocked;
    let runs = order
        .iter()
        .filter_map(|key| groups.remove(key))
        .map(|group| async move {
            let mut out = Vec::with_capacity(group.len());
            let mut stopped = false;
            for (index, item) in group {
                if stopped {
                    out.push((index, blocked(item)));
                    continue;
                }
                let outcome = process(item).await;
                stopped = is_failure(&outcome);
                out.push((index, outcome));
            }
            out
        });
    let mut results: Vec<(usize, O)> = join_all(runs).await.into_iter().flatten().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

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

/// Claims `key` until `deadline` (Powertools protocol).
pub async fn claim<I: IdempotencyStore>(
    store: &I,
    key: &str,
    deadline: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    Ok(match store.begin(key, Utc::now(), deadline).await? {
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
    key: &str,
    record: Option<&serde_json::Value>,
) {
    match record {
        Some(record) => {
            if let Err(error) = store.complete(key, record, Utc::now()).await {
                tracing::warn!(error = %error, key, "could not complete the idempotency record");
            }
        }
        None => {
            if let Err(error) = store.release(key).await {
                tracing::warn!(error = %error, key, "could not release the idempotency record; it expires at the deadline");
            }
        }
    }
}

/// The dead-letter copy of an SQS record: original body, the source group (a replay keeps its order),
/// a deduplication id from the source message id, and the reason.
pub fn quarantined(
    body: Option<&str>,
    message_id: Option<&str>,
    message_group_id: Option<&str>,
    reason: String,
    error_code: &str,
) -> QuarantinedMessage {
    let source_id = message_id.unwrap_or_default().to_owned();
    QuarantinedMessage {
        body: body.unwrap_or_default().to_owned(),
        message_group_id: message_group_id.unwrap_or("quarantine").to_owned(),
        deduplication_id: format!("quarantine-{source_id}"),
        reason,
        error_code: error_code.to_owned(),
        source_message_id: source_id,
    }
}

/// The idempotency claim lasts until the invocation's deadline (epoch ms), else 15 minutes.
pub fn claim_until(deadline_ms: u64, now: DateTime<Utc>) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|deadline| *deadline > now)
        .unwrap_or_else(|| now + Duration::seconds(DEFAULT_CLAIM_SECONDS))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::fakes::FakeIdempotencyStore;

    #[tokio::test]
    async fn a_group_stops_at_its_first_failure_and_others_go_on() {
        let items = [("a", 1), ("b", -1), ("a", -2), ("a", 3), ("b", 4)];
        let seen = Mutex::new(Vec::new());
        let outcomes = run_in_groups(
            &items,
            |_, (group, _)| (*group).to_owned(),
            |(_, value)| {
                seen.lock().unwrap().push(*value);
                async move { if *value < 0 { Err(*value) } else { Ok(*value) } }
            },
            Result::is_err,
            |_| Err(0),
        )
        .await;
        assert_eq!(outcomes, [Ok(1), Err(-1), Err(-2), Err(0), Err(0)]);
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, [-2, -1, 1], "nothing after a group's failure runs");
    }

    #[tokio::test]
    async fn a_claim_is_owned_once_then_duplicate_after_completion() {
        let store = FakeIdempotencyStore::new();
        let deadline = Utc::now() + Duration::seconds(30);
        assert_eq!(claim(&store, "k", deadline).await.unwrap(), Claim::Owned);
        assert_eq!(
            claim(&store, "k", deadline).await.unwrap(),
            Claim::InProgress
        );
        settle_claim(&store, "k", None).await;
        assert_eq!(claim(&store, "k", deadline).await.unwrap(), Claim::Owned);
        settle_claim(&store, "k", Some(&serde_json::json!({"outcome": "x"}))).await;
        assert_eq!(
            claim(&store, "k", deadline).await.unwrap(),
            Claim::Duplicate(serde_json::json!({"outcome": "x"}))
        );
    }

    #[test]
    fn quarantined_copies_keep_body_group_and_reason() {
        let message = quarantined(Some("{}"), Some("m-1"), None, "why".into(), "code");
        assert_eq!(message.body, "{}");
        assert_eq!(message.message_group_id, "quarantine");
        assert_eq!(message.deduplication_id, "quarantine-m-1");
        assert_eq!(
            (message.reason.as_str(), message.error_code.as_str()),
            ("why", "code")
        );
    }

    #[test]
    fn claims_last_until_the_deadline_or_fifteen_minutes() {
        let now = Utc::now();
        let later = now + Duration::seconds(40);
        assert_eq!(
            claim_until(u64::try_from(later.timestamp_millis()).unwrap(), now).timestamp_millis(),
            later.timestamp_millis()
        );
        assert_eq!(claim_until(0, now), now + Duration::seconds(900));
    }
}
