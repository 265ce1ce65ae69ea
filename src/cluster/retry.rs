//! Retrying requests: which failures are worth another try (429, 500/502/503/504, dropped
//! connections, timeouts), how long to wait (exponential backoff with full jitter, or the
//! server's `Retry-After`), and the bounds (attempts and total time). The decisions are pure;
//! `api` runs the loop.

use std::time::Duration;

/// Bounds for one logical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// No new attempt starts after this much time in total.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            budget: Duration::from_secs(60),
        }
    }
}

/// Whether a failed attempt may be repeated, and any wait the server asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    No,
    Yes { server_delay: Option<Duration> },
}

/// HTTP statuses worth repeating. 500 is included because API servers return it for
/// transient etcd trouble; "request is too large" is a 500 too, but never improves.
pub(crate) fn retryable_status(code: u16, message: &str) -> bool {
    match code {
        429 | 502..=504 => true,
        500 => !message.contains("request is too large"),
        _ => false,
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry), or None to give up.
    /// `elapsed` is the time since the first attempt; `random` is uniform in [0, 1).
    pub(crate) fn delay(
        &self,
        next: u32,
        elapsed: Duration,
        server_delay: Option<Duration>,
        random: f64,
    ) -> Option<Duration> {
        if next > self.max_attempts {
            return None;
        }
        let exponent = next.saturating_sub(2).min(20);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        // Full jitter spreads out many clients retrying at once; the server's Retry-After is
        // a floor, not a suggestion.
        let jittered = ceiling.mul_f64(random.clamp(0.0, 1.0));
        let wait = server_delay.map_or(jittered, |d| {
            d.max(jittered.min(Duration::from_millis(100)))
        });
        (elapsed + wait <= self.budget).then_some(wait)
    }

    /// The wait before another attempt at a server that refuses connections after it had
    /// answered (it is restarting; `refusals` counts them, from 1), or None once the time
    /// budget is spent. Only time bounds these: a restart takes as long as it takes. Half of
    /// each wait is fixed, so that the waits add up to outlast a restart whatever the jitter.
    pub(crate) fn delay_while_down(
        &self,
        refusals: u32,
        elapsed: Duration,
        random: f64,
    ) -> Option<Duration> {
        let exponent = refusals.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        let wait = ceiling / 2 + (ceiling / 2).mul_f64(random.clamp(0.0, 1.0));
        (elapsed + wait <= self.budget).then_some(wait)
    }
}

/// A small PRNG for jitter and generated names (xorshift64*), seeded from the clock and pid:
/// good enough to keep parallel clients apart, not for secrets.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn from_entropy() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        #[expect(clippy::cast_possible_truncation, reason = "mixing bits for a seed")]
        let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ 0x9E37_79B9_7F4A_7C15;
        Rng(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        #[expect(
            clippy::cast_precision_loss,
            reason = "53 random bits fit an f64 exactly"
        )]
        let value = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        value
    }

    /// `len` characters from `alphabet`.
    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| {
                let index = usize::try_from(self.next_u64() % alphabet.len() as u64).unwrap_or(0);
                char::from(alphabet[index])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_stops_after_the_attempts() {
        let policy = RetryPolicy::default();
        let at = |next| policy.delay(next, Duration::ZERO, None, 0.999_999);
        assert!(at(2).expect("retry") <= Duration::from_millis(200));
        assert!(at(3).expect("retry") > Duration::from_millis(390));
        assert!(at(6).expect("retry") <= Duration::from_secs(5));
        assert_eq!(at(7), None, "six attempts in all");
    }

    #[test]
    fn retry_after_is_a_floor_and_the_budget_is_a_ceiling() {
        let policy = RetryPolicy::default();
        let wait = policy
            .delay(2, Duration::ZERO, Some(Duration::from_secs(3)), 0.0)
            .expect("retry");
        assert_eq!(wait, Duration::from_secs(3));
        assert_eq!(
            policy.delay(
                2,
                Duration::from_secs(58),
                Some(Duration::from_secs(3)),
                0.0
            ),
            None,
            "waiting past the budget gives up instead"
        );
    }

    #[test]
    fn a_restarting_server_is_waited_for_until_the_budget_not_the_attempts() {
        let policy = RetryPolicy::default();
        // Unlucky jitter still waits: six refusals take at least 3 s, past a short restart.
        let total: Duration = (1..=6)
            .map(|n| {
                policy
                    .delay_while_down(n, Duration::ZERO, 0.0)
                    .expect("wait")
            })
            .sum();
        assert!(total >= Duration::from_secs(3), "{total:?}");
        assert!(
            policy
                .delay_while_down(30, Duration::from_secs(50), 0.999)
                .expect("still within the budget")
                <= Duration::from_secs(5)
        );
        assert_eq!(
            policy.delay_while_down(30, Duration::from_secs(58), 0.999),
            None,
            "the time budget ends it"
        );
    }

    #[test]
    fn which_statuses_are_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(retryable_status(code, ""), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!retryable_status(code, ""), "{code}");
        }
        assert!(!retryable_status(500, "etcdserver: request is too large"));
    }

    #[test]
    fn jitter_stays_in_range_and_names_use_the_alphabet() {
        let mut rng = Rng::from_entropy();
        for _ in 0..1000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
        let name = rng.string(b"abc", 40);
        assert_eq!(name.len(), 40);
        assert!(name.chars().all(|c| "abc".contains(c)));
    }
}
