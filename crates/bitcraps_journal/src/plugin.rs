//! [`JournalPlugin`]: the journal inside a running node of `bevy_bitcraps` (cargo feature
//! `bevy`).
//!
//! ## Dependency direction
//!
//! The plugin lives here, behind a feature, and depends on `bevy_bitcraps` — not the other way
//! round. `bevy_bitcraps` stays storage-agnostic: all it offers is a seam, the fallible
//! [`bevy_bitcraps::PersistHook`] (called with the engine's persistent state before anything it
//! signed leaves; on `Err` the step's proposals and votes are dropped) and
//! [`bevy_bitcraps::ConsensusNode::restored`]. Everything about redb, recovery and checks stays
//! in this crate, and without the feature this crate pulls in no Bevy (the offline verifier and
//! `bitcraps verify` do not need it).
//!
//! ## What it does
//!
//! Add it after [`bevy_bitcraps::BitCrapsPlugin`] and [`bevy_bitcraps::GamePlugin`]. When the
//! App finishes building it
//!
//! 1. resumes from the journal's recovered state (loaded and checked by
//!    [`JournalPlugin::resume`]): the game's [`bevy_bitcraps::GameApp`] over the recovered
//!    state, the [`ConsensusNode`] from the restored engine (`Engine::restore` with the durable
//!    signing guard, so a restarted node never signs a vote conflicting with one it signed
//!    before) starting at the next height, the local game clock at the last block's time, and
//!    the last decisions to serve lagging peers; catch-up from the peers then brings it up to
//!    date;
//! 2. installs the persist hooks: [`Journal::record_guard`], durable before any signed message
//!    leaves; a failed write drops that step's proposals and votes (the plugin reports
//!    [`bevy_bitcraps::PersistFailed`]) and the node goes on (it still follows and catches up);
//!    and [`Journal::record_own_op`] for the local player's operations (a failed write holds the
//!    operation back and signs it again next frame);
//! 3. records every decided height (value, certificate, state hash, events) and every piece of
//!    consensus evidence, in the send set of the frame that applied it; a failed write is
//!    reported ([`JournalWriteFailed`], [`JournalStatus`]) and retried next frame, in order.
//!
//! Catch-up: the plugin's [`ConsensusNode`] serves lagging peers from the decisions it keeps in
//! memory (the last [`bevy_bitcraps::BitCrapsConfig::journal_heights`]); a resumed node is
//! seeded with that many from the journal. Older heights are served by peers that have them.
//!
//! A journal that fails its checks never starts a node: [`JournalPlugin::resume`] returns the
//! error (naming the file and the height), and the file is left as it is. If the App does not
//! match the journal (another table, no game), the plugin logs it, records it in
//! [`JournalStatus::fatal`] and installs a hook that refuses every write, so the node follows
//! the table but never signs anything.
//!
//! The local player's own operations (bets, dice commitments and reveals, disputes) are
//! journaled too: the game's [`bevy_bitcraps::OpPersistHook`] records each one durably as it is
//! signed, before it can be broadcast or carried by a block this node proposes, and a resumed
//! node sends the undecided ones again ([`GameApp::resume_signed`]) instead of signing something
//! else under their nonces (which the table would punish as double-signing).
//!
//! Durability: the guard and own operations are fsync'd before they leave; decisions are
//! committed without their own fsync ([`crate::DecisionDurability::WithNextGuard`]) and become
//! durable with the next guard or operation written, which the node writes before anything
//! that depends on them leaves. A crash in between loses at most the last decisions, which the
//! node fetches again from its peers (its engine keeps the lock of the height it had reached:
//! `Engine::restore`).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{
    CommitCertificate, Decision, Height, PersistentState, Round, Value,
};
use bevy_bitcraps::bitcraps_game::{Event, OpKind, Registry, SignedOp};
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsSystems, ConsensusNode, GameApp, GameEvent, GamePlugin, GenesisTime,
    HeightDecided, MisbehaviourDetected, PersistError, TableApp, TableApplication, TableView,
};

use crate::journal::{DecisionDurability, Journal};
use crate::paths::DataDir;
pub use crate::plugin_error::JournalPluginError;
use crate::records::DecidedHeight;
use crate::recovery::Recovered;
use crate::replay::ReplayCheck;
use crate::stats::WriteStats;

/// Decided heights waiting to be written at most (after repeated write failures); beyond it the
/// journal can no longer be completed and the plugin reports it as fatal.
pub const MAX_PENDING_WRITES: usize = 4_096;

/// The journal a running node writes, shared by its persist hook and its systems.
#[derive(Resource, Clone, Debug)]
pub struct JournalHandle {
    journal: Arc<Mutex<Journal>>,
    path: PathBuf,
}

impl JournalHandle {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal, locked (for reading it while the node runs).
    pub fn lock(&self) -> Result<MutexGuard<'_, Journal>, JournalPluginError> {
        self.journal
            .lock()
            .map_err(|_| JournalPluginError::Poisoned(self.path.clone()))
    }
}

/// The journal's state, for a game to show.
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStatus {
    /// The file.
    pub path: PathBuf,
    /// The height the node resumed from (0: a new table).
    pub recovered_height: u64,
    /// The last decided height recorded.
    pub recorded_height: u64,
    /// Decided heights applied but not recorded yet (write failures, retried).
    pub pending: usize,
    /// Failed writes of decisions and evidence since start (guard failures are counted by
    /// [`ConsensusNode::persist_failures`]).
    pub write_failures: u64,
    /// The last write error.
    pub last_error: Option<String>,
    /// Set when the journal cannot be written any more (or was never attached): the node
    /// follows the table without signing.
    pub fatal: Option<String>,
    /// The journal's writes since start, and their time (updated with each recorded height).
    pub writes: WriteStats,
}

/// A decision or piece of evidence could not be written (see [`JournalStatus`]).
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct JournalWriteFailed {
    /// The decided height concerned.
    pub height: u64,
    /// The error, naming the file.
    pub error: String,
}

/// A durable write the plugin made so that something signed may leave the node; reported to the
/// [`JournalPlugin::on_durable`] observer once it is on disk, before what it protects is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableWrite {
    /// The consensus signing guard at this height and round: the step's proposals and votes
    /// are queued for sending next.
    Guard {
        /// The engine's height.
        height: Height,
        /// Its round.
        round: Round,
    },
    /// One of the local player's operations, under this nonce: it is broadcast next.
    OwnOp {
        /// Its nonce.
        nonce: u64,
        /// What it is.
        kind: OpKind,
    },
}

/// Called after each [`DurableWrite`].
type DurableObserver = Arc<dyn Fn(DurableWrite) + Send + Sync>;

/// Journals the local node (see the module documentation).
pub struct JournalPlugin {
    resume: Mutex<Option<(Journal, Recovered)>>,
    path: PathBuf,
    recovered_height: u64,
    observer: Option<DurableObserver>,
}

impl std::fmt::Debug for JournalPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalPlugin")
            .field("path", &self.path)
            .field("recovered_height", &self.recovered_height)
            .finish_non_exhaustive()
    }
}

impl JournalPlugin {
    /// Loads and checks `journal` (a table without custom operations): see
    /// [`JournalPlugin::resume_with`].
    pub fn resume(journal: Journal) -> Result<JournalPlugin, JournalPluginError> {
        JournalPlugin::resume_with(journal, Arc::new(Registry::new()))
    }

    /// Loads `journal` with the table's custom operations `registry` (replaying every decided
    /// height with the game's rules and checking every record, state hash and certificate
    /// quorum) and prepares the node to resume from it. A journal that fails a check is an
    /// error naming the file and height, and is left as it is.
    pub fn resume_with(
        journal: Journal,
        registry: Arc<Registry>,
    ) -> Result<JournalPlugin, JournalPluginError> {
        let recovered = journal.load_with(registry, ReplayCheck::OwnJournal)?;
        Ok(JournalPlugin {
            path: journal.path().to_path_buf(),
            recovered_height: recovered.height,
            resume: Mutex::new(Some((journal, recovered))),
            observer: None,
        })
    }

    /// Opens (creating it on a new table) the journal of the table that `game` plays under
    /// `config` in `data_dir`, and loads it ([`JournalPlugin::resume`]).
    pub fn open(
        data_dir: &DataDir,
        config: &BitCrapsConfig,
        game: &GamePlugin,
    ) -> Result<JournalPlugin, JournalPluginError> {
        data_dir
            .create()
            .map_err(|source| JournalPluginError::DataDir {
                path: data_dir.root().to_path_buf(),
                source,
            })?;
        let registry = Arc::new(Registry::new());
        let genesis = game.genesis(config, registry.clone())?;
        let journal = Journal::open(data_dir.journal_path(&config.table), genesis.config())?;
        JournalPlugin::resume_with(journal, registry)
    }

    /// Calls `observer` after every durable write of the signing guard or of an own operation,
    /// once it is on disk and before the messages it protects leave the node: for metrics, or
    /// to crash the process exactly between signing and sending in tests (the `bitcraps`
    /// binary's debug builds do, with `BITCRAPS_CRASH_AFTER`).
    pub fn on_durable(mut self, observer: impl Fn(DurableWrite) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last decided height recovered (0: a new table).
    pub fn recovered_height(&self) -> u64 {
        self.recovered_height
    }
}

impl Plugin for JournalPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(JournalStatus {
            path: self.path.clone(),
            recovered_height: self.recovered_height,
            recorded_height: self.recovered_height,
            ..default()
        })
        .init_resource::<PendingWrites>()
        .add_message::<JournalWriteFailed>()
        .add_systems(Update, record.in_set(BitCrapsSystems::Send));
    }

    fn finish(&self, app: &mut App) {
        let taken = match self.resume.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        let Some((journal, recovered)) = taken else {
            detach(app, &self.path, "the plugin was finished twice".to_owned());
            return;
        };
        if let Err(error) = attach(app, journal, &recovered, self.observer.clone()) {
            detach(app, &self.path, error.to_string());
        }
    }
}

/// Resumes the App from `recovered` and wires `journal` in.
fn attach(
    app: &mut App,
    journal: Journal,
    recovered: &Recovered,
    observer: Option<DurableObserver>,
) -> Result<(), JournalPluginError> {
    let path = journal.path().to_path_buf();
    let config = app
        .world()
        .get_resource::<BitCrapsConfig>()
        .cloned()
        .ok_or_else(|| JournalPluginError::NoGame(path.clone()))?;
    let genesis_config = app
        .world()
        .get_resource::<TableApp>()
        .and_then(|t| t.get::<GameApp>())
        .map(|g| g.state().config().clone())
        .ok_or_else(|| JournalPluginError::NoGame(path.clone()))?;
    let journal_hash = journal.config().hash();
    if genesis_config.hash() != journal_hash {
        return Err(JournalPluginError::WrongTable {
            path,
            journal: crate::error::hex(&journal_hash),
            app: crate::error::hex(&genesis_config.hash()),
        });
    }
    let engine = recovered.engine(config.engine_config(), config.keypair.clone())?;
    let keep = config.journal_heights.max(1);
    let from = recovered.height.saturating_sub(keep as u64 - 1).max(1);
    let recent: Vec<(Height, Decision)> = journal
        .decisions(from, keep)?
        .into_iter()
        .map(|d| (d.certificate.height, d))
        .collect();
    let mut node = ConsensusNode::restored(&config, engine, recovered.next_height(), recent);

    let mut journal = journal;
    journal.set_decision_durability(DecisionDurability::WithNextGuard);
    let handle = JournalHandle {
        journal: Arc::new(Mutex::new(journal)),
        path,
    };
    let mut game = GameApp::new(recovered.state.clone(), config.keypair.clone());
    game.set_op_persist_hook(own_op_hook(handle.clone(), observer.clone()));
    game.resume_signed(recovered.own_ops.iter().cloned());
    if game.pending_local() > 0 {
        log::info!(
            "sending again {} operations signed before the restart",
            game.pending_local()
        );
    }
    let view = TableView {
        height: Height(recovered.height),
        state_hash: game.state_hash(),
        snapshot: game.snapshot(),
    };
    node.set_persist_hook(guard_hook(handle.clone(), observer));
    if recovered.height > 0 {
        log::info!(
            "resuming table from {} at height {} ({} pieces of evidence on record)",
            handle.path.display(),
            recovered.height,
            recovered.evidence.len()
        );
    }
    app.insert_resource(node)
        .insert_resource(TableApp::new(game))
        .insert_resource(view)
        .insert_resource(GenesisTime(recovered.state.timestamp_ms()))
        .insert_resource(handle);
    Ok(())
}

/// The persist hook: the guard is durable when it returns `Ok`.
fn guard_hook(
    handle: JournalHandle,
    observer: Option<DurableObserver>,
) -> bevy_bitcraps::PersistHook {
    Box::new(move |state: &PersistentState| -> Result<(), PersistError> {
        let done = DurableWrite::Guard {
            height: state.height,
            round: state.round,
        };
        durably(&handle, observer.as_ref(), done, |journal| {
            journal
                .record_guard(state)
                .map_err(|source| JournalPluginError::Guard {
                    path: handle.path.clone(),
                    height: state.height,
                    round: state.round,
                    source,
                })
        })
    })
}

/// The own-operation hook: the operation is durable when it returns `Ok`.
fn own_op_hook(
    handle: JournalHandle,
    observer: Option<DurableObserver>,
) -> bevy_bitcraps::OpPersistHook {
    Box::new(move |op: &SignedOp| -> Result<(), PersistError> {
        let done = DurableWrite::OwnOp {
            nonce: op.nonce,
            kind: op.op.kind(),
        };
        durably(&handle, observer.as_ref(), done, |journal| {
            journal
                .record_own_op(op)
                .map_err(|source| JournalPluginError::OwnOp {
                    path: handle.path.clone(),
                    nonce: op.nonce,
                    source,
                })
        })
    })
}

/// Runs one durable `write` on the journal, then (the journal unlocked) tells the observer.
fn durably(
    handle: &JournalHandle,
    observer: Option<&DurableObserver>,
    done: DurableWrite,
    write: impl FnOnce(&mut Journal) -> Result<(), JournalPluginError>,
) -> Result<(), PersistError> {
    {
        let mut journal = handle.lock()?;
        write(&mut journal)?;
    }
    if let Some(observe) = observer {
        observe(done);
    }
    Ok(())
}

/// The journal could not be attached: report it, and make the node refuse to sign (it never
/// sends a signed message without a durable guard, and this one cannot be written).
fn detach(app: &mut App, path: &Path, reason: String) {
    let error = JournalPluginError::Detached {
        path: path.to_path_buf(),
        reason,
    };
    log::error!("{error}");
    let message = error.to_string();
    if let Some(mut status) = app.world_mut().get_resource_mut::<JournalStatus>() {
        status.fatal = Some(message.clone());
    }
    if let Some(mut node) = app.world_mut().get_resource_mut::<ConsensusNode>() {
        node.set_persist_hook(Box::new(
            move |_: &PersistentState| -> Result<(), PersistError> { Err(message.clone().into()) },
        ));
    }
}

/// A decided height applied but not yet recorded.
#[derive(Debug)]
struct Pending {
    value: Value,
    certificate: CommitCertificate,
    state_hash: [u8; 32],
    events: Vec<Event>,
}

/// Decided heights waiting to be written, in order.
#[derive(Resource, Default, Debug)]
struct PendingWrites(VecDeque<Pending>);

/// Records the heights decided and applied this frame, with their events, and the evidence.
#[allow(clippy::too_many_arguments)]
fn record(
    handle: Option<Res<JournalHandle>>,
    table: Option<Res<TableApp>>,
    mut status: ResMut<JournalStatus>,
    mut pending: ResMut<PendingWrites>,
    mut decided: MessageReader<HeightDecided>,
    mut events: MessageReader<GameEvent>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut failed: MessageWriter<JournalWriteFailed>,
) {
    let Some(handle) = handle else {
        decided.clear();
        events.clear();
        misbehaviour.clear();
        return;
    };
    let mut by_height: BTreeMap<u64, Vec<Event>> = BTreeMap::new();
    for e in events.read() {
        by_height.entry(e.height).or_default().push(e.event.clone());
    }
    for d in decided.read() {
        pending.0.push_back(Pending {
            value: d.value.clone(),
            certificate: d.certificate.clone(),
            state_hash: d.state_hash,
            events: by_height.remove(&d.height.0).unwrap_or_default(),
        });
    }
    let evidence: Vec<_> = misbehaviour
        .read()
        .filter_map(|m| m.evidence().cloned())
        .collect();
    if pending.0.is_empty() && evidence.is_empty() {
        return;
    }
    let status = &mut *status;
    let mut fail = |status: &mut JournalStatus, height: u64, error: JournalPluginError| {
        log::error!("{error}");
        status.write_failures += 1;
        status.last_error = Some(error.to_string());
        failed.write(JournalWriteFailed {
            height,
            error: error.to_string(),
        });
    };
    let mut journal = match handle.lock() {
        Ok(journal) => journal,
        Err(error) => {
            let height = pending.0.front().map_or(0, |p| p.certificate.height.0);
            status.fatal = Some(error.to_string());
            fail(status, height, error);
            return;
        }
    };
    while let Some(next) = pending.0.front() {
        let height = next.certificate.height.0;
        if height <= journal.height() {
            // Already recorded (the same height decided again through catch-up).
            pending.0.pop_front();
            continue;
        }
        let result = journal.record_decision(&DecidedHeight {
            value: &next.value,
            certificate: &next.certificate,
            state_hash: next.state_hash,
            events: &next.events,
        });
        match result {
            Ok(()) => {
                pending.0.pop_front();
            }
            Err(source) => {
                let error = JournalPluginError::Decision {
                    path: handle.path.clone(),
                    height,
                    source,
                };
                fail(status, height, error);
                break;
            }
        }
    }
    if let Some(game) = table.as_ref().and_then(|t| t.get::<GameApp>()) {
        let next = game.state().next_nonce(&game.peer());
        if let Err(source) = journal.forget_own_ops_below(next) {
            // Harmless: recovery skips spent nonces. Logged for the operator.
            log::warn!("journal {}: {source}", handle.path.display());
        }
    }
    for e in evidence {
        if let Err(source) = journal.record_evidence(&e) {
            let error = JournalPluginError::Evidence {
                path: handle.path.clone(),
                height: e.height(),
                source,
            };
            fail(status, journal.height(), error);
        }
    }
    if pending.0.len() > MAX_PENDING_WRITES && status.fatal.is_none() {
        status.fatal = Some(format!(
            "journal {}: {} decided heights could not be written",
            handle.path.display(),
            pending.0.len()
        ));
    }
    status.recorded_height = journal.height();
    status.pending = pending.0.len();
    status.writes = journal.stats();
}
