//! Recovery after a restart (or a crash): rebuild the table state from the journal, restore the
//! signing guard, and name the validator sets the restored engine needs.
//!
//! The validator set of a height follows the decided seats (`bitcraps_game::membership`): the
//! state after height `h` names the sets of `h + 1` and `h + 2`. A restored engine starts at
//! [`Recovered::next_height`] and must know both before it can check its peers' messages (those
//! a height ahead included); [`Recovered::participant_sets`] gives them and
//! [`Recovered::engine`] declares them. From then on the host declares `h + 2` after applying
//! each decided height `h`, as it does for a node that never restarted.

use std::sync::Arc;

use bitcraps_consensus::{Engine, EngineConfig, Height, Keypair, ParticipantSet, PersistentState};
use bitcraps_game::{Chain, Registry, TableState};

use crate::error::JournalError;
use crate::journal::Journal;
use crate::reads::read_evidence;
use crate::records::EvidenceRecord;
use crate::replay::{replay, ReplayCheck};

/// What a node resumes from.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The table state after the last decided height (genesis if none).
    pub state: TableState,
    /// The last decided height recorded (0: none).
    pub height: u64,
    /// The engine's persistent state last made durable (its signing guard), if it ever signed.
    pub guard: Option<PersistentState>,
    /// The evidence recorded.
    pub evidence: Vec<EvidenceRecord>,
    /// The local player's signed operations recorded and not known to be decided (hand them
    /// back to the game, which skips those the state already spent).
    pub own_ops: Vec<bitcraps_game::SignedOp>,
}

impl Recovered {
    /// The height the engine starts next: [`bitcraps_consensus::Input::StartHeight`] with it.
    pub fn next_height(&self) -> Height {
        Height(self.height.saturating_add(1))
    }

    /// A chain over the recovered state, for the game application.
    pub fn chain(&self) -> Chain {
        Chain::new(self.state.clone())
    }

    /// The validator sets of the next two heights, [`Recovered::next_height`] and the one after,
    /// as the recovered state names them (the players seated after the heights two before them;
    /// the genesis seats for heights 1 and 2): what a restored engine declares with
    /// [`Engine::set_participants`] before it starts.
    ///
    /// [`JournalError::TableClosed`] if the table closed (no height follows);
    /// [`JournalError::Validators`] if a set is not valid.
    pub fn participant_sets(&self) -> Result<[(Height, Arc<ParticipantSet>); 2], JournalError> {
        if let Some(closed_at) = self.state.closed_at() {
            return Err(JournalError::TableClosed { closed_at });
        }
        let next = self.next_height();
        let set = |height: Height| -> Result<(Height, Arc<ParticipantSet>), JournalError> {
            let invalid = |reason: String| JournalError::Validators {
                height: height.0,
                reason,
            };
            match self.state.validator_set(height.0) {
                Some(Ok(set)) => Ok((height, Arc::new(set))),
                Some(Err(e)) => Err(invalid(e.to_string())),
                None => Err(invalid(format!(
                    "the state after height {} does not name it",
                    self.state.height()
                ))),
            }
        };
        Ok([set(next)?, set(next.next())?])
    }

    /// The consensus engine of the local player `key`, restored with its durable guard (so that
    /// it never signs a vote or proposal conflicting with one it signed before the restart), or
    /// a fresh one if it never signed, with the validator sets of [`Recovered::next_height`] and
    /// the height after it declared ([`Recovered::participant_sets`]). Start it with
    /// [`Recovered::next_height`]; after applying each decided height `h`, declare the set of
    /// `h + 2` (`TableState::validator_set`).
    pub fn engine(&self, config: EngineConfig, key: Keypair) -> Result<Engine, JournalError> {
        let [(next, set), (after, after_set)] = self.participant_sets()?;
        let mut engine = match &self.guard {
            Some(state) => Engine::restore(config, key, set.clone(), state.clone()),
            None => Engine::new(config, key, set.clone()),
        };
        for (height, set) in [(next, set), (after, after_set)] {
            engine
                .set_participants(height, set)
                .map_err(|e| JournalError::Validators {
                    height: height.0,
                    reason: e.to_string(),
                })?;
        }
        Ok(engine)
    }
}

impl Journal {
    /// Recovers the table from the journal with no custom operations: see
    /// [`Journal::load_with`].
    pub fn load(&self) -> Result<Recovered, JournalError> {
        self.load_with(Arc::new(Registry::new()), ReplayCheck::OwnJournal)
    }

    /// Recovers the table: re-applies every decided height from genesis with the game's rules
    /// (nonces, dice, payouts; with [`ReplayCheck::Full`] also the operation signatures),
    /// checking each record's checksum, that each certificate certifies the recorded block for
    /// this table and height with a quorum of the validator set of that height, derived from the
    /// blocks before it (with [`ReplayCheck::Full`], also every
    /// precommit signature), that each recomputed state hash and the events equal the recorded
    /// ones and the accounting identity; returns the state, the durable signing guard and the
    /// evidence. A node recovering its own journal uses [`ReplayCheck::OwnJournal`] (what
    /// [`Journal::load`] does).
    ///
    /// A journal that fails a check is reported as [`JournalError::Check`] with the height and
    /// reason, and left as it is.
    pub fn load_with(
        &self,
        registry: Arc<Registry>,
        check: ReplayCheck,
    ) -> Result<Recovered, JournalError> {
        let replayed = replay(
            self.db(),
            self.path(),
            self.config(),
            registry,
            check,
            |_| Ok(()),
        )?;
        if let Some(failure) = replayed.failure {
            return Err(JournalError::Check(failure));
        }
        Ok(Recovered {
            height: replayed.state.height(),
            state: replayed.state,
            guard: self.guard().cloned(),
            evidence: read_evidence(self.db(), self.path())?,
            own_ops: self.own_ops()?,
        })
    }
}
