//! Typed errors of the plugin. Every error about received data names the peer it came from.

use bitcraps_consensus::{DecodeError, InputError, PeerId, VerifyError};
use thiserror::Error;

/// Why an inbound packet or message was dropped. Each variant names the peer responsible: the
/// transport-level sender for bytes that do not decode, the sender for messages that fail
/// verification, and the sender for messages the engine refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RejectError {
    /// The bytes did not decode (malformed, oversized, trailing bytes).
    #[error("bytes from {peer} dropped: {error}")]
    Decode {
        /// Who sent the bytes.
        peer: PeerId,
        /// Why they did not decode.
        error: DecodeError,
    },
    /// A message whose signature, table or membership check failed.
    #[error("message from {peer} failed verification: {error}")]
    Verify {
        /// Who sent the message.
        peer: PeerId,
        /// Why it failed.
        error: VerifyError,
    },
    /// A verified message the consensus engine refused (too far ahead, not the proposer, ...).
    #[error("message from {peer} refused by the engine: {error}")]
    Refused {
        /// Who sent the message.
        peer: PeerId,
        /// Why the engine refused it.
        error: InputError,
    },
    /// A state-hash announcement whose signature does not verify or whose signer is not seated.
    #[error("state-hash announcement from {peer} failed verification")]
    BadAnnouncement {
        /// Who sent the announcement.
        peer: PeerId,
    },
    /// A packet from a peer that is not seated at this table.
    #[error("packet from {peer}, who is not seated at this table")]
    Stranger {
        /// The unknown sender.
        peer: PeerId,
    },
}

impl RejectError {
    /// The peer responsible for the rejected input.
    pub fn peer(&self) -> PeerId {
        match self {
            RejectError::Decode { peer, .. }
            | RejectError::Verify { peer, .. }
            | RejectError::Refused { peer, .. }
            | RejectError::BadAnnouncement { peer }
            | RejectError::Stranger { peer } => *peer,
        }
    }
}

/// Why a decided value could not be applied by the table application. A value that the engine
/// decided was valid here, so this means the local state is broken (a desync or a bug).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("applying the value decided at height {height} failed: {reason}")]
pub struct ApplyError {
    /// The decided height.
    pub height: u64,
    /// What went wrong.
    pub reason: String,
}

/// Why the plugin could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The participant set is invalid (too few, duplicate or weak keys).
    #[error("invalid participants: {0}")]
    Seats(#[from] bitcraps_consensus::SeatError),
    /// The local key is not one of the participants.
    #[error("the local key {0} is not seated at this table")]
    NotSeated(PeerId),
}
