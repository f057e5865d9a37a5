//! Consensus objects as ECS entities: proposals, votes and decided heights.
//!
//! Entities appear when the object is received (unverified) or made locally, are marked
//! verified by [`crate::BitCrapsSystems::Verify`], and are despawned by
//! [`crate::BitCrapsSystems::Cleanup`] once their height is older than
//! [`crate::BitCrapsConfig::keep_heights`], so the world does not grow without bound.

use std::time::Duration;

use bevy::prelude::*;
use bitcraps_consensus::{Height, PeerId, Round, ValueId, VoteKind};

use crate::envelope::StateHash;

/// A proposal received or made at this table.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// Who proposed.
    pub proposer: PeerId,
    /// Id of the proposed value.
    pub value_id: ValueId,
    /// The polka round that justifies a re-proposal (`None` for a fresh value).
    pub valid_round: Option<Round>,
    /// Size of the value, bytes.
    pub value_len: usize,
    /// Signature checked (always true for local proposals).
    pub verified: bool,
    /// Made by the local player.
    pub local: bool,
}

/// A prevote or precommit received or cast at this table.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Who voted.
    pub signer: PeerId,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The value voted for; `None` is nil.
    pub value: Option<ValueId>,
    /// Signature checked (always true for local votes).
    pub verified: bool,
    /// Cast by the local player.
    pub local: bool,
}

/// Relates a [`Vote`] to the [`Proposal`] entity of the value it votes for (same height, round
/// and value id). Nil votes, and votes whose proposal has not been seen, have none.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
#[relationship(relationship_target = ProposalVotes)]
pub struct VoteFor(pub Entity);

/// The [`Vote`] entities that vote for this [`Proposal`] (maintained by Bevy from [`VoteFor`]).
#[derive(Component, Debug, Default)]
#[relationship_target(relationship = VoteFor)]
pub struct ProposalVotes(Vec<Entity>);

impl ProposalVotes {
    /// The vote entities.
    pub fn votes(&self) -> &[Entity] {
        &self.0
    }
}

/// Marks the [`Proposal`] whose value was decided.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecidedProposal;

/// One decided height (a marker entity; the most recent ones are kept).
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct DecidedHeight {
    /// The height.
    pub height: Height,
    /// The round whose precommits decided it.
    pub round: Round,
    /// The decided value's id.
    pub value_id: ValueId,
    /// Who signed the commit certificate.
    pub signers: Vec<PeerId>,
    /// The local state hash after applying it.
    pub state_hash: StateHash,
    /// Virtual time from the start of the height to its decision.
    pub latency: Duration,
}
