//! Why the game stopped.

use bevy_bitcraps::ConfigError;

/// Why the binary could not play.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// The table could not be configured.
    #[error("the table cannot be seated: {0}")]
    Config(#[from] ConfigError),
    /// No display to open a window on.
    #[error(
        "no display: {reason}.\n  The window needs an X11 display (DISPLAY). Run without a window with\n  \
         `{hint}`, or under a virtual display with `xvfb-run -a bitcraps`."
    )]
    NoDisplay {
        /// What failed.
        reason: String,
        /// The same command without a window.
        hint: String,
    },
    /// No graphics adapter.
    #[error(
        "no graphics adapter: {reason}.\n  The window needs Vulkan (a GPU driver, or Mesa's \
         software lavapipe: `apt-get install mesa-vulkan-drivers`).\n  Run without a window with \
         `{hint}`."
    )]
    NoAdapter {
        /// What failed.
        reason: String,
        /// The same command without a window.
        hint: String,
    },
    /// The rolls were not played in time.
    #[error("only {rolls} of {wanted} rolls were played in {seconds} s")]
    Timeout {
        /// Rolls played.
        rolls: u64,
        /// Rolls wanted.
        wanted: u64,
        /// The time limit.
        seconds: u64,
    },
    /// The local App has no craps state.
    #[error("the local player's App has no craps table")]
    NoTableState,
    /// The roll whose state hash a headless player prints was played before this run resumed.
    #[error(
        "roll {0} was played before this run resumed the table; `bitcraps verify` checks the \
         journal's record of it"
    )]
    RollBeforeResume(u64),
    /// Chip sums overflowed.
    #[error("chip totals overflow")]
    Overflow,
    /// The accounting identity does not hold.
    #[error(transparent)]
    Accounting(#[from] bitcraps::game::AccountingError),
    /// Honest players disagree on the state.
    #[error("honest players' state hashes differ at height {0}")]
    Desync(u64),
    /// The screenshot was not saved.
    #[error("the screenshot was not saved: {0}")]
    Screenshot(String),
    /// A journal could not be opened or read.
    #[error(transparent)]
    Journal(#[from] bitcraps::journal::JournalError),
    /// A journal failed a check.
    #[error("journal {path} FAILED at {failure}")]
    Verify {
        /// The journal.
        path: std::path::PathBuf,
        /// The first failing height and why.
        failure: bitcraps::journal::Failure,
    },
    /// A journal is not the table the players agreed on.
    #[error(
        "journal {path} is for table config {found}, not {expected}: it is another table \
         (or was replaced)"
    )]
    ConfigHash {
        /// The journal.
        path: std::path::PathBuf,
        /// The hash given on the command line.
        expected: String,
        /// The journal's config hash.
        found: String,
    },
    /// `bitcraps export` without a format.
    #[error("choose an export format: `bitcraps export PATH --json`")]
    ExportFormat,
    /// Standard output could not be written.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// A bot the host seats could not start.
    #[error("a host bot could not start: {0}")]
    Bot(String),
    /// The window's App stopped with an error.
    #[error("the game stopped: {0}")]
    Stopped(String),
    /// A relay could not be started or a connection opened (bad address, port taken...).
    #[error(transparent)]
    Net(#[from] bitcraps::net::SetupError),
    /// The lobby did not seat this player (relay unreachable, refused, bad genesis...).
    #[error(transparent)]
    Lobby(#[from] bitcraps::net::LobbyError),
    /// The relay refused or dropped the seated player for good.
    #[error("{0}")]
    Link(String),
    /// The relay was lost and did not come back.
    #[error(
        "the relay at {relay} did not come back within {seconds} s; your table and journal are \
         saved: run the same command again to resume when the relay is back"
    )]
    RelayGone {
        /// The relay's address.
        relay: std::net::SocketAddr,
        /// The time waited.
        seconds: u64,
    },
    /// A newcomer's request to sit down was declined.
    #[error("the table refused to seat you: {0}")]
    JoinDeclined(bitcraps::game::JoinDeclined),
    /// `--join` needs the host's address, not a listening address.
    #[error("cannot join {0}: give the address the host printed (e.g. 192.168.1.20:5000)")]
    JoinAddress(String),
    /// No data directory could be found.
    #[error("no data directory on this system: give one with --data-dir DIR")]
    NoDataDir,
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The journal of a networked table could not be opened or failed its checks.
    #[error(transparent)]
    JournalPlugin(Box<bitcraps::journal::JournalPluginError>),
    /// The table that formed could not be saved in the data directory.
    #[error(transparent)]
    SavedTable(#[from] crate::saved_table::SavedTableError),
    /// A dedicated relay's record of the table it served could not be read or written.
    #[error(transparent)]
    RelayPin(#[from] crate::relay_pin::RelayPinError),
    /// The identity key could not be loaded or created.
    #[error("identity key {path}: {source}")]
    Identity {
        /// The key file.
        path: std::path::PathBuf,
        /// Why.
        source: bitcraps::journal::IdentityError,
    },
}

impl From<bitcraps::journal::JournalPluginError> for GameError {
    fn from(e: bitcraps::journal::JournalPluginError) -> GameError {
        GameError::JournalPlugin(Box::new(e))
    }
}
