//! Order statistics of measured samples.

use std::time::Duration;

use crate::results::Quantiles;

/// The `q`-quantile (0..=1) of `samples` by the nearest-rank method; `None`
/// when there are none.
pub fn quantile(samples: &[u64], q: f64) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
}

/// p50 and p99 of `samples`; `None` when there are none.
pub fn quantiles(samples: &[u64]) -> Option<Quantiles> {
    Some(Quantiles {
        p50_us: quantile(samples, 0.5)?,
        p99_us: quantile(samples, 0.99)?,
    })
}

/// The median of `samples` (nearest rank).
pub fn median(samples: &[u64]) -> Option<u64> {
    quantile(samples, 0.5)
}

/// The median of durations, in microseconds.
pub fn median_us(samples: &[Duration]) -> Option<u64> {
    let micros: Vec<u64> = samples.iter().map(|d| as_us(*d)).collect();
    median(&micros)
}

/// A duration in whole microseconds, saturating.
pub fn as_us(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Events per second for `events` in `elapsed_us`.
pub fn per_second(events: u64, elapsed_us: u64) -> Option<f64> {
    (elapsed_us > 0).then(|| events as f64 * 1e6 / elapsed_us as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(quantile(&samples, 0.5), Some(50));
        assert_eq!(quantile(&samples, 0.99), Some(99));
        assert_eq!(quantile(&samples, 1.0), Some(100));
        assert_eq!(quantile(&samples, 0.0), Some(1));
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3, 1, 2]), Some(2));
    }

    #[test]
    fn rates() {
        assert_eq!(per_second(500, 1_000_000), Some(500.0));
        assert_eq!(per_second(5, 0), None);
        assert_eq!(
            median_us(&[
                Duration::from_millis(2),
                Duration::from_millis(1),
                Duration::from_millis(3)
            ]),
            Some(2000)
        );
    }
}
