//! The fakes' clock: never behind the system clock, and strictly later on every reading, as a service's
//! millisecond modification times are for changes made one after the other. A test moves it on with
//! [`SteppingClock::advance`] instead of sleeping.

use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use govsync_core::clock::Clock;

use super::lock;

/// The clock every fake reads unless given its own: one timeline across the fakes of a test, as the
/// real services share the wall clock.
static SHARED: LazyLock<Arc<SteppingClock>> = LazyLock::new(|| Arc::new(SteppingClock::new()));

pub fn shared_clock() -> Arc<SteppingClock> {
    Arc::clone(&SHARED)
}

#[derive(Debug, Default)]
pub struct SteppingClock {
    last: Mutex<Option<DateTime<Utc>>>,
    offset: Mutex<TimeDelta>,
}

impl SteppingClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every later reading is at least `by` further on.
    pub fn advance(&self, by: TimeDelta) {
        *lock(&self.offset) += by;
        if let Some(last) = lock(&self.last).as_mut() {
            *last += by;
        }
    }
}

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        // Millisecond resolution, as the services record modification times.
        let system = Utc::now() + *lock(&self.offset);
        let system = DateTime::from_timestamp_millis(system.timestamp_millis()).unwrap_or(system);
        let mut last = lock(&self.last);
        let now = match *last {
            Some(previous) if system <= previous => previous + TimeDelta::milliseconds(1),
            _ => system,
        };
        *last = Some(now);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_strictly_increasing_at_millisecond_resolution_and_advance_moves_on() {
        let clock = SteppingClock::new();
        let readings: Vec<_> = (0..50).map(|_| clock.now()).collect();
        assert!(
            readings
                .windows(2)
                .all(|pair| pair[1].timestamp_millis() > pair[0].timestamp_millis())
        );
        let before = clock.now();
        clock.advance(TimeDelta::hours(2));
        assert!(clock.now() >= before + TimeDelta::hours(2));
    }
}
