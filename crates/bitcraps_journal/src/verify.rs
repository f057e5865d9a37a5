//! The offline verifier: checks a whole journal with nothing but the table config.

use std::path::Path;
use std::sync::Arc;

use bitcraps_game::{Registry, TableConfig, TableState};

use crate::dice_audit::DiceAudit;
use crate::error::{hex, Failure, JournalError, Reason};
use crate::reads::{check_format, read_config, read_evidence};
use crate::replay::{replay, ReplayCheck};
use crate::report::{ClosingSummary, Report};
use crate::store::{self, BLOCKS};

/// Verifies the journal at `path` against the table `config` (a table without custom
/// operations; see [`verify_journal_with`]).
pub fn verify_journal(
    path: impl AsRef<Path>,
    config: &TableConfig,
) -> Result<Report, JournalError> {
    verify_journal_with(path, config, Arc::new(Registry::new()))
}

/// Verifies the journal at `path` against the table `config` played with the custom operations
/// of `registry`. The file is read into memory and never changed.
///
/// From genesis, every height in order: the record checksums; the commit certificate against
/// the validator set of its height, derived from the decided blocks before it (the genesis seats
/// at heights 1 and 2, then the players seated two heights before: table, height, the recorded
/// block's id, a quorum of distinct validators, every signature strictly); the block under the game's own rules ([`TableState::apply_block`]:
/// every operation's signature and nonce, bets, bonds, dice flow, every payout, penalties,
/// disputes); the recorded state hash and events against the recomputed ones (a changed payout
/// is named); the accounting identity; and, independently, every roll's dice recomputed from
/// the revealed nonces, each reveal checked against its decided commitment. A table that closed
/// ([`bitcraps_game::Event::TableClosed`]) has its close and final balances in the report, and
/// any record after the closing height fails at the height after it.
///
/// `Err` only if the file cannot be read as a journal (missing, damaged, another format). A
/// journal that opens but fails a check gives a [`Report`] whose `failure` names the first
/// failing height and the reason; the report describes the state up to the height before.
pub fn verify_journal_with(
    path: impl AsRef<Path>,
    config: &TableConfig,
    registry: Arc<Registry>,
) -> Result<Report, JournalError> {
    let path = path.as_ref();
    let db = store::open_image(path)?;
    check_format(&db, path)?;
    let recorded_heights = store::last_key(&db, path, BLOCKS)?.unwrap_or(0);
    let evidence = read_evidence(&db, path)?.len();
    let stored = read_config(&db, path)?;
    if stored.hash() != config.hash() {
        let failure = Failure::new(
            0,
            Reason::ConfigMismatch {
                expected: hex(&config.hash()),
                found: hex(&stored.hash()),
            },
        );
        return Ok(match TableState::genesis(config.clone(), registry) {
            Ok(genesis) => Report::new(
                &genesis,
                recorded_heights,
                Vec::new(),
                evidence,
                Some(failure),
            ),
            Err(_) => return Err(JournalError::Check(failure)),
        });
    }
    let mut audit = DiceAudit::new(config.table_id.0);
    let mut closed = None;
    let replayed = replay(&db, path, config, registry, ReplayCheck::Full, |step| {
        audit.step(step.height, step.block, step.events)?;
        if let Some(close) = ClosingSummary::from_events(step.height, step.events) {
            closed = Some(close);
        }
        Ok(())
    })?;
    Ok(Report::new(
        &replayed.state,
        recorded_heights,
        audit.rolls,
        evidence,
        replayed.failure,
    )
    .with_validator_sets(&replayed.validator_sets)
    .with_close(closed))
}

/// The table config stored in the journal at `path` (to show it, or to check it against the
/// config the players agreed on: verifying a journal against its own config proves nothing
/// about which table it is). The file is never changed.
pub fn stored_config(path: impl AsRef<Path>) -> Result<TableConfig, JournalError> {
    let path = path.as_ref();
    let db = store::open_image(path)?;
    check_format(&db, path)?;
    read_config(&db, path)
}
