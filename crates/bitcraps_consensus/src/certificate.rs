//! Commit certificates: 2f+1 signed precommits that let anyone check a decision.

use std::collections::BTreeSet;

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::keys::PeerId;
use crate::message::{check_signature_cached, Verified, Vote};
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;
use crate::types::{Height, Round, TableId, Value, ValueId, VoteKind};

/// One precommit signature inside a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSignature {
    /// Who precommitted.
    pub signer: PeerId,
    /// Their signature over the precommit for the certificate's (table, height, round, value).
    pub signature: Signature,
}

/// Proof that a value was decided at a height: strictly more than two thirds of the participants
/// precommitted it in one round. Checkable with nothing but the participant set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// The table.
    pub table: TableId,
    /// The decided height.
    pub height: Height,
    /// The round whose precommits decided.
    pub round: Round,
    /// The decided value.
    pub value_id: ValueId,
    /// The precommits, sorted by signer.
    pub precommits: Vec<CommitSignature>,
}

impl CommitCertificate {
    /// Checks the certificate against a table and its participants: every signature valid
    /// (strict), every signer seated and distinct, and strictly more than 2/3 of them.
    pub fn verify(
        &self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<(), VerifyError> {
        self.verify_cached(table, participants, None)
    }

    /// [`CommitCertificate::verify`] through a [`SignatureCache`]: precommits already seen
    /// (as votes, or in another certificate) are not checked again.
    pub fn verify_cached(
        &self,
        table: &TableId,
        participants: &ParticipantSet,
        mut cache: Option<&mut SignatureCache>,
    ) -> Result<(), VerifyError> {
        let mut seen = BTreeSet::new();
        for commit in &self.precommits {
            if !seen.insert(commit.signer) {
                return Err(VerifyError::DuplicateSigner(commit.signer));
            }
            let vote = self.precommit_of(commit.signer);
            check_signature_cached(
                table,
                &self.table,
                participants,
                &commit.signer,
                &vote.signing_bytes(),
                &commit.signature,
                cache.as_deref_mut(),
            )?;
        }
        if !participants.is_quorum(seen.len()) {
            return Err(VerifyError::NoQuorum {
                height: self.height,
                got: seen.len(),
                needed: participants.quorum(),
            });
        }
        Ok(())
    }

    /// Checks the certificate against the participant set of its own height, as `set_of`
    /// returns it (`None`: not known, [`VerifyError::UnknownParticipants`]). With validator sets
    /// that change between heights, a certificate proves a decision only against its own
    /// height's set: pass a lookup, not one set.
    pub fn verify_at<'a>(
        &self,
        table: &TableId,
        set_of: impl FnOnce(Height) -> Option<&'a ParticipantSet>,
    ) -> Result<(), VerifyError> {
        let participants =
            set_of(self.height).ok_or(VerifyError::UnknownParticipants(self.height))?;
        self.verify(table, participants)
    }

    /// The precommit a signer of this certificate signed.
    pub fn precommit_of(&self, signer: PeerId) -> Vote {
        Vote {
            table: self.table,
            height: self.height,
            round: self.round,
            kind: VoteKind::Precommit,
            value: Some(self.value_id),
            signer,
        }
    }

    /// The signers, in order.
    pub fn signers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.precommits.iter().map(|c| c.signer)
    }
}

/// A decided value with its certificate: what catch-up sends to a lagging node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Proof of the decision.
    pub certificate: CommitCertificate,
    /// The decided value; hashes to `certificate.value_id`.
    pub value: Value,
}

impl Decision {
    /// Checks the certificate and that the value is the certified one.
    pub fn verify(
        self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<Verified<Decision>, VerifyError> {
        self.verify_cached(table, participants, None)
    }

    /// [`Decision::verify`] through a [`SignatureCache`].
    pub fn verify_cached(
        self,
        table: &TableId,
        participants: &ParticipantSet,
        cache: Option<&mut SignatureCache>,
    ) -> Result<Verified<Decision>, VerifyError> {
        self.certificate.verify_cached(table, participants, cache)?;
        if self.value.id() != self.certificate.value_id {
            return Err(VerifyError::DecisionValueMismatch(self.certificate.height));
        }
        Ok(Verified::strict(self))
    }

    /// [`Decision::verify`] against the participant set of the decision's own height (see
    /// [`CommitCertificate::verify_at`]).
    pub fn verify_at<'a>(
        self,
        table: &TableId,
        set_of: impl FnOnce(Height) -> Option<&'a ParticipantSet>,
    ) -> Result<Verified<Decision>, VerifyError> {
        let height = self.height();
        let participants = set_of(height).ok_or(VerifyError::UnknownParticipants(height))?;
        self.verify(table, participants)
    }

    /// The decided height.
    pub fn height(&self) -> Height {
        self.certificate.height
    }
}

/// The part of `certificate` that holds strictly against `participants`: precommits of
/// participants only, each signer once, each signature passing `verify_strict` unless
/// `checked_strictly` says they all did already. Fails if fewer than 2f+1 remain.
///
/// The engine passes everything it outputs through this: a host may have verified the
/// certificate with a batch equation, or against another height's set.
pub(crate) fn strict_part(
    certificate: &CommitCertificate,
    table: &TableId,
    participants: &ParticipantSet,
    checked_strictly: bool,
) -> Result<CommitCertificate, VerifyError> {
    if certificate.table != *table {
        return Err(VerifyError::WrongTable {
            expected: *table,
            got: certificate.table,
        });
    }
    let mut seen = BTreeSet::new();
    let mut kept = Vec::with_capacity(certificate.precommits.len());
    let mut refused = None;
    for commit in &certificate.precommits {
        let Some(key) = participants.key(&commit.signer) else {
            refused.get_or_insert(VerifyError::UnknownSigner(commit.signer));
            continue;
        };
        if !seen.insert(commit.signer) {
            continue;
        }
        let bytes = certificate.precommit_of(commit.signer).signing_bytes();
        if !checked_strictly && key.verify_strict(&bytes, &commit.signature).is_err() {
            refused.get_or_insert(VerifyError::BadSignature(commit.signer));
            continue;
        }
        kept.push(commit.clone());
    }
    if !participants.is_quorum(kept.len()) {
        return Err(refused.unwrap_or(VerifyError::NoQuorum {
            height: certificate.height,
            got: kept.len(),
            needed: participants.quorum(),
        }));
    }
    Ok(CommitCertificate {
        precommits: kept,
        ..certificate.clone()
    })
}
