//! The local consensus node: the engine plus the host duties of the simulator's reference host
//! (timeouts, value requests, gossip ticks, catch-up from a journal), on Bevy's virtual clock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::Resource;
use bitcraps_consensus::{
    CommitCertificate, Decision, Engine, Evidence, Height, Input, Output, ParticipantSet, PeerId,
    PersistentState, Round, Timeout, Value, WireMessage,
};

use crate::application::{TableApplication, Validity};
use crate::config::BitCrapsConfig;
use crate::envelope::Envelope;
use crate::error::RejectError;
use crate::transport::Destination;

/// A decided value waiting for the apply set.
#[derive(Clone, Debug)]
pub struct PendingDecision {
    /// Height.
    pub height: Height,
    /// Deciding round.
    pub round: Round,
    /// The value.
    pub value: Value,
    /// Its certificate.
    pub certificate: CommitCertificate,
    /// Virtual time from the start of the height to the decision.
    pub latency: Duration,
}

/// What the engine's outputs asked of the rest of the plugin since they were last drained.
#[derive(Default, Debug)]
pub struct Effects {
    /// Envelopes to send.
    pub outbound: Vec<(Destination, Envelope)>,
    /// Proposals and votes this node signed (to spawn their entities).
    pub own: Vec<WireMessage>,
    /// Evidence the engine found.
    pub evidence: Vec<Evidence>,
    /// Inputs the engine refused.
    pub rejections: Vec<RejectError>,
    /// Certified decisions whose value is invalid here: (height, sender).
    pub invalid_decisions: Vec<(Height, PeerId)>,
    /// Steps whose messages were dropped because the persist hook failed.
    pub persist_failures: Vec<PersistFailure>,
}

/// Why a [`PersistHook`] could not make the engine's persistent state durable (any error type
/// of the store behind it, e.g. `bitcraps_journal::JournalError`).
pub type PersistError = Box<dyn std::error::Error + Send + Sync>;

/// Called with the engine's persistent state (its signing guard, lock and round) before any
/// message it signed leaves the node; it must return only once that state is durable.
///
/// Contract: on `Ok` the step's messages are queued for sending; on `Err` every proposal and
/// vote this node signed in that step is dropped (never sent), the failure is logged, counted
/// ([`ConsensusNode::persist_failures`]) and reported as a [`crate::PersistFailed`] message, and
/// the node keeps running: the next step that sends anything calls the hook again with the
/// then-current state, and gossip re-sends the votes that were held back once it succeeds.
///
/// What still leaves after a failure is what the guard does not protect: the node's signed
/// `Status` (its height, which cannot conflict with anything; without it a node whose disk
/// fails could not even catch up) and decisions relayed to lagging peers (others' signatures).
pub type PersistHook = Box<dyn FnMut(&PersistentState) -> Result<(), PersistError> + Send + Sync>;

/// A persist hook failure, as recorded for the plugin to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistFailure {
    /// The height the engine was at.
    pub height: Height,
    /// Its round.
    pub round: Round,
    /// The hook's error, rendered.
    pub error: String,
    /// Proposals and votes of that step that were dropped.
    pub dropped: usize,
}

/// The local consensus engine and its host state. Read it for diagnostics; the plugin's
/// systems drive it.
#[derive(Resource)]
pub struct ConsensusNode {
    engine: Engine,
    started: bool,
    start_at: Height,
    persist_failures: u64,
    timers: Vec<(Duration, Timeout)>,
    value_requests: Vec<(Height, Round, Duration)>,
    next_gossip: Duration,
    journal: BTreeMap<Height, Decision>,
    journal_heights: usize,
    catch_up_batch: usize,
    empty_block_delay: Duration,
    gossip_interval: Duration,
    height_started: Duration,
    decided: VecDeque<PendingDecision>,
    persist: Option<PersistHook>,
    /// Every key of the validator sets the engine knows (this height's and the next): whose
    /// messages the plugin accepts and checks signatures of. Membership of a message's own
    /// height is checked again by the engine.
    directory: Arc<ParticipantSet>,
    /// Effects of the inputs handled so far, drained by the plugin's systems.
    pub effects: Effects,
}

impl std::fmt::Debug for ConsensusNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusNode")
            .field("engine", &self.engine)
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl ConsensusNode {
    /// A node for the configured table (not started: it starts height 1 on its first frame).
    pub fn new(config: &BitCrapsConfig) -> ConsensusNode {
        ConsensusNode {
            engine: Engine::new(
                config.engine_config(),
                config.keypair.clone(),
                config.participants.clone(),
            ),
            started: false,
            start_at: Height(1),
            persist_failures: 0,
            timers: Vec::new(),
            value_requests: Vec::new(),
            next_gossip: Duration::ZERO,
            journal: BTreeMap::new(),
            journal_heights: config.journal_heights.max(1),
            catch_up_batch: config.limits.catch_up_batch.max(1),
            empty_block_delay: config.empty_block_delay,
            gossip_interval: config.gossip_interval,
            height_started: Duration::ZERO,
            decided: VecDeque::new(),
            persist: None,
            directory: config.participants.clone(),
            effects: Effects::default(),
        }
    }

    /// A node whose engine ignores its lock (the simulator's "lock breaker"; Byzantine bots only).
    #[cfg(feature = "cheats")]
    pub(crate) fn with_lock_ignored(config: &BitCrapsConfig) -> ConsensusNode {
        let mut node = ConsensusNode::new(config);
        let mut engine_config = config.engine_config();
        engine_config.faults.ignore_lock = true;
        node.engine = Engine::new(
            engine_config,
            config.keypair.clone(),
            config.participants.clone(),
        );
        node
    }

    /// A node resuming after a restart: `engine` restored with its durable signing guard
    /// (`Engine::restore`), starting `next_height` on its first frame, with `recent` decisions
    /// (e.g. read back from a journal) to serve lagging peers. The plugin builds a fresh node;
    /// replace its [`ConsensusNode`] resource with this one before the App's first update.
    pub fn restored(
        config: &BitCrapsConfig,
        engine: Engine,
        next_height: Height,
        recent: impl IntoIterator<Item = (Height, Decision)>,
    ) -> ConsensusNode {
        let mut node = ConsensusNode::new(config);
        node.engine = engine;
        node.start_at = next_height.max(Height(1));
        node.journal.extend(recent);
        while node.journal.len() > node.journal_heights {
            node.journal.pop_first();
        }
        node
    }

    /// The engine (read-only).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Installs the hook called with the persistent state before signed messages are sent.
    pub fn set_persist_hook(&mut self, hook: PersistHook) {
        self.persist = Some(hook);
    }

    /// Steps whose outbound messages were dropped because the persist hook failed, since start.
    pub fn persist_failures(&self) -> u64 {
        self.persist_failures
    }

    /// Decisions this node can serve to lagging peers.
    pub fn journal(&self) -> &BTreeMap<Height, Decision> {
        &self.journal
    }

    /// Timers currently scheduled.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Starts the first height (1, or the restored node's next height) if not started yet.
    pub(crate) fn ensure_started(&mut self, app: &dyn TableApplication, now: Duration) {
        if !self.started {
            self.started = true;
            self.next_gossip = now + self.gossip_interval;
            self.start_height(self.start_at, app, now);
        }
    }

    /// Starts the height after a decision has been applied.
    pub(crate) fn start_height(
        &mut self,
        height: Height,
        app: &dyn TableApplication,
        now: Duration,
    ) {
        self.timers.retain(|(_, t)| t.height >= height);
        self.value_requests.retain(|(h, _, _)| *h >= height);
        self.height_started = now;
        self.declare_participants(height, app);
        self.handle(Input::StartHeight(height), app, now, None);
    }

    /// Declares the validator sets of `height` and the next one, as the application knows
    /// them, and refreshes the directory of accepted keys.
    fn declare_participants(&mut self, height: Height, app: &dyn TableApplication) {
        for h in [height, height.next()] {
            if let Some(set) = app.participants_at(h) {
                if let Err(e) = self.engine.set_participants(h, set) {
                    // Declared already (the same set) or a started height: nothing to change.
                    log::debug!("validator set of height {h}: {e}");
                }
            }
        }
        let mut keys: BTreeSet<PeerId> = BTreeSet::new();
        for h in [height, height.next()] {
            if let Some(set) = self.engine.participants_at(h) {
                keys.extend(set.ids().iter().copied());
            }
        }
        // Fewer than four keys known (a closed table): keep the previous directory.
        if let Ok(directory) = ParticipantSet::new(keys) {
            self.directory = Arc::new(directory);
        }
    }

    /// Every key this node currently accepts messages from (the validators of this height and
    /// the next).
    pub fn directory(&self) -> &Arc<ParticipantSet> {
        &self.directory
    }

    /// Feeds a decision whose certificate has not been checked here (catch-up): the engine
    /// checks it strictly against the validator set of its own height, now or once that set is
    /// known.
    pub(crate) fn handle_unverified_decision(
        &mut self,
        decision: Decision,
        from: PeerId,
        app: &dyn TableApplication,
        now: Duration,
    ) {
        self.handle(Input::UnverifiedDecision(decision), app, now, Some(from));
    }

    /// Feeds a verified message from `from`.
    pub(crate) fn handle_message(
        &mut self,
        message: bitcraps_consensus::VerifiedMessage,
        from: PeerId,
        app: &dyn TableApplication,
        now: Duration,
    ) {
        self.handle(Input::Message(message), app, now, Some(from));
    }

    /// Fires every timeout due at `now`.
    pub(crate) fn fire_timeouts(&mut self, app: &dyn TableApplication, now: Duration) {
        if !self.timers.iter().any(|(at, _)| *at <= now) {
            return;
        }
        let mut due: Vec<(Duration, Timeout)> = Vec::new();
        self.timers.retain(|entry| {
            if entry.0 <= now {
                due.push(*entry);
                false
            } else {
                true
            }
        });
        due.sort();
        for (_, timeout) in due {
            self.handle(Input::TimeoutElapsed(timeout), app, now, None);
        }
    }

    /// Answers the engine's value requests once the application has something to propose (or
    /// the empty-block delay has passed).
    pub(crate) fn answer_value_requests(&mut self, app: &mut dyn TableApplication, now: Duration) {
        let (height, round) = (self.engine.height(), self.engine.round());
        self.value_requests
            .retain(|(h, r, _)| (*h, *r) >= (height, round));
        let Some(index) = self
            .value_requests
            .iter()
            .position(|(h, r, _)| (*h, *r) == (height, round))
        else {
            return;
        };
        let asked_at = self.value_requests[index].2;
        if !app.has_pending() && now < asked_at + self.empty_block_delay {
            return;
        }
        if let Some(value) = app.propose(height, round) {
            self.value_requests.remove(index);
            self.handle(
                Input::ValueReady {
                    height,
                    round,
                    value,
                },
                app,
                now,
                None,
            );
        }
    }

    /// Runs a gossip tick if one is due.
    pub(crate) fn gossip(&mut self, app: &dyn TableApplication, now: Duration) -> bool {
        if now < self.next_gossip {
            return false;
        }
        self.next_gossip = now + self.gossip_interval;
        self.handle(Input::GossipTick, app, now, None);
        true
    }

    /// The next decided value to apply.
    pub(crate) fn pop_decided(&mut self) -> Option<PendingDecision> {
        self.decided.pop_front()
    }

    fn handle(
        &mut self,
        input: Input,
        app: &dyn TableApplication,
        now: Duration,
        from: Option<PeerId>,
    ) {
        let me = self.engine.peer_id();
        let decision_height = match &input {
            Input::Message(bitcraps_consensus::VerifiedMessage::Decision(d)) => Some(d.height()),
            Input::UnverifiedDecision(d) => Some(d.height()),
            _ => None,
        };
        let outputs = match self.engine.handle(input, &Validity(app)) {
            Ok(outputs) => outputs,
            Err(error) => {
                let peer = from.unwrap_or(me);
                if let (Some(height), bitcraps_consensus::InputError::InvalidDecidedValue { .. }) =
                    (decision_height, &error)
                {
                    self.effects.invalid_decisions.push((height, peer));
                }
                self.effects
                    .rejections
                    .push(RejectError::Refused { peer, error });
                return;
            }
        };
        // The guard must be durable before anything this step signed leaves the node: the
        // envelopes below only reach the transport in the send set, after this returns.
        let mut send = true;
        if outputs.iter().any(Output::is_message) {
            if let Some(hook) = self.persist.as_mut() {
                let state = self.engine.persistent_state();
                if let Err(error) = hook(&state) {
                    send = false;
                    let dropped = outputs.iter().filter(|o| guarded_by_me(o, me)).count();
                    log::error!(
                        "{me}: could not persist the signing guard at {}/{}: {error}; \
                         {dropped} signed proposals and votes dropped",
                        state.height,
                        state.round
                    );
                    self.persist_failures += 1;
                    self.effects.persist_failures.push(PersistFailure {
                        height: state.height,
                        round: state.round,
                        error: error.to_string(),
                        dropped,
                    });
                }
            }
        }
        for output in outputs {
            match output {
                ref o if !send && guarded_by_me(o, me) => {}
                Output::Broadcast(message) => {
                    if message.author() == Some(me)
                        && matches!(message, WireMessage::Proposal(_) | WireMessage::Vote(_))
                    {
                        self.effects.own.push(message.clone());
                    }
                    self.effects
                        .outbound
                        .push((Destination::Broadcast, Envelope::Consensus(message)));
                }
                Output::SendTo { peer, message } => self
                    .effects
                    .outbound
                    .push((Destination::Peer(peer), Envelope::Consensus(message))),
                Output::CatchUp { peer, from } => {
                    for decision in self
                        .journal
                        .range(from..)
                        .take(self.catch_up_batch)
                        .map(|(_, d)| d.clone())
                    {
                        self.effects.outbound.push((
                            Destination::Peer(peer),
                            Envelope::Consensus(WireMessage::Decision(decision)),
                        ));
                    }
                }
                Output::ScheduleTimeout { timeout, after } => {
                    self.timers.push((now.saturating_add(after), timeout));
                }
                Output::RequestValue { height, round } => {
                    self.value_requests.push((height, round, now));
                }
                Output::Decided {
                    height,
                    round,
                    value,
                    certificate,
                } => {
                    self.journal.insert(
                        height,
                        Decision {
                            certificate: certificate.clone(),
                            value: value.clone(),
                        },
                    );
                    while self.journal.len() > self.journal_heights {
                        self.journal.pop_first();
                    }
                    self.decided.push_back(PendingDecision {
                        height,
                        round,
                        value,
                        certificate,
                        latency: now.saturating_sub(self.height_started),
                    });
                }
                Output::Evidence(evidence) => self.effects.evidence.push(evidence),
            }
        }
    }
}

/// Is `output` a proposal or vote signed by `me` (what the signing guard protects)?
fn guarded_by_me(output: &Output, me: PeerId) -> bool {
    match output {
        Output::Broadcast(message) | Output::SendTo { message, .. } => {
            matches!(message, WireMessage::Proposal(_) | WireMessage::Vote(_))
                && message.author() == Some(me)
        }
        _ => false,
    }
}
