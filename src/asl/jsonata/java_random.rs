//! `java.util.Random`, bit for bit: AWS's `$random(seed)` is `new Random(seed).nextDouble()`.

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// Java's 48-bit linear congruential generator.
pub(super) struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    /// `new Random(seed)`.
    pub(crate) fn new(seed: i64) -> Self {
        Self {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> u64 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        self.seed >> (48 - bits)
    }

    /// `nextDouble()`: 53 random bits in `[0, 1)`.
    pub(crate) fn next_double(&mut self) -> f64 {
        let high = self.next(26) << 27;
        let low = self.next(27);
        (high + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by this machine's OpenJDK for `new java.util.Random(seed).nextDouble()`.
    #[test]
    fn matches_java() {
        assert_eq!(JavaRandom::new(0).next_double(), 0.730967787376657);
        assert_eq!(JavaRandom::new(42).next_double(), 0.7275636800328681);
        assert_eq!(JavaRandom::new(-7).next_double(), 0.2691218093260761);
        let mut r = JavaRandom::new(1);
        assert_eq!(r.next_double(), 0.7308781907032909);
        assert_eq!(r.next_double(), 0.41008081149220166);
    }
}
