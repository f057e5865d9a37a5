//! One deterministic run: a seeded ChaCha RNG, a priority queue of events on a simulated clock,
//! the engines of every instance, and the checker after every step.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

use bitcraps_consensus::{
    Decision, Engine, EngineConfig, Height, Input, Keypair, Output, ParticipantSet, PeerId, Round,
    TableId, Timeout, WireMessage,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::application::{Application, PlainApp};
use crate::byzantine;
use crate::checker::Checker;
use crate::craps::{CrapsApp, GameReport};
use crate::network::{Network, Packet, VerifyCache};
use crate::rng::{bytes32, chance, uniform};
use crate::settings::{ByzantineKind, Overrides, Settings};

/// Heights every honest node must decide after stabilisation.
pub const LIVENESS_HEIGHTS: u64 = 3;
/// Simulated time allowed for them, ms.
pub const LIVENESS_BOUND_MS: u64 = 120_000;
/// Events a run may process before it is declared stuck.
pub const MAX_EVENTS: u64 = 4_000_000;
/// Decisions a host sends from its journal per catch-up request.
const CATCH_UP_BATCH: usize = 8;
/// Packets a replayer remembers.
const REPLAY_MEMORY: usize = 64;

/// What a run found.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run's seed.
    pub seed: u64,
    /// Its settings, in one line.
    pub settings: String,
    /// Safety violations (empty if none).
    pub violations: Vec<String>,
    /// Why liveness failed, if it did.
    pub liveness_failure: Option<String>,
    /// Highest height decided by an honest instance.
    pub heights: u64,
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end, ms.
    pub sim_ms: u64,
    /// Verified evidence items reported by honest nodes.
    pub evidence: u64,
    /// Inputs refused by engines (malformed, forged, far-future...).
    pub refused: u64,
    /// What happened at the craps table (`--craps` runs only).
    pub game: Option<GameReport>,
}

/// The part a simulated instance plays.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Correct and alone with its key.
    Honest,
    /// Correct code sharing its key with another instance.
    Twin,
    /// Faulty.
    Byzantine(ByzantineKind),
}

struct Instance {
    key: usize,
    role: Role,
    engine: Engine,
    up: bool,
    epoch: u64,
    crash_mid_input: bool,
    last_decided: Option<Height>,
    /// The host's durable record of decisions (survives crashes), to serve catch-up.
    journal: BTreeMap<Height, Decision>,
    recorded: VecDeque<Arc<Packet>>,
}

enum Event {
    Deliver {
        to: usize,
        packet: Arc<Packet>,
    },
    Timeout {
        to: usize,
        epoch: u64,
        timeout: Timeout,
    },
    Gossip {
        to: usize,
        epoch: u64,
    },
    ValueReady {
        to: usize,
        epoch: u64,
        height: Height,
        round: Round,
    },
    Crash {
        to: usize,
    },
    Restart {
        to: usize,
    },
    Stabilise,
}

struct Queued {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Reversed: BinaryHeap is a max-heap and we want the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A simulation of one table under one seed's faults.
pub struct Simulation {
    settings: Settings,
    rng: ChaCha20Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Queued>,
    instances: Vec<Instance>,
    keys: Vec<Keypair>,
    participants: Arc<ParticipantSet>,
    table: TableId,
    other_table: TableId,
    network: Network,
    cache: VerifyCache,
    checker: Checker,
    events: u64,
    refused: u64,
    liveness_target: Option<Height>,
    trace: bool,
    app: Box<dyn Application>,
}

fn short(s: &str) -> String {
    s.chars().take(220).collect()
}

impl Simulation {
    /// Sets up the run of `seed` under `overrides`.
    pub fn new(seed: u64, overrides: &Overrides) -> Result<Simulation, String> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let settings = Settings::draw(seed, &mut rng, overrides);
        let keys: Vec<Keypair> = (0..settings.nodes)
            .map(|_| Keypair::from_seed(bytes32(&mut rng)))
            .collect();
        let participants = Arc::new(
            ParticipantSet::new(keys.iter().map(Keypair::peer_id)).map_err(|e| e.to_string())?,
        );
        let table = TableId::from_name(&format!("sim-{seed}"));
        let other_table = TableId::from_name(&format!("sim-{seed}-elsewhere"));

        let role_of = |key: usize| -> Role {
            if settings.twins.contains(&key) {
                Role::Twin
            } else if let Some((_, kind)) = settings.byzantine.iter().find(|(k, _)| *k == key) {
                Role::Byzantine(*kind)
            } else {
                Role::Honest
            }
        };
        let mut honest = BTreeSet::new();
        let mut accusable = BTreeSet::new();
        for (i, key) in keys.iter().enumerate() {
            if role_of(i) == Role::Honest {
                honest.insert(key.peer_id());
            } else {
                accusable.insert(key.peer_id());
            }
        }
        let mut instance_keys: Vec<usize> = (0..settings.nodes).collect();
        instance_keys.extend(settings.twins.iter().copied());
        let roles: Vec<Role> = instance_keys.iter().map(|k| role_of(*k)).collect();
        let app: Box<dyn Application> = if overrides.craps {
            Box::new(CrapsApp::new(
                &settings,
                overrides,
                &keys,
                &instance_keys,
                &roles,
                table,
            )?)
        } else {
            Box::new(PlainApp)
        };
        let mut checker = Checker::new(table, honest, accusable);
        checker.check_plain_values = app.checks_plain_values();
        let instances = instance_keys
            .into_iter()
            .map(|key| {
                let role = role_of(key);
                Instance {
                    key,
                    role,
                    engine: Engine::new(
                        engine_config(&settings, table, role),
                        keys[key].clone(),
                        participants.clone(),
                    ),
                    up: true,
                    epoch: 0,
                    crash_mid_input: false,
                    last_decided: None,
                    journal: BTreeMap::new(),
                    recorded: VecDeque::new(),
                }
            })
            .collect();
        Ok(Simulation {
            network: Network::new(&settings),
            checker,
            settings,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            instances,
            keys,
            participants,
            table,
            other_table,
            cache: VerifyCache::default(),
            events: 0,
            refused: 0,
            liveness_target: None,
            trace: std::env::var_os("BITCRAPS_SIM_TRACE").is_some(),
            app,
        })
    }

    /// The run's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs to the end: the safety phase until stabilisation, then the liveness phase.
    pub fn run(mut self) -> RunReport {
        if self.trace {
            eprintln!("settings: {}", self.settings.describe());
            for (n, i) in self.instances.iter().enumerate() {
                eprintln!("#{n} = {} {:?}", self.keys[i.key].peer_id(), i.role);
            }
            eprintln!(
                "{:?} crashes={:?}",
                self.settings.partition, self.settings.crashes
            );
        }
        for to in 0..self.instances.len() {
            self.feed(to, Input::StartHeight(Height(1)));
            let offset = uniform(&mut self.rng, 0, self.settings.gossip_ms);
            self.push(offset, Event::Gossip { to, epoch: 0 });
        }
        for (to, at, back) in self.settings.crashes.clone() {
            self.push_at(at, Event::Crash { to });
            self.push_at(back, Event::Restart { to });
        }
        self.push_at(self.settings.gst_ms, Event::Stabilise);
        let check_liveness = self.settings.twins.len() <= self.settings.max_faulty();
        let bound_ms = LIVENESS_BOUND_MS + self.app.extra_liveness_ms();
        let deadline = self.settings.gst_ms + bound_ms;
        let mut liveness_failure = None;

        while let Some(Queued { at, event, .. }) = self.queue.pop() {
            self.now = at;
            self.events += 1;
            self.dispatch(event);
            if !self.checker.violations.is_empty() {
                break;
            }
            if let Some(target) = self.liveness_target {
                if self.honest_reached(target) {
                    break;
                }
                if self.now > deadline {
                    if check_liveness {
                        liveness_failure = Some(format!(
                            "honest nodes did not all reach {target} within {} s after stabilisation (reached: {})",
                            bound_ms / 1000,
                            self.progress()
                        ));
                    }
                    break;
                }
            }
            if self.events >= MAX_EVENTS {
                liveness_failure = Some(format!("event budget of {MAX_EVENTS} exhausted"));
                break;
            }
        }
        if self.liveness_target.is_none()
            && liveness_failure.is_none()
            && check_liveness
            && self.checker.violations.is_empty()
        {
            liveness_failure = Some("the event queue ran dry before stabilisation".to_string());
        }
        let (app_violations, game) = self.app.finish();
        self.checker.violations.extend(app_violations);
        RunReport {
            seed: self.settings.seed,
            settings: self.settings.describe(),
            violations: std::mem::take(&mut self.checker.violations),
            liveness_failure,
            heights: self.max_honest_height(),
            events: self.events,
            sim_ms: self.now,
            evidence: self.checker.evidence,
            refused: self.refused,
            game,
        }
    }

    fn honest_reached(&self, target: Height) -> bool {
        self.instances
            .iter()
            .filter(|i| i.role == Role::Honest)
            .all(|i| i.last_decided.is_some_and(|h| h >= target))
    }

    fn progress(&self) -> String {
        let v: Vec<String> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| i.role == Role::Honest)
            .map(|(n, i)| {
                format!(
                    "#{n}:{}/{}/{:?}",
                    i.last_decided.map_or(0, |h| h.0),
                    i.engine.round(),
                    i.engine.step()
                )
            })
            .collect();
        v.join(" ")
    }

    fn max_honest_height(&self) -> u64 {
        self.instances
            .iter()
            .filter(|i| i.role == Role::Honest)
            .filter_map(|i| i.last_decided.map(|h| h.0))
            .max()
            .unwrap_or(0)
    }

    fn push(&mut self, after: u64, event: Event) {
        self.push_at(self.now + after, event);
    }

    fn push_at(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Queued {
            at,
            seq: self.seq,
            event,
        });
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, packet } => {
                if !self.instances[to].up {
                    return;
                }
                if self.instances[to].role == Role::Byzantine(ByzantineKind::Replayer) {
                    let rec = &mut self.instances[to].recorded;
                    rec.push_back(packet.clone());
                    if rec.len() > REPLAY_MEMORY {
                        rec.pop_front();
                    }
                }
                match self.cache.verify(&packet, &self.table, &self.participants) {
                    Ok(message) => self.feed(to, Input::Message(message)),
                    Err(_) => self.refused += 1,
                }
            }
            Event::Timeout { to, epoch, timeout } => {
                if self.live(to, epoch) {
                    self.feed(to, Input::TimeoutElapsed(timeout));
                }
            }
            Event::Gossip { to, epoch } => {
                if self.live(to, epoch) {
                    self.feed(to, Input::GossipTick);
                    self.noise(to);
                    self.push(self.settings.gossip_ms, Event::Gossip { to, epoch });
                }
            }
            Event::ValueReady {
                to,
                epoch,
                height,
                round,
            } => {
                if self.live(to, epoch) {
                    let nonce = self.rng.next_u64();
                    let value = self.app.propose(to, height, round, nonce, self.now);
                    self.feed(
                        to,
                        Input::ValueReady {
                            height,
                            round,
                            value,
                        },
                    );
                }
            }
            Event::Crash { to } => {
                if self.instances[to].up {
                    if chance(&mut self.rng, 0.5) {
                        // Crash between persisting and sending the outputs of the next input.
                        self.instances[to].crash_mid_input = true;
                    } else {
                        self.crash(to);
                    }
                }
            }
            Event::Restart { to } => self.restart(to),
            Event::Stabilise => {
                self.network.heal();
                for to in 0..self.instances.len() {
                    self.restart(to);
                }
                let top = self.max_honest_height();
                let extra = self.app.extra_liveness_heights();
                self.liveness_target = Some(Height(top + LIVENESS_HEIGHTS + extra));
            }
        }
    }

    fn live(&self, to: usize, epoch: u64) -> bool {
        let i = &self.instances[to];
        i.up && i.epoch == epoch
    }

    fn crash(&mut self, to: usize) {
        let i = &mut self.instances[to];
        i.up = false;
        i.crash_mid_input = false;
        i.epoch += 1;
    }

    fn restart(&mut self, to: usize) {
        if self.instances[to].up {
            // A crash planned for the middle of an input that never came: it never happens.
            self.instances[to].crash_mid_input = false;
            return;
        }
        let state = self.instances[to].engine.persistent_state();
        let key = self.instances[to].key;
        let role = self.instances[to].role;
        let config = engine_config(&self.settings, self.table, role);
        let inst = &mut self.instances[to];
        // Everything not persisted (votes, buffers, retained decisions) is lost.
        inst.engine = Engine::restore(
            config,
            self.keys[key].clone(),
            self.participants.clone(),
            state.clone(),
        );
        inst.up = true;
        let epoch = inst.epoch;
        self.feed(to, Input::StartHeight(state.height));
        let offset = uniform(&mut self.rng, 0, self.settings.gossip_ms);
        self.push(offset, Event::Gossip { to, epoch });
    }

    /// Feeds an input to an instance and carries out the outputs, following up decisions with
    /// the next height as an application would.
    fn feed(&mut self, to: usize, input: Input) {
        let mut pending = VecDeque::from([input]);
        while let Some(input) = pending.pop_front() {
            if !self.instances[to].up {
                return;
            }
            let trace = self.trace && !matches!(input, Input::GossipTick);
            let described = if trace {
                format!("{input:?}")
            } else {
                String::new()
            };
            let validity = self.app.validity(to, self.now);
            let handled = self.instances[to].engine.handle(input, &*validity);
            drop(validity);
            let outputs = match handled {
                Ok(outputs) => outputs,
                Err(e) => {
                    if trace {
                        eprintln!("{:>7} #{to} {} REFUSED {e}", self.now, short(&described));
                    }
                    self.refused += 1;
                    continue;
                }
            };
            if trace {
                let e = &self.instances[to].engine;
                eprintln!(
                    "{:>7} #{to} [{} {} {:?} lock={:?} valid={:?}] <- {}",
                    self.now,
                    e.height(),
                    e.round(),
                    e.step(),
                    e.locked_round(),
                    e.valid_round(),
                    short(&described)
                );
                for o in &outputs {
                    eprintln!("            -> {}", short(&format!("{o:?}")));
                }
            }
            // The host persists `persistent_state()` here, before anything leaves the node; a
            // crash now loses the outputs but not the state (see `restart`).
            let crashing = std::mem::take(&mut self.instances[to].crash_mid_input);
            for output in outputs {
                match output {
                    Output::Broadcast(message) if !crashing => self.broadcast(to, message),
                    Output::SendTo { peer, message } if !crashing => {
                        self.send_to_key(to, peer, &message)
                    }
                    Output::CatchUp { peer, from } if !crashing => {
                        let batch: Vec<Decision> = self.instances[to]
                            .journal
                            .range(from..)
                            .take(CATCH_UP_BATCH)
                            .map(|(_, d)| d.clone())
                            .collect();
                        for decision in batch {
                            self.send_to_key(to, peer, &WireMessage::Decision(decision));
                        }
                    }
                    Output::Broadcast(_) | Output::SendTo { .. } | Output::CatchUp { .. } => {}
                    Output::ScheduleTimeout { timeout, after } => {
                        let epoch = self.instances[to].epoch;
                        let after = u64::try_from(after.as_millis()).unwrap_or(u64::MAX / 4);
                        self.push(after, Event::Timeout { to, epoch, timeout });
                    }
                    Output::RequestValue { height, round } => {
                        let epoch = self.instances[to].epoch;
                        self.push(
                            self.settings.propose_delay_ms,
                            Event::ValueReady {
                                to,
                                epoch,
                                height,
                                round,
                            },
                        );
                    }
                    Output::Decided {
                        height,
                        value,
                        certificate,
                        ..
                    } => {
                        self.instances[to].last_decided = Some(height);
                        self.instances[to].journal.insert(
                            height,
                            Decision {
                                certificate: certificate.clone(),
                                value: value.clone(),
                            },
                        );
                        if self.instances[to].role == Role::Honest {
                            self.checker.on_decided(
                                to,
                                height,
                                &value,
                                &certificate,
                                &self.participants,
                                &mut self.cache.signatures,
                            );
                        }
                        self.app.on_decided(to, height, &value, self.now);
                        let found = self.app.take_violations();
                        self.checker.violations.extend(found);
                        if !crashing {
                            pending.push_back(Input::StartHeight(height.next()));
                        }
                    }
                    Output::Evidence(evidence) => {
                        if self.instances[to].role == Role::Honest {
                            self.checker.on_evidence(to, &evidence, &self.participants);
                        }
                        self.app.on_evidence(to, &evidence);
                    }
                }
            }
            if crashing {
                self.crash(to);
                return;
            }
        }
    }

    fn broadcast(&mut self, from: usize, message: WireMessage) {
        let key = self.keys[self.instances[from].key].clone();
        let own = message.author() == Some(key.peer_id());
        match self.instances[from].role {
            Role::Honest | Role::Twin | Role::Byzantine(ByzantineKind::LockBreaker) => {
                self.send_all(from, &message)
            }
            Role::Byzantine(ByzantineKind::Silent) => {}
            Role::Byzantine(ByzantineKind::EquivocatingProposer) => match &message {
                WireMessage::Proposal(p) if own => {
                    let other = byzantine::equivocating_proposal(&key, p, from, &mut self.rng);
                    self.split(from, &message, &WireMessage::Proposal(other));
                }
                _ => self.send_all(from, &message),
            },
            Role::Byzantine(ByzantineKind::DoubleVoter) => match &message {
                WireMessage::Vote(v) if own => {
                    let other = byzantine::conflicting_vote(&key, v, &mut self.rng);
                    self.split(from, &message, &WireMessage::Vote(other));
                }
                _ => self.send_all(from, &message),
            },
            Role::Byzantine(ByzantineKind::Forger) => {
                if let WireMessage::Vote(v) = &message {
                    let victim_index = uniform(&mut self.rng, 0, self.keys.len() as u64) as usize;
                    let victim = self.keys[victim_index].peer_id();
                    for forged in byzantine::forged_votes(&key, v, victim) {
                        self.send_all(from, &forged);
                    }
                }
            }
            Role::Byzantine(ByzantineKind::Replayer) => {
                self.send_all(from, &message);
                if let WireMessage::Vote(v) = &message {
                    let replay = byzantine::cross_table_vote(&key, v, self.other_table);
                    self.send_all(from, &WireMessage::Vote(replay));
                }
            }
            Role::Byzantine(ByzantineKind::Garbage) => {
                let genuine = message.encode().ok();
                for junk in byzantine::garbage(&mut self.rng, genuine.as_deref()) {
                    self.send_packet_all(from, Packet::new(junk));
                }
            }
        }
    }

    /// Extra traffic of noisy Byzantine kinds on each gossip tick.
    fn noise(&mut self, from: usize) {
        match self.instances[from].role {
            Role::Byzantine(ByzantineKind::Garbage) => {
                for junk in byzantine::garbage(&mut self.rng, None) {
                    self.send_packet_all(from, Packet::new(junk));
                }
            }
            Role::Byzantine(ByzantineKind::Replayer) => {
                let recorded = &self.instances[from].recorded;
                if !recorded.is_empty() {
                    let i = uniform(&mut self.rng, 0, recorded.len() as u64) as usize;
                    let packet = recorded[i].clone();
                    self.send_packet_all(from, packet);
                }
            }
            _ => {}
        }
    }

    fn split(&mut self, from: usize, a: &WireMessage, b: &WireMessage) {
        let (Ok(a), Ok(b)) = (a.encode(), b.encode()) else {
            return;
        };
        let (a, b) = (Packet::new(a), Packet::new(b));
        for to in 0..self.instances.len() {
            if to != from {
                let packet = if chance(&mut self.rng, 0.5) { &a } else { &b };
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    fn send_all(&mut self, from: usize, message: &WireMessage) {
        if let Ok(bytes) = message.encode() {
            self.send_packet_all(from, Packet::new(bytes));
        }
    }

    fn send_packet_all(&mut self, from: usize, packet: Arc<Packet>) {
        for to in 0..self.instances.len() {
            if to != from {
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    fn send_to_key(&mut self, from: usize, peer: PeerId, message: &WireMessage) {
        if self.instances[from].role == Role::Byzantine(ByzantineKind::Silent) {
            return;
        }
        let Ok(bytes) = message.encode() else {
            return;
        };
        let packet = Packet::new(bytes);
        for to in 0..self.instances.len() {
            if to != from && self.keys[self.instances[to].key].peer_id() == peer {
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    fn send_packet(&mut self, from: usize, to: usize, packet: Arc<Packet>) {
        for delay in self.network.delays(&mut self.rng, from, to, self.now) {
            self.push(
                delay,
                Event::Deliver {
                    to,
                    packet: packet.clone(),
                },
            );
        }
    }
}

fn engine_config(settings: &Settings, table: TableId, role: Role) -> EngineConfig {
    let mut config = EngineConfig::new(table);
    // The negative control disables the lock rule in every engine, Byzantine ones included, so
    // that an equivocator's engine also proposes afresh instead of its valid value.
    config.faults.ignore_lock =
        settings.disable_lock || role == Role::Byzantine(ByzantineKind::LockBreaker);
    config
}

/// Runs one seed.
pub fn run_seed(seed: u64, overrides: &Overrides) -> RunReport {
    match Simulation::new(seed, overrides) {
        Ok(sim) => sim.run(),
        Err(e) => RunReport {
            seed,
            settings: String::new(),
            violations: vec![format!("setup failed: {e}")],
            liveness_failure: None,
            heights: 0,
            events: 0,
            sim_ms: 0,
            evidence: 0,
            refused: 0,
            game: None,
        },
    }
}
