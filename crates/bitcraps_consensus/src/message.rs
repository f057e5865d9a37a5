//! Signed consensus messages and their domain-separated signing bytes.
//!
//! Every signature covers: a domain tag, [`PROTOCOL_VERSION`], the message kind, the table id,
//! the height and the round, then the kind's own fields, in a fixed big-endian layout that does
//! not depend on any serialisation library. A signature therefore cannot be replayed at another
//! table, height, round, kind or protocol version.

use std::ops::Deref;

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::keys::{Keypair, PeerId};
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;
use crate::types::{Height, Round, TableId, Value, ValueId, VoteKind, PROTOCOL_VERSION};

const DOMAIN: &[u8; 16] = b"bitcraps/consens";

/// The kind byte inside signed bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
enum SignedKind {
    Proposal = 1,
    Prevote = 2,
    Precommit = 3,
    Status = 4,
}

fn preamble(kind: SignedKind, table: &TableId, height: Height, round: Round) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 2 + 1 + 32 + 8 + 4 + 40);
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&table.0);
    out.extend_from_slice(&height.0.to_be_bytes());
    out.extend_from_slice(&round.0.to_be_bytes());
    out
}

fn push_optional_id(out: &mut Vec<u8>, id: Option<&[u8; 32]>) {
    match id {
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id);
        }
        None => out.push(0),
    }
}

/// A prevote or precommit for a value id, or for nil (`value: None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The table.
    pub table: TableId,
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The value voted for; `None` is nil.
    pub value: Option<ValueId>,
    /// Who votes.
    pub signer: PeerId,
}

impl Vote {
    /// The exact bytes signed for this vote.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let kind = match self.kind {
            VoteKind::Prevote => SignedKind::Prevote,
            VoteKind::Precommit => SignedKind::Precommit,
        };
        let mut out = preamble(kind, &self.table, self.height, self.round);
        push_optional_id(&mut out, self.value.as_ref().map(|v| &v.0));
        out.extend_from_slice(&self.signer.0);
        out
    }

    /// Signs the vote. Hosts should sign through the engine, whose guard prevents double votes.
    pub fn sign(self, key: &Keypair) -> SignedVote {
        let signature = key.sign(&self.signing_bytes());
        SignedVote {
            vote: self,
            signature,
        }
    }
}

/// A vote with its author's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// Signature over [`Vote::signing_bytes`].
    pub signature: Signature,
}

impl SignedVote {
    /// Checks table, membership and the strict signature; returns the vote marked as verified.
    pub fn verify(
        self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<Verified<SignedVote>, VerifyError> {
        self.verify_cached(table, participants, None)
    }

    /// [`SignedVote::verify`] through a [`SignatureCache`].
    pub fn verify_cached(
        self,
        table: &TableId,
        participants: &ParticipantSet,
        cache: Option<&mut SignatureCache>,
    ) -> Result<Verified<SignedVote>, VerifyError> {
        check_signature_cached(
            table,
            &self.vote.table,
            participants,
            &self.vote.signer,
            &self.vote.signing_bytes(),
            &self.signature,
            cache,
        )?;
        Ok(Verified::strict(self))
    }
}

/// Everything a proposal signs: the value is represented by its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalHeader {
    /// The table.
    pub table: TableId,
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// Id of the proposed value.
    pub value_id: ValueId,
    /// The round of the polka that justifies re-proposing this value; `None` is the paper's −1.
    pub valid_round: Option<Round>,
    /// Who proposes.
    pub proposer: PeerId,
}

impl ProposalHeader {
    /// The exact bytes signed for this proposal.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = preamble(SignedKind::Proposal, &self.table, self.height, self.round);
        out.extend_from_slice(&self.value_id.0);
        match self.valid_round {
            Some(r) => {
                out.push(1);
                out.extend_from_slice(&r.0.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.proposer.0);
        out
    }
}

/// A proposal header with its proposer's signature (no value bytes): what evidence keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProposalHeader {
    /// The header.
    pub header: ProposalHeader,
    /// Signature over [`ProposalHeader::signing_bytes`].
    pub signature: Signature,
}

impl SignedProposalHeader {
    /// Checks table, membership and the strict signature.
    pub fn verify(
        &self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<(), VerifyError> {
        check_signature(
            table,
            &self.header.table,
            participants,
            &self.header.proposer,
            &self.header.signing_bytes(),
            &self.signature,
        )
    }
}

/// A signed proposal together with the proposed value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProposal {
    /// Signed header.
    pub signed: SignedProposalHeader,
    /// The value; must hash to `signed.header.value_id`.
    pub value: Value,
}

impl SignedProposal {
    /// Builds and signs a proposal. Hosts should propose through the engine (signing guard).
    pub fn sign(
        key: &Keypair,
        table: TableId,
        height: Height,
        round: Round,
        value: Value,
        valid_round: Option<Round>,
    ) -> SignedProposal {
        let header = ProposalHeader {
            table,
            height,
            round,
            value_id: value.id(),
            valid_round,
            proposer: key.peer_id(),
        };
        let signature = key.sign(&header.signing_bytes());
        SignedProposal {
            signed: SignedProposalHeader { header, signature },
            value,
        }
    }

    /// The header.
    pub fn header(&self) -> &ProposalHeader {
        &self.signed.header
    }

    /// Checks table, membership, the strict signature and that the value matches its id.
    /// (Whether the signer is the proposer of that round is the engine's check.)
    pub fn verify(
        self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<Verified<SignedProposal>, VerifyError> {
        self.signed.verify(table, participants)?;
        if self.value.id() != self.signed.header.value_id {
            return Err(VerifyError::ValueMismatch(self.signed.header.proposer));
        }
        Ok(Verified::strict(self))
    }
}

/// "I am at this height": sent by a node that saw messages from higher heights, so that peers
/// send it the decisions it lacks. Signed so that nobody can make peers send decisions to a victim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The table.
    pub table: TableId,
    /// The height the sender is working on.
    pub height: Height,
    /// Who sends it.
    pub signer: PeerId,
}

impl Status {
    /// The exact bytes signed for this status.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = preamble(SignedKind::Status, &self.table, self.height, Round(0));
        out.extend_from_slice(&self.signer.0);
        out
    }

    /// Signs the status.
    pub fn sign(self, key: &Keypair) -> SignedStatus {
        let signature = key.sign(&self.signing_bytes());
        SignedStatus {
            status: self,
            signature,
        }
    }
}

/// A status with its sender's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStatus {
    /// The status.
    pub status: Status,
    /// Signature over [`Status::signing_bytes`].
    pub signature: Signature,
}

impl SignedStatus {
    /// Checks table, membership and the strict signature.
    pub fn verify(
        self,
        table: &TableId,
        participants: &ParticipantSet,
    ) -> Result<Verified<SignedStatus>, VerifyError> {
        check_signature(
            table,
            &self.status.table,
            participants,
            &self.status.signer,
            &self.status.signing_bytes(),
            &self.signature,
        )?;
        Ok(Verified::strict(self))
    }
}

pub(crate) fn check_signature(
    expected_table: &TableId,
    table: &TableId,
    participants: &ParticipantSet,
    signer: &PeerId,
    bytes: &[u8],
    signature: &Signature,
) -> Result<(), VerifyError> {
    check_signature_cached(
        expected_table,
        table,
        participants,
        signer,
        bytes,
        signature,
        None,
    )
}

pub(crate) fn check_signature_cached(
    expected_table: &TableId,
    table: &TableId,
    participants: &ParticipantSet,
    signer: &PeerId,
    bytes: &[u8],
    signature: &Signature,
    cache: Option<&mut SignatureCache>,
) -> Result<(), VerifyError> {
    if table != expected_table {
        return Err(VerifyError::WrongTable {
            expected: *expected_table,
            got: *table,
        });
    }
    let key = participants
        .key(signer)
        .ok_or(VerifyError::UnknownSigner(*signer))?;
    let ok = match cache {
        Some(cache) => cache.verify(signer, key, bytes, signature),
        None => key.verify_strict(bytes, signature).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(VerifyError::BadSignature(*signer))
    }
}

/// A message whose signature (and, for proposals, value id) has been checked.
///
/// Only this crate can create one, by verifying or by signing, so the engine can trust it. It is
/// cheap to clone: a host that delivers the same bytes to many local engines (the simulator, a
/// test harness) may verify once and hand each engine a clone.
///
/// It remembers how it was checked: by `verify_strict` (the one-by-one paths, the strict tier
/// of a [`SignatureCache`], signing) or by a batch equation ([`crate::batch`]), which a
/// Byzantine signer can make accept a signature `verify_strict` refuses. The engine lets a
/// batch-checked message steer the round (as the signer could by sending a valid one) but
/// checks it strictly before anything built from it — a certificate, a decision, evidence —
/// leaves the engine. Equality compares the messages only.
#[derive(Clone, Debug)]
pub struct Verified<T> {
    message: T,
    strict: bool,
}

impl<T> Verified<T> {
    /// Checked by `verify_strict` (or signed here).
    pub(crate) fn strict(message: T) -> Verified<T> {
        Verified {
            message,
            strict: true,
        }
    }

    /// Accepted by a batch equation only.
    pub(crate) fn batch(message: T) -> Verified<T> {
        Verified {
            message,
            strict: false,
        }
    }

    /// True if every signature of the message passed `verify_strict`; false if a batch
    /// equation accepted one of them (see [`crate::batch`]).
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The verified message.
    pub fn into_inner(self) -> T {
        self.message
    }
}

impl<T: PartialEq> PartialEq for Verified<T> {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl<T: Eq> Eq for Verified<T> {}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Vec<Keypair>, ParticipantSet, TableId) {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
        let set = ParticipantSet::new(keys.iter().map(Keypair::peer_id)).expect("set");
        (keys, set, TableId::from_name("t"))
    }

    fn vote(table: TableId, signer: PeerId) -> Vote {
        Vote {
            table,
            height: Height(3),
            round: Round(1),
            kind: VoteKind::Prevote,
            value: Some(Value::new(vec![1]).id()),
            signer,
        }
    }

    #[test]
    fn a_signed_vote_verifies() {
        let (keys, set, table) = setup();
        let v = vote(table, keys[0].peer_id()).sign(&keys[0]);
        assert!(v.verify(&table, &set).is_ok());
    }

    #[test]
    fn cross_table_replay_is_refused() {
        let (keys, set, table) = setup();
        let other = TableId::from_name("other");
        let v = vote(other, keys[0].peer_id()).sign(&keys[0]);
        assert!(matches!(
            v.clone().verify(&table, &set),
            Err(VerifyError::WrongTable { .. })
        ));
        // Relabelling the table breaks the signature: the table id is inside the signed bytes.
        let mut relabelled = v;
        relabelled.vote.table = table;
        assert_eq!(
            relabelled.verify(&table, &set),
            Err(VerifyError::BadSignature(keys[0].peer_id()))
        );
    }

    #[test]
    fn changing_height_round_or_kind_breaks_the_signature() {
        let (keys, set, table) = setup();
        let v = vote(table, keys[1].peer_id()).sign(&keys[1]);
        let mut a = v.clone();
        a.vote.height = Height(4);
        let mut b = v.clone();
        b.vote.round = Round(2);
        let mut c = v.clone();
        c.vote.kind = VoteKind::Precommit;
        let mut d = v;
        d.vote.value = None;
        for forged in [a, b, c, d] {
            assert!(matches!(
                forged.verify(&table, &set),
                Err(VerifyError::BadSignature(_))
            ));
        }
    }

    #[test]
    fn forged_signer_and_unknown_signer_are_refused() {
        let (keys, set, table) = setup();
        // Key 0 signs a vote that claims to be from key 1.
        let claimed = vote(table, keys[1].peer_id());
        let forged = SignedVote {
            signature: keys[0].sign(&claimed.signing_bytes()),
            vote: claimed,
        };
        assert_eq!(
            forged.verify(&table, &set),
            Err(VerifyError::BadSignature(keys[1].peer_id()))
        );
        let outsider = Keypair::from_seed([99; 32]);
        let v = vote(table, outsider.peer_id()).sign(&outsider);
        assert_eq!(
            v.verify(&table, &set),
            Err(VerifyError::UnknownSigner(outsider.peer_id()))
        );
    }

    #[test]
    fn proposal_value_must_match_its_id() {
        let (keys, set, table) = setup();
        let mut p = SignedProposal::sign(
            &keys[0],
            table,
            Height(1),
            Round(0),
            Value::new(vec![1, 2]),
            None,
        );
        assert!(p.clone().verify(&table, &set).is_ok());
        p.value = Value::new(vec![9]);
        assert_eq!(
            p.verify(&table, &set),
            Err(VerifyError::ValueMismatch(keys[0].peer_id()))
        );
    }

    #[test]
    fn prevote_and_precommit_bytes_differ() {
        let (keys, _, table) = setup();
        let a = vote(table, keys[0].peer_id());
        let mut b = a.clone();
        b.kind = VoteKind::Precommit;
        assert_ne!(a.signing_bytes(), b.signing_bytes());
    }
}
