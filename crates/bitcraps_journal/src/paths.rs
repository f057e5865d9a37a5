//! Where a node keeps its data: the operating system's data directory by default (the
//! `directories` crate: `~/.local/share/bitcraps` on Linux, `~/Library/Application
//! Support/org.BitCraps.BitCraps` on macOS, `%APPDATA%\BitCraps\BitCraps\data` on Windows), or
//! any folder the user names (`--data-dir`).
//!
//! ```text
//! <data dir>/seat.key                  the player's seat key (owner-only)
//! <data dir>/tables/<table id>.redb    one journal per table
//! ```

use std::path::{Path, PathBuf};

use bitcraps_consensus::TableId;

use crate::error::hex;

/// The seat key's file name in a data directory.
pub const IDENTITY_FILE: &str = "seat.key";
/// The folder of the journals in a data directory.
pub const TABLES_DIR: &str = "tables";

/// The operating system's data directory for BitCraps, if the platform has one (it needs a home
/// directory).
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "BitCraps", "BitCraps")
        .map(|d| d.data_dir().to_path_buf())
}

/// A node's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (`--data-dir`).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// The operating system's default ([`default_data_dir`]).
    pub fn platform_default() -> Option<DataDir> {
        default_data_dir().map(DataDir::new)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the seat key is kept (unless `--identity` names another file).
    pub fn identity_path(&self) -> PathBuf {
        self.root.join(IDENTITY_FILE)
    }

    /// Where the journal of table `table` is kept.
    pub fn journal_path(&self, table: &TableId) -> PathBuf {
        self.root
            .join(TABLES_DIR)
            .join(format!("{}.redb", hex(table.as_bytes())))
    }

    /// Creates the folder and its `tables` folder (owner-only on Unix) if missing.
    pub fn create(&self) -> std::io::Result<()> {
        create_private_dir(&self.root)?;
        create_private_dir(&self.root.join(TABLES_DIR))
    }
}

/// Creates `dir` and its missing parents; the folders created are owner-only on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
