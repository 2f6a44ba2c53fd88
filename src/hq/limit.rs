//! A per-kiosk rate limit on HQ's signed endpoints: a token bucket per kiosk id.
//!
//! Invariants:
//! - A kiosk is charged only after its request's signature verified, so a forger cannot spend
//!   an enrolled kiosk's budget, and the table holds at most one bucket per enrolled kiosk.
//! - Pure arithmetic on an injected clock (Unix seconds): no I/O, no sleeping.
//! - The limit is per HQ process: behind a load balancer with `n` processes a kiosk may send up
//!   to `n` times the rate. That bounds a stolen key's damage; it is no fleet-wide quota.

use std::collections::HashMap;
use std::sync::Mutex;

/// Requests a kiosk may make: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    /// 120 requests a minute, 60 at once: a kiosk sends one batch per sync and a few more after
    /// an outage; a backlog of a thousand batches drains in under ten minutes.
    fn default() -> Self {
        Self {
            per_minute: 120,
            burst: 60,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// The buckets of one HQ process.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Charges one request of `kiosk` at `now`: `Ok` when admitted, else `Err(seconds)` to wait
    /// before the next one would be (at least 1).
    pub fn admit(&self, kiosk: &str, now: i64) -> Result<(), u64> {
        let burst = f64::from(self.limit.burst.max(1));
        let per_second = f64::from(self.limit.per_minute) / 60.0;
        // A poisoned lock only means another request panicked mid-update: the map is still a
        // valid map of buckets.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let b = buckets.entry(kiosk.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_sub(b.at).max(0) as f64;
        b.tokens = (b.tokens + elapsed * per_second).min(burst);
        b.at = now.max(b.at);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        if per_second <= 0.0 {
            return Err(60);
        }
        Err(((1.0 - b.tokens) / per_second).ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_per_kiosk() {
        let l = Limiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        for _ in 0..3 {
            assert_eq!(l.admit("k-1", 100), Ok(()));
        }
        assert_eq!(l.admit("k-1", 100), Err(1));
        // Another kiosk has its own bucket.
        assert_eq!(l.admit("k-2", 100), Ok(()));
        // One token a second comes back, never more than the burst.
        assert_eq!(l.admit("k-1", 101), Ok(()));
        assert_eq!(l.admit("k-1", 101), Err(1));
        for _ in 0..3 {
            assert_eq!(l.admit("k-1", 1_000), Ok(()));
        }
        assert_eq!(l.admit("k-1", 1_000), Err(1));
    }

    #[test]
    fn a_clock_going_backwards_grants_nothing() {
        let l = Limiter::new(RateLimit {
            per_minute: 6,
            burst: 1,
        });
        assert_eq!(l.admit("k", 1_000), Ok(()));
        assert_eq!(l.admit("k", 10), Err(10));
        assert_eq!(l.admit("k", 1_000), Err(10));
        assert_eq!(l.admit("k", 1_010), Ok(()));
    }
}
