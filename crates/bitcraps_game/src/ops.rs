//! Signed game operations: every change to a table is an [`Operation`] signed by its author's
//! seat key.
//!
//! # Signing bytes
//!
//! ```text
//! "bitcraps/game-op/v2" ‖ protocol version (u16 BE) ‖ table id (32) ‖ kind (u8)
//!   ‖ author (32) ‖ nonce (u64 BE) ‖ body length (u32 BE) ‖ SHA-256(body) (32)
//! ```
//!
//! where `body` is the operation's [`codec`] encoding and `kind` its [`OpKind`] tag. The nonce is
//! per player and must be exactly the previous one plus one (the first is 1), so a proposer can
//! neither forge an operation (signature), move it to another table or protocol version
//! (domain), replay it (the nonce is spent) nor reorder a player's operations (each needs its
//! predecessor). A player who signs two different operations under one nonce — two different
//! body digests — has produced self-verifying evidence against itself
//! ([`GameEvidence::DoubleSigned`]).
//!
//! The signature covers the body's length and digest ([`BodyDigest`]) rather than the body
//! itself, so that a block can carry an operation refused for good without its body
//! ([`FailedOp`]): the digest still proves that the author signed
//! *something* under that nonce, of that kind and length.
//!
//! # Size
//!
//! Every signed operation encodes in at most [`MAX_OP_BYTES`]: [`SignedOp::sign`] refuses to
//! sign a larger one ([`SignError::TooLarge`]), pools refuse to admit one
//! ([`SignedOp::check_size`]) and a block carrying one is invalid.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bitcraps_consensus::{
    codec, EncodeError, Evidence, Keypair, PeerId, Signature, TableId, PROTOCOL_VERSION,
};

use crate::bets::{BetKind, Seat, Working};
use crate::dice::{Commitment, Nonce};
use crate::entry::FailedOp;
use crate::error::{OpError, SignError};

/// Domain tag of an operation's signing bytes (v2: the body enters as its length and digest).
pub const OP_DOMAIN: &[u8] = b"bitcraps/game-op/v2";
/// The largest encoding of a signed operation ([`SignedOp`], as gossiped and as carried by a
/// block), in bytes: 16 KiB. The largest built-in operations are far below it (a custom
/// operation with a [`MAX_CUSTOM_PAYLOAD_BYTES`] payload encodes in about 4.3 kB;
/// double-signing evidence holding two of those in about 8.8 kB), and a block of
/// [`MAX_BLOCK_BYTES`](crate::block::MAX_BLOCK_BYTES) holds at least fifteen of them.
pub const MAX_OP_BYTES: usize = 16 * 1024;
/// Longest dispute claim statement, in bytes.
pub const MAX_STATEMENT_BYTES: usize = 280;
/// Longest custom operation name, in bytes.
pub const MAX_CUSTOM_NAME_BYTES: usize = 64;
/// Largest custom operation payload, in bytes.
pub const MAX_CUSTOM_PAYLOAD_BYTES: usize = 4_096;

/// Identifies an open bet for its whole life (a come bet keeps its id when it moves).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct BetId(pub u64);

impl fmt::Display for BetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bet #{}", self.0)
    }
}

/// Identifies a dispute claim.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct DisputeId(pub u64);

impl fmt::Display for DisputeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dispute #{}", self.0)
    }
}

/// Everything a player can do at the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Ask for a free seat with `buy_in` new chips (the minimum bond is taken out of them). The
    /// author must not be seated; it sits down once the table admits it
    /// ([`Operation::Admit`]), and its chips come in then.
    Join {
        /// Chips brought to the table (added to the supply).
        buy_in: u64,
    },
    /// Leave the table, cashing out balance and bond (removed from the supply). Only with no
    /// open bet, outside an active roll, and with no open claim against the author. If fewer
    /// than four players would be left, the table closes instead (see
    /// [`membership`](crate::membership)).
    Leave,
    /// A validator's answer to a waiting join request (see [`membership`](crate::membership)):
    /// admit or refuse `newcomer`'s request made at height `requested_at`.
    Admit {
        /// The player asking to sit down.
        newcomer: PeerId,
        /// The height at which its request was decided (binds the answer to that request).
        requested_at: u64,
        /// `true` to admit, `false` to refuse.
        admit: bool,
    },
    /// Add `amount` new chips to the bank (the bank's buy-in, added to the supply).
    FundBank {
        /// Chips added.
        amount: u64,
    },
    /// Place a bet while betting is open.
    PlaceBet {
        /// What on.
        kind: BetKind,
        /// Stake.
        amount: u64,
        /// The on/off call ([`Working::TableRule`] for most bets).
        working: Working,
    },
    /// Take a bet down while betting is open (not contract bets).
    RemoveBet {
        /// Which bet.
        bet: BetId,
    },
    /// Call a bet on or off while betting is open.
    CallBet {
        /// Which bet.
        bet: BetId,
        /// The new call.
        working: Working,
    },
    /// The shooter closes betting for roll `roll`.
    CloseBetting {
        /// The roll number betting closes for ([`TableData::roll_number`](crate::TableData::roll_number)).
        roll: u64,
    },
    /// Commit to a dice nonce for roll `roll`.
    Commit {
        /// The roll number.
        roll: u64,
        /// The author's seat (inside the commitment hash).
        seat: Seat,
        /// [`dice::commit`](crate::dice::commit) of the secret nonce.
        commitment: Commitment,
    },
    /// Reveal the nonce committed for roll `roll` (accepted only once commitments are decided).
    Reveal {
        /// The roll number.
        roll: u64,
        /// The author's seat.
        seat: Seat,
        /// The secret.
        nonce: Nonce,
    },
    /// Open a dispute: self-verifying evidence (punished at once) or a claim (voted on).
    Dispute(Dispute),
    /// A seated player's vote on an open claim.
    DisputeVote {
        /// Which claim.
        dispute: DisputeId,
        /// `true` to uphold, `false` to reject.
        uphold: bool,
    },
    /// An operation of a registered custom extension
    /// ([`CustomOperation`](crate::custom::CustomOperation)).
    Custom {
        /// The extension's stable name.
        name: String,
        /// Its own encoding of the operation.
        payload: Vec<u8>,
    },
}

/// The kind tag inside an operation's signing bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum OpKind {
    /// [`Operation::Join`].
    Join = 1,
    /// [`Operation::Leave`].
    Leave = 2,
    /// [`Operation::FundBank`].
    FundBank = 3,
    /// [`Operation::PlaceBet`].
    PlaceBet = 4,
    /// [`Operation::RemoveBet`].
    RemoveBet = 5,
    /// [`Operation::CallBet`].
    CallBet = 6,
    /// [`Operation::CloseBetting`].
    CloseBetting = 7,
    /// [`Operation::Commit`].
    Commit = 8,
    /// [`Operation::Reveal`].
    Reveal = 9,
    /// [`Operation::Dispute`].
    Dispute = 10,
    /// [`Operation::DisputeVote`].
    DisputeVote = 11,
    /// [`Operation::Custom`].
    Custom = 12,
    /// [`Operation::Admit`].
    Admit = 13,
}

impl Operation {
    /// The operation's kind tag.
    pub fn kind(&self) -> OpKind {
        match self {
            Operation::Join { .. } => OpKind::Join,
            Operation::Leave => OpKind::Leave,
            Operation::FundBank { .. } => OpKind::FundBank,
            Operation::PlaceBet { .. } => OpKind::PlaceBet,
            Operation::RemoveBet { .. } => OpKind::RemoveBet,
            Operation::CallBet { .. } => OpKind::CallBet,
            Operation::CloseBetting { .. } => OpKind::CloseBetting,
            Operation::Commit { .. } => OpKind::Commit,
            Operation::Reveal { .. } => OpKind::Reveal,
            Operation::Dispute(_) => OpKind::Dispute,
            Operation::DisputeVote { .. } => OpKind::DisputeVote,
            Operation::Custom { .. } => OpKind::Custom,
            Operation::Admit { .. } => OpKind::Admit,
        }
    }
}

/// A dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dispute {
    /// Self-verifying evidence: every node checks it and punishes the offender at once.
    Evidence(Box<GameEvidence>),
    /// A claim no machine can check (say, a player who keeps stalling): opened with a deadline
    /// and decided by the seated players' signed votes.
    Claim {
        /// Who is accused.
        accused: Seat,
        /// What of (at most [`MAX_STATEMENT_BYTES`]).
        statement: String,
    },
}

/// Proof of cheating that anyone can verify on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GameEvidence {
    /// A double vote or double proposal from the consensus, verified against the seated players'
    /// participant set.
    Consensus(Evidence),
    /// Two different operations signed by one player under one nonce.
    DoubleSigned {
        /// One operation.
        first: RawSignedOp,
        /// Another, under the same nonce.
        second: RawSignedOp,
    },
    /// A signed commitment and a signed reveal of the same player for the same roll that do not
    /// match.
    MismatchedReveal {
        /// The [`Operation::Commit`].
        commit: RawSignedOp,
        /// The [`Operation::Reveal`].
        reveal: RawSignedOp,
    },
}

impl GameEvidence {
    /// A short name of the offence.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GameEvidence::Consensus(e) => e.kind_name(),
            GameEvidence::DoubleSigned { .. } => "double-signed operation",
            GameEvidence::MismatchedReveal { .. } => "reveal not matching its commitment",
        }
    }
}

/// The length and SHA-256 digest of an operation's body (its [`codec`] encoding): what the
/// signature covers in place of the body (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BodyDigest {
    /// The body's length in bytes.
    pub len: u32,
    /// SHA-256 of the body.
    pub hash: [u8; 32],
}

impl BodyDigest {
    /// The digest of `body`. (A body longer than `u32::MAX` bytes cannot be encoded; its length
    /// saturates.)
    pub fn of(body: &[u8]) -> BodyDigest {
        BodyDigest {
            len: u32::try_from(body.len()).unwrap_or(u32::MAX),
            hash: Sha256::digest(body).into(),
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Whether the body is empty (never, for an encoded operation).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The signing bytes of an operation body (see the module docs).
pub fn signing_bytes(
    table: &TableId,
    kind: OpKind,
    author: &PeerId,
    nonce: u64,
    body: &[u8],
) -> Vec<u8> {
    digest_signing_bytes(table, kind, author, nonce, &BodyDigest::of(body))
}

/// The signing bytes of an operation whose body is known only by its digest (see the module
/// docs); the same bytes as [`signing_bytes`] of the body.
pub fn digest_signing_bytes(
    table: &TableId,
    kind: OpKind,
    author: &PeerId,
    nonce: u64,
    body: &BodyDigest,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(OP_DOMAIN.len() + 2 + 32 + 1 + 32 + 8 + 4 + 32);
    out.extend_from_slice(OP_DOMAIN);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(table.as_bytes());
    out.push(kind as u8);
    out.extend_from_slice(author.as_bytes());
    out.extend_from_slice(&nonce.to_be_bytes());
    out.extend_from_slice(&body.len.to_be_bytes());
    out.extend_from_slice(&body.hash);
    out
}

/// Checks an ed25519 signature strictly under `author`'s key.
pub(crate) fn signature_ok(author: &PeerId, bytes: &[u8], signature: &Signature) -> bool {
    author
        .verifying_key()
        .is_ok_and(|key| key.verify_strict(bytes, signature).is_ok())
}

/// An operation with its author, nonce and signature: what blocks carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOp {
    /// Who signed it.
    pub author: PeerId,
    /// The author's nonce: exactly one more than its previous operation's.
    pub nonce: u64,
    /// The operation.
    pub op: Operation,
    /// Signature over [`signing_bytes`] of the operation's encoding.
    pub signature: Signature,
}

impl SignedOp {
    /// Signs `op` as `key`'s operation number `nonce` at table `table`. Refuses an operation
    /// whose signed encoding would exceed [`MAX_OP_BYTES`] ([`SignError::TooLarge`]): no pool
    /// and no block would take it.
    pub fn sign(
        key: &Keypair,
        table: &TableId,
        nonce: u64,
        op: Operation,
    ) -> Result<SignedOp, SignError> {
        let author = key.peer_id();
        let body = codec::encode(&op).map_err(|error| SignError::Encode { author, error })?;
        let signature = key.sign(&signing_bytes(table, op.kind(), &author, nonce, &body));
        let signed = SignedOp {
            author,
            nonce,
            op,
            signature,
        };
        let len = signed
            .encoded_len()
            .map_err(|error| SignError::Encode { author, error })?;
        if len > MAX_OP_BYTES {
            return Err(SignError::TooLarge {
                author,
                len,
                max: MAX_OP_BYTES,
            });
        }
        Ok(signed)
    }

    /// The length of the operation's encoding (as gossiped and as carried by a block).
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(codec::encode(self)?.len())
    }

    /// Checks the operation's encoded size against [`MAX_OP_BYTES`] and returns it: what a pool
    /// checks before admitting an operation, and what a block requires of every operation it
    /// carries. The error names the author.
    pub fn check_size(&self) -> Result<usize, OpError> {
        let peer = self.author;
        let len = self
            .encoded_len()
            .map_err(|error| OpError::Encode { peer, error })?;
        if len > MAX_OP_BYTES {
            return Err(OpError::OpTooLarge {
                peer,
                len,
                max: MAX_OP_BYTES,
            });
        }
        Ok(len)
    }

    /// The length and digest of the operation's body.
    pub fn body_digest(&self) -> Result<BodyDigest, EncodeError> {
        Ok(BodyDigest::of(&codec::encode(&self.op)?))
    }

    /// The exact bytes the signature covers.
    pub fn signing_bytes(&self, table: &TableId) -> Result<Vec<u8>, EncodeError> {
        Ok(digest_signing_bytes(
            table,
            self.op.kind(),
            &self.author,
            self.nonce,
            &self.body_digest()?,
        ))
    }

    /// Whether the signature verifies (strictly) for table `table`.
    pub fn verify(&self, table: &TableId) -> bool {
        self.signing_bytes(table)
            .is_ok_and(|bytes| signature_ok(&self.author, &bytes, &self.signature))
    }

    /// The same operation with its body as bytes, for evidence.
    pub fn to_raw(&self) -> Result<RawSignedOp, EncodeError> {
        Ok(RawSignedOp {
            author: self.author,
            nonce: self.nonce,
            kind: self.op.kind(),
            body: codec::encode(&self.op)?,
            signature: self.signature,
        })
    }

    /// The operation without its body, as a block carries it when it failed
    /// ([`FailedOp`]); its signature still verifies.
    pub fn to_failed(&self) -> Result<FailedOp, EncodeError> {
        Ok(FailedOp {
            author: self.author,
            nonce: self.nonce,
            kind: self.op.kind(),
            body: self.body_digest()?,
            signature: self.signature,
        })
    }
}

/// A signed operation whose body is kept as the signed bytes. Evidence carries operations in
/// this form, so that decoding a block never recurses through evidence inside evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSignedOp {
    /// Who signed it.
    pub author: PeerId,
    /// Its nonce.
    pub nonce: u64,
    /// Its kind tag.
    pub kind: OpKind,
    /// The operation's encoding.
    pub body: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

impl RawSignedOp {
    /// Whether the signature verifies (strictly) for table `table`.
    pub fn verify(&self, table: &TableId) -> bool {
        let bytes = signing_bytes(table, self.kind, &self.author, self.nonce, &self.body);
        signature_ok(&self.author, &bytes, &self.signature)
    }

    /// The length and digest of the body: two operations of one author under one nonce with
    /// different digests are double-signing.
    pub fn digest(&self) -> BodyDigest {
        BodyDigest::of(&self.body)
    }

    /// The operation without its body ([`FailedOp`]); its signature still verifies.
    pub fn to_failed(&self) -> FailedOp {
        FailedOp {
            author: self.author,
            nonce: self.nonce,
            kind: self.kind,
            body: self.digest(),
            signature: self.signature,
        }
    }

    /// Decodes the operation (one level: evidence inside stays raw) and checks its kind tag.
    pub fn decode(&self) -> Option<Operation> {
        let op: Operation = codec::decode(&self.body, codec::MAX_MESSAGE_BYTES).ok()?;
        (op.kind() == self.kind).then_some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_table_nonce_and_body() {
        let key = Keypair::from_seed([3; 32]);
        let table = TableId::from_name("a");
        let op = Operation::FundBank { amount: 5 };
        let signed = SignedOp::sign(&key, &table, 1, op).expect("encodes");
        assert!(signed.verify(&table));
        assert!(!signed.verify(&TableId::from_name("b")));
        let mut replayed = signed.clone();
        replayed.nonce = 2;
        assert!(!replayed.verify(&table));
        let mut altered = signed.clone();
        altered.op = Operation::FundBank { amount: 6 };
        assert!(!altered.verify(&table));
        let mut impostor = signed.clone();
        impostor.author = Keypair::from_seed([4; 32]).peer_id();
        assert!(!impostor.verify(&table));
        let raw = signed.to_raw().expect("encodes");
        assert!(raw.verify(&table));
        assert_eq!(raw.decode(), Some(signed.op.clone()));
        let mut lying = raw;
        lying.kind = OpKind::Leave;
        assert!(!lying.verify(&table));
        assert_eq!(lying.decode(), None);
    }
}
