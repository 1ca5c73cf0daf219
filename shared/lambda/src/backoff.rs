//! How long a message that failed with a retryable error stays invisible before its next receive:
//! exponential in its failed receives, capped, with jitter, so an outage costs few receives and the
//! retries of many messages do not arrive together (design §4: retry with growing visibility).
//!
//! The floor of the n-th failed receive is `base × 2^(n-1)`, at most `cap`; jitter adds up to a quarter
//! more. With [`crate::sqs_batch::MAX_RECEIVE_COUNT`] receives a message survives an outage of at least
//! [`Backoff::survives`]: the floors of every failed receive before its last.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `GOVSYNC_RETRY_BASE_SECONDS` | 60 | the first failed receive's delay |
//! | `GOVSYNC_RETRY_CAP_SECONDS` | 3600 | the longest delay (SQS allows 12 h) |
//!
//! Deployments keep the defaults; the local outage drill sets both to run hours of backoff in minutes.

/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY_SECONDS: u32 = 43_200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_seconds: u32,
    pub cap_seconds: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_seconds: 60,
            cap_seconds: 3_600,
        }
    }
}

impl Backoff {
    /// The defaults, with `GOVSYNC_RETRY_BASE_SECONDS` / `GOVSYNC_RETRY_CAP_SECONDS` when set to numbers.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let default = Backoff::default();
        let read = |name: &str, fallback: u32| {
            lookup(name)
                .and_then(|value| value.trim().parse::<u32>().ok())
                .filter(|seconds| *seconds > 0)
                .unwrap_or(fallback)
        };
        let base_seconds = read("GOVSYNC_RETRY_BASE_SECONDS", default.base_seconds);
        let cap_seconds = read("GOVSYNC_RETRY_CAP_SECONDS", default.cap_seconds)
            .clamp(base_seconds, MAX_VISIBILITY_SECONDS * 4 / 5);
        Backoff {
            base_seconds,
            cap_seconds,
        }
    }

    /// The least delay after the `failed_receive`-th failed receive (1-based).
    pub fn floor(&self, failed_receive: u32) -> u32 {
        let doublings = failed_receive.saturating_sub(1).min(31);
        self.base_seconds
            .saturating_mul(1_u32 << doublings)
            .min(self.cap_seconds)
    }

    /// The delay after the `failed_receive`-th failed receive: the floor plus `jitter` (0.0–1.0) of a
    /// quarter of it.
    pub fn delay(&self, failed_receive: u32, jitter: f64) -> u32 {
        let floor = self.floor(failed_receive);
        let extra = (f64::from(floor / 4) * jitter.clamp(0.0, 1.0)).round() as u32;
        floor.saturating_add(extra).min(MAX_VISIBILITY_SECONDS)
    }

    /// The shortest outage, in seconds, a message survives before its last allowed receive: the floors
    /// of its `max_receive_count - 1` failed receives.
    pub fn survives(&self, max_receive_count: u32) -> u64 {
        (1..max_receive_count)
            .map(|receive| u64::from(self.floor(receive)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs_batch::MAX_RECEIVE_COUNT;

    #[test]
    fn delays_double_up_to_the_cap_and_jitter_only_adds_a_quarter() {
        let backoff = Backoff::default();
        let floors: Vec<u32> = (1..=8).map(|n| backoff.floor(n)).collect();
        assert_eq!(floors, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff.delay(1, 0.0), 60);
        assert_eq!(backoff.delay(1, 1.0), 75);
        assert_eq!(backoff.delay(40, 1.0), 4500);
        assert!(backoff.delay(40, 1.0) <= MAX_VISIBILITY_SECONDS);
    }

    /// Issue 14, 3: a 24-hour governance outage dead-letters nothing healthy.
    #[test]
    fn the_default_schedule_survives_a_day_long_outage() {
        let survives = Backoff::default().survives(MAX_RECEIVE_COUNT);
        assert!(survives >= 24 * 3600, "{survives} s");
    }

    #[test]
    fn the_drill_scale_comes_from_the_environment_and_bad_values_keep_the_defaults() {
        let scaled = Backoff::from_lookup(|name| match name {
            "GOVSYNC_RETRY_BASE_SECONDS" => Some("1".into()),
            "GOVSYNC_RETRY_CAP_SECONDS" => Some("8".into()),
            _ => None,
        });
        assert_eq!((scaled.base_seconds, scaled.cap_seconds), (1, 8));
        let bad = Backoff::from_lookup(|_| Some("soon".into()));
        assert_eq!(bad, Backoff::default());
    }
}
