//! What travels between nodes, and its size-limited encoding.

use serde::{Deserialize, Serialize};

use crate::certificate::Decision;
use crate::codec;
use crate::error::{DecodeError, EncodeError, VerifyError};
use crate::keys::PeerId;
use crate::message::{SignedProposal, SignedStatus, SignedVote, Verified};
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;
use crate::types::{Height, Round, TableId};

/// A consensus message on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireMessage {
    /// A signed proposal with its value.
    Proposal(SignedProposal),
    /// A signed prevote or precommit.
    Vote(SignedVote),
    /// A decided value with its commit certificate (catch-up).
    Decision(Decision),
    /// A lagging node's height, asking for the decisions it lacks.
    Status(SignedStatus),
}

impl WireMessage {
    /// Encodes the message.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(self)
    }

    /// Decodes one message of at most `limit` bytes.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<WireMessage, DecodeError> {
        codec::decode(bytes, limit)
    }

    /// The height the message is about.
    pub fn height(&self) -> Height {
        match self {
            WireMessage::Proposal(p) => p.header().height,
            WireMessage::Vote(v) => v.vote.height,
            WireMessage::Decision(d) => d.height(),
            WireMessage::Status(s) => s.status.height,
        }
    }

    /// The round the message is about (a decision: its certificate's round).
    pub fn round(&self) -> Round {
        match self {
            WireMessage::Proposal(p) => p.header().round,
            WireMessage::Vote(v) => v.vote.round,
            WireMessage::Decision(d) => d.certificate.round,
            WireMessage::Status(_) => Round(0),
        }
    }

    /// The author of a proposal or vote; `None` for a decision (relayed by anyone).
    pub fn author(&self) -> Option<PeerId> {
        match self {
            WireMessage::Proposal(p) => Some(p.header().proposer),
            WireMessage::Vote(v) => Some(v.vote.signer),
            WireMessage::Status(s) => Some(s.status.signer),
            WireMessage::Decision(_) => None,
        }
    }

    /// Verifies the message for a table and its participants.
    pub fn verify(
        self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<VerifiedMessage, VerifyError> {
        self.verify_cached(table, participants, None)
    }

    /// [`WireMessage::verify`] through a [`SignatureCache`] for votes and certificates.
    pub fn verify_cached(
        self,
        table: &TableId,
        participants: &ParticipantSet,
        cache: Option<&mut SignatureCache>,
    ) -> Result<VerifiedMessage, VerifyError> {
        Ok(match self {
            WireMessage::Proposal(p) => VerifiedMessage::Proposal(p.verify(table, participants)?),
            WireMessage::Vote(v) => {
                VerifiedMessage::Vote(v.verify_cached(table, participants, cache)?)
            }
            WireMessage::Decision(d) => {
                VerifiedMessage::Decision(d.verify_cached(table, participants, cache)?)
            }
            WireMessage::Status(s) => VerifiedMessage::Status(s.verify(table, participants)?),
        })
    }
}

/// A [`WireMessage`] whose signatures have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifiedMessage {
    /// A verified proposal.
    Proposal(Verified<SignedProposal>),
    /// A verified vote.
    Vote(Verified<SignedVote>),
    /// A verified decision.
    Decision(Verified<Decision>),
    /// A verified status.
    Status(Verified<SignedStatus>),
}

impl VerifiedMessage {
    /// The height the message is about.
    pub fn height(&self) -> Height {
        match self {
            VerifiedMessage::Proposal(p) => p.header().height,
            VerifiedMessage::Vote(v) => v.vote.height,
            VerifiedMessage::Decision(d) => d.height(),
            VerifiedMessage::Status(s) => s.status.height,
        }
    }

    /// The author of a proposal or vote; `None` for a decision.
    pub fn author(&self) -> Option<PeerId> {
        match self {
            VerifiedMessage::Proposal(p) => Some(p.header().proposer),
            VerifiedMessage::Vote(v) => Some(v.vote.signer),
            VerifiedMessage::Status(s) => Some(s.status.signer),
            VerifiedMessage::Decision(_) => None,
        }
    }

    /// Back to the wire form (for forwarding).
    pub fn to_wire(&self) -> WireMessage {
        match self {
            VerifiedMessage::Proposal(p) => WireMessage::Proposal((**p).clone()),
            VerifiedMessage::Vote(v) => WireMessage::Vote((**v).clone()),
            VerifiedMessage::Decision(d) => WireMessage::Decision((**d).clone()),
            VerifiedMessage::Status(s) => WireMessage::Status((**s).clone()),
        }
    }
}
