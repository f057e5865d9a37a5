//! Small helpers over a seeded ChaCha RNG (deterministic: a simulator's run replays from its
//! seed).

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

/// A uniform integer in `[low, high)` (`low` if the range is empty). Rejection-free bias is
/// negligible here (ranges are tiny next to 2^64) and it is deterministic, which is what matters.
pub fn uniform(rng: &mut ChaCha20Rng, low: u64, high: u64) -> u64 {
    if high <= low {
        return low;
    }
    low + rng.next_u64() % (high - low)
}

/// True with probability `p`.
pub fn chance(rng: &mut ChaCha20Rng, p: f64) -> bool {
    if p <= 0.0 {
        return false;
    }
    ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
}

/// 32 random bytes.
pub fn bytes32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}
