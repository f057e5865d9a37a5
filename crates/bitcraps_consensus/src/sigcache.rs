//! A cache of signatures that verified, for hosts that check the same signature many times.

use std::collections::HashSet;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::keys::PeerId;

/// Remembers (key, message, signature) triples that verified, so that a host that meets one
/// signature many times — a precommit inside every certificate built from it, one message
/// delivered to many simulated nodes, gossip repeats — pays for one check.
///
/// Entries are keyed by SHA-256 of the triple and kept in two tiers:
///
/// - **strict**: triples that passed `verify_strict`. A hit here is as good as a strict check;
///   it is the only tier the one-by-one checks ([`crate::WireMessage::verify_cached`],
///   [`crate::CommitCertificate::verify_cached`], ...) consult, so their results stay exactly
///   those of `verify_strict`.
/// - **batch**: triples accepted by a successful batch equation in [`crate::batch`]. Only the
///   batch verifier consults this tier (together with the strict one): a repeat of a live
///   message it already accepted is accepted again without a check. See [`crate::batch`] for
///   why a batch acceptance is not quite a strict one.
///
/// Nothing enters either tier unless its check succeeded. Bounded: past `capacity` entries
/// (both tiers together) it starts afresh.
#[derive(Debug)]
pub struct SignatureCache {
    verified: HashSet<[u8; 32]>,
    batch_verified: HashSet<[u8; 32]>,
    capacity: usize,
    /// Checks answered from the cache.
    pub hits: u64,
    /// Checks that had to verify a signature (strictly, or as part of a batch).
    pub misses: u64,
}

impl SignatureCache {
    /// A cache holding at most `capacity` verified signatures.
    pub fn new(capacity: usize) -> SignatureCache {
        SignatureCache {
            verified: HashSet::new(),
            batch_verified: HashSet::new(),
            capacity: capacity.max(1),
            hits: 0,
            misses: 0,
        }
    }

    /// The cache key of a triple.
    pub(crate) fn entry(peer: &PeerId, message: &[u8], signature: &Signature) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(peer.as_bytes());
        h.update(signature.to_bytes());
        h.update(message);
        h.finalize().into()
    }

    /// True if the triple passed `verify_strict` before.
    pub(crate) fn contains_strict(&self, entry: &[u8; 32]) -> bool {
        self.verified.contains(entry)
    }

    /// True if the triple passed `verify_strict` or a batch equation before.
    pub(crate) fn contains_any(&self, entry: &[u8; 32]) -> bool {
        self.verified.contains(entry) || self.batch_verified.contains(entry)
    }

    fn make_room(&mut self) {
        if self.verified.len() + self.batch_verified.len() >= self.capacity {
            self.verified.clear();
            self.batch_verified.clear();
        }
    }

    /// Records a triple that passed `verify_strict`.
    pub(crate) fn insert_strict(&mut self, entry: [u8; 32]) {
        self.make_room();
        self.batch_verified.remove(&entry);
        self.verified.insert(entry);
    }

    /// Records a triple accepted by a successful batch equation.
    pub(crate) fn insert_batch(&mut self, entry: [u8; 32]) {
        if self.verified.contains(&entry) {
            return;
        }
        self.make_room();
        self.batch_verified.insert(entry);
    }

    /// Strictly verifies `signature` on `message` under `key` (the key of `peer`), using and
    /// filling the strict tier of the cache.
    pub(crate) fn verify(
        &mut self,
        peer: &PeerId,
        key: &VerifyingKey,
        message: &[u8],
        signature: &Signature,
    ) -> bool {
        let entry = Self::entry(peer, message, signature);
        if self.contains_strict(&entry) {
            self.hits += 1;
            return true;
        }
        self.misses += 1;
        if key.verify_strict(message, signature).is_err() {
            return false;
        }
        self.insert_strict(entry);
        true
    }
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::new(1 << 16)
    }
}
