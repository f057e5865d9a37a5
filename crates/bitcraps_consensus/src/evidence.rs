//! Self-verifying evidence of misbehaviour: two conflicting messages signed by one participant.

use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::keys::PeerId;
use crate::message::{SignedProposalHeader, SignedVote};
use crate::participants::ParticipantSet;
use crate::types::{Height, Round, TableId};

/// Proof that a participant signed two different messages where the protocol allows one.
///
/// Anyone with the participant set can check it ([`Evidence::verify`]); it names only the signer
/// of both messages, so it can never implicate an honest node (whose engine refuses to sign twice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Two different votes of one kind for one (height, round).
    DoubleVote {
        /// The vote seen first.
        first: SignedVote,
        /// The conflicting vote.
        second: SignedVote,
    },
    /// Two different proposals by the proposer of one (height, round).
    DoubleProposal {
        /// The proposal seen first.
        first: SignedProposalHeader,
        /// The conflicting proposal.
        second: SignedProposalHeader,
    },
}

impl Evidence {
    /// The participant this evidence accuses (not yet verified).
    pub fn offender(&self) -> PeerId {
        match self {
            Evidence::DoubleVote { first, .. } => first.vote.signer,
            Evidence::DoubleProposal { first, .. } => first.header.proposer,
        }
    }

    /// The height of the offence.
    pub fn height(&self) -> Height {
        match self {
            Evidence::DoubleVote { first, .. } => first.vote.height,
            Evidence::DoubleProposal { first, .. } => first.header.height,
        }
    }

    /// The round of the offence.
    pub fn round(&self) -> Round {
        match self {
            Evidence::DoubleVote { first, .. } => first.vote.round,
            Evidence::DoubleProposal { first, .. } => first.header.round,
        }
    }

    /// A short name of the offence, for logs and UIs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Evidence::DoubleVote { .. } => "double vote",
            Evidence::DoubleProposal { .. } => "double proposal",
        }
    }

    /// Checks the evidence and returns the offender: both messages validly signed (strictly) by
    /// the same seated participant, for the same table, height, round and kind, and different.
    pub fn verify(
        &self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<PeerId, VerifyError> {
        match self {
            Evidence::DoubleVote { first, second } => {
                let (a, b) = (&first.vote, &second.vote);
                if a.signer != b.signer {
                    return Err(VerifyError::NotConflicting("votes by different signers"));
                }
                if (a.table, a.height, a.round, a.kind) != (b.table, b.height, b.round, b.kind) {
                    return Err(VerifyError::NotConflicting(
                        "votes for different table, height, round or kind",
                    ));
                }
                if a.value == b.value {
                    return Err(VerifyError::NotConflicting("votes for the same value"));
                }
                first.clone().verify(table, participants)?;
                second.clone().verify(table, participants)?;
                Ok(a.signer)
            }
            Evidence::DoubleProposal { first, second } => {
                let (a, b) = (&first.header, &second.header);
                if a.proposer != b.proposer {
                    return Err(VerifyError::NotConflicting(
                        "proposals by different signers",
                    ));
                }
                if (a.table, a.height, a.round) != (b.table, b.height, b.round) {
                    return Err(VerifyError::NotConflicting(
                        "proposals for different table, height or round",
                    ));
                }
                if a == b {
                    return Err(VerifyError::NotConflicting("identical proposals"));
                }
                first.verify(table, participants)?;
                second.verify(table, participants)?;
                Ok(a.proposer)
            }
        }
    }
}
