//! The signing secrets a warm instance verifies with, kept fresh across rotations.
//!
//! Read at cold start, the secrets would stay whatever they were then, and a rotation would turn every
//! delivery signed with the new secret into a 401 until the instance is recycled. So they are read
//! again from their [`SigningSecretSource`]:
//! - when they are older than [`SecretRefresh::max_age`] (before verifying), and
//! - when a signature matches none of them (then the delivery is verified once more with what was read);
//!
//! never more often than once per [`SecretRefresh::min_interval`], so unsigned requests cannot turn the
//! endpoint into a Secrets Manager load generator. A read that fails keeps the secrets already held and
//! is logged: a Secrets Manager outage must not lock out deliveries signed with a known secret.
//!
//! Time is the handler's `now`, so the policy is tested without a clock.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use govsync_core::webhook::WebhookSecret;

use crate::signing_secrets::SigningSecretSource;

/// When the signing secrets are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretRefresh {
    /// Secrets older than this are re-read before the next verification.
    pub max_age: TimeDelta,
    /// At most one read per this interval, whatever triggers it.
    pub min_interval: TimeDelta,
}

impl Default for SecretRefresh {
    /// 5 minutes: a rotation is picked up within the signature tolerance even without a miss.
    /// 30 seconds: at most two reads a minute per instance under a flood of bad signatures.
    fn default() -> Self {
        Self {
            max_age: TimeDelta::minutes(5),
            min_interval: TimeDelta::seconds(30),
        }
    }
}

/// Why a read is attempted (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Expired,
    VerificationMiss,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Expired => "expired",
            Trigger::VerificationMiss => "verification_miss",
        }
    }
}

struct State {
    secrets: Arc<[WebhookSecret]>,
    /// When `secrets` were read; `None` until the first request stamps the cold start's read.
    read_at: Option<DateTime<Utc>>,
    /// The last read attempted, successful or not (the rate limit).
    attempted_at: Option<DateTime<Utc>>,
}

/// The secrets held by one instance and their source.
pub struct SigningSecretsCache<S> {
    source: S,
    refresh: SecretRefresh,
    state: Mutex<State>,
}

impl<S: SigningSecretSource> SigningSecretsCache<S> {
    /// `initial` are the secrets already read from `source` (at cold start).
    pub fn new(source: S, initial: Vec<WebhookSecret>, refresh: SecretRefresh) -> Self {
        Self {
            source,
            refresh,
            state: Mutex::new(State {
                secrets: initial.into(),
                read_at: None,
                attempted_at: None,
            }),
        }
    }

    /// The secrets to verify with now.
    pub fn current(&self) -> Arc<[WebhookSecret]> {
        self.lock().secrets.clone()
    }

    /// Re-reads the secrets if they are older than `max_age` (and no read was tried within
    /// `min_interval`). Failures keep the secrets held.
    pub async fn refresh_if_expired(&self, now: DateTime<Utc>) {
        let due = {
            let mut state = self.lock();
            match state.read_at {
                None => {
                    state.read_at = Some(now);
                    false
                }
                Some(read_at) => {
                    now - read_at >= self.refresh.max_age && self.claim(&mut state, now)
                }
            }
        };
        if due {
            self.reread(now, Trigger::Expired).await;
        }
    }

    /// After a signature matched none of the held secrets: re-reads them unless a read was tried
    /// within `min_interval`. Returns the new secrets only when the read succeeded and they differ,
    /// so the caller verifies again only when that can change the answer.
    pub async fn refresh_after_miss(&self, now: DateTime<Utc>) -> Option<Arc<[WebhookSecret]>> {
        let allowed = {
            let mut state = self.lock();
            self.claim(&mut state, now)
        };
        if !allowed {
            return None;
        }
        self.reread(now, Trigger::VerificationMiss).await
    }

    /// Takes the rate-limit slot if it is free. Marking the attempt before reading keeps concurrent
    /// requests of one instance from reading together.
    fn claim(&self, state: &mut State, now: DateTime<Utc>) -> bool {
        let free = state
            .attempted_at
            .is_none_or(|at| now - at >= self.refresh.min_interval);
        if free {
            state.attempted_at = Some(now);
        }
        free
    }

    async fn reread(&self, now: DateTime<Utc>, trigger: Trigger) -> Option<Arc<[WebhookSecret]>> {
        match self.source.read().await {
            Ok(secrets) => {
                let mut state = self.lock();
                state.read_at = Some(now);
                let changed = *state.secrets != *secrets;
                tracing::info!(
                    trigger = trigger.as_str(),
                    changed,
                    signing_secrets = secrets.len(),
                    "webhook signing secrets re-read"
                );
                if !changed {
                    return None;
                }
                state.secrets = secrets.into();
                Some(state.secrets.clone())
            }
            Err(error) => {
                tracing::warn!(
                    trigger = trigger.as_str(),
                    error = %error,
                    "cannot re-read the webhook signing secrets; keeping the ones held"
                );
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is replaced whole under the lock, so a poisoned lock still holds a usable value.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use govsync_adapters::secrets::SecretError;

    use super::*;
    use crate::signing_secrets::SecretSourceError;

    /// A source whose answer the test sets, counting reads.
    struct Scripted {
        answer: Mutex<Result<Vec<WebhookSecret>, SecretSourceError>>,
        reads: AtomicUsize,
    }

    impl Scripted {
        fn new(secrets: &[&str]) -> Self {
            Self {
                answer: Mutex::new(Ok(keys(secrets))),
                reads: AtomicUsize::new(0),
            }
        }
        fn set(&self, answer: Result<Vec<WebhookSecret>, SecretSourceError>) {
            *self.answer.lock().unwrap() = answer;
        }
        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl SigningSecretSource for &Scripted {
        async fn read(&self) -> Result<Vec<WebhookSecret>, SecretSourceError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.answer.lock().unwrap().clone()
        }
    }

    fn keys(secrets: &[&str]) -> Vec<WebhookSecret> {
        secrets
            .iter()
            .map(|s| WebhookSecret::parse(s).unwrap())
            .collect()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn outage() -> SecretSourceError {
        SecretSourceError::Read(SecretError::Service {
            secret_id: "govsync/webhook-signing-secrets".into(),
            code: "ServiceUnavailable".into(),
            message: "down".into(),
            retryable: true,
        })
    }

    #[tokio::test]
    async fn a_miss_rereads_and_returns_the_rotated_secrets() {
        let source = Scripted::new(&["old"]);
        let cache = SigningSecretsCache::new(&source, keys(&["old"]), SecretRefresh::default());
        source.set(Ok(keys(&["new", "old"])));
        let fresh = cache.refresh_after_miss(at(0)).await;
        assert_eq!(fresh.as_deref(), Some(keys(&["new", "old"]).as_slice()));
        assert_eq!(&*cache.current(), keys(&["new", "old"]).as_slice());
        assert_eq!(source.reads(), 1);
    }

    #[tokio::test]
    async fn misses_reread_at_most_once_per_interval() {
        let source = Scripted::new(&["old"]);
        let cache = SigningSecretsCache::new(&source, keys(&["old"]), SecretRefresh::default());
        assert_eq!(cache.refresh_after_miss(at(0)).await, None, "unchanged");
        for second in [1, 10, 29] {
            assert_eq!(cache.refresh_after_miss(at(second)).await, None);
        }
        assert_eq!(source.reads(), 1, "a flood of misses reads once per 30 s");
        source.set(Ok(keys(&["new"])));
        assert!(cache.refresh_after_miss(at(30)).await.is_some());
        assert_eq!(source.reads(), 2);
    }

    #[tokio::test]
    async fn secrets_older_than_the_max_age_are_reread_before_verifying() {
        let source = Scripted::new(&["old"]);
        let cache = SigningSecretsCache::new(&source, keys(&["old"]), SecretRefresh::default());
        cache.refresh_if_expired(at(0)).await; // the first request stamps the cold start's read
        cache.refresh_if_expired(at(299)).await;
        assert_eq!(source.reads(), 0);
        source.set(Ok(keys(&["new"])));
        cache.refresh_if_expired(at(300)).await;
        assert_eq!(source.reads(), 1);
        assert_eq!(&*cache.current(), keys(&["new"]).as_slice());
        cache.refresh_if_expired(at(400)).await;
        assert_eq!(source.reads(), 1, "fresh again for another 5 minutes");
    }

    #[tokio::test]
    async fn a_failed_reread_keeps_the_held_secrets_and_is_retried_after_the_interval() {
        let source = Scripted::new(&["old"]);
        let cache = SigningSecretsCache::new(&source, keys(&["old"]), SecretRefresh::default());
        cache.refresh_if_expired(at(0)).await;
        source.set(Err(outage()));
        cache.refresh_if_expired(at(300)).await;
        assert_eq!(cache.refresh_after_miss(at(301)).await, None);
        assert_eq!(&*cache.current(), keys(&["old"]).as_slice());
        cache.refresh_if_expired(at(310)).await;
        assert_eq!(source.reads(), 1, "no read within 30 s of the failed one");
        source.set(Ok(keys(&["new"])));
        cache.refresh_if_expired(at(330)).await;
        assert_eq!(source.reads(), 2);
        assert_eq!(&*cache.current(), keys(&["new"]).as_slice());
    }
}
