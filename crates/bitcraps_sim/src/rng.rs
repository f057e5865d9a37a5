//! Small helpers over the run's one seeded ChaCha RNG.

use rand_chacha::ChaCha20Rng;

pub use bitcraps_byzantine::rng::{bytes32, chance, uniform};

/// A uniformly chosen element of a non-empty slice.
pub fn pick<'a, T>(rng: &mut ChaCha20Rng, items: &'a [T]) -> &'a T {
    let i = uniform(rng, 0, items.len() as u64) as usize;
    &items[i.min(items.len().saturating_sub(1))]
}
