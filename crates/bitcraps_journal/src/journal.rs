//! [`Journal`]: one table's crash-safe store, written by the node as the table plays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use redb::{Database, Durability, ReadableDatabase, WriteTransaction};

use bitcraps_consensus::{
    Decision, Evidence, Height, ParticipantSet, PersistentState, Round, SignedVote, VoteKind,
};
use bitcraps_game::TableConfig;

use crate::error::{hex, JournalError, Reason};
use crate::reads::{check_format, read_config, read_evidence, read_heights};
use crate::records::{DecidedHeight, DecidedRecord, EvidenceRecord, StoredHeight};
use crate::stats::WriteStats;
use crate::store::{
    self, Key, BLOCKS, DECIDED, EVIDENCE, FORMAT, GUARD, GUARD_KEY, META, META_CONFIG, META_FORMAT,
    OWN_OPS,
};

/// A table's journal: its config, every decided height, the consensus signing guard, the local
/// player's undecided operations and the evidence found, in one redb file. Every write commits
/// durably (fsync, two-phase) before the method returns, except decided heights under
/// [`DecisionDurability::WithNextGuard`] and [`Journal::forget_own_ops_below`].
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
    decisions: DecisionDurability,
    /// Own operations under nonces below this one are forgotten already.
    pub(crate) own_ops_floor: u64,
    pub(crate) stats: WriteStats,
}

/// When a recorded decision becomes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecisionDurability {
    /// `record_decision` returns once the decision is on disk (its own fsync'd commit).
    #[default]
    Immediate,
    /// `record_decision` commits atomically without waiting for the disk; the decision becomes
    /// durable with the next durable write, which for a node is the signing guard written before
    /// its next vote or proposal leaves. A crash in between loses only that decision, never a
    /// signing guard: recovery ends one height earlier and the node fetches the decision from
    /// its peers (it holds no vote that depends on it). Saves the fsyncs of one commit per
    /// height.
    WithNextGuard,
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
            decisions: DecisionDurability::Immediate,
            own_ops_floor: 0,
            stats: WriteStats::default(),
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

    /// The genesis validator set (the config's seats): the set of heights 1 and 2. Later
    /// heights' sets follow the decided seats ([`crate::Recovered::participant_sets`]).
    pub fn participants(&self) -> &Arc<ParticipantSet> {
        &self.participants
    }

    /// The last decided height recorded (0: none).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Chooses when recorded decisions become durable (default:
    /// [`DecisionDurability::Immediate`]).
    pub fn set_decision_durability(&mut self, durability: DecisionDurability) {
        self.decisions = durability;
    }

    /// What this journal wrote since it was opened, and how long it took.
    pub fn stats(&self) -> WriteStats {
        self.stats
    }

    /// The signing guard last made durable, if any.
    pub fn guard(&self) -> Option<&PersistentState> {
        self.guard.as_ref()
    }

    /// Records a decided height, which must be the next one; returns once it is durable (with
    /// [`DecisionDurability::WithNextGuard`]: once it is committed).
    ///
    /// Cheap consistency checks only (the engine verified the certificate before deciding):
    /// the certificate is for this table and height and certifies exactly these bytes.
    pub fn record_decision(&mut self, decided: &DecidedHeight<'_>) -> Result<(), JournalError> {
        self.record_decisions(std::slice::from_ref(decided))
    }

    /// Records consecutive decided heights (e.g. a batch received by catch-up) in one commit:
    /// all or none. The first must be the next height.
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
        let durable = self.decisions == DecisionDurability::Immediate;
        let started = Instant::now();
        self.commit(durable, |txn| {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut records = txn.open_table(DECIDED)?;
            for (height, block, record) in &sealed {
                blocks.insert(*height, block.as_slice())?;
                records.insert(*height, record.as_slice())?;
            }
            Ok(())
        })?;
        self.stats.decision_time += started.elapsed();
        self.stats.decision_commits += 1;
        self.stats.decided_heights += sealed.len() as u64;
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
        if decided.certificate.table != self.config.consensus_table_id() {
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
    /// ([`JournalError::GuardRegression`]); on any error nothing may be sent. The durable guard
    /// again is not written again (it is on disk already).
    pub fn record_guard(&mut self, state: &PersistentState) -> Result<(), JournalError> {
        if let Some(old) = &self.guard {
            if old == state {
                self.stats.guards_unchanged += 1;
                return Ok(());
            }
            check_no_regression(old, state)?;
        }
        let record = store::seal("guard", Key::Number(GUARD_KEY), state)?;
        let started = Instant::now();
        self.write(|txn| {
            txn.open_table(GUARD)?
                .insert(GUARD_KEY, record.as_slice())?;
            Ok(())
        })?;
        self.stats.guard_time += started.elapsed();
        self.stats.guard_writes += 1;
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
    pub(crate) fn write(
        &self,
        body: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), JournalError> {
        self.commit(true, body)
    }

    /// One write transaction, durable (fsync'd, two-phase) or not (atomic and visible, made
    /// durable by the next durable commit).
    pub(crate) fn commit(
        &self,
        durable: bool,
        body: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), JournalError> {
        let mut txn = self.db.begin_write().map_err(|e| self.db_error(e))?;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        txn.set_durability(durability)
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
        txn.open_table(OWN_OPS)?;
        txn.commit()?;
        Ok(())
    };
    body().map_err(|e| JournalError::from_db(path, e))
}

/// Refuses a guard that would let the engine sign, for some kind, at an earlier (height, round)
/// than the durable guard already signed, or that holds another message than the durable one at
/// the same (height, round): either could make the node sign two conflicting messages.
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
    let same_vote = |kind| old.guard.last_vote(kind) == new.guard.last_vote(kind);
    let slots = [
        (
            "proposal",
            proposal_at(old),
            proposal_at(new),
            old.guard.last_proposal() == new.guard.last_proposal(),
        ),
        (
            "prevote",
            vote_at(old, VoteKind::Prevote),
            vote_at(new, VoteKind::Prevote),
            same_vote(VoteKind::Prevote),
        ),
        (
            "precommit",
            vote_at(old, VoteKind::Precommit),
            vote_at(new, VoteKind::Precommit),
            same_vote(VoteKind::Precommit),
        ),
    ];
    for (kind, old_at, new_at, same) in slots {
        let Some((old_height, old_round)) = old_at else {
            continue;
        };
        let (new_height, new_round) = match new_at {
            None => (Height(0), Round(0)),
            Some(at) if at == (old_height, old_round) && !same => {
                return Err(JournalError::GuardConflict {
                    kind,
                    height: old_height,
                    round: old_round,
                })
            }
            Some(at) if at >= (old_height, old_round) => continue,
            Some(at) => at,
        };
        return Err(JournalError::GuardRegression {
            kind,
            old_height,
            old_round,
            new_height,
            new_round,
        });
    }
    Ok(())
}
