//! One reusable timer for a driver's loop.
//!
//! A driver waits for "a datagram, a command or the state machine's next deadline" over and
//! over. A fresh `sleep_until` each time allocates a timer, inserts it into tokio's timer wheel
//! and takes it out again at every wakeup, whatever woke the loop. One timer kept armed, and
//! moved only when the deadline moves, costs none of that while it does not.

use std::pin::Pin;
use std::time::Instant;

use tokio::time::Sleep;

/// A timer re-armed in place; see the [module documentation](self).
#[derive(Debug, Default)]
pub struct Alarm {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Alarm {
    /// An alarm not yet armed.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Completes at `at` (at once if it has passed); never, for `None`.
    pub async fn at(&mut self, at: Option<Instant>) {
        let Some(at) = at else {
            return std::future::pending().await;
        };
        let at = tokio::time::Instant::from_std(at);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Tokio's clock, which the paused test runtime advances.
    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    #[tokio::test(start_paused = true)]
    async fn fires_at_each_new_deadline_and_never_without_one() {
        let mut alarm = Alarm::new();
        let t0 = now();
        alarm.at(Some(t0 + Duration::from_millis(50))).await;
        assert!(now() >= t0 + Duration::from_millis(50));
        // Moved later, then earlier: each time it waits for the deadline it is given.
        alarm.at(Some(t0 + Duration::from_millis(200))).await;
        assert!(now() >= t0 + Duration::from_millis(200));
        let t1 = now();
        alarm.at(Some(t1 + Duration::from_millis(10))).await;
        assert!(now() >= t1 + Duration::from_millis(10));
        // A deadline in the past completes at once; none never completes.
        let t2 = now();
        alarm.at(Some(t0)).await;
        assert_eq!(now(), t2);
        let never = tokio::time::timeout(Duration::from_secs(3600), alarm.at(None)).await;
        assert!(never.is_err());
    }
}
