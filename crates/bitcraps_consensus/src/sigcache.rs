//! A cache of signatures that verified, for hosts that check the same signature many times.

use std::collections::HashSet;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::keys::PeerId;

/// Remembers (key, message, signature) triples that passed `verify_strict`, so that a host that
/// meets one signature many times — a precommit inside every certificate built from it, one
/// message delivered to many simulated nodes — pays for one check.
///
/// Only a successful strict verification adds an entry, keyed by SHA-256 of the triple, so a
/// cache hit is as good as a check. Bounded: past `capacity` entries it starts afresh.
#[derive(Debug)]
pub struct SignatureCache {
    verified: HashSet<[u8; 32]>,
    capacity: usize,
    /// Checks answered from the cache.
    pub hits: u64,
    /// Checks that ran `verify_strict`.
    pub misses: u64,
}

impl SignatureCache {
    /// A cache holding at most `capacity` verified signatures.
    pub fn new(capacity: usize) -> SignatureCache {
        SignatureCache {
            verified: HashSet::new(),
            capacity: capacity.max(1),
            hits: 0,
            misses: 0,
        }
    }

    /// Strictly verifies `signature` on `message` under `key` (the key of `peer`), using and
    /// filling the cache.
    pub(crate) fn verify(
        &mut self,
        peer: &PeerId,
        key: &VerifyingKey,
        message: &[u8],
        signature: &Signature,
    ) -> bool {
        let mut h = Sha256::new();
        h.update(peer.as_bytes());
        h.update(signature.to_bytes());
        h.update(message);
        let entry: [u8; 32] = h.finalize().into();
        if self.verified.contains(&entry) {
            self.hits += 1;
            return true;
        }
        self.misses += 1;
        if key.verify_strict(message, signature).is_err() {
            return false;
        }
        if self.verified.len() >= self.capacity {
            self.verified.clear();
        }
        self.verified.insert(entry);
        true
    }
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::new(1 << 16)
    }
}
