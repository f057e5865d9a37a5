//! Re-applying a journal's decided heights from genesis, checking every one: the record
//! checksums, the certificate against the validator set of its own height, the block under the
//! game's own rules (operation signatures, nonces, dice, payouts), the recorded state hash and
//! events, and the accounting identity; and that nothing follows the height that closed the
//! table. Shared by recovery ([`crate::Journal::load`]) and the verifier
//! ([`crate::verify_journal`]).
//!
//! # Whose certificate
//!
//! The validator set of height `h` is the set of players seated in the decided state after
//! `h - 2` (`bitcraps_game::membership`): the state after `h - 1` names it
//! ([`TableState::validators_next`]). The replay therefore derives every height's set from the
//! blocks it has checked before, from the genesis seats on, and each change of the set is
//! proven by the certified block that made it. A certificate signed by any other set (the
//! genesis seats after a change, say) is refused at its height.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

use bitcraps_consensus::{CommitCertificate, ParticipantSet, PeerId, Value};
use bitcraps_game::{Block, Event, OpSignatures, Registry, TableConfig, TableState};

use crate::error::{hex, Failure, JournalError, Reason};
use crate::records::DecidedRecord;
use crate::store::{self, Key, BLOCKS, DECIDED};

/// How thoroughly a replay checks signatures (everything else is always checked: record
/// checksums, certificate structure, the game's rules, nonces, dice, payouts, state hashes,
/// events and the accounting identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayCheck {
    /// Every operation signature and every precommit signature, strictly, against the
    /// validator set of the certificate's height ([`CommitCertificate::verify`]). What the verifier does: it trusts nothing but the table
    /// config.
    #[default]
    Full,
    /// Table, height and value id bind the certificate to the recorded block, and it lists
    /// more than two thirds of the validator set of its height, each once; neither the precommit signatures nor the
    /// operation signatures are checked again ([`OpSignatures::AlreadyChecked`]). For
    /// recovering the node's own journal: the engine verified the certificate and the game every
    /// operation before the node recorded the height, and every record is checksummed, so a
    /// damaged record is still refused. A journal from elsewhere is checked with
    /// [`ReplayCheck::Full`] (`bitcraps verify`).
    OwnJournal,
}

impl ReplayCheck {
    fn op_signatures(self) -> OpSignatures {
        match self {
            ReplayCheck::Full => OpSignatures::Check,
            ReplayCheck::OwnJournal => OpSignatures::AlreadyChecked,
        }
    }
}

/// One height, replayed and checked.
pub(crate) struct Step<'a> {
    /// The height.
    pub(crate) height: u64,
    /// The decided block.
    pub(crate) block: &'a Block,
    /// What it did (recomputed, and equal to the recorded events).
    pub(crate) events: &'a [Event],
}

/// How a replay ended.
pub(crate) struct Replayed {
    /// The last state that passed every check.
    pub(crate) state: TableState,
    /// Every validator set the checked certificates were held to: the first height it signed
    /// and its keys in canonical order (the genesis seats from height 1, then each change).
    pub(crate) validator_sets: Vec<(u64, Vec<PeerId>)>,
    /// The first failure, if any (the replay stops there).
    pub(crate) failure: Option<Failure>,
}

/// The validator set of the height being replayed, rebuilt only when the seats change.
struct Validators {
    set: Option<ParticipantSet>,
    history: Vec<(u64, Vec<PeerId>)>,
}

impl Validators {
    /// The set of `height` as the state after `height - 1` (`parent`) names it.
    fn of(&mut self, parent: &TableState, height: u64) -> Result<&ParticipantSet, Reason> {
        let keys = parent
            .validators_of(height)
            .ok_or(Reason::Validators(format!(
                "the state after height {} does not name the set of height {height}",
                parent.height()
            )))?;
        let current = match self.set.take() {
            Some(set) if set.ids() == keys => set,
            _ => {
                let set = ParticipantSet::new(keys.iter().copied())
                    .map_err(|e| Reason::Validators(e.to_string()))?;
                self.history.push((height, keys.to_vec()));
                set
            }
        };
        Ok(self.set.insert(current))
    }
}

/// Replays the journal in `db` from the genesis of `config` (whose hash the caller checked
/// against the journal's). `visit` may add checks of its own; its error is the height's failure.
pub(crate) fn replay(
    db: &Database,
    path: &Path,
    config: &TableConfig,
    registry: Arc<Registry>,
    check: ReplayCheck,
    mut visit: impl FnMut(&Step<'_>) -> Result<(), Reason>,
) -> Result<Replayed, JournalError> {
    let genesis = match TableState::genesis(config.clone(), registry) {
        Ok(state) => state,
        Err(e) => {
            return Err(JournalError::Check(Failure::new(
                0,
                Reason::Genesis(e.to_string()),
            )))
        }
    };
    let mut validators = Validators {
        set: None,
        history: Vec::new(),
    };
    let db_error = |e: redb::Error| JournalError::from_db(path, e);
    let txn = db.begin_read().map_err(|e| db_error(e.into()))?;
    let blocks = txn.open_table(BLOCKS).map_err(|e| db_error(e.into()))?;
    let decided = txn.open_table(DECIDED).map_err(|e| db_error(e.into()))?;
    let last = [&blocks, &decided]
        .into_iter()
        .map(|t| t.last().map(|e| e.map_or(0, |(k, _)| k.value())))
        .collect::<Result<Vec<u64>, _>>()
        .map_err(|e| db_error(e.into()))?
        .into_iter()
        .max()
        .unwrap_or(0);
    let mut state = genesis;
    for height in 1..=last {
        let block = blocks.get(height).map_err(|e| db_error(e.into()))?;
        let record = decided.get(height).map_err(|e| db_error(e.into()))?;
        // Something is recorded at this height or after it (`last`), so after a close this
        // height is already one too many.
        let checked = match (block, record, state.closed_at()) {
            (_, _, Some(closed_at)) => Err(Reason::AfterClose { closed_at }),
            (None, _, None) => Err(Reason::Missing("block")),
            (_, None, None) => Err(Reason::Missing("decision record")),
            (Some(block), Some(record), None) => validators.of(&state, height).and_then(|set| {
                check_height(
                    &state,
                    height,
                    block.value(),
                    record.value(),
                    config,
                    set,
                    check,
                    &mut visit,
                )
            }),
        };
        match checked {
            Ok(next) => state = next,
            Err(reason) => {
                return Ok(Replayed {
                    state,
                    validator_sets: validators.history,
                    failure: Some(Failure::new(height, reason)),
                })
            }
        }
    }
    Ok(Replayed {
        state,
        validator_sets: validators.history,
        failure: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn check_height(
    parent: &TableState,
    height: u64,
    stored_block: &[u8],
    stored_record: &[u8],
    config: &TableConfig,
    participants: &ParticipantSet,
    check: ReplayCheck,
    visit: &mut impl FnMut(&Step<'_>) -> Result<(), Reason>,
) -> Result<TableState, Reason> {
    let bytes =
        store::open_bytes("blocks", Key::Number(height), stored_block).map_err(|detail| {
            Reason::Corrupt {
                what: "block record",
                detail,
            }
        })?;
    let record: DecidedRecord = store::open_record("decided", Key::Number(height), stored_record)
        .map_err(|detail| Reason::Corrupt {
        what: "decision record",
        detail,
    })?;
    let value = Value::new(bytes.to_vec());
    check_certificate(
        &record.certificate,
        &value,
        height,
        config,
        participants,
        check,
    )?;
    let block = Block::from_value(&value)?;
    let (state, events) = parent.apply_block_with(&block, check.op_signatures())?;
    if state.hash() != record.state_hash {
        return Err(Reason::StateHash {
            recorded: hex(&record.state_hash),
            recomputed: hex(&state.hash()),
        });
    }
    compare_events(&record.events, &events)?;
    state.check_accounting()?;
    visit(&Step {
        height,
        block: &block,
        events: &events,
    })?;
    Ok(state)
}

/// Checks that `certificate` certifies `value` at `height` of this table with a quorum of
/// `participants`, the validator set of `height` (and, with [`ReplayCheck::Full`], that every
/// signature verifies).
pub(crate) fn check_certificate(
    certificate: &CommitCertificate,
    value: &Value,
    height: u64,
    config: &TableConfig,
    participants: &ParticipantSet,
    check: ReplayCheck,
) -> Result<(), Reason> {
    if certificate.table != config.consensus_table_id() || certificate.height.0 != height {
        return Err(Reason::CertificateTarget {
            table: certificate.table.to_string(),
            height: certificate.height.0,
        });
    }
    if certificate.value_id != value.id() {
        return Err(Reason::NotCertified {
            block: value.id().to_string(),
            certified: certificate.value_id.to_string(),
        });
    }
    match check {
        ReplayCheck::Full => certificate.verify(&config.consensus_table_id(), participants)?,
        ReplayCheck::OwnJournal => {
            let mut seen = BTreeSet::new();
            for signer in certificate.signers() {
                if !participants.contains(&signer) {
                    return Err(bitcraps_consensus::VerifyError::UnknownSigner(signer).into());
                }
                if !seen.insert(signer) {
                    return Err(bitcraps_consensus::VerifyError::DuplicateSigner(signer).into());
                }
            }
            if !participants.is_quorum(seen.len()) {
                return Err(bitcraps_consensus::VerifyError::NoQuorum {
                    height: certificate.height,
                    got: seen.len(),
                    needed: participants.quorum(),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The recorded events must be exactly the recomputed ones; a differing payout is named.
fn compare_events(recorded: &[Event], recomputed: &[Event]) -> Result<(), Reason> {
    if recorded == recomputed {
        return Ok(());
    }
    let index = recorded
        .iter()
        .zip(recomputed)
        .position(|(a, b)| a != b)
        .unwrap_or(recorded.len().min(recomputed.len()));
    if let (
        Some(Event::BetResolved {
            id, paid: recorded, ..
        }),
        Some(Event::BetResolved {
            id: id2,
            paid: recomputed,
            ..
        }),
    ) = (recorded.get(index), recomputed.get(index))
    {
        if id == id2 && recorded != recomputed {
            return Err(Reason::Payout {
                bet: id.0,
                recorded: *recorded,
                recomputed: *recomputed,
            });
        }
    }
    Err(Reason::Events { index })
}
