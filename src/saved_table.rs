//! A table a networked player sat at, saved in its data directory when the table formed
//! (`tables/<table id>.genesis`: the relay's address and the genesis, and the `current-table`
//! pointer), so that a `--join` after a crash can skip the lobby and resume it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bitcraps::journal::DataDir;

/// The saved table and its encoding live in `bitcraps_renet::saved_table` (Bevy-free enough to
/// be fuzzed without this crate).
pub use bitcraps::net::SavedTable;

/// The pointer, in the data directory, to the table last formed.
pub const CURRENT_TABLE_FILE: &str = "current-table";

/// Why a saved table could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SavedTableError {
    /// The file could not be written or read.
    #[error("saved table {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The table could not be encoded.
    #[error("saved table {path}: cannot encode: {source}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The codec's error.
        source: bitcraps::consensus::EncodeError,
    },
    /// The file does not decode.
    #[error("saved table {path} is damaged: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The codec's error.
        source: bitcraps::consensus::DecodeError,
    },
    /// The pointer does not name a table file.
    #[error("{path} does not name a table (it holds {text:?})")]
    Pointer {
        /// The pointer file.
        path: PathBuf,
        /// What it holds.
        text: String,
    },
    /// The saved genesis is not well formed (its table id, seats or terms).
    #[error("saved table {path} is not a table this player can resume: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// Why.
        source: bitcraps::net::GenesisError,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `tables/<table id>.genesis` in `dir`.
fn saved_table_path(dir: &DataDir, table: &bitcraps::consensus::TableId) -> PathBuf {
    dir.root()
        .join(bitcraps::journal::paths::TABLES_DIR)
        .join(format!("{}.genesis", hex(table.as_bytes())))
}

/// Writes `bytes` to `path` through a temporary file renamed over it (never half written).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SavedTableError> {
    let io = |source| SavedTableError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Saves the table that just formed and points `current-table` at it.
pub fn save_table(dir: &DataDir, saved: &SavedTable) -> Result<(), SavedTableError> {
    let path = saved_table_path(dir, &saved.genesis.terms.table);
    let bytes = saved.encode().map_err(|source| SavedTableError::Encode {
        path: path.clone(),
        source,
    })?;
    write_file(&path, &bytes)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_file(&dir.root().join(CURRENT_TABLE_FILE), name.as_bytes())
}

/// The table saved in `dir` for the relay at `relay`, if there is one (the player's key need
/// not hold a genesis seat: a newcomer admitted later saves its table too).
pub fn saved_table(
    dir: &DataDir,
    relay: SocketAddr,
) -> Result<Option<SavedTable>, SavedTableError> {
    Ok(current_table(dir)?.filter(|saved| saved.relay == relay))
}

/// The table saved last in `dir`, whichever relay it was played through (`--resume`: the
/// player takes it to another relay).
pub fn current_table(dir: &DataDir) -> Result<Option<SavedTable>, SavedTableError> {
    let pointer = dir.root().join(CURRENT_TABLE_FILE);
    let name = match std::fs::read_to_string(&pointer) {
        Ok(name) => name.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SavedTableError::Io {
                path: pointer,
                source,
            })
        }
    };
    let valid = name.len() == 64 + ".genesis".len()
        && name.ends_with(".genesis")
        && name[..64].bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(SavedTableError::Pointer {
            path: pointer,
            text: name,
        });
    }
    let path = dir
        .root()
        .join(bitcraps::journal::paths::TABLES_DIR)
        .join(&name);
    let bytes = std::fs::read(&path).map_err(|source| SavedTableError::Io {
        path: path.clone(),
        source,
    })?;
    let saved = SavedTable::decode(&bytes).map_err(|source| SavedTableError::Decode {
        path: path.clone(),
        source,
    })?;
    saved
        .genesis
        .check_running(&saved.genesis.terms.registry_hash)
        .map_err(|source| SavedTableError::Genesis { path, source })?;
    Ok(Some(saved))
}
