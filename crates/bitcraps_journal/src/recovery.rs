//! Recovery after a restart (or a crash): rebuild the table state from the journal, restore the
//! signing guard.

use std::sync::Arc;

use bitcraps_consensus::{Engine, EngineConfig, Height, Keypair, PersistentState};
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

    /// The consensus engine of the local player `key`, restored with its durable guard (so that
    /// it never signs a vote or proposal conflicting with one it signed before the restart), or
    /// a fresh one if it never signed. Start it with [`Recovered::next_height`].
    pub fn engine(&self, config: EngineConfig, key: Keypair) -> Result<Engine, JournalError> {
        let participants = bitcraps_consensus::ParticipantSet::new(
            self.state.config().seats.iter().map(|s| s.peer),
        )
        .map(Arc::new)
        .map_err(|e| JournalError::BadConfig(e.to_string()))?;
        Ok(match &self.guard {
            Some(state) => Engine::restore(config, key, participants, state.clone()),
            None => Engine::new(config, key, participants),
        })
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
    /// this table and height with a quorum of seats (with [`ReplayCheck::Full`], also every
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
