//! Building commit certificates: only from precommits that pass `verify_strict`.

use crate::certificate::{CommitCertificate, CommitSignature};
use crate::engine::Engine;
use crate::types::{Round, ValueId};

impl Engine {
    /// The 2f+1 precommits for `value` in `round`, as a certificate, or `None` if fewer than
    /// 2f+1 of them pass `verify_strict`.
    ///
    /// Precommits a batch equation accepted are checked strictly here, once: those that fail
    /// are removed from the tally for good ([`crate::votekeeper::VoteSet::refuse`]), so a
    /// certificate this engine outputs always verifies ([`CommitCertificate::verify`]), and a
    /// Byzantine signer gains nothing by resending a precommit only a batch accepts. Precommits
    /// checked strictly by the host (or signed here) cost nothing more.
    pub(crate) fn certificate(
        &mut self,
        round: Round,
        value: ValueId,
    ) -> Option<CommitCertificate> {
        let votes = self.votes.round(round)?;
        let mut refused = Vec::new();
        let mut precommits = Vec::new();
        for vote in votes.precommits.votes_for(Some(value)) {
            let signer = vote.vote.signer;
            let strict = vote.is_strict()
                || self.participants.key(&signer).is_some_and(|key| {
                    key.verify_strict(&vote.vote.signing_bytes(), &vote.signature)
                        .is_ok()
                });
            if strict {
                precommits.push(CommitSignature {
                    signer,
                    signature: vote.signature,
                });
            } else {
                refused.push(signer);
            }
        }
        if let Some(set) = self.votes.precommits_mut(round) {
            for signer in refused {
                set.refuse(signer, Some(value));
            }
        }
        if !self.participants.is_quorum(precommits.len()) {
            return None;
        }
        Some(CommitCertificate {
            table: self.config.table,
            height: self.height,
            round,
            value_id: value,
            precommits,
        })
    }
}
