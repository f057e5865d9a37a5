//! `bitcraps verify` and `bitcraps export`: a table journal checked or written out offline.

use std::io::Write;
use std::path::Path;

use bitcraps::journal::{export_json, stored_config, verify_journal};

use crate::error::GameError;

/// The shortest config-hash prefix `--config-hash` accepts (64 bits).
const MIN_HASH_PREFIX: usize = 16;

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `expected` (full hex or a prefix of at least [`MIN_HASH_PREFIX`] digits) names
/// the config hash `actual`.
fn hash_matches(expected: &str, actual: &str) -> bool {
    let expected = expected.trim().to_ascii_lowercase();
    expected.len() >= MIN_HASH_PREFIX && actual.starts_with(&expected)
}

/// Checks the journal at `path` and prints the report; `Err` if it fails a check, does not
/// open as a journal, or is not the table `config_hash` names.
pub fn verify(path: &Path, config_hash: Option<&str>) -> Result<(), GameError> {
    let config = stored_config(path)?;
    let actual = hex(&config.hash());
    println!("journal {}", path.display());
    println!("config hash {actual}");
    if let Some(expected) = config_hash {
        if !hash_matches(expected, &actual) {
            return Err(GameError::ConfigHash {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                found: actual,
            });
        }
    }
    let report = verify_journal(path, &config)?;
    println!("{report}");
    match report.failure {
        None => Ok(()),
        Some(failure) => Err(GameError::Verify {
            path: path.to_path_buf(),
            failure,
        }),
    }
}

/// Writes the hand history of the journal at `path` to standard output.
pub fn export(path: &Path, json: bool) -> Result<(), GameError> {
    if !json {
        return Err(GameError::ExportFormat);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    export_json(path, &mut out)?;
    out.flush().map_err(GameError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_hash_is_matched_in_full_or_by_a_long_prefix() {
        let actual = "0123456789abcdef0123456789abcdef";
        assert!(hash_matches(actual, actual));
        assert!(hash_matches("0123456789ABCDEF", actual));
        assert!(!hash_matches("0123456789abcde", actual), "too short");
        assert!(!hash_matches("1123456789abcdef", actual));
    }
}
