//! Typed errors. Nothing received from the network or disk panics: it becomes one of these.

use thiserror::Error;

use crate::keys::PeerId;
use crate::types::{Height, Round, TableId, ValueId};

/// A public key that cannot seat a participant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The bytes are not a valid compressed Edwards point.
    #[error("public key {0} is not a valid ed25519 point")]
    Malformed(PeerId),
    /// The key has small order: signatures under it prove nothing.
    #[error("public key {0} is a weak (small-order) key")]
    Weak(PeerId),
}

/// Why a participant set could not be formed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeatError {
    /// Byzantine fault tolerance needs n ≥ 3f + 1 with f ≥ 1.
    #[error("a table needs at least 4 participants to tolerate one Byzantine player, got {0}")]
    TooFew(usize),
    /// The same key was seated twice.
    #[error("participant {0} is seated twice")]
    Duplicate(PeerId),
    /// A key failed validation.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why bytes could not be decoded into a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// More bytes than the limit allows.
    #[error("message of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a valid encoding.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A valid message followed by extra bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("could not encode message: {0}")]
pub struct EncodeError(pub String);

/// Why a signed message, certificate or piece of evidence failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Signed for another table.
    #[error("message for table {got}, this table is {expected}")]
    WrongTable {
        /// This table.
        expected: TableId,
        /// The table in the message.
        got: TableId,
    },
    /// The signer is not seated.
    #[error("signer {0} is not a participant of this table")]
    UnknownSigner(PeerId),
    /// The signature does not verify (strictly) under the signer's key.
    #[error("bad signature from {0}")]
    BadSignature(PeerId),
    /// A proposal whose value does not hash to the id it signs.
    #[error("proposal from {0} carries a value that does not match its signed id")]
    ValueMismatch(PeerId),
    /// A decision whose value is not the one its certificate names.
    #[error("decision for {0} carries a value that is not the certified one")]
    DecisionValueMismatch(Height),
    /// A certificate with fewer than 2f+1 distinct valid precommits.
    #[error("certificate for {height} has {got} precommits, needs {needed}")]
    NoQuorum {
        /// Height of the certificate.
        height: Height,
        /// Distinct valid signers.
        got: usize,
        /// Signers needed.
        needed: usize,
    },
    /// A certificate listing the same signer twice.
    #[error("certificate lists {0} twice")]
    DuplicateSigner(PeerId),
    /// Two messages presented as evidence that do not conflict.
    #[error("evidence does not show a conflict: {0}")]
    NotConflicting(&'static str),
    /// The participant set of the message's height is not known (yet): the host has not
    /// declared it ([`crate::Engine::set_participants`]).
    #[error("the participants of {0} are not known yet")]
    UnknownParticipants(Height),
}

/// Why the engine refused an input. The input changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// A message for a height beyond the buffering window: dropped to bound memory.
    #[error("message for {height} is too far ahead of {current}")]
    HeightTooFarAhead {
        /// Its height.
        height: Height,
        /// Our height.
        current: Height,
    },
    /// A message for a round beyond the window: dropped to bound memory.
    #[error("message from {from} for {round} is too far ahead of {current}")]
    RoundTooFarAhead {
        /// Sender.
        from: PeerId,
        /// Its round.
        round: Round,
        /// Our round.
        current: Round,
    },
    /// A peer has filled its share of the future-message buffer.
    #[error("future-message buffer for {0} is full")]
    BufferFull(PeerId),
    /// A proposal signed by someone who is not the proposer of that round.
    #[error("{from} is not the proposer of {height}/{round}")]
    NotProposer {
        /// Who signed it.
        from: PeerId,
        /// Height.
        height: Height,
        /// Round.
        round: Round,
    },
    /// A proposal whose valid round is not below its round.
    #[error("proposal from {from} has valid round {valid_round} not below its round {round}")]
    BadValidRound {
        /// Who signed it.
        from: PeerId,
        /// The proposal's round.
        round: Round,
        /// Its claimed valid round.
        valid_round: Round,
    },
    /// `StartHeight` for a height that is not the next one.
    #[error("cannot start {requested}: expected {expected}")]
    BadStartHeight {
        /// What the host asked for.
        requested: Height,
        /// The only height that can start now.
        expected: Height,
    },
    /// `StartHeight` while a height is still being decided.
    #[error("cannot start a height while {0} is still undecided")]
    HeightInProgress(Height),
    /// A certificate-backed decision whose value the application finds invalid: the local state
    /// disagrees with 2f+1 participants (a desync).
    #[error("decision for {height} carries value {value} that is invalid here (desync?)")]
    InvalidDecidedValue {
        /// Height.
        height: Height,
        /// The value's id.
        value: ValueId,
    },
    /// An input that needs a started height arrived before `StartHeight`.
    #[error("the engine has not started a height yet")]
    NotStarted,
    /// A signer already holds its share of the engine's memory
    /// ([`crate::Limits::max_buffered_bytes_per_signer`]).
    #[error("{from} holds {held} bytes of the engine's buffers; the message would exceed {limit}")]
    ByteBudget {
        /// The signer.
        from: PeerId,
        /// Bytes of its messages the engine holds.
        held: usize,
        /// The limit.
        limit: usize,
    },
    /// A decision for a future height that does not fit
    /// [`crate::Limits::max_buffered_decision_bytes`], even after dropping higher ones.
    #[error("no room for the decision of {0}")]
    DecisionBufferFull(Height),
    /// `StartHeight` (or a decision) for a height whose participant set the host has not
    /// declared ([`crate::Engine::set_participants`]).
    #[error("the participants of {0} are not known yet")]
    UnknownParticipants(Height),
    /// `set_participants` for a height already started: a height's set cannot change.
    #[error("cannot set the participants of {height}: {current} has started")]
    ParticipantsOfStartedHeight {
        /// The height the host tried to set.
        height: Height,
        /// The engine's current height.
        current: Height,
    },
    /// `set_participants` declared a different set for a height whose set was already known:
    /// the set of a height is a function of the decided state, so this is a host bug.
    #[error("the participants of {0} were already declared, differently")]
    ParticipantsConflict(Height),
    /// A message signed by someone who is not a participant of its height (a departed key, or
    /// one not admitted yet), verified by the host against another height's set.
    #[error("{from} is not a participant at {height}")]
    NotParticipant {
        /// The signer.
        from: PeerId,
        /// The message's height.
        height: Height,
    },
    /// A decision whose certificate does not hold, strictly, against its height's set.
    #[error("decision for {height} refused: {reason}")]
    CertificateRefused {
        /// The decision's height.
        height: Height,
        /// What failed.
        reason: VerifyError,
    },
}
