//! The player's identity: the seat key, created on first run from the operating system's
//! random source and kept in a file only its owner can read (0600 on Unix).
//!
//! The file is two lines of text: `bitcraps-seat-key v1` and the 32-byte secret seed in hex.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use bitcraps_consensus::Keypair;

use crate::error::hex;

/// First line of a seat key file.
pub const IDENTITY_HEADER: &str = "bitcraps-seat-key v1";

/// Why the seat key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The file or its folder could not be read or written.
    #[error("seat key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a seat key.
    #[error("{path} is not a BitCraps seat key: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Others than the owner may read or write the file: refuse to use a key others may know.
    #[error("seat key {path} has permissions {mode:o}; it must be readable by its owner only (chmod 600)")]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The operating system's random source failed.
    #[error("no randomness for a new seat key: {0}")]
    Random(String),
}

/// Loads the seat key at `path`, or creates one there (and its folder) if there is no file.
/// Returns the key and whether it was created.
pub fn load_or_create_identity(path: impl AsRef<Path>) -> Result<(Keypair, bool), IdentityError> {
    let path = path.as_ref();
    if path.exists() {
        load_identity(path).map(|k| (k, false))
    } else {
        create_identity(path).map(|k| (k, true))
    }
}

/// Loads the seat key at `path`, refusing a file others may read or write.
pub fn load_identity(path: impl AsRef<Path>) -> Result<Keypair, IdentityError> {
    let path = path.as_ref();
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_permissions(path, &fs::metadata(path).map_err(io)?)?;
    let text = fs::read_to_string(path).map_err(io)?;
    let malformed = |reason: &str| IdentityError::Malformed {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next() != Some(IDENTITY_HEADER) {
        return Err(malformed("missing the header line"));
    }
    let seed_hex = lines
        .next()
        .ok_or_else(|| malformed("missing the key line"))?
        .trim();
    if seed_hex.len() != 64 {
        return Err(malformed("the key line is not 64 hex digits"));
    }
    // Hex digits only: `u8::from_str_radix` alone would also take a sign ("+b" is 11), so a
    // key line other than the key's own spelling could load.
    if !seed_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("the key line is not hex"));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = seed_hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| malformed("the key line is not hex"))?;
    }
    Ok(Keypair::from_seed(seed))
}

/// Creates a new seat key at `path` (and its folder, owner-only), never overwriting a file.
pub fn create_identity(path: impl AsRef<Path>) -> Result<Keypair, IdentityError> {
    let path = path.as_ref();
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| IdentityError::Random(e.to_string()))?;
    let key = Keypair::from_seed(seed);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::paths::create_private_dir(dir).map_err(io)?;
    }
    let mut file = new_private_file(path).map_err(io)?;
    let text = format!("{IDENTITY_HEADER}\n{}\n", hex(&key.seed()));
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the new directory entry durable too (best effort where directories cannot be
        // opened, e.g. on Windows).
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(key)
}

#[cfg(unix)]
fn new_private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn new_private_file(path: &Path) -> std::io::Result<File> {
    // Files under the user's profile are private to the user by default on Windows.
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &fs::Metadata) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &fs::Metadata) -> Result<(), IdentityError> {
    Ok(())
}
