//! One deterministic run: a seeded ChaCha RNG, a priority queue of events on a simulated clock,
//! the engines of every instance, and the checker after every step. The host side of each
//! instance is in [`crate::host`], what each role sends in [`crate::send`], the validator set
//! of each height in [`crate::membership`], departed players that keep voting in
//! [`crate::ghost`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

use bitcraps_consensus::{
    Decision, Engine, EngineConfig, Height, Input, Keypair, ParticipantSet, Round, TableId,
    Timeout, VoteKind,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::application::{Application, PlainApp};
use crate::checker::{Checker, ChurnReport};
use crate::craps::{CrapsApp, GameReport};
use crate::membership::{ChurnRules, Seats, SetId, SetInterner, SetSchedule};
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
pub(crate) const CATCH_UP_BATCH: usize = 8;
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
    /// What the churn did to the validator set.
    pub churn: ChurnReport,
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
    /// Honest intentions, a bug injected into its host (negative controls): its decisions are
    /// checked like an honest node's, its liveness is not required.
    Buggy(HostBug),
}

impl Role {
    /// True for the roles whose decisions and evidence the checker holds to honest standards.
    pub fn is_checked(self) -> bool {
        matches!(self, Role::Honest | Role::Buggy(_))
    }
}

/// A bug injected into an otherwise honest host (negative controls only).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HostBug {
    /// Declares to its engine, for each height, the set of the height after it: set changes
    /// take effect one height early (no delay).
    WrongHeightSet,
}

pub(crate) struct Instance {
    pub(crate) key: usize,
    pub(crate) role: Role,
    pub(crate) engine: Engine,
    pub(crate) up: bool,
    pub(crate) epoch: u64,
    pub(crate) crash_mid_input: bool,
    pub(crate) last_decided: Option<Height>,
    /// The host's durable record of decisions (survives crashes), to serve catch-up.
    pub(crate) journal: BTreeMap<Height, Decision>,
    /// The sets this host derived from its own decisions (durable with the journal).
    pub(crate) schedule: SetSchedule,
    /// The host refused a message of a height beyond the sets it knows: it is behind, and asks
    /// for decisions on its next gossip tick (its engine, which never saw the message, cannot).
    pub(crate) behind_horizon: bool,
    pub(crate) recorded: VecDeque<Arc<Packet>>,
    /// Votes this host signed outside its key's tenure (a lingering departed player, see
    /// [`crate::ghost`]), one per (height, round, kind).
    pub(crate) ghost_signed: BTreeSet<(Height, Round, VoteKind)>,
}

pub(crate) enum Event {
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
    pub(crate) settings: Settings,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) now: u64,
    seq: u64,
    queue: BinaryHeap<Queued>,
    pub(crate) instances: Vec<Instance>,
    pub(crate) keys: Vec<Keypair>,
    /// The genesis set (heights 1 and 2).
    pub(crate) genesis: Arc<ParticipantSet>,
    /// Every key of the table, seated or not: whom catch-up requests are answered from.
    pub(crate) everyone: (SetId, Arc<ParticipantSet>),
    /// The run's distinct sets.
    pub(crate) sets: SetInterner,
    pub(crate) table: TableId,
    pub(crate) other_table: TableId,
    pub(crate) network: Network,
    pub(crate) cache: VerifyCache,
    pub(crate) checker: Checker,
    events: u64,
    pub(crate) refused: u64,
    liveness_target: Option<Height>,
    pub(crate) trace: bool,
    pub(crate) app: Box<dyn Application>,
    /// Departed players' hosts keep signing votes (`--craps` with churn): every such vote
    /// must count for nothing.
    pub(crate) linger: bool,
}

impl Simulation {
    /// Sets up the run of `seed` under `overrides`.
    pub fn new(seed: u64, overrides: &Overrides) -> Result<Simulation, String> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let settings = Settings::draw(seed, &mut rng, overrides);
        let keys: Vec<Keypair> = (0..settings.keys())
            .map(|_| Keypair::from_seed(bytes32(&mut rng)))
            .collect();
        let mut sets = SetInterner::new(keys.iter().map(Keypair::peer_id).collect())
            .map_err(|e| e.to_string())?;
        let genesis_seats = Seats::genesis(settings.nodes);
        let (_, genesis) = sets.get(genesis_seats).map_err(|e| e.to_string())?;
        let everyone = sets.everyone().map_err(|e| e.to_string())?;
        let mut protected = 0u64;
        for k in settings
            .twins
            .iter()
            .chain(settings.byzantine.iter().map(|(k, _)| k))
        {
            protected |= 1u64 << k;
        }
        let rules = Arc::new(ChurnRules {
            // At the craps table the game seats its players; the rate drives its bots instead.
            rate: if overrides.craps { 0.0 } else { settings.churn },
            keys: settings.keys(),
            protected,
        });
        let schedule = SetSchedule::new(rules, genesis_seats);
        let mut table = TableId::from_name(&format!("sim-{seed}"));
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
        let instance_keys = settings.instance_keys();
        let roles: Vec<Role> = instance_keys
            .iter()
            .enumerate()
            .map(|(i, k)| match role_of(*k) {
                Role::Honest if settings.wrong_height_set == Some(i) => {
                    Role::Buggy(HostBug::WrongHeightSet)
                }
                role => role,
            })
            .collect();
        let app: Box<dyn Application> = if overrides.craps {
            // The consensus signs under the table's consensus id (the genesis nonce); operations
            // under the id derived from the whole genesis.
            let craps = CrapsApp::new(&settings, overrides, &keys, &instance_keys, &roles, table)?;
            table = craps.table_id();
            Box::new(craps)
        } else {
            Box::new(PlainApp)
        };
        let genesis_ids = genesis.ids().iter().copied().collect();
        let mut checker = Checker::new(table, honest, accusable, schedule.clone(), genesis_ids);
        checker.check_plain_values = app.checks_plain_values();
        checker.game_sets = overrides.craps;
        let instances = instance_keys
            .into_iter()
            .zip(roles)
            .map(|(key, role)| Instance {
                key,
                role,
                engine: Engine::new(
                    engine_config(&settings, table, role),
                    keys[key].clone(),
                    genesis.clone(),
                ),
                up: true,
                epoch: 0,
                crash_mid_input: false,
                last_decided: None,
                journal: BTreeMap::new(),
                schedule: schedule.clone(),
                behind_horizon: false,
                recorded: VecDeque::new(),
                ghost_signed: BTreeSet::new(),
            })
            .collect();
        let linger = overrides.craps && settings.churn > 0.0;
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
            genesis,
            everyone,
            sets,
            table,
            other_table,
            cache: VerifyCache::default(),
            events: 0,
            refused: 0,
            liveness_target: None,
            trace: std::env::var_os("BITCRAPS_SIM_TRACE").is_some(),
            app,
            linger,
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
            self.declare_known(to);
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
                // A closed craps table decides nothing after its last height.
                let target = self
                    .app
                    .last_height()
                    .map_or(target, |last| target.min(last));
                if self.honest_reached(target) {
                    break;
                }
                if self.now > deadline {
                    // A set with more faulty keys than it tolerates (the game unseated honest
                    // nodes' players) owes no liveness.
                    if check_liveness && self.checker.beyond_f.is_none() {
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
            churn: self.checker.churn(),
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

    pub(crate) fn push(&mut self, after: u64, event: Event) {
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
                if self.linger {
                    self.linger_on(to, &packet);
                }
                match self.admit(to, &packet) {
                    Some(input) => self.feed(to, input),
                    None => self.refused += 1,
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
                    self.ask_for_decisions(to);
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
}

pub(crate) fn engine_config(settings: &Settings, table: TableId, role: Role) -> EngineConfig {
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
            churn: ChurnReport::default(),
        },
    }
}
