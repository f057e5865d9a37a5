//! How Byzantine nodes bend the honest engine's messages in the simulator: the shared
//! behaviours of [`bitcraps_byzantine`], with the simulator's own values for equivocation.

use bitcraps_consensus::{Keypair, SignedProposal};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

pub use bitcraps_byzantine::behaviours::{
    conflicting_vote, cross_table_vote, forged_votes, garbage,
};

use crate::app::make_value;
use crate::rng::chance;

/// A second proposal for the same (height, round), with another value (invalid 30 % of the
/// time), signed by the proposer: equivocation.
pub fn equivocating_proposal(
    key: &Keypair,
    proposal: &SignedProposal,
    instance: usize,
    rng: &mut ChaCha20Rng,
) -> SignedProposal {
    let h = proposal.header();
    let valid = chance(rng, 0.7);
    let value = make_value(h.height, h.round, instance, rng.next_u64(), valid);
    bitcraps_byzantine::behaviours::equivocating_proposal(key, proposal, value)
}
