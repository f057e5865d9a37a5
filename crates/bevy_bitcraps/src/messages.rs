//! Buffered messages the plugin writes for game code (read with `MessageReader`).

use std::time::Duration;

use bevy::prelude::Message;
use bitcraps_consensus::{CommitCertificate, Evidence, Height, PeerId, Round, Value};

use crate::envelope::StateHash;
use crate::error::RejectError;

/// A height was decided and applied.
#[derive(Message, Clone, Debug)]
pub struct HeightDecided {
    /// The height.
    pub height: Height,
    /// The deciding round.
    pub round: Round,
    /// The decided value.
    pub value: Value,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The local state hash after applying it.
    pub state_hash: StateHash,
    /// Virtual time from the start of the height to its decision.
    pub latency: Duration,
}

/// What a peer did wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Two conflicting signed messages (double vote, double proposal): self-verifying evidence,
    /// handed to the application for a table-wide penalty.
    Equivocation(Box<Evidence>),
    /// Bytes that do not decode or messages that fail verification (bad signature, wrong table,
    /// unknown signer): provable only to the local node, counted in [`crate::PeerHealth`].
    InvalidInput(RejectError),
}

/// A peer misbehaved.
#[derive(Message, Clone, Debug)]
pub struct MisbehaviourDetected {
    /// The offender.
    pub offender: PeerId,
    /// What it did, with the evidence where there is some.
    pub misbehaviour: Misbehaviour,
}

impl MisbehaviourDetected {
    /// The self-verifying evidence, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        match &self.misbehaviour {
            Misbehaviour::Equivocation(e) => Some(&**e),
            Misbehaviour::InvalidInput(_) => None,
        }
    }
}

/// An inbound packet or message was dropped (every rejection, misbehaviour or not).
#[derive(Message, Clone, Debug)]
pub struct MessageRejected(pub RejectError);

/// The local state disagrees with a peer's, or with a value 2f+1 participants decided.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct DesyncDetected {
    /// The height at which the states differ.
    pub height: Height,
    /// The peer whose announcement or decision disagrees.
    pub peer: PeerId,
    /// The local state hash at that height.
    pub local: StateHash,
    /// The peer's state hash, if it announced one (`None`: a certified decision was invalid
    /// here).
    pub remote: Option<StateHash>,
}

/// An application payload received from a peer (not authenticated by the plugin beyond the
/// transport's sender identity).
#[derive(Message, Clone, Debug)]
pub struct ApplicationPacket {
    /// The transport-level sender.
    pub from: PeerId,
    /// The payload.
    pub bytes: Vec<u8>,
}

/// The local consensus state could not be made durable (the [`crate::PersistHook`] failed), so
/// the proposals and votes the engine signed in that step were dropped, never sent. The node keeps running
/// and tries again on its next step; a game should tell the player that their votes are held
/// back (for a journal: the disk is full or failing).
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct PersistFailed {
    /// The height the engine was at.
    pub height: Height,
    /// Its round.
    pub round: Round,
    /// The store's error.
    pub error: String,
    /// Proposals and votes dropped.
    pub dropped: usize,
}
