//! How Byzantine nodes bend the honest engine's messages: every function here builds what a
//! cheater would send instead of (or besides) the honest message.

use bitcraps_consensus::{
    Keypair, PeerId, SignedProposal, SignedVote, TableId, Value, ValueId, Vote, WireMessage,
};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

use crate::rng::{bytes32, chance, uniform};

/// A second proposal for the same (height, round) with `other` as its value, signed by the
/// proposer: equivocation.
pub fn equivocating_proposal(
    key: &Keypair,
    proposal: &SignedProposal,
    other: Value,
) -> SignedProposal {
    let h = proposal.header();
    SignedProposal::sign(key, h.table, h.height, h.round, other, h.valid_round)
}

/// A second vote for the same (height, round, kind) with another value: a double vote.
pub fn conflicting_vote(key: &Keypair, vote: &SignedVote, rng: &mut ChaCha20Rng) -> SignedVote {
    let mut v: Vote = vote.vote.clone();
    v.value = match v.value {
        Some(_) if chance(rng, 0.5) => None,
        _ => Some(ValueId(bytes32(rng))),
    };
    v.sign(key)
}

/// Forgeries around an honest vote: the vote re-labelled as another participant's, and the
/// vote with a corrupted signature. Both must fail verification.
pub fn forged_votes(key: &Keypair, vote: &SignedVote, victim: PeerId) -> Vec<WireMessage> {
    let mut claimed = vote.vote.clone();
    claimed.signer = victim;
    let as_victim = SignedVote {
        signature: key.sign(&claimed.signing_bytes()),
        vote: claimed,
    };
    let mut bytes = vote.signature.to_bytes();
    bytes[7] ^= 0x40;
    let corrupted = SignedVote {
        vote: vote.vote.clone(),
        signature: bitcraps_consensus::Signature::from_bytes(&bytes),
    };
    vec![WireMessage::Vote(as_victim), WireMessage::Vote(corrupted)]
}

/// The same vote, validly signed, but for another table: a cross-table replay.
pub fn cross_table_vote(key: &Keypair, vote: &SignedVote, other: TableId) -> SignedVote {
    let mut v = vote.vote.clone();
    v.table = other;
    v.sign(key)
}

/// Junk: random bytes, a truncated genuine message, a bit-flipped genuine message, and a
/// message whose length prefix lies.
pub fn garbage(rng: &mut ChaCha20Rng, genuine: Option<&[u8]>) -> Vec<Vec<u8>> {
    let len = uniform(rng, 0, 2_048) as usize;
    let mut random = vec![0u8; len];
    rng.fill_bytes(&mut random);
    let mut out = vec![random];
    if let Some(g) = genuine {
        if !g.is_empty() {
            let cut = uniform(rng, 0, g.len() as u64) as usize;
            out.push(g[..cut].to_vec());
            let mut flipped = g.to_vec();
            let at = uniform(rng, 0, g.len() as u64) as usize;
            flipped[at] ^= 1 << uniform(rng, 0, 8);
            out.push(flipped);
        }
    }
    // Variant 0 (a vote) followed by a length that claims far more than is there.
    out.push(vec![1, 0xFC, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3]);
    out
}
