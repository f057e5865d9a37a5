//! The simulated network: latency, loss, duplication, reordering and partitions until the global
//! stabilisation time, then a healed network.

use std::collections::HashMap;
use std::sync::Arc;

use bitcraps_consensus::{
    codec::MAX_MESSAGE_BYTES, ParticipantSet, SignatureCache, TableId, VerifiedMessage, WireMessage,
};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::membership::SetId;
use crate::rng::{chance, uniform};
use crate::settings::{Partition, Settings};

/// Bytes in flight, shared by every recipient of one send.
#[derive(Debug)]
pub struct Packet {
    /// The encoded message (possibly garbage from a Byzantine node).
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes: the key of the verification cache.
    pub digest: [u8; 32],
}

impl Packet {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Arc<Packet> {
        let digest = Sha256::digest(&bytes).into();
        Arc::new(Packet { bytes, digest })
    }
}

/// Why a packet was not turned into a verified message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Decoding failed.
    Decode(String),
    /// Verification failed.
    Verify(String),
}

/// Decodes each distinct byte string once, and verifies it once per participant set, sharing
/// the results across the simulated nodes: a signature is checked once per run and set, not
/// once per recipient. Sets change between heights (churn), and a faulty host may hold another
/// set for a height than its peers, so results are keyed by (bytes, [`SetId`]).
#[derive(Debug, Default)]
pub struct VerifyCache {
    decoded: HashMap<[u8; 32], Result<WireMessage, Rejected>>,
    results: HashMap<([u8; 32], SetId), Result<VerifiedMessage, Rejected>>,
    /// Individual signatures already checked (precommits reappear inside certificates).
    pub signatures: SignatureCache,
    /// Distinct (byte string, set) pairs verified.
    pub misses: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
}

impl VerifyCache {
    /// The decoded message of a packet, or why it does not decode.
    pub fn decode(&mut self, packet: &Packet) -> Result<WireMessage, Rejected> {
        self.decoded
            .entry(packet.digest)
            .or_insert_with(|| {
                WireMessage::decode(&packet.bytes, MAX_MESSAGE_BYTES)
                    .map_err(|e| Rejected::Decode(e.to_string()))
            })
            .clone()
    }

    /// The verified message for a packet (decoded by [`VerifyCache::decode`] as `message`)
    /// against the participant set `set`, named `set_id`, or why it was rejected.
    pub fn verify(
        &mut self,
        packet: &Packet,
        message: WireMessage,
        table: &TableId,
        set_id: SetId,
        set: &ParticipantSet,
    ) -> Result<VerifiedMessage, Rejected> {
        let key = (packet.digest, set_id);
        if let Some(result) = self.results.get(&key) {
            self.hits += 1;
            return result.clone();
        }
        self.misses += 1;
        let result = message
            .verify_cached(table, set, Some(&mut self.signatures))
            .map_err(|e| Rejected::Verify(e.to_string()));
        self.results.insert(key, result.clone());
        result
    }
}

/// Decides the fate of each message.
#[derive(Debug)]
pub struct Network {
    settings: Settings,
    healed: bool,
}

impl Network {
    /// A network following the run's settings.
    pub fn new(settings: &Settings) -> Network {
        Network {
            settings: settings.clone(),
            healed: false,
        }
    }

    /// Global stabilisation: no more partitions or loss.
    pub fn heal(&mut self) {
        self.healed = true;
    }

    /// True after [`Network::heal`].
    pub fn is_healed(&self) -> bool {
        self.healed
    }

    fn blocked(&self, from: usize, to: usize, now: u64) -> bool {
        if self.healed || now < self.settings.partition_start_ms {
            return false;
        }
        match &self.settings.partition {
            Partition::None => false,
            Partition::Symmetric(side) => side.get(from) != side.get(to),
            Partition::Asymmetric(side) => {
                side.get(from) == Some(&false) && side.get(to) == Some(&true)
            }
            Partition::IsolateOne(i) => (from == *i) != (to == *i),
        }
    }

    /// The delays (ms) after which copies of a message from `from` reach `to`: none if lost or
    /// blocked, two if duplicated.
    pub fn delays(&self, rng: &mut ChaCha20Rng, from: usize, to: usize, now: u64) -> Vec<u64> {
        if self.blocked(from, to, now) {
            return Vec::new();
        }
        if !self.healed && chance(rng, self.settings.loss) {
            return Vec::new();
        }
        let copies = if chance(rng, self.settings.duplicate) {
            2
        } else {
            1
        };
        (0..copies).map(|_| self.latency(rng)).collect()
    }

    fn latency(&self, rng: &mut ChaCha20Rng) -> u64 {
        let l = &self.settings.latency;
        let jitter = if chance(rng, l.slow_path) {
            l.jitter_ms.max(20) * 10
        } else {
            l.jitter_ms
        };
        l.base_ms + uniform(rng, 0, jitter + 1)
    }
}
