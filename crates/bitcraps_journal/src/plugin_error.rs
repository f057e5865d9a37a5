//! [`JournalPluginError`]: why the journal plugin could not start, write or sign.

use std::path::PathBuf;

use bevy_bitcraps::bitcraps_consensus::{Height, Round};

use crate::error::JournalError;

/// Why the journal plugin could not start or write.
#[derive(Debug, thiserror::Error)]
pub enum JournalPluginError {
    /// The journal could not be opened, or failed its checks (the error names the file and,
    /// for a failed check, the height).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The game's genesis could not be built from the plugin configuration.
    #[error(transparent)]
    Genesis(#[from] bevy_bitcraps::GameStartError),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The App is not the table the journal records.
    #[error("journal {path} is for table config {journal}, the App plays {app}")]
    WrongTable {
        /// The journal.
        path: PathBuf,
        /// Its table config hash (hex).
        journal: String,
        /// The App's (hex).
        app: String,
    },
    /// The App has no craps game to resume ([`GamePlugin`](bevy_bitcraps::GamePlugin) must be added before the journal).
    #[error("journal {0}: the App has no GamePlugin table to resume (add GamePlugin before JournalPlugin)")]
    NoGame(PathBuf),
    /// The signing guard could not be made durable: the step's messages were not sent.
    #[error(
        "journal {path}: signing guard at height {height}, round {round} not written: {source}"
    )]
    Guard {
        /// The journal.
        path: PathBuf,
        /// The engine's height.
        height: Height,
        /// Its round.
        round: Round,
        /// The store's error.
        source: JournalError,
    },
    /// A decided height could not be recorded (it is retried next frame).
    #[error("journal {path}: height {height} not recorded: {source}")]
    Decision {
        /// The journal.
        path: PathBuf,
        /// The height.
        height: u64,
        /// The store's error.
        source: JournalError,
    },
    /// Evidence could not be recorded.
    #[error("journal {path}: evidence at height {height} not recorded: {source}")]
    Evidence {
        /// The journal.
        path: PathBuf,
        /// The evidence's height.
        height: Height,
        /// The store's error.
        source: JournalError,
    },
    /// An operation of the local player could not be made durable: it was held back.
    #[error("journal {path}: our operation under nonce {nonce} not written: {source}")]
    OwnOp {
        /// The journal.
        path: PathBuf,
        /// Its nonce.
        nonce: u64,
        /// The store's error.
        source: JournalError,
    },
    /// A thread panicked while writing the journal; it is no longer written.
    #[error("journal {0}: a writer panicked, the journal is closed")]
    Poisoned(PathBuf),
    /// The node refuses to sign: the journal could not be attached to this App.
    #[error("journal {path} is not attached ({reason}); refusing to sign")]
    Detached {
        /// The journal.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
