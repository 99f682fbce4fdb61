//! The per-write delay (`-d<US>`): writes are due on a fixed schedule, one
//! period apart, like tokens coming out of a model at a steady rate.

use std::time::Duration;

use tokio::time::Instant;

/// Below this period the timer (1 ms resolution) is too coarse: the wait
/// yields to other tasks until the deadline instead.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// The schedule of one stream's writes.
#[derive(Debug)]
pub struct Pace {
    period: Duration,
    /// When the last write was due.
    due: Instant,
}

impl Pace {
    /// A schedule of one write per `period`, starting now; `None` for no delay.
    pub fn new(period: Duration) -> Option<Self> {
        (!period.is_zero()).then(|| Self {
            period,
            due: Instant::now(),
        })
    }

    /// Waits until the next write is due: one period after the previous one
    /// was due, so timer lateness does not add up. A stream more than a
    /// period behind (a slow reader) starts a new schedule from now rather
    /// than sending the writes it missed in a burst.
    pub async fn wait(&mut self) {
        self.due += self.period;
        let now = Instant::now();
        if now >= self.due {
            if now - self.due > self.period {
                self.due = now;
            }
            return;
        }
        if self.period >= TIMER_RESOLUTION {
            tokio::time::sleep_until(self.due).await;
        } else {
            // At most one period (< 1 ms) of yielding: other connections run
            // meanwhile.
            while Instant::now() < self.due {
                tokio::task::yield_now().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_delay_no_schedule() {
        assert!(Pace::new(Duration::ZERO).is_none());
    }

    #[tokio::test]
    async fn keeps_the_average_rate() {
        for period in [Duration::from_micros(200), Duration::from_micros(2500)] {
            let mut pace = Pace::new(period).expect("a period");
            let start = std::time::Instant::now();
            for _ in 0..20 {
                pace.wait().await;
            }
            let took = start.elapsed();
            assert!(took >= period * 20, "{period:?}: {took:?}");
            // Generous: a loaded machine may be late, never early.
            assert!(
                took < period * 20 + Duration::from_millis(200),
                "{period:?}: {took:?}"
            );
        }
    }
}
