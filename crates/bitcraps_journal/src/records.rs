//! What the journal records: a decided height, a piece of evidence.

use serde::{Deserialize, Serialize};

use bitcraps_consensus::{CommitCertificate, Decision, Evidence, Value};
use bitcraps_game::Event;

/// One decided height as the host saw it: the value (the encoded block, whose operations carry
/// the dice commitments, reveals and disputes), its commit certificate, the state hash after
/// applying it, and what applying it did.
#[derive(Debug, Clone)]
pub struct DecidedHeight<'a> {
    /// The decided value (a [`bitcraps_game::Block`]'s encoding).
    pub value: &'a Value,
    /// Its commit certificate (its height is the decided height).
    pub certificate: &'a CommitCertificate,
    /// [`bitcraps_game::TableState::hash`] after applying the block.
    pub state_hash: [u8; 32],
    /// The events applying the block produced ([`bitcraps_game::Applied::New`]).
    pub events: &'a [Event],
}

/// The part of a decided height stored beside the block bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DecidedRecord {
    pub(crate) certificate: CommitCertificate,
    pub(crate) state_hash: [u8; 32],
    pub(crate) events: Vec<Event>,
}

/// A decided height read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHeight {
    /// The height.
    pub height: u64,
    /// The decided value (the block's bytes).
    pub value: Value,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The recorded state hash after it.
    pub state_hash: [u8; 32],
    /// The recorded events.
    pub events: Vec<Event>,
}

impl StoredHeight {
    /// The decision as catch-up sends it to a lagging peer.
    pub fn decision(&self) -> Decision {
        Decision {
            certificate: self.certificate.clone(),
            value: self.value.clone(),
        }
    }
}

/// Consensus evidence the node found (double votes, double proposals), kept so that it can be
/// submitted to the table (as [`bitcraps_game::GameEvidence::Consensus`]) and shown later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// The height the journal had decided when the evidence was recorded.
    pub recorded_at: u64,
    /// The evidence (self-verifying).
    pub evidence: Evidence,
}
