//! Falco's token bucket (`outputs.rate`, `outputs.max_burst`).

/// A token bucket as in Falco's `token_bucket.cpp`: it starts full
/// (`max_burst` tokens), gains `rate` tokens a second up to `max_burst`, and
/// each alert claims one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    max_tokens: f64,
    tokens: f64,
    last_ns: u64,
}

impl TokenBucket {
    /// A full bucket at time `now_ns`.
    pub fn new(rate: f64, max_burst: f64, now_ns: u64) -> TokenBucket {
        TokenBucket {
            rate,
            max_tokens: max_burst,
            tokens: max_burst,
            last_ns: now_ns,
        }
    }

    /// Claims one token at time `now_ns`; false when none is left.
    pub fn claim(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns) as f64 / 1e9;
        self.last_ns = self.last_ns.max(now_ns);
        self.tokens = (self.tokens + self.rate * elapsed).min(self.max_tokens);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }

    /// Tokens available now (as of the last claim).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn burst_then_steady_rate() {
        let mut b = TokenBucket::new(8.0, 5.0, 0);
        let burst = (0..100).filter(|_| b.claim(0)).count();
        assert_eq!(burst, 5);
        // 8 tokens a second, tries every 1/64 s (exact in binary): over
        // 1000 tries (15.625 s) exactly 125 pass.
        let mut passed = 0;
        for i in 1..=1000u64 {
            if b.claim(i * S / 64) {
                passed += 1;
            }
        }
        assert_eq!(passed, 125);
        // Idle for long: capped at max_burst.
        let later = 1000 * S;
        assert_eq!((0..100).filter(|_| b.claim(later)).count(), 5);
    }

    #[test]
    fn fractional_rate() {
        let mut b = TokenBucket::new(0.5, 1.0, 0);
        assert!(b.claim(0));
        assert!(!b.claim(S));
        assert!(b.claim(2 * S));
    }
}
