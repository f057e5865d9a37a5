//! The on-disk layout: redb tables, checksummed records, and how a file is opened.
//!
//! Every value is stored as `format (u8) ‖ SHA-256(domain ‖ table ‖ key ‖ payload) ‖ payload`,
//! so a damaged or misplaced record is reported as such (with its table and key) instead of
//! decoding into something else. redb checks its own page checksums when the file is opened
//! ([`redb::Builder::set_check_integrity_on_open`]) and every commit is two-phase, so a damaged
//! latest commit is an error, never a silent fall-back to the one before it (which could bring
//! back an older signing guard).
//!
//! | table      | key    | payload                                                        |
//! |------------|--------|----------------------------------------------------------------|
//! | `meta`     | name   | `format` (u32 BE), `config` (the [`TableConfig`], codec)        |
//! | `blocks`   | height | the decided value's bytes (the encoded block), verbatim        |
//! | `decided`  | height | [`DecidedRecord`]: certificate, state hash, events (codec)      |
//! | `guard`    | 0      | the consensus [`PersistentState`] (codec)                       |
//! | `evidence` | seq    | [`EvidenceRecord`] (codec)                                      |
//! | `own_ops`  | nonce  | the local player's signed operation not yet decided (codec)    |

use std::path::Path;
use std::sync::RwLock;

use redb::{Database, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use bitcraps_consensus::codec;

use crate::error::JournalError;

/// The journal format this build writes and reads.
pub const FORMAT: u32 = 1;
/// Version byte of a record envelope.
const RECORD_VERSION: u8 = 1;
/// Domain tag of a record checksum.
const RECORD_DOMAIN: &[u8] = b"bitcraps/journal-record/v1";
/// Bytes before a record's payload.
const HEADER: usize = 1 + 32;
/// Largest record payload decoded (blocks are at most the codec's limit).
pub(crate) const MAX_RECORD: usize = codec::MAX_MESSAGE_BYTES;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
pub(crate) const DECIDED: TableDefinition<u64, &[u8]> = TableDefinition::new("decided");
pub(crate) const GUARD: TableDefinition<u64, &[u8]> = TableDefinition::new("guard");
pub(crate) const EVIDENCE: TableDefinition<u64, &[u8]> = TableDefinition::new("evidence");
pub(crate) const OWN_OPS: TableDefinition<u64, &[u8]> = TableDefinition::new("own_ops");

/// Key of the format record in `meta`.
pub(crate) const META_FORMAT: &str = "format";
/// Key of the table config record in `meta`.
pub(crate) const META_CONFIG: &str = "config";
/// The one key of `guard`.
pub(crate) const GUARD_KEY: u64 = 0;

/// A record's key, for its checksum and for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    /// A named record.
    Name(&'a str),
    /// A numbered record (height or sequence number).
    Number(u64),
}

impl Key<'_> {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Key::Name(n) => n.as_bytes().to_vec(),
            Key::Number(n) => n.to_be_bytes().to_vec(),
        }
    }
}

fn checksum(table: &str, key: Key<'_>, payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(RECORD_DOMAIN);
    h.update((table.len() as u64).to_be_bytes());
    h.update(table.as_bytes());
    let key = key.bytes();
    h.update((key.len() as u64).to_be_bytes());
    h.update(&key);
    h.update(payload);
    h.finalize().into()
}

/// Wraps raw payload bytes in a checksummed envelope.
pub(crate) fn seal_bytes(table: &str, key: Key<'_>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(RECORD_VERSION);
    out.extend_from_slice(&checksum(table, key, payload));
    out.extend_from_slice(payload);
    out
}

/// Encodes a value with the consensus codec and seals it.
pub(crate) fn seal<T: Serialize>(
    table: &str,
    key: Key<'_>,
    value: &T,
) -> Result<Vec<u8>, JournalError> {
    Ok(seal_bytes(table, key, &codec::encode(value)?))
}

/// Checks a record's envelope and returns its payload.
pub(crate) fn open_bytes<'a>(
    table: &str,
    key: Key<'_>,
    stored: &'a [u8],
) -> Result<&'a [u8], String> {
    if stored.len() < HEADER {
        return Err(format!(
            "{} bytes, shorter than a record header",
            stored.len()
        ));
    }
    if stored[0] != RECORD_VERSION {
        return Err(format!("unknown record version {}", stored[0]));
    }
    let payload = &stored[HEADER..];
    if stored[1..HEADER] != checksum(table, key, payload) {
        return Err("checksum mismatch".to_string());
    }
    Ok(payload)
}

/// Checks a record's envelope and decodes its payload.
pub(crate) fn open_record<T: DeserializeOwned>(
    table: &str,
    key: Key<'_>,
    stored: &[u8],
) -> Result<T, String> {
    let payload = open_bytes(table, key, stored)?;
    codec::decode(payload, MAX_RECORD).map_err(|e| e.to_string())
}

fn builder() -> redb::Builder {
    let mut b = redb::Builder::new();
    // A damaged file must be an error at open, not a panic or wrong data later.
    b.set_check_integrity_on_open(true);
    // The journal is read once at start; keep the cache small.
    b.set_cache_size(32 << 20);
    b
}

/// Opens (or creates, if `create`) the database file at `path` for writing.
pub(crate) fn open_file(path: &Path, create: bool) -> Result<Database, JournalError> {
    let exists = path.exists();
    if !create && !exists {
        return Err(JournalError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    if exists {
        check_not_empty(path)?;
    }
    let result = if exists {
        builder().open(path)
    } else {
        builder().create(path)
    };
    result.map_err(|e| JournalError::from_db(path, e))
}

fn check_not_empty(path: &Path) -> Result<(), JournalError> {
    let len = std::fs::metadata(path)
        .map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if len == 0 {
        return Err(JournalError::NotAJournal {
            path: path.to_path_buf(),
            reason: "the file is empty".to_string(),
        });
    }
    Ok(())
}

/// Opens a copy of the file at `path` in memory, for reading without ever changing the file
/// (the verifier and the exporter: opening a database may repair it).
pub(crate) fn open_image(path: &Path) -> Result<Database, JournalError> {
    check_not_empty(path)?;
    let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    builder()
        .create_with_backend(Image(RwLock::new(bytes)))
        .map_err(|e| JournalError::from_db(path, e))
}

/// Fails with [`JournalError::NotAJournal`] unless the database has the journal's metadata.
pub(crate) fn read_format(db: &Database, path: &Path) -> Result<Option<u32>, JournalError> {
    let txn = db
        .begin_read()
        .map_err(|e| JournalError::from_db(path, e))?;
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(JournalError::from_db(path, e)),
    };
    let Some(stored) = table
        .get(META_FORMAT)
        .map_err(|e| JournalError::from_db(path, e))?
    else {
        return Ok(None);
    };
    let payload = open_bytes("meta", Key::Name(META_FORMAT), stored.value()).map_err(|reason| {
        JournalError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("format record: {reason}"),
        }
    })?;
    let bytes: [u8; 4] = payload.try_into().map_err(|_| JournalError::Corrupt {
        path: path.to_path_buf(),
        reason: "format record has the wrong length".to_string(),
    })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

/// A database file held in memory: reads and writes never reach the disk.
#[derive(Debug)]
struct Image(RwLock<Vec<u8>>);

fn backend_error(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

impl Image {
    fn range(
        offset: u64,
        len: usize,
        total: usize,
    ) -> Result<std::ops::Range<usize>, std::io::Error> {
        let start = usize::try_from(offset).map_err(|_| backend_error("offset out of range"))?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| backend_error("offset out of range"))?;
        if end > total {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("read of {len} bytes at {start} beyond the end of a {total}-byte file"),
            ));
        }
        Ok(start..end)
    }
}

impl StorageBackend for Image {
    fn len(&self) -> Result<u64, std::io::Error> {
        let bytes = self
            .0
            .read()
            .map_err(|_| backend_error("image lock poisoned"))?;
        Ok(bytes.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let bytes = self
            .0
            .read()
            .map_err(|_| backend_error("image lock poisoned"))?;
        let range = Image::range(offset, out.len(), bytes.len())?;
        out.copy_from_slice(&bytes[range]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut bytes = self
            .0
            .write()
            .map_err(|_| backend_error("image lock poisoned"))?;
        let len = usize::try_from(len).map_err(|_| backend_error("length out of range"))?;
        bytes.resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut bytes = self
            .0
            .write()
            .map_err(|_| backend_error("image lock poisoned"))?;
        let range = Image::range(offset, data.len(), bytes.len())?;
        bytes[range].copy_from_slice(data);
        Ok(())
    }
}

/// Reads every record of a numbered table, for scans that only need a few of them.
pub(crate) fn last_key(
    db: &Database,
    path: &Path,
    table: TableDefinition<u64, &[u8]>,
) -> Result<Option<u64>, JournalError> {
    let txn = db
        .begin_read()
        .map_err(|e| JournalError::from_db(path, e))?;
    let t = match txn.open_table(table) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(JournalError::from_db(path, e)),
    };
    let last = t.last().map_err(|e| JournalError::from_db(path, e))?;
    Ok(last.map(|(k, _)| k.value()))
}
