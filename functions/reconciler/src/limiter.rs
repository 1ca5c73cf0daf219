//! Bounded, adaptive concurrency for remote calls: at most `limit` calls in flight; a throttled call
//! (after the adapters' own retries) halves the limit and is retried after a jittered back-off; every
//! `limit` successes in a row raise it by one again, up to the configured maximum (AIMD, as TCP and the
//! AWS SDK's adaptive retry mode do).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::Throttling;

#[derive(Debug)]
struct State {
    limit: usize,
    /// Permits to retire as they come back (the limit was lowered below what is in flight).
    to_forget: usize,
    successes: usize,
    lowest: usize,
}

/// What the limiter saw, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Remote operations started through the limiter (listing pages are counted by the adapters).
    pub calls: u64,
    /// Of which answered "throttled" after the adapters' own retries.
    pub throttled: u64,
    /// The lowest concurrency the limiter slowed down to.
    pub lowest_concurrency: usize,
    pub max_concurrency: usize,
}

#[derive(Debug)]
pub struct Limiter {
    semaphore: Semaphore,
    max: usize,
    state: Mutex<State>,
    calls: AtomicU64,
    throttled: AtomicU64,
    max_retries: u32,
    base_backoff: Duration,
}

impl Limiter {
    pub fn new(max: usize, max_retries: u32, base_backoff: Duration) -> Self {
        let max = max.max(1);
        Self {
            semaphore: Semaphore::new(max),
            max,
            state: Mutex::new(State {
                limit: max,
                to_forget: 0,
                successes: 0,
                lowest: max,
            }),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            max_retries,
            base_backoff,
        }
    }

    pub fn stats(&self) -> CallStats {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        CallStats {
            calls: self.calls.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            lowest_concurrency: state.lowest,
            max_concurrency: self.max,
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .limit
    }

    /// Runs `operation` within the limit, retrying it while it is throttled (up to `max_retries`).
    pub async fn call<T, E, F, Fut>(&self, mut operation: F) -> Result<T, E>
    where
        E: Throttling,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt: u32 = 0;
        loop {
            let permit = self.semaphore.acquire().await.ok();
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = operation().await;
            let throttled = matches!(&result, Err(error) if error.is_throttling());
            self.settle(permit, throttled);
            if throttled && attempt < self.max_retries {
                attempt += 1;
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            return result;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.base_backoff.saturating_mul(1u32 << attempt.min(6));
        // Full jitter on half of the delay: spread retries without ever retrying at once.
        let jitter = exponential.mul_f64(rand::random::<f64>() * 0.5);
        exponential / 2 + jitter
    }

    fn settle(&self, permit: Option<SemaphorePermit<'_>>, throttled: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            let lowered = (state.limit / 2).max(1);
            state.to_forget += state.limit - lowered;
            state.limit = lowered;
            state.lowest = state.lowest.min(lowered);
            state.successes = 0;
            tracing::warn!(concurrency = lowered, "throttled: slowing down");
        } else {
            state.successes += 1;
            if state.successes >= state.limit && state.limit < self.max {
                state.successes = 0;
                state.limit += 1;
                if state.to_forget > 0 {
                    state.to_forget -= 1;
                } else {
                    self.semaphore.add_permits(1);
                }
            }
        }
        if let Some(permit) = permit {
            if state.to_forget > 0 {
                state.to_forget -= 1;
                permit.forget();
            } else {
                drop(permit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Debug)]
    struct Throttled;

    impl Throttling for Throttled {
        fn is_throttling(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn never_more_calls_in_flight_than_the_limit() {
        let limiter = Arc::new(Limiter::new(3, 0, Duration::from_millis(1)));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|_| {
            let (limiter, in_flight, peak) = (limiter.clone(), in_flight.clone(), peak.clone());
            async move {
                limiter
                    .call(|| async {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        Ok::<(), Throttled>(())
                    })
                    .await
            }
        });
        futures::future::join_all(tasks).await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(limiter.stats().calls, 20);
    }

    #[tokio::test]
    async fn throttling_halves_the_limit_retries_and_recovers() {
        let limiter = Limiter::new(8, 2, Duration::from_millis(1));
        let attempts = AtomicUsize::new(0);
        let result = limiter
            .call(|| async {
                if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(Throttled)
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(limiter.limit(), 2, "8 → 4 → 2");
        assert_eq!(limiter.stats().throttled, 2);
        assert_eq!(limiter.stats().lowest_concurrency, 2);
        for _ in 0..40 {
            let _ = limiter.call(|| async { Ok::<(), Throttled>(()) }).await;
        }
        assert_eq!(limiter.limit(), 8, "recovers to the maximum");
        let gave_up = limiter.call(|| async { Err::<(), _>(Throttled) }).await;
        assert!(gave_up.is_err(), "gives up after max_retries");
    }
}
