//! Reading a journal's records: shared by the writer ([`crate::Journal`]), the verifier and the
//! exporter (which open the file as an in-memory copy).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable};

use bitcraps_game::TableConfig;

use crate::error::JournalError;
use crate::records::{DecidedRecord, EvidenceRecord, StoredHeight};
use crate::store::{self, Key, BLOCKS, DECIDED, EVIDENCE, FORMAT, META, META_CONFIG};

/// Fails unless the database is a journal of this build's format.
pub(crate) fn check_format(db: &Database, path: &Path) -> Result<(), JournalError> {
    match store::read_format(db, path)? {
        Some(FORMAT) => Ok(()),
        Some(found) => Err(JournalError::UnsupportedFormat {
            found,
            supported: FORMAT,
        }),
        None => Err(JournalError::NotAJournal {
            path: path.to_path_buf(),
            reason: "no journal metadata".to_string(),
        }),
    }
}

/// The table config stored in the journal.
pub(crate) fn read_config(db: &Database, path: &Path) -> Result<TableConfig, JournalError> {
    let corrupt = |reason: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("table config record: {reason}"),
    };
    let txn = db
        .begin_read()
        .map_err(|e| JournalError::from_db(path, e))?;
    let table = txn
        .open_table(META)
        .map_err(|e| JournalError::from_db(path, e))?;
    let stored = table
        .get(META_CONFIG)
        .map_err(|e| JournalError::from_db(path, e))?
        .ok_or_else(|| corrupt("missing".to_string()))?;
    store::open_record("meta", Key::Name(META_CONFIG), stored.value()).map_err(corrupt)
}

/// Up to `max` decided heights from `from` on, in order (stops at the first gap).
pub(crate) fn read_heights(
    db: &Database,
    path: &Path,
    from: u64,
    max: usize,
) -> Result<Vec<StoredHeight>, JournalError> {
    let mut out = Vec::new();
    let txn = db
        .begin_read()
        .map_err(|e| JournalError::from_db(path, e))?;
    let blocks = txn
        .open_table(BLOCKS)
        .map_err(|e| JournalError::from_db(path, e))?;
    let decided = txn
        .open_table(DECIDED)
        .map_err(|e| JournalError::from_db(path, e))?;
    let corrupt = |reason: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut height = from.max(1);
    while out.len() < max {
        let (Some(block), Some(record)) = (
            blocks
                .get(height)
                .map_err(|e| JournalError::from_db(path, e))?,
            decided
                .get(height)
                .map_err(|e| JournalError::from_db(path, e))?,
        ) else {
            break;
        };
        let bytes = store::open_bytes("blocks", Key::Number(height), block.value())
            .map_err(|r| corrupt(format!("block at height {height}: {r}")))?;
        let record: DecidedRecord =
            store::open_record("decided", Key::Number(height), record.value())
                .map_err(|r| corrupt(format!("decision at height {height}: {r}")))?;
        out.push(StoredHeight {
            height,
            value: bitcraps_consensus::Value::new(bytes.to_vec()),
            certificate: record.certificate,
            state_hash: record.state_hash,
            events: record.events,
        });
        height = height.saturating_add(1);
    }
    Ok(out)
}

/// Every evidence record, in order.
pub(crate) fn read_evidence(
    db: &Database,
    path: &Path,
) -> Result<Vec<EvidenceRecord>, JournalError> {
    let txn = db
        .begin_read()
        .map_err(|e| JournalError::from_db(path, e))?;
    let table = match txn.open_table(EVIDENCE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::from_db(path, e)),
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(|e| JournalError::from_db(path, e))? {
        let (key, value) = entry.map_err(|e| JournalError::from_db(path, e))?;
        let seq = key.value();
        let record =
            store::open_record("evidence", Key::Number(seq), value.value()).map_err(|reason| {
                JournalError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("evidence record {seq}: {reason}"),
                }
            })?;
        out.push(record);
    }
    Ok(out)
}
