//! The seated participants of a height, their thresholds and the proposer rotation.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;

use crate::error::SeatError;
use crate::keys::PeerId;
use crate::types::{Height, Round};

/// The fewest participants a table can have: n = 3f + 1 with f = 1.
pub const MIN_PARTICIPANTS: usize = 4;

/// The participants of a table, in canonical (sorted) order, each with equal voting weight.
#[derive(Clone, Debug)]
pub struct ParticipantSet {
    ids: Vec<PeerId>,
    keys: Vec<VerifyingKey>,
    index: BTreeMap<PeerId, usize>,
    /// Per participant: may its signatures go through batch verification? Computed on first
    /// use (see [`ParticipantSet::batchable`]): a torsion check costs about one signature check.
    batchable: OnceLock<Vec<bool>>,
}

impl ParticipantSet {
    /// Seats the given keys. Refuses fewer than four, duplicates, malformed and weak keys.
    pub fn new(ids: impl IntoIterator<Item = PeerId>) -> Result<ParticipantSet, SeatError> {
        let mut ids: Vec<PeerId> = ids.into_iter().collect();
        ids.sort();
        for pair in ids.windows(2) {
            if pair[0] == pair[1] {
                return Err(SeatError::Duplicate(pair[0]));
            }
        }
        if ids.len() < MIN_PARTICIPANTS {
            return Err(SeatError::TooFew(ids.len()));
        }
        let keys = ids
            .iter()
            .map(|id| id.verifying_key())
            .collect::<Result<Vec<_>, _>>()?;
        let index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        Ok(ParticipantSet {
            ids,
            keys,
            index,
            batchable: OnceLock::new(),
        })
    }

    /// Number of participants n.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false: a set has at least four members.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The participants in canonical order.
    pub fn ids(&self) -> &[PeerId] {
        &self.ids
    }

    /// The largest number of Byzantine participants tolerated: f = ⌊(n−1)/3⌋.
    pub fn max_faulty(&self) -> usize {
        (self.len() - 1) / 3
    }

    /// Signers needed for "2f+1": strictly more than two thirds, ⌊2n/3⌋ + 1.
    pub fn quorum(&self) -> usize {
        2 * self.len() / 3 + 1
    }

    /// Signers needed for "f+1": strictly more than one third, ⌊n/3⌋ + 1.
    pub fn one_third(&self) -> usize {
        self.len() / 3 + 1
    }

    /// True if `count` distinct signers are strictly more than two thirds.
    pub fn is_quorum(&self, count: usize) -> bool {
        3 * count > 2 * self.len()
    }

    /// True if `count` distinct signers are strictly more than one third.
    pub fn is_one_third(&self, count: usize) -> bool {
        3 * count > self.len()
    }

    /// The position of a participant in canonical order.
    pub fn position(&self, id: &PeerId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// True if `id` is seated.
    pub fn contains(&self, id: &PeerId) -> bool {
        self.index.contains_key(id)
    }

    /// The parsed public key of a seated participant.
    pub fn key(&self, id: &PeerId) -> Option<&VerifyingKey> {
        self.position(id).map(|i| &self.keys[i])
    }

    /// True if the participant's key lies in the prime-order subgroup (has no torsion
    /// component), so that batch verification of its signatures cannot disagree with
    /// `verify_strict` because of the key (see [`crate::batch`]). Every honestly generated key
    /// does; a participant who registered a mixed-order key is always verified one by one.
    pub(crate) fn batchable(&self, id: &PeerId) -> bool {
        let flags = self.batchable.get_or_init(|| {
            self.keys
                .iter()
                .map(|key| key.to_edwards().is_torsion_free())
                .collect()
        });
        self.position(id)
            .and_then(|i| flags.get(i).copied())
            .unwrap_or(false)
    }

    /// The proposer of (height, round): round-robin over the canonical order.
    pub fn proposer(&self, height: Height, round: Round) -> PeerId {
        let n = self.len() as u64;
        let slot = (height.0 % n + u64::from(round.0) % n) % n;
        self.ids[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    fn ids(n: u8) -> Vec<PeerId> {
        (0..n)
            .map(|i| Keypair::from_seed([i + 1; 32]).peer_id())
            .collect()
    }

    #[test]
    fn thresholds_match_the_paper() {
        for (n, q, t, f) in [(4, 3, 2, 1), (7, 5, 3, 2), (10, 7, 4, 3), (16, 11, 6, 5)] {
            let set = ParticipantSet::new(ids(n)).expect("valid set");
            assert_eq!(set.quorum(), q, "quorum for n={n}");
            assert_eq!(set.one_third(), t, "f+1 for n={n}");
            assert_eq!(set.max_faulty(), f, "f for n={n}");
            assert!(set.is_quorum(q) && !set.is_quorum(q - 1));
            assert!(set.is_one_third(t) && !set.is_one_third(t - 1));
        }
    }

    #[test]
    fn fewer_than_four_is_an_error() {
        assert_eq!(
            ParticipantSet::new(ids(3)).err(),
            Some(SeatError::TooFew(3))
        );
    }

    #[test]
    fn duplicates_are_an_error() {
        let mut v = ids(4);
        v.push(v[0]);
        assert!(matches!(
            ParticipantSet::new(v),
            Err(SeatError::Duplicate(_))
        ));
    }

    #[test]
    fn proposer_rotates_over_everyone() {
        let set = ParticipantSet::new(ids(4)).expect("valid set");
        let mut seen: Vec<PeerId> = (0..4).map(|r| set.proposer(Height(9), Round(r))).collect();
        seen.sort();
        assert_eq!(seen, set.ids());
        assert_ne!(
            set.proposer(Height(1), Round(0)),
            set.proposer(Height(2), Round(0))
        );
    }
}
