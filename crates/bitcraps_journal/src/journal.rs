//! [`Journal`]: one table's crash-safe store, written by the node as the table plays.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, WriteTransaction};

use bitcraps_consensus::{
    Decision, Evidence, ParticipantSet, PersistentState, SignedVote, VoteKind,
};
use bitcraps_game::TableConfig;

use crate::error::{hex, JournalError, Reason};
use crate::records::{DecidedHeight, DecidedRecord, EvidenceRecord, StoredHeight};
use crate::store::{
    self, Key, BLOCKS, DECIDED, EVIDENCE, FORMAT, GUARD, GUARD_KEY, META, META_CONFIG, META_FORMAT,
};

/// A table's journal: its config, every decided height, the consensus signing guard and the
/// evidence found, in one redb file. Every write commits durably (fsync, two-phase) before the
/// method returns.
///
/// One process holds a journal at a time (the file is locked while open).
#[derive(Debug)]
pub struct Journal {
    db: Database,
    path: PathBuf,
    config: TableConfig,
    participants: Arc<ParticipantSet>,
    height: u64,
    next_evidence: u64,
    guard: Option<PersistentState>,
}

impl Journal {
    /// Opens the journal at `path` for the table `config`, creating it if the file does not
    /// exist. An existing journal must be of this config ([`JournalError::ConfigMismatch`]).
    /// A damaged file is an error ([`JournalError::Corrupt`]), never replaced.
    pub fn open(path: impl AsRef<Path>, config: &TableConfig) -> Result<Journal, JournalError> {
        let path = path.as_ref();
        let participants = participants(config)?;
        let db = store::open_file(path, true)?;
        match store::read_format(&db, path)? {
            None => {
                if store::last_key(&db, path, BLOCKS)?.is_some() {
                    return Err(JournalError::NotAJournal {
                        path: path.to_path_buf(),
                        reason: "decided heights without metadata".to_string(),
                    });
                }
                initialise(&db, path, config)?;
            }
            Some(FORMAT) => {
                let stored = read_config(&db, path)?;
                if stored.hash() != config.hash() {
                    return Err(JournalError::ConfigMismatch {
                        expected: hex(&config.hash()),
                        found: hex(&stored.hash()),
                    });
                }
            }
            Some(found) => {
                return Err(JournalError::UnsupportedFormat {
                    found,
                    supported: FORMAT,
                })
            }
        }
        Journal::finish_open(db, path, config.clone(), participants)
    }

    /// Opens an existing journal with the config stored in it.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        let path = path.as_ref();
        let db = store::open_file(path, false)?;
        check_format(&db, path)?;
        let config = read_config(&db, path)?;
        let participants = participants(&config)?;
        Journal::finish_open(db, path, config, participants)
    }

    fn finish_open(
        db: Database,
        path: &Path,
        config: TableConfig,
        participants: Arc<ParticipantSet>,
    ) -> Result<Journal, JournalError> {
        let blocks = store::last_key(&db, path, BLOCKS)?.unwrap_or(0);
        let decided = store::last_key(&db, path, DECIDED)?.unwrap_or(0);
        if blocks != decided {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "last block at height {blocks}, last decision record at height {decided}"
                ),
            });
        }
        let next_evidence =
            store::last_key(&db, path, EVIDENCE)?.map_or(0, |k| k.saturating_add(1));
        let mut journal = Journal {
            db,
            path: path.to_path_buf(),
            config,
            participants,
            height: blocks,
            next_evidence,
            guard: None,
        };
        journal.guard = journal.read_guard()?;
        Ok(journal)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table config.
    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    /// The consensus participants (the config's seats).
    pub fn participants(&self) -> &Arc<ParticipantSet> {
        &self.participants
    }

    /// The last decided height recorded (0: none).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The signing guard last made durable, if any.
    pub fn guard(&self) -> Option<&PersistentState> {
        self.guard.as_ref()
    }

    /// Records a decided height, which must be the next one; returns once it is durable.
    ///
    /// Cheap consistency checks only (the engine verified the certificate before deciding):
    /// the certificate is for this table and height and certifies exactly these bytes.
    pub fn record_decision(&mut self, decided: &DecidedHeight<'_>) -> Result<(), JournalError> {
        self.record_decisions(std::slice::from_ref(decided))
    }

    /// Records consecutive decided heights (e.g. a batch received by catch-up) in one durable
    /// commit: all or none. The first must be the next height.
    pub fn record_decisions(&mut self, decided: &[DecidedHeight<'_>]) -> Result<(), JournalError> {
        let mut sealed = Vec::with_capacity(decided.len());
        let mut expected = self.height.saturating_add(1);
        for d in decided {
            sealed.push(self.seal_decision(d, expected)?);
            expected = expected.saturating_add(1);
        }
        let Some(last) = sealed.last().map(|(h, _, _)| *h) else {
            return Ok(());
        };
        self.write(|txn| {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut records = txn.open_table(DECIDED)?;
            for (height, block, record) in &sealed {
                blocks.insert(*height, block.as_slice())?;
                records.insert(*height, record.as_slice())?;
            }
            Ok(())
        })?;
        self.height = last;
        Ok(())
    }

    /// Checks a decision for height `expected` and seals its two records.
    fn seal_decision(
        &self,
        decided: &DecidedHeight<'_>,
        expected: u64,
    ) -> Result<(u64, Vec<u8>, Vec<u8>), JournalError> {
        let height = decided.certificate.height.0;
        if height != expected {
            return Err(JournalError::OutOfOrder {
                expected,
                got: height,
            });
        }
        if decided.certificate.table != self.config.table_id {
            return Err(JournalError::BadDecision {
                height,
                reason: Reason::CertificateTarget {
                    table: decided.certificate.table.to_string(),
                    height,
                },
            });
        }
        if decided.certificate.value_id != decided.value.id() {
            return Err(JournalError::BadDecision {
                height,
                reason: Reason::NotCertified {
                    block: decided.value.id().to_string(),
                    certified: decided.certificate.value_id.to_string(),
                },
            });
        }
        let block = store::seal_bytes("blocks", Key::Number(height), decided.value.bytes());
        let record = store::seal(
            "decided",
            Key::Number(height),
            &DecidedRecord {
                certificate: decided.certificate.clone(),
                state_hash: decided.state_hash,
                events: decided.events.to_vec(),
            },
        )?;
        Ok((height, block, record))
    }

    /// Makes the consensus engine's persistent state (its signing guard, lock and round)
    /// durable, and returns only once it is: call it with `engine.persistent_state()` before any
    /// message the engine signed leaves the node. Refuses a guard older than the durable one
    /// ([`JournalError::GuardRegression`]); on any error nothing may be sent.
    pub fn record_guard(&mut self, state: &PersistentState) -> Result<(), JournalError> {
        if let Some(old) = &self.guard {
            check_no_regression(old, state)?;
        }
        let record = store::seal("guard", Key::Number(GUARD_KEY), state)?;
        self.write(|txn| {
            txn.open_table(GUARD)?
                .insert(GUARD_KEY, record.as_slice())?;
            Ok(())
        })?;
        self.guard = Some(state.clone());
        Ok(())
    }

    /// Records consensus evidence the node found; returns once it is durable.
    pub fn record_evidence(&mut self, evidence: &Evidence) -> Result<(), JournalError> {
        let seq = self.next_evidence;
        let record = store::seal(
            "evidence",
            Key::Number(seq),
            &EvidenceRecord {
                recorded_at: self.height,
                evidence: evidence.clone(),
            },
        )?;
        self.write(|txn| {
            txn.open_table(EVIDENCE)?.insert(seq, record.as_slice())?;
            Ok(())
        })?;
        self.next_evidence = seq.saturating_add(1);
        Ok(())
    }

    /// Every piece of evidence recorded, in order.
    pub fn evidence(&self) -> Result<Vec<EvidenceRecord>, JournalError> {
        read_evidence(&self.db, &self.path)
    }

    /// The decided height `height`, if recorded.
    pub fn stored_height(&self, height: u64) -> Result<Option<StoredHeight>, JournalError> {
        Ok(read_heights(&self.db, &self.path, height, 1)?.pop())
    }

    /// Up to `max` decisions from height `from` on, for serving catch-up to lagging peers.
    pub fn decisions(&self, from: u64, max: usize) -> Result<Vec<Decision>, JournalError> {
        Ok(read_heights(&self.db, &self.path, from, max)?
            .iter()
            .map(StoredHeight::decision)
            .collect())
    }

    /// The database, for recovery.
    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    fn read_guard(&self) -> Result<Option<PersistentState>, JournalError> {
        let txn = self.db.begin_read().map_err(|e| self.db_error(e))?;
        let table = match txn.open_table(GUARD) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.db_error(e)),
        };
        let Some(stored) = table.get(GUARD_KEY).map_err(|e| self.db_error(e))? else {
            return Ok(None);
        };
        store::open_record("guard", Key::Number(GUARD_KEY), stored.value())
            .map(Some)
            .map_err(|reason| JournalError::Corrupt {
                path: self.path.clone(),
                reason: format!("signing guard record: {reason}"),
            })
    }

    /// One durable write transaction: fsync'd, two-phase, committed before returning.
    fn write(
        &self,
        body: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), JournalError> {
        let mut txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.db_error(e))?;
        txn.set_two_phase_commit(true);
        body(&txn).map_err(|e| self.db_error(e))?;
        txn.commit().map_err(|e| self.db_error(e))
    }

    fn db_error(&self, e: impl Into<redb::Error>) -> JournalError {
        JournalError::from_db(&self.path, e)
    }
}

fn participants(config: &TableConfig) -> Result<Arc<ParticipantSet>, JournalError> {
    config
        .validate()
        .map_err(|e| JournalError::BadConfig(e.to_string()))?;
    ParticipantSet::new(config.seats.iter().map(|s| s.peer))
        .map(Arc::new)
        .map_err(|e| JournalError::BadConfig(e.to_string()))
}

fn initialise(db: &Database, path: &Path, config: &TableConfig) -> Result<(), JournalError> {
    let format = store::seal_bytes("meta", Key::Name(META_FORMAT), &FORMAT.to_be_bytes());
    let config = store::seal("meta", Key::Name(META_CONFIG), config)?;
    let body = || -> Result<(), redb::Error> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.set_two_phase_commit(true);
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(META_FORMAT, format.as_slice())?;
            meta.insert(META_CONFIG, config.as_slice())?;
        }
        // Create every table, so that readers find them.
        txn.open_table(BLOCKS)?;
        txn.open_table(DECIDED)?;
        txn.open_table(GUARD)?;
        txn.open_table(EVIDENCE)?;
        txn.commit()?;
        Ok(())
    };
    body().map_err(|e| JournalError::from_db(path, e))
}

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

/// Refuses a guard that would let the engine sign, for some kind, at an earlier (height, round)
/// than the durable guard already signed.
fn check_no_regression(old: &PersistentState, new: &PersistentState) -> Result<(), JournalError> {
    let proposal_at = |s: &PersistentState| {
        s.guard
            .last_proposal()
            .map(|p| (p.header().height, p.header().round))
    };
    let vote_at = |s: &PersistentState, kind| {
        s.guard
            .last_vote(kind)
            .map(|v: &SignedVote| (v.vote.height, v.vote.round))
    };
    let slots = [
        ("proposal", proposal_at(old), proposal_at(new)),
        (
            "prevote",
            vote_at(old, VoteKind::Prevote),
            vote_at(new, VoteKind::Prevote),
        ),
        (
            "precommit",
            vote_at(old, VoteKind::Precommit),
            vote_at(new, VoteKind::Precommit),
        ),
    ];
    for (kind, old_at, new_at) in slots {
        let Some((old_height, old_round)) = old_at else {
            continue;
        };
        let regressed = match new_at {
            None => true,
            Some(at) => at < (old_height, old_round),
        };
        if regressed {
            let (new_height, new_round) = new_at.unwrap_or_default();
            return Err(JournalError::GuardRegression {
                kind,
                old_height,
                old_round,
                new_height,
                new_round,
            });
        }
    }
    Ok(())
}
