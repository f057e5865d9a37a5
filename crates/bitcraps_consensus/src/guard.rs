//! The signing guard (in the spirit of Aptos' SafetyRules) and the state a host must persist.

use serde::{Deserialize, Serialize};

use crate::keys::Keypair;
use crate::message::{SignedProposal, SignedVote, Vote};
use crate::types::{Height, Round, TableId, Value, VoteKind};

/// Remembers the last proposal, prevote and precommit this node signed, and refuses to sign a
/// different one for the same or an earlier (height, round) of that kind.
///
/// Asked to sign again at the (height, round) it last signed, it returns the message it signed
/// then, whatever was asked: after a crash and restart the node repeats itself instead of
/// equivocating. The host must persist the guard (see [`PersistentState`]) before any message
/// it signed leaves the node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningGuard {
    last_proposal: Option<SignedProposal>,
    last_prevote: Option<SignedVote>,
    last_precommit: Option<SignedVote>,
}

/// What the guard answered to a signing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed<T> {
    /// Newly signed.
    New(T),
    /// The message already signed at this (height, round): re-sent, never re-signed.
    Repeat(T),
    /// Refused: a later (height, round) was already signed for this kind.
    Refused,
}

impl<T> Signed<T> {
    /// The message to send, if any.
    pub fn message(self) -> Option<T> {
        match self {
            Signed::New(m) | Signed::Repeat(m) => Some(m),
            Signed::Refused => None,
        }
    }
}

impl SigningGuard {
    /// Signs `vote` unless that would conflict with what this node already signed.
    pub fn sign_vote(&mut self, key: &Keypair, vote: Vote) -> Signed<SignedVote> {
        let slot = match vote.kind {
            VoteKind::Prevote => &mut self.last_prevote,
            VoteKind::Precommit => &mut self.last_precommit,
        };
        if let Some(prev) = slot.as_ref() {
            let prev_at = (prev.vote.height, prev.vote.round);
            let at = (vote.height, vote.round);
            if prev_at == at {
                return Signed::Repeat(prev.clone());
            }
            if prev_at > at {
                return Signed::Refused;
            }
        }
        let signed = vote.sign(key);
        *slot = Some(signed.clone());
        Signed::New(signed)
    }

    /// Signs a proposal unless that would conflict with what this node already signed.
    pub fn sign_proposal(
        &mut self,
        key: &Keypair,
        table: TableId,
        height: Height,
        round: Round,
        value: Value,
        valid_round: Option<Round>,
    ) -> Signed<SignedProposal> {
        if let Some(prev) = self.last_proposal.as_ref() {
            let prev_at = (prev.header().height, prev.header().round);
            if prev_at == (height, round) {
                return Signed::Repeat(prev.clone());
            }
            if prev_at > (height, round) {
                return Signed::Refused;
            }
        }
        let signed = SignedProposal::sign(key, table, height, round, value, valid_round);
        self.last_proposal = Some(signed.clone());
        Signed::New(signed)
    }

    /// The last proposal signed.
    pub fn last_proposal(&self) -> Option<&SignedProposal> {
        self.last_proposal.as_ref()
    }

    /// The last vote of a kind signed.
    pub fn last_vote(&self, kind: VoteKind) -> Option<&SignedVote> {
        match kind {
            VoteKind::Prevote => self.last_prevote.as_ref(),
            VoteKind::Precommit => self.last_precommit.as_ref(),
        }
    }
}

/// Everything an engine needs after a crash so that it neither equivocates nor forgets a lock:
/// where it was, its locked and valid values, and its signing guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistentState {
    /// The height in progress.
    pub height: Height,
    /// The round in progress.
    pub round: Round,
    /// lockedRound and lockedValue (`None` is the paper's −1/nil).
    pub locked: Option<(Round, Value)>,
    /// validRound and validValue.
    pub valid: Option<(Round, Value)>,
    /// What this node signed last.
    pub guard: SigningGuard,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValueId;

    fn vote(key: &Keypair, round: u32, value: u8) -> Vote {
        Vote {
            table: TableId::from_name("t"),
            height: Height(1),
            round: Round(round),
            kind: VoteKind::Prevote,
            value: Some(ValueId([value; 32])),
            signer: key.peer_id(),
        }
    }

    #[test]
    fn never_signs_two_different_votes_for_one_round() {
        let key = Keypair::from_seed([1; 32]);
        let mut guard = SigningGuard::default();
        let first = guard.sign_vote(&key, vote(&key, 0, 1));
        assert!(matches!(first, Signed::New(_)));
        let again = guard.sign_vote(&key, vote(&key, 0, 2));
        // The same (height, round, kind) returns the first vote, not a new one for value 2.
        assert_eq!(again.message(), first.message());
        assert!(matches!(
            guard.sign_vote(&key, vote(&key, 1, 2)),
            Signed::New(_)
        ));
        assert_eq!(guard.sign_vote(&key, vote(&key, 0, 3)), Signed::Refused);
    }

    #[test]
    fn guard_survives_serialisation() {
        let key = Keypair::from_seed([1; 32]);
        let mut guard = SigningGuard::default();
        let first = guard.sign_vote(&key, vote(&key, 4, 1)).message();
        let bytes = crate::codec::encode(&guard).expect("encodes");
        let mut restored: SigningGuard =
            crate::codec::decode(&bytes, crate::codec::MAX_MESSAGE_BYTES).expect("decodes");
        assert_eq!(restored.sign_vote(&key, vote(&key, 4, 9)).message(), first);
    }
}
