//! What a dedicated relay remembers across restarts: the table it served, so that once
//! restarted it resumes that table only ([`LobbyConfig::resume_only`]). The record is one line
//! of hex (the table id) in `<data-dir>/relays/<port>.table`, written when a table forms in the
//! lobby or is resumed there; `bitcraps relay --forget-table` starts without it.

use std::path::{Path, PathBuf};

use bitcraps::consensus::TableId;

#[cfg(doc)]
use bitcraps::net::LobbyConfig;

/// The relay's record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RelayPinError {
    /// Reading or writing the file failed.
    #[error("the relay's record of its table, {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file does not hold a table id.
    #[error(
        "the relay's record of its table, {path}, is damaged (it should hold one table id in \
         hex); remove it or start the relay with --forget-table"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
    },
}

/// Where the relay listening on `port` keeps its record.
pub fn pin_path(data_dir: &Path, port: u16) -> PathBuf {
    data_dir.join("relays").join(format!("{port}.table"))
}

/// The table recorded at `path`; `None` if there is no record.
pub fn read_pin(path: &Path) -> Result<Option<TableId>, RelayPinError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RelayPinError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse_hex(text.trim())
        .map(|bytes| Some(TableId(bytes)))
        .ok_or_else(|| RelayPinError::Damaged {
            path: path.to_path_buf(),
        })
}

/// Records `table` at `path` (written to a temporary file, then renamed over the old record).
pub fn write_pin(path: &Path, table: &TableId) -> Result<(), RelayPinError> {
    let io = |source| RelayPinError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let hex: String = table.0.iter().map(|b| format!("{b:02x}")).collect();
    let fresh = path.with_extension("table.new");
    std::fs::write(&fresh, format!("{hex}\n")).map_err(io)?;
    std::fs::rename(&fresh, path).map_err(io)
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_damaged_one_is_named() {
        let dir = std::env::temp_dir().join(format!("bitcraps-pin-{}", std::process::id()));
        let path = pin_path(&dir, 5000);
        assert_eq!(read_pin(&path).unwrap(), None, "no record yet");
        let table = TableId::from_name("pinned");
        write_pin(&path, &table).unwrap();
        assert_eq!(read_pin(&path).unwrap(), Some(table));
        for damaged in ["", "zz", &"a".repeat(63), &"é".repeat(32)] {
            std::fs::write(&path, damaged).unwrap();
            let error = read_pin(&path).unwrap_err();
            assert!(
                matches!(error, RelayPinError::Damaged { .. }),
                "{damaged:?}"
            );
            assert!(error.to_string().contains("5000.table"), "{error}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
