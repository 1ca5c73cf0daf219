//! Retry policy for governance calls: 429 (honouring `Retry-After`) and server errors, with
//! jittered exponential back-off and caps on attempts and delay.

use std::time::Duration;

use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 disables retries).
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// Cap on one computed back-off delay.
    pub max_delay: Duration,
    /// Cap on a server-requested `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Whether an operation may be repeated when the first try's outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, merges, queries, token requests.
    Idempotent,
    /// Creation and linking: repeated only when the server said it did not process the request
    /// (429, 503) or the connection was never made.
    NotIdempotent,
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed: a random
    /// point in the upper half of `base * 2^(attempt-1)`, capped at `max_delay`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let half = ceiling / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_nanos)
        };
        half + Duration::from_nanos(jitter)
    }

    /// Whether a response status is worth another attempt.
    pub(crate) fn retries_status(status: StatusCode, idempotency: Idempotency) -> bool {
        match idempotency {
            Idempotency::Idempotent => matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504),
            Idempotency::NotIdempotent => matches!(status.as_u16(), 429 | 503),
        }
    }

    /// The delay before retrying a response: its `Retry-After` (seconds, capped) when present,
    /// else the back-off.
    pub(crate) fn delay_for(&self, attempt: u32, headers: &HeaderMap) -> Duration {
        match retry_after(headers) {
            Some(requested) => requested.min(self.max_retry_after),
            None => self.backoff(attempt),
        }
    }
}

/// `Retry-After` in delta-seconds (the form the governance API sends); dates are ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_is_capped() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let tenth = policy.backoff(10);
            assert!(tenth >= Duration::from_millis(350) && tenth <= Duration::from_millis(700));
        }
    }

    #[test]
    fn retry_after_seconds_is_honoured_and_capped() {
        let policy = RetryPolicy {
            max_retry_after: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(policy.delay_for(1, &headers), Duration::from_secs(2));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(policy.delay_for(1, &headers), Duration::from_secs(10));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert!(policy.delay_for(1, &headers) <= policy.base_delay);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried_and_creation_more_carefully() {
        let idempotent = Idempotency::Idempotent;
        for status in [429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            assert!(RetryPolicy::retries_status(status, idempotent));
        }
        for status in [400, 401, 403, 404, 409, 422] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            assert!(!RetryPolicy::retries_status(status, idempotent));
        }
        assert!(RetryPolicy::retries_status(
            StatusCode::TOO_MANY_REQUESTS,
            Idempotency::NotIdempotent
        ));
        assert!(!RetryPolicy::retries_status(
            StatusCode::BAD_GATEWAY,
            Idempotency::NotIdempotent
        ));
        assert!(!RetryPolicy::retries_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            Idempotency::NotIdempotent
        ));
    }
}
