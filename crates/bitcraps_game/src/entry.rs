//! What a block carries: signed operations, in full or — for a large operation refused for
//! good — as a [`FailedOp`] without its body.
//!
//! A seated player's operation that the table refuses for good is carried as *failed*: its
//! nonce is spent and nothing else changes (see [`Draft::push_or_fail`](crate::Draft::push_or_fail)).
//! For that, a block only needs to prove that the author signed *something* of that kind under
//! that nonce, which the signature over the body's length and digest does
//! ([`ops`](crate::ops) module docs). So:
//!
//! - a failed operation whose body is at most [`MAX_FULL_FAILED_BODY_BYTES`] is carried in full
//!   ([`BlockEntry::Op`]), and every node re-checks that the table refuses it for good — in
//!   particular a commitment or a reveal (a few dozen bytes) can never be burnt by a proposer
//!   while it could still pass;
//! - a larger one is carried as a [`BlockEntry::Failed`] of about 140 bytes. Nodes check the
//!   signature, the exact nonce, that the author is seated and that the signed body length is
//!   over the threshold; they cannot check the refusal itself. A Byzantine proposer can
//!   therefore burn a *valid* large operation of a seated player (a custom operation with a
//!   payload of more than about 450 bytes, a large dispute); the author learns it from the
//!   [`Event::OperationFailed`](crate::Event::OperationFailed) and signs it again under its next
//!   nonce. It cannot burn anything smaller, and it cannot make the block too large to propose.

use serde::{Deserialize, Serialize};

use bitcraps_consensus::{PeerId, Signature, TableId};

use crate::ops::{digest_signing_bytes, signature_ok, BodyDigest, OpKind, Operation, SignedOp};

/// A failed operation whose body is at most this many bytes is carried in full, and every node
/// re-checks that the table refuses it for good; a larger one is carried as a [`FailedOp`].
/// Every built-in operation but disputes and custom operations is far smaller (a bet, a vote,
/// a commitment or a reveal is under 60 bytes; a claim with the longest statement about 300).
pub const MAX_FULL_FAILED_BODY_BYTES: usize = 512;

/// A signed operation carried as failed without its body: who, which nonce, what kind, and the
/// signed length and digest of the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedOp {
    /// Who signed it.
    pub author: PeerId,
    /// Its nonce (spent by the block).
    pub nonce: u64,
    /// Its kind tag.
    pub kind: OpKind,
    /// The length and digest of its body.
    pub body: BodyDigest,
    /// The author's signature (over the same bytes as the full operation's).
    pub signature: Signature,
}

impl FailedOp {
    /// The exact bytes the signature covers.
    pub fn signing_bytes(&self, table: &TableId) -> Vec<u8> {
        digest_signing_bytes(table, self.kind, &self.author, self.nonce, &self.body)
    }

    /// Whether the signature verifies (strictly) for table `table`.
    pub fn verify(&self, table: &TableId) -> bool {
        signature_ok(&self.author, &self.signing_bytes(table), &self.signature)
    }
}

/// One entry of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockEntry {
    /// A signed operation in full: applied, or carried as failed (refused for good, re-checked
    /// by every node).
    Op(SignedOp),
    /// A large operation refused for good, carried without its body (see the module docs).
    Failed(FailedOp),
}

impl BlockEntry {
    /// The author.
    pub fn author(&self) -> PeerId {
        match self {
            BlockEntry::Op(op) => op.author,
            BlockEntry::Failed(f) => f.author,
        }
    }

    /// The author's nonce.
    pub fn nonce(&self) -> u64 {
        match self {
            BlockEntry::Op(op) => op.nonce,
            BlockEntry::Failed(f) => f.nonce,
        }
    }

    /// The operation's kind.
    pub fn kind(&self) -> OpKind {
        match self {
            BlockEntry::Op(op) => op.op.kind(),
            BlockEntry::Failed(f) => f.kind,
        }
    }

    /// The signed operation, if carried in full.
    pub fn signed(&self) -> Option<&SignedOp> {
        match self {
            BlockEntry::Op(op) => Some(op),
            BlockEntry::Failed(_) => None,
        }
    }

    /// The signed operation, if carried in full, to change it (tests, tampering tools).
    pub fn signed_mut(&mut self) -> Option<&mut SignedOp> {
        match self {
            BlockEntry::Op(op) => Some(op),
            BlockEntry::Failed(_) => None,
        }
    }

    /// The operation, if carried in full.
    pub fn op(&self) -> Option<&Operation> {
        self.signed().map(|op| &op.op)
    }

    /// Whether the entry is a [`FailedOp`] without its body.
    pub fn is_without_body(&self) -> bool {
        matches!(self, BlockEntry::Failed(_))
    }

    /// Whether the signature verifies (strictly) for table `table`.
    pub fn verify(&self, table: &TableId) -> bool {
        match self {
            BlockEntry::Op(op) => op.verify(table),
            BlockEntry::Failed(f) => f.verify(table),
        }
    }
}

impl From<SignedOp> for BlockEntry {
    fn from(op: SignedOp) -> BlockEntry {
        BlockEntry::Op(op)
    }
}

impl From<FailedOp> for BlockEntry {
    fn from(op: FailedOp) -> BlockEntry {
        BlockEntry::Failed(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcraps_consensus::Keypair;

    #[test]
    fn a_failed_operation_verifies_without_its_body_and_binds_its_digest() {
        let key = Keypair::from_seed([5; 32]);
        let table = TableId::from_name("entry");
        let op = Operation::Custom {
            name: "x".into(),
            payload: vec![7; 900],
        };
        let signed = SignedOp::sign(&key, &table, 3, op).expect("signs");
        let failed = signed.to_failed().expect("encodes");
        assert!(failed.verify(&table));
        assert_eq!(failed, signed.to_raw().expect("encodes").to_failed());
        assert!(!failed.verify(&TableId::from_name("other")));
        let mut other_body = failed.clone();
        other_body.body.hash[0] ^= 1;
        assert!(!other_body.verify(&table));
        let mut other_len = failed.clone();
        other_len.body.len += 1;
        assert!(!other_len.verify(&table));
        let mut other_kind = failed.clone();
        other_kind.kind = OpKind::Leave;
        assert!(!other_kind.verify(&table));
        let mut other_nonce = failed;
        other_nonce.nonce = 4;
        assert!(!other_nonce.verify(&table));
        let entry = BlockEntry::from(signed.clone());
        assert_eq!((entry.author(), entry.nonce()), (signed.author, 3));
        assert_eq!(entry.op(), Some(&signed.op));
        assert!(entry.verify(&table));
    }
}
