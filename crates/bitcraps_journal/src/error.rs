//! Typed errors. Nothing read from disk panics: a journal that cannot be opened, read or trusted
//! becomes a [`JournalError`]; a journal that opens but fails a check of its history becomes a
//! [`Failure`] naming the height and the [`Reason`].

use std::fmt;
use std::path::PathBuf;

use bitcraps_consensus::{EncodeError, Height, Round, VerifyError};
use bitcraps_game::{AccountingError, BlockError};

/// Why the journal could not be opened, written or recovered.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a BitCraps journal (empty, not a database, or without its metadata).
    #[error("{path} is not a BitCraps journal: {reason}")]
    NotAJournal {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The file is damaged: flipped bytes, a truncated file, a record whose checksum fails.
    #[error("journal {path} is corrupted: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Another process (or handle) has the journal open.
    #[error("journal {0} is already open")]
    Locked(PathBuf),
    /// A journal of a later format, written by a newer build.
    #[error("journal format {found} is not supported (this build reads format {supported})")]
    UnsupportedFormat {
        /// The file's format.
        found: u32,
        /// The format this build reads and writes.
        supported: u32,
    },
    /// The journal belongs to another table config.
    #[error("journal is for table config {found}, expected {expected}")]
    ConfigMismatch {
        /// Hash of the expected config (hex).
        expected: String,
        /// Hash of the journal's config (hex).
        found: String,
    },
    /// The table config cannot start a table (too few seats, bad keys, ...).
    #[error("invalid table config: {0}")]
    BadConfig(String),
    /// Any other error of the database engine.
    #[error("journal database: {0}")]
    Database(#[source] Box<redb::Error>),
    /// A record could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// `record_decision` was given a height that does not follow the last one recorded.
    #[error("decision for height {got}, the journal expects height {expected}")]
    OutOfOrder {
        /// The next height the journal accepts.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// `record_decision` was given an inconsistent decision (nothing was written).
    #[error("decision for height {height} refused: {reason}")]
    BadDecision {
        /// The height.
        height: u64,
        /// Why.
        reason: Reason,
    },
    /// `record_guard` was given a signing guard older than the one already durable: persisting
    /// it could let the node sign a conflicting vote after a restart. Nothing was written.
    #[error("signing guard regresses: {kind} at {new_height}/{new_round}, already signed at {old_height}/{old_round}")]
    GuardRegression {
        /// The message kind ("proposal", "prevote" or "precommit").
        kind: &'static str,
        /// Height of the durable guard's message.
        old_height: Height,
        /// Its round.
        old_round: Round,
        /// Height of the new guard's message.
        new_height: Height,
        /// Its round.
        new_round: Round,
    },
    /// `record_guard` was given a signing guard holding another message than the durable guard
    /// at the same (height, round): the node would have signed two conflicting messages.
    /// Nothing was written.
    #[error("signing guard conflicts with the durable one: another {kind} at {height}/{round}")]
    GuardConflict {
        /// The message kind ("proposal", "prevote" or "precommit").
        kind: &'static str,
        /// The height.
        height: Height,
        /// The round.
        round: Round,
    },
    /// The recovered table closed at `closed_at`: no height follows, so there is no validator
    /// set to run a consensus engine with.
    #[error("the table closed at height {closed_at}: no height follows it")]
    TableClosed {
        /// The closing height.
        closed_at: u64,
    },
    /// The recovered state names no valid validator set for `height` (fewer than four keys, or
    /// a key that is not a valid ed25519 key).
    #[error("no validator set for height {height}: {reason}")]
    Validators {
        /// The height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// The journal's history failed a check during recovery. The journal is left untouched.
    #[error("journal failed recovery: {0}")]
    Check(#[from] Failure),
    /// The JSON hand history could not be written.
    #[error("hand history: {0}")]
    Json(#[from] serde_json::Error),
}

impl JournalError {
    /// Classifies an error of the database engine: corruption and locking get their own
    /// variants.
    pub(crate) fn from_db(path: &std::path::Path, error: impl Into<redb::Error>) -> JournalError {
        match error.into() {
            redb::Error::Corrupted(reason) => JournalError::Corrupt {
                path: path.to_path_buf(),
                reason,
            },
            redb::Error::DatabaseAlreadyOpen => JournalError::Locked(path.to_path_buf()),
            redb::Error::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
                JournalError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("the file ends early (truncated?): {source}"),
                }
            }
            redb::Error::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => {
                JournalError::NotAJournal {
                    path: path.to_path_buf(),
                    reason: source.to_string(),
                }
            }
            redb::Error::Io(source) => JournalError::Io {
                path: path.to_path_buf(),
                source,
            },
            other => JournalError::Database(Box::new(other)),
        }
    }
}

/// The first height of a journal's history that failed a check, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("height {height}: {reason}")]
pub struct Failure {
    /// The height (0: the journal's config or genesis).
    pub height: u64,
    /// What failed.
    pub reason: Reason,
}

impl Failure {
    /// A failure at `height`.
    pub fn new(height: u64, reason: Reason) -> Failure {
        Failure { height, reason }
    }
}

/// What failed at a height.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The journal's config is not the table config it is checked against.
    #[error("the journal's table config {found} is not the expected {expected}")]
    ConfigMismatch {
        /// Hash of the expected config (hex).
        expected: String,
        /// Hash of the journal's config (hex).
        found: String,
    },
    /// The table cannot start from the config (invalid config, or another custom-operation
    /// registry).
    #[error("cannot start the table: {0}")]
    Genesis(String),
    /// A height is missing from the history (or half of it: block or decision record).
    #[error("no {0} recorded for this height")]
    Missing(&'static str),
    /// A record does not decode or fails its checksum.
    #[error("corrupted {what}: {detail}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// What failed.
        detail: String,
    },
    /// The certificate is for another table or height.
    #[error("the certificate is for table {table} height {height}")]
    CertificateTarget {
        /// Its table (short hex).
        table: String,
        /// Its height.
        height: u64,
    },
    /// The recorded block is not the value the certificate certifies.
    #[error(
        "the recorded block is not the certified value (block {block}, certified {certified})"
    )]
    NotCertified {
        /// Id of the recorded block's bytes.
        block: String,
        /// The id the certificate's precommits sign.
        certified: String,
    },
    /// The certificate does not verify against the validator set of its height (the players
    /// seated two heights before, derived from the decided blocks since genesis): a signer not in
    /// that set, a signer twice, no quorum of it, or a bad signature.
    #[error("certificate (checked against the validator set of this height): {0}")]
    Certificate(#[from] VerifyError),
    /// The validator set of the height cannot be derived from the state before it (fewer than
    /// four validators, or a key that is not a valid ed25519 key).
    #[error("no validator set for this height: {0}")]
    Validators(String),
    /// A height is journaled after the height that closed the table; no block may follow it.
    #[error("recorded after the table closed at height {closed_at}")]
    AfterClose {
        /// The closing height.
        closed_at: u64,
    },
    /// The rules refuse the block on the previous state: a bad operation signature, a nonce out
    /// of order, an operation the table does not allow, a wrong parent or timestamp.
    #[error("block refused by the rules: {0}")]
    Block(#[from] BlockError),
    /// Re-running the rules gives another state than the one recorded.
    #[error("state hash mismatch: recorded {recorded}, recomputed {recomputed}")]
    StateHash {
        /// The recorded hash (hex).
        recorded: String,
        /// The hash after re-applying the block (hex).
        recomputed: String,
    },
    /// A recorded payout is not what the rules pay.
    #[error("payout of bet #{bet} recorded as {recorded}, the rules pay {recomputed}")]
    Payout {
        /// The bet id.
        bet: u64,
        /// The recorded payout.
        recorded: u64,
        /// The payout by the rules.
        recomputed: u64,
    },
    /// The recorded events are not what the block does.
    #[error("recorded event #{index} differs from what the block does")]
    Events {
        /// Index of the first differing event.
        index: usize,
    },
    /// The dice of a roll are not the ones its reveals give.
    #[error("roll {roll}: {detail}")]
    Dice {
        /// The roll number.
        roll: u64,
        /// What differs.
        detail: String,
    },
    /// The accounting identity does not hold.
    #[error("accounting: {0}")]
    Accounting(#[from] AccountingError),
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    struct Hex<'a>(&'a [u8]);
    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
    Hex(bytes).to_string()
}
