//! Latency samples and their summary.

use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.micros
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn extend(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// The `p`th percentile (0-100) in milliseconds, nearest rank.
    pub fn percentile_ms(&self, sorted: &[u64], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let i = rank.clamp(1, sorted.len()) - 1;
        sorted[i] as f64 / 1000.0
    }

    /// count, mean, p50, p90, p99, max (milliseconds).
    pub fn summary(&self) -> Value {
        let mut s = self.micros.clone();
        s.sort_unstable();
        let mean = if s.is_empty() {
            0.0
        } else {
            s.iter().sum::<u64>() as f64 / s.len() as f64 / 1000.0
        };
        json!({
            "count": s.len(),
            "mean_ms": round3(mean),
            "p50_ms": round3(self.percentile_ms(&s, 50.0)),
            "p90_ms": round3(self.percentile_ms(&s, 90.0)),
            "p99_ms": round3(self.percentile_ms(&s, 99.0)),
            "max_ms": round3(s.last().copied().unwrap_or(0) as f64 / 1000.0),
        })
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s = Samples::default();
        for ms in 1..=100u64 {
            s.push(Duration::from_millis(ms));
        }
        let v = s.summary();
        assert_eq!(v["count"], 100);
        assert_eq!(v["p50_ms"], 50.0);
        assert_eq!(v["p99_ms"], 99.0);
        assert_eq!(v["max_ms"], 100.0);
        assert_eq!(v["mean_ms"], 50.5);
    }
}
