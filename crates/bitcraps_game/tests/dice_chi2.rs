//! χ² goodness of fit of 1,000,000 rolls derived through the full commit-reveal path from random
//! reveals: the 36 ordered outcomes, each die's six faces, and the independence of consecutive
//! rolls. Seeded, so the run is reproducible; the thresholds are the 0.1 % critical values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcraps_game::dice::{commit, Nonce, RollBeacon};
use bitcraps_game::{Roll, Seat};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const ROLLS: usize = 1_000_000;
const TABLE: [u8; 32] = *b"bitcraps chi-square test table!!";

/// χ²₀.₉₉₉ critical values by degrees of freedom.
const CRIT_35: f64 = 66.619;
const CRIT_5: f64 = 20.515;
const CRIT_1295: f64 = 1_464.6;

fn chi_square(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

fn derived_rolls() -> Vec<Roll> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x00C0_FFEE);
    let mut rolls = Vec::with_capacity(ROLLS);
    for n in 0..ROLLS as u64 {
        // 1 to 4 players, some of whom withhold their reveal.
        let players = 1 + (rng.next_u32() % 4) as u16;
        let mut beacon = RollBeacon::new(TABLE, n);
        let mut nonces = Vec::new();
        for s in 0..players {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            let nonce = Nonce(bytes);
            beacon
                .add_commitment(Seat(s), commit(&TABLE, n, Seat(s), &nonce))
                .unwrap();
            nonces.push(nonce);
        }
        beacon.close_commitments();
        for (s, nonce) in nonces.into_iter().enumerate() {
            // Seat 0 always reveals; the others withhold one time in eight.
            if s == 0 || rng.next_u32() % 8 != 0 {
                beacon.add_reveal(Seat(s as u16), nonce).unwrap();
            }
        }
        rolls.push(beacon.outcome().unwrap());
    }
    rolls
}

#[test]
fn a_million_derived_rolls_are_uniform() {
    let rolls = derived_rolls();

    let mut outcomes = [0u64; 36];
    let mut first = [0u64; 6];
    let mut second = [0u64; 6];
    let mut pairs = vec![0u64; 36 * 36];
    for r in &rolls {
        outcomes[r.index()] += 1;
        first[usize::from(r.first.face() - 1)] += 1;
        second[usize::from(r.second.face() - 1)] += 1;
    }
    for w in rolls.windows(2) {
        pairs[w[0].index() * 36 + w[1].index()] += 1;
    }

    let n = ROLLS as f64;
    let chi36 = chi_square(&outcomes, n / 36.0);
    let chi_first = chi_square(&first, n / 6.0);
    let chi_second = chi_square(&second, n / 6.0);
    let chi_pairs = chi_square(&pairs, (n - 1.0) / 1296.0);
    println!("χ²(35) = {chi36:.2}, first die χ²(5) = {chi_first:.2}, second die χ²(5) = {chi_second:.2}, consecutive pairs χ²(1295) = {chi_pairs:.1}");

    assert!(chi36 < CRIT_35, "36 outcomes: χ² = {chi36}");
    assert!(chi_first < CRIT_5, "first die: χ² = {chi_first}");
    assert!(chi_second < CRIT_5, "second die: χ² = {chi_second}");
    assert!(chi_pairs < CRIT_1295, "consecutive rolls: χ² = {chi_pairs}");
    // Not suspiciously perfect either (a broken derivation cycling through outcomes would be).
    assert!(chi36 > 10.0, "too uniform to be random: χ² = {chi36}");
}

/// The statistic is not toothless: the modulo-biased derivation the crate avoids (a byte mod 6)
/// fails it at this sample size.
#[test]
fn the_chi_square_detects_modulo_bias() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut counts = [0u64; 36];
    for _ in 0..ROLLS {
        let mut b = [0u8; 2];
        rng.fill_bytes(&mut b);
        let (a, c) = (usize::from(b[0] % 6), usize::from(b[1] % 6));
        counts[6 * a + c] += 1;
    }
    let chi = chi_square(&counts, ROLLS as f64 / 36.0);
    assert!(chi > CRIT_35, "modulo bias went unnoticed: χ² = {chi}");
}
