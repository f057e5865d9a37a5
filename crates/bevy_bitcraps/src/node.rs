//! The local consensus node: the engine plus the host duties of `bitcraps_sim`'s reference host
//! (timeouts, value requests, gossip ticks, catch-up from a journal), on Bevy's virtual clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bevy::prelude::Resource;
use bitcraps_consensus::{
    CommitCertificate, Decision, Engine, Evidence, Height, Input, Output, PeerId, PersistentState,
    Round, Timeout, Value, WireMessage,
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
}

/// Called with the engine's persistent state before any message it signed leaves the node
/// (the hook for the journal of a later issue).
pub type PersistHook = Box<dyn FnMut(&PersistentState) + Send + Sync>;

/// The local consensus engine and its host state. Read it for diagnostics; the plugin's
/// systems drive it.
#[derive(Resource)]
pub struct ConsensusNode {
    engine: Engine,
    started: bool,
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
            effects: Effects::default(),
        }
    }

    /// A node whose engine ignores its lock (the simulator's "lock breaker"; Byzantine bots only).
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

    /// The engine (read-only).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Installs the hook called with the persistent state before signed messages are sent.
    pub fn set_persist_hook(&mut self, hook: PersistHook) {
        self.persist = Some(hook);
    }

    /// Decisions this node can serve to lagging peers.
    pub fn journal(&self) -> &BTreeMap<Height, Decision> {
        &self.journal
    }

    /// Timers currently scheduled.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Starts height 1 if not started yet.
    pub(crate) fn ensure_started(&mut self, app: &dyn TableApplication, now: Duration) {
        if !self.started {
            self.started = true;
            self.next_gossip = now + self.gossip_interval;
            self.start_height(Height(1), app, now);
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
        self.handle(Input::StartHeight(height), app, now, None);
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
        if self.persist.is_some() && outputs.iter().any(Output::is_message) {
            let state = self.engine.persistent_state();
            if let Some(hook) = self.persist.as_mut() {
                hook(&state);
            }
        }
        for output in outputs {
            match output {
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
