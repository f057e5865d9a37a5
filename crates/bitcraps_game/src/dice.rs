//! Commit-reveal dice that no single player can bias.
//!
//! For each roll every seated player picks a secret 32-byte [`Nonce`] and publishes
//!
//! ```text
//! commitment = SHA-256("bitcraps/dice-commit/v1" ‖ table id (32) ‖ roll number (u64 BE) ‖ seat (u16 BE) ‖ nonce (32))
//! ```
//!
//! Once the commitments are decided (fixed by consensus), players reveal their nonces; each reveal
//! is checked against its commitment. The valid reveals, in seat order, seed the dice:
//!
//! ```text
//! seed = SHA-256("bitcraps/dice-seed/v1" ‖ table id ‖ roll number ‖ (seat (u16 BE) ‖ nonce) for each valid reveal by increasing seat)
//! ```
//!
//! (The table id and roll number make a nonce reused by a careless client give a different roll.)
//! The seed keys a ChaCha20 RNG; each die is drawn by rejection sampling from its 32-bit outputs
//! — a word `w` is accepted only below the largest multiple of 6 that fits in 32 bits, giving
//! face `w mod 6 + 1` — so every face has probability exactly 1/6, with no modulo bias.
//!
//! As long as one committed player's nonce is uniformly random and secret until the commitments
//! are fixed, the roll is uniform, and nobody can change their nonce after seeing the others'.
//! A player can still *withhold* a reveal after seeing the others; the game layer makes that
//! costly (the withholder's bets lose and their bond is slashed) — see [`RollBeacon::withheld`].

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bets::Seat;
use crate::roll::{Die, Roll};

/// Domain tag of a dice commitment.
pub const COMMIT_DOMAIN: &[u8] = b"bitcraps/dice-commit/v1";
/// Domain tag of the dice seed.
pub const SEED_DOMAIN: &[u8] = b"bitcraps/dice-seed/v1";

/// Words at or above this bound are rejected: `⌊2³² / 6⌋ × 6` (= `⌊(2³² − 1) / 6⌋ × 6`, as 6 does
/// not divide 2³²), so the accepted range `0..ACCEPT_BELOW` holds exactly the same number of
/// words for each face.
pub const ACCEPT_BELOW: u32 = (u32::MAX / 6) * 6;

/// A player's secret for one roll. Draw it from a cryptographic RNG and keep it until the reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Nonce(pub [u8; 32]);

/// A binding, hiding commitment to a [`Nonce`] for one seat, one roll, one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Commitment(pub [u8; 32]);

/// Errors of the commit-reveal protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// The seat already committed for this roll.
    #[error("{0} already committed")]
    AlreadyCommitted(Seat),
    /// Commitments are closed; no new ones.
    #[error("commitments are closed for this roll")]
    CommitmentsClosed,
    /// Reveals are accepted only once the commitments are closed.
    #[error("commitments are still open; no reveal is accepted yet")]
    CommitmentsStillOpen,
    /// A reveal from a seat that did not commit.
    #[error("{0} did not commit")]
    NotCommitted(Seat),
    /// The seat already revealed.
    #[error("{0} already revealed")]
    AlreadyRevealed(Seat),
    /// The nonce does not open the seat's commitment (self-verifying evidence of cheating or a
    /// broken client).
    #[error("{0}'s reveal does not match its commitment")]
    RevealMismatch(Seat),
    /// No valid reveal: no roll can be derived.
    #[error("no valid reveal for this roll")]
    NoReveals,
}

/// The commitment of `seat` to `nonce` for roll `roll_number` of table `table_id` (the 32 bytes
/// of the consensus `TableId`).
pub fn commit(table_id: &[u8; 32], roll_number: u64, seat: Seat, nonce: &Nonce) -> Commitment {
    let mut h = Sha256::new();
    h.update(COMMIT_DOMAIN);
    h.update(table_id);
    h.update(roll_number.to_be_bytes());
    h.update(seat.0.to_be_bytes());
    h.update(nonce.0);
    Commitment(h.finalize().into())
}

/// Checks that `nonce` opens `commitment` for this seat, roll and table.
pub fn check_reveal(
    commitment: &Commitment,
    table_id: &[u8; 32],
    roll_number: u64,
    seat: Seat,
    nonce: &Nonce,
) -> Result<(), BeaconError> {
    if commit(table_id, roll_number, seat, nonce) == *commitment {
        Ok(())
    } else {
        Err(BeaconError::RevealMismatch(seat))
    }
}

/// The dice seed from the valid reveals (a map, so in seat order). Fails with no reveals.
pub fn seed_from_reveals(
    table_id: &[u8; 32],
    roll_number: u64,
    reveals: &BTreeMap<Seat, Nonce>,
) -> Result<[u8; 32], BeaconError> {
    if reveals.is_empty() {
        return Err(BeaconError::NoReveals);
    }
    let mut h = Sha256::new();
    h.update(SEED_DOMAIN);
    h.update(table_id);
    h.update(roll_number.to_be_bytes());
    for (seat, nonce) in reveals {
        h.update(seat.0.to_be_bytes());
        h.update(nonce.0);
    }
    Ok(h.finalize().into())
}

/// The rejection step: the die for one 32-bit word, or `None` if the word must be rejected.
pub fn die_from_word(word: u32) -> Option<Die> {
    if word >= ACCEPT_BELOW {
        return None;
    }
    // word % 6 is in 0..6, so the face is in 1..=6 and `Die::new` cannot fail.
    u8::try_from(word % 6 + 1)
        .ok()
        .and_then(|f| Die::new(f).ok())
}

/// Two dice from a seed: ChaCha20 keyed by the seed, first die then second, each by rejection
/// sampling over 32-bit words.
pub fn roll_from_seed(seed: [u8; 32]) -> Roll {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let first = draw_die(&mut rng);
    let second = draw_die(&mut rng);
    Roll::new(first, second)
}

fn draw_die(rng: &mut ChaCha20Rng) -> Die {
    // Each word is rejected with probability 4/2³²; the loop ends after one word in all but a
    // vanishing fraction of seeds.
    loop {
        if let Some(d) = die_from_word(rng.next_u32()) {
            return d;
        }
    }
}

/// One roll's commit-reveal, as the operations layer drives it: collect commitments, close them
/// (once consensus has decided them), collect and check reveals, derive the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollBeacon {
    table_id: [u8; 32],
    roll_number: u64,
    commitments: BTreeMap<Seat, Commitment>,
    reveals: BTreeMap<Seat, Nonce>,
    closed: bool,
}

impl RollBeacon {
    /// An empty beacon for roll `roll_number` of table `table_id`.
    pub fn new(table_id: [u8; 32], roll_number: u64) -> RollBeacon {
        RollBeacon {
            table_id,
            roll_number,
            commitments: BTreeMap::new(),
            reveals: BTreeMap::new(),
            closed: false,
        }
    }

    /// The roll number this beacon is for.
    pub fn roll_number(&self) -> u64 {
        self.roll_number
    }

    /// Records `seat`'s commitment.
    pub fn add_commitment(&mut self, seat: Seat, c: Commitment) -> Result<(), BeaconError> {
        if self.closed {
            return Err(BeaconError::CommitmentsClosed);
        }
        if self.commitments.contains_key(&seat) {
            return Err(BeaconError::AlreadyCommitted(seat));
        }
        self.commitments.insert(seat, c);
        Ok(())
    }

    /// Closes the commitments (the commit deadline passed or everyone committed); from now on
    /// reveals are accepted and commitments are not.
    pub fn close_commitments(&mut self) {
        self.closed = true;
    }

    /// Whether the commitments are closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Checks and records `seat`'s reveal. A mismatch is not recorded.
    pub fn add_reveal(&mut self, seat: Seat, nonce: Nonce) -> Result<(), BeaconError> {
        if !self.closed {
            return Err(BeaconError::CommitmentsStillOpen);
        }
        let c = self
            .commitments
            .get(&seat)
            .ok_or(BeaconError::NotCommitted(seat))?;
        if self.reveals.contains_key(&seat) {
            return Err(BeaconError::AlreadyRevealed(seat));
        }
        check_reveal(c, &self.table_id, self.roll_number, seat, &nonce)?;
        self.reveals.insert(seat, nonce);
        Ok(())
    }

    /// Seats that committed, in seat order.
    pub fn committed(&self) -> impl Iterator<Item = Seat> + '_ {
        self.commitments.keys().copied()
    }

    /// Seats whose valid reveal is recorded, in seat order.
    pub fn revealed(&self) -> impl Iterator<Item = Seat> + '_ {
        self.reveals.keys().copied()
    }

    /// Seats that committed but have not revealed (at the reveal deadline: the withholders).
    pub fn withheld(&self) -> impl Iterator<Item = Seat> + '_ {
        self.commitments
            .keys()
            .copied()
            .filter(|s| !self.reveals.contains_key(s))
    }

    /// Whether every committed seat has revealed.
    pub fn all_revealed(&self) -> bool {
        self.commitments.len() == self.reveals.len()
    }

    /// The seed from the reveals recorded so far.
    pub fn seed(&self) -> Result<[u8; 32], BeaconError> {
        seed_from_reveals(&self.table_id, self.roll_number, &self.reveals)
    }

    /// The roll from the reveals recorded so far.
    pub fn outcome(&self) -> Result<Roll, BeaconError> {
        self.seed().map(roll_from_seed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TABLE: [u8; 32] = [7; 32];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rejection_bound() {
        assert_eq!(ACCEPT_BELOW, 4_294_967_292);
        assert_eq!(u64::from(ACCEPT_BELOW) % 6, 0);
        assert_eq!(die_from_word(0).map(Die::face), Some(1));
        assert_eq!(die_from_word(5).map(Die::face), Some(6));
        assert_eq!(die_from_word(ACCEPT_BELOW - 1).map(Die::face), Some(6));
        for w in ACCEPT_BELOW..=u32::MAX {
            assert_eq!(die_from_word(w), None);
        }
    }

    #[test]
    fn commitments_bind_every_field() {
        let n = Nonce([1; 32]);
        let c = commit(&TABLE, 3, Seat(2), &n);
        assert_eq!(check_reveal(&c, &TABLE, 3, Seat(2), &n), Ok(()));
        let bad = Err(BeaconError::RevealMismatch(Seat(2)));
        assert_eq!(check_reveal(&c, &TABLE, 3, Seat(2), &Nonce([2; 32])), bad);
        assert_eq!(check_reveal(&c, &TABLE, 4, Seat(2), &n), bad);
        assert_eq!(check_reveal(&c, &[8; 32], 3, Seat(2), &n), bad);
        assert_eq!(
            check_reveal(&c, &TABLE, 3, Seat(3), &n),
            Err(BeaconError::RevealMismatch(Seat(3)))
        );
    }

    #[test]
    fn known_answers() {
        // Pinned so that any change to the encoding is a deliberate, visible protocol change.
        // Cross-checked outside Rust: Python's hashlib for both hashes, and the `cryptography`
        // package's ChaCha20 (key = seed, zero nonce and counter) for the first keystream words
        // 2933892096 and 305084814, which give faces 1 and 1.
        let c = commit(&TABLE, 3, Seat(2), &Nonce([1; 32]));
        assert_eq!(hex(&c.0), KNOWN_COMMITMENT);
        let reveals: BTreeMap<Seat, Nonce> =
            [(Seat(0), Nonce([1; 32])), (Seat(1), Nonce([2; 32]))].into();
        let seed = seed_from_reveals(&TABLE, 3, &reveals).unwrap();
        assert_eq!(hex(&seed), KNOWN_SEED);
        let roll = roll_from_seed(seed);
        assert_eq!((roll.first.face(), roll.second.face()), KNOWN_ROLL);
    }

    const KNOWN_COMMITMENT: &str =
        "0b9adb4ee42cbe39b5f3205efe95bcfe5af6cddcb539290abbfe8ddabd5943df";
    const KNOWN_SEED: &str = "0a5767a4f26b4f0d9bf9477d7b25cd89d427228a085da60a8a49d83f5bcf15b4";
    const KNOWN_ROLL: (u8, u8) = (1, 1);

    #[test]
    fn beacon_protocol() {
        let nonces = [Nonce([5; 32]), Nonce([6; 32]), Nonce([7; 32])];
        let mut b = RollBeacon::new(TABLE, 9);
        for (i, n) in nonces.iter().enumerate() {
            let seat = Seat(i as u16);
            b.add_commitment(seat, commit(&TABLE, 9, seat, n)).unwrap();
        }
        assert_eq!(
            b.add_commitment(Seat(0), Commitment([0; 32])),
            Err(BeaconError::AlreadyCommitted(Seat(0)))
        );
        assert_eq!(
            b.add_reveal(Seat(0), nonces[0]),
            Err(BeaconError::CommitmentsStillOpen)
        );
        b.close_commitments();
        assert_eq!(
            b.add_commitment(Seat(5), Commitment([0; 32])),
            Err(BeaconError::CommitmentsClosed)
        );
        assert_eq!(b.outcome(), Err(BeaconError::NoReveals));
        assert_eq!(
            b.add_reveal(Seat(1), nonces[0]),
            Err(BeaconError::RevealMismatch(Seat(1)))
        );
        assert_eq!(
            b.add_reveal(Seat(4), nonces[0]),
            Err(BeaconError::NotCommitted(Seat(4)))
        );
        b.add_reveal(Seat(2), nonces[2]).unwrap();
        b.add_reveal(Seat(0), nonces[0]).unwrap();
        assert_eq!(
            b.add_reveal(Seat(0), nonces[0]),
            Err(BeaconError::AlreadyRevealed(Seat(0)))
        );
        assert_eq!(b.withheld().collect::<Vec<_>>(), vec![Seat(1)]);
        assert!(!b.all_revealed());
        // The outcome depends on exactly the valid reveals, in seat order, whatever the arrival
        // order.
        let expected: BTreeMap<Seat, Nonce> = [(Seat(0), nonces[0]), (Seat(2), nonces[2])].into();
        assert_eq!(
            b.outcome(),
            Ok(roll_from_seed(
                seed_from_reveals(&TABLE, 9, &expected).unwrap()
            ))
        );
        b.add_reveal(Seat(1), nonces[1]).unwrap();
        assert!(b.all_revealed());
        assert_eq!(b.revealed().count(), 3);
    }

    #[test]
    fn one_changed_reveal_changes_the_seed() {
        let mut a: BTreeMap<Seat, Nonce> = [(Seat(0), Nonce([1; 32]))].into();
        let s1 = seed_from_reveals(&TABLE, 1, &a).unwrap();
        a.insert(Seat(0), Nonce([2; 32]));
        let s2 = seed_from_reveals(&TABLE, 1, &a).unwrap();
        assert_ne!(s1, s2);
        assert_ne!(
            s1,
            seed_from_reveals(&TABLE, 2, &[(Seat(0), Nonce([1; 32]))].into()).unwrap()
        );
    }
}
