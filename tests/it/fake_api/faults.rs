//! Fault injection: the rules tests set (`FaultRule`), seeded random faults, and the small PRNG
//! they and the object store share. Only decides which fault a request gets; `http.rs` acts on it.

use std::time::Duration;

/// What goes wrong with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answer with a Kubernetes `Status` of this code (and a `Retry-After` header and
    /// `details.retryAfterSeconds` when given); the request has no effect.
    Status { code: u16, retry_after: Option<u32> },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Close the connection without a response; the request has no effect.
    DropBefore,
    /// Apply the request, then close the connection without a response (a lost response).
    DropAfter,
    /// Apply the request, then answer with this error status (e.g. 504 after the commit).
    StatusAfter { code: u16 },
    /// Refuse it with 422 Invalid and one field cause, as an admission policy would.
    Invalid { field: String, message: String },
    /// A request that outlives its client: the server says nothing for this long, then applies
    /// the request in a task of its own (so it lands even when the client timed out or closed
    /// the connection, or the server restarted meanwhile) and answers, if anyone still listens.
    /// What a slow etcd or webhook does to a create whose client gives up first.
    ApplyLater(Duration),
    /// Handle the request, then cut the connection after this many bytes of the response body
    /// (no terminating chunk): a watch or `follow` log stream broken by a proxy's idle timeout
    /// or a dropped node connection. The pod's log, or the object, goes on as before.
    CutStreamAfter(usize),
    /// Handle the request, then end the response body cleanly after this many bytes: what a
    /// client sees when the kubelet behind a log stream restarts (the API server's proxy ends
    /// its copy and finishes the response) though the container still runs.
    EndStreamAfter(usize),
}

/// A fault for requests that match `method` (any when `None`) and whose path and query contain
/// `path_contains` (any when `None`), for the next `times` matching requests
/// (`usize::MAX`: for ever).
#[derive(Clone, Debug)]
pub(crate) struct FaultRule {
    pub(crate) method: Option<&'static str>,
    pub(crate) path_contains: Option<String>,
    pub(crate) times: usize,
    pub(crate) fault: Fault,
}

impl FaultRule {
    /// The next matching request gets `fault`.
    pub(crate) fn once(method: &'static str, path_contains: &str, fault: Fault) -> FaultRule {
        FaultRule::times(method, path_contains, 1, fault)
    }

    /// The next `times` matching requests get `fault`.
    pub(crate) fn times(
        method: &'static str,
        path_contains: &str,
        times: usize,
        fault: Fault,
    ) -> FaultRule {
        FaultRule {
            method: Some(method),
            path_contains: Some(path_contains.to_owned()),
            times,
            fault,
        }
    }

    /// Every matching request gets `fault` until `clear_faults`.
    pub(crate) fn always(method: &'static str, path_contains: &str, fault: Fault) -> FaultRule {
        FaultRule::times(method, path_contains, usize::MAX, fault)
    }

    fn matches(&self, method: &str, target: &str) -> bool {
        self.times > 0
            && self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| target.contains(p))
    }
}

/// The menu `random_faults` picks from, uniformly.
fn random_menu(i: u64) -> Fault {
    match i {
        0 => Fault::Status {
            code: 429,
            retry_after: Some(0),
        },
        1 => Fault::Status {
            code: 500,
            retry_after: None,
        },
        2 => Fault::Status {
            code: 502,
            retry_after: None,
        },
        3 => Fault::Status {
            code: 503,
            retry_after: None,
        },
        4 => Fault::Status {
            code: 504,
            retry_after: None,
        },
        5 => Fault::DropBefore,
        6 => Fault::DropAfter,
        7 => Fault::StatusAfter { code: 504 },
        // Refusals that no retry fixes, e.g. right after a lost response.
        8 => Fault::Status {
            code: 403,
            retry_after: None,
        },
        9 => Fault::Status {
            code: 422,
            retry_after: None,
        },
        _ => Fault::Delay(Duration::from_millis(50)),
    }
}
const RANDOM_MENU_LEN: u64 = 11;

#[derive(Default)]
pub(super) struct Faults {
    rules: Vec<FaultRule>,
    random: Option<(Rng, f64)>,
    /// With random faults on: the probability of `ApplyLater(delay)`, drawn before the menu.
    late: Option<(f64, Duration)>,
}

impl Faults {
    pub(super) fn inject(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(super) fn random(&mut self, seed: u64, probability: f64) {
        self.random = (probability > 0.0).then(|| (Rng::new(seed), probability.min(1.0)));
    }

    pub(super) fn random_late(&mut self, probability: f64, delay: Duration) {
        self.late = (probability > 0.0).then_some((probability.min(1.0), delay));
    }

    pub(super) fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
        self.late = None;
    }

    /// The fault for this request: the first matching rule (used up after `times`), else maybe
    /// a random one.
    pub(super) fn pick(&mut self, method: &str, target: &str) -> Option<Fault> {
        if let Some(i) = self.rules.iter().position(|r| r.matches(method, target)) {
            let rule = &mut self.rules[i];
            let fault = rule.fault.clone();
            if rule.times != usize::MAX {
                rule.times -= 1;
            }
            if rule.times == 0 {
                self.rules.remove(i);
            }
            return Some(fault);
        }
        let (rng, p) = self.random.as_mut()?;
        // Drawn only when asked for, so that other seeds keep their sequences.
        if let Some((late, delay)) = self.late
            && rng.unit() < late
        {
            return Some(Fault::ApplyLater(delay));
        }
        (rng.unit() < *p).then(|| random_menu(rng.below(RANDOM_MENU_LEN)))
    }
}

/// xorshift64* seeded through splitmix64: deterministic from the seed, good enough for tests.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// Seeded from the clock and a counter: different for every server in a test run.
    pub(super) fn from_clock() -> Rng {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        #[expect(clippy::cast_possible_truncation, reason = "only mixing bits")]
        let seed = nanos as u64 ^ (u64::from(std::process::id()) << 32);
        Rng::new(
            seed ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x2545_F491),
        )
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
        #[expect(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
        let x = (self.next_u64() >> 11) as f64;
        x / TWO_POW_53
    }
}
