//! `--craps`: the simulated application is a real craps table ([`bitcraps_game`]).
//!
//! Every genesis key is a seated player with a bot; spare keys (`--spares`) start without a
//! seat. After each height (the first time an honest instance decides it), the bots look at
//! the decided state and sign operations into a shared pool (idealised operation gossip): bets
//! while betting is open, the shooter's close of betting, a commitment when betting closed, a
//! reveal once commitments are decided, a dispute with the evidence an honest engine reports,
//! and with churn (`--churn`) joins, admissions and leaves ([`craps_churn`](self)). Proposers
//! build blocks from the pool
//! ([`TableState::build_block`](bitcraps_game::TableState::build_block)); every instance
//! validates proposals and applies decided blocks on its own [`Chain`], and its host takes the
//! validator set of each height from that chain (the players seated after `h` vote at `h + 2`;
//! [`Application::next_seats`]).
//!
//! Players' behaviours: honest; **withholder** (a game-level cheat on an honest consensus node:
//! commits, bets, never reveals); **absent** (the silent Byzantine kind: never sends an
//! operation either). Consensus double voters and equivocating proposers play honestly and are
//! caught by their consensus evidence.
//!
//! Checked: every honest instance applies every decided block (validity), all honest instances
//! share the state hash at every height they have in common, chips are conserved on every
//! honest state, every honest instance that applies the closing sees the same final balances,
//! and every penalty falls on a withholder (for withholding) or an accusable key (for evidence)
//! — never on an honest player.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bitcraps_consensus::{Evidence, Height, Keypair, PeerId, Round, TableId, Value, ValueValidity};
use bitcraps_game::{
    dice, Applied, BetKind, Chain, Dispute, Event, FinalBalance, GameEvidence, HardNumber,
    Operation, PenaltyReason, Phase, Point, Registry, RemovalReason, SeatConfig, SeatStatus,
    SignedOp, Stage, TableConfig, TableState, Working,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::application::{Application, NextSeats};
use crate::rng::{bytes32, chance, pick, uniform};
use crate::settings::{ByzantineKind, Overrides, Settings};
use crate::sim::Role;

/// Block time of the genesis state (simulated time 0), ms since the epoch.
pub const GENESIS_MS: u64 = 1_700_000_000_000;
/// Every player's starting stack.
pub const STACK: u64 = 100_000;
/// The bank's stake.
pub const BANK: u64 = 50_000_000;
/// Heights to decide after stabilisation on top of the plain liveness target: enough for
/// several rolls, so that withholders and double voters are caught.
pub const CRAPS_LIVENESS_HEIGHTS: u64 = 30;
/// Simulated time allowed for them on top of the plain bound: 8 s a height, the pace of a
/// table whose proposers are often silent (timeouts grow with the round).
pub const CRAPS_LIVENESS_MS: u64 = CRAPS_LIVENESS_HEIGHTS * 8_000;
/// Decided values kept per instance (to re-propose a height a restarted engine redoes).
const DECIDED_KEPT: usize = 64;
/// States each instance's chain retains (to compare hashes with lagging instances).
const RETAINED: usize = 4_096;

/// What a player does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Plays by the rules.
    Honest,
    /// Commits and never reveals.
    Withholder,
    /// Never sends an operation.
    Absent,
}

/// What happened at the table during a run.
#[derive(Clone, Debug, Default)]
pub struct GameReport {
    /// Highest decided height.
    pub heights: u64,
    /// Dice rolled.
    pub rolls: u64,
    /// Bets placed.
    pub bets_placed: u64,
    /// Bets decided, moved or forfeited.
    pub bets_resolved: u64,
    /// Penalties: the punished key and why.
    pub penalties: Vec<(usize, PenaltyReason)>,
    /// Keys unseated for missing rolls.
    pub unseated_for_missed_rolls: Vec<usize>,
    /// Rolls each key did not commit to (only keys that missed any).
    pub missed_rolls: BTreeMap<usize, u64>,
    /// Keys whose players withhold.
    pub withholders: Vec<usize>,
    /// Keys evidence may name (Byzantine consensus kinds and twins).
    pub accusable: Vec<usize>,
    /// Pairs of honest instances whose state hashes were compared at a common height.
    pub hashes_compared: u64,
    /// The state hash at the lowest latest height of the honest instances.
    pub state_hash: Option<[u8; 32]>,
    /// The height at which the table closed (fewer than four seats left), if it did.
    pub closed_at: Option<u64>,
    /// Join requests decided (`Operation::Join`).
    pub join_requests: u64,
    /// Answers to join requests published by the bots (`Operation::Admit`).
    pub answers: u64,
    /// Newcomers seated.
    pub joins: u64,
    /// Join requests declined (refused, lapsed, table full or closed).
    pub joins_declined: u64,
    /// Players who left of their own accord (not counting the cash-outs of a closing).
    pub leaves: u64,
    /// Players unseated (penalties, missed rolls).
    pub unseats: u64,
    /// Honest instances' closings compared with the first one seen.
    pub closings_compared: u64,
}

/// A closing as one instance applied it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Closing {
    height: u64,
    final_balances: Vec<FinalBalance>,
    bank: u64,
}

struct Player {
    key: Keypair,
    behaviour: Behaviour,
    secrets: BTreeMap<u64, dice::Nonce>,
    /// Seated at some decided height (a spare that joined, or a genesis player).
    was_seated: bool,
    /// Decided to leave: bets no more and leaves once the rules allow it.
    leaving: bool,
}

/// The craps application of one run.
pub struct CrapsApp {
    players: Vec<Player>,
    instance_key: Vec<usize>,
    honest: Vec<bool>,
    chains: Vec<Chain>,
    decided: Vec<BTreeMap<u64, Value>>,
    pool: BTreeMap<PeerId, BTreeMap<u64, SignedOp>>,
    reported: BTreeSet<PeerId>,
    accusable: BTreeSet<usize>,
    latest: Option<TableState>,
    rng: ChaCha20Rng,
    report: GameReport,
    violations: Vec<String>,
    /// The run's churn rate: how often keys without a seat ask to join, and players leave.
    churn: f64,
    /// Probability that a bot refuses a join request it answers.
    refuse: f64,
    /// Each honest instance's closing, if it applied one.
    closings: BTreeMap<usize, Closing>,
}

impl CrapsApp {
    /// The table of a run: one seat per genesis key (the first `settings.nodes`, in key order),
    /// the spares without a seat, `roles` per instance.
    pub fn new(
        settings: &Settings,
        overrides: &Overrides,
        keys: &[Keypair],
        instance_key: &[usize],
        roles: &[Role],
        table: TableId,
    ) -> Result<CrapsApp, String> {
        let mut rng = ChaCha20Rng::seed_from_u64(settings.seed ^ 0xC4A9_5000_0000_0001);
        let registry = Arc::new(Registry::new());
        let seats = keys
            .iter()
            .take(settings.nodes)
            .map(|k| SeatConfig {
                peer: k.peer_id(),
                stack: STACK,
            })
            .collect();
        let mut config = TableConfig::new(table, GENESIS_MS, seats, BANK, &registry);
        // Deadlines of at least 8 heights (censorship by up to 5 Byzantine proposers in a row,
        // at 16 seats) and a little simulated time.
        config.deadlines.min_heights = 8;
        config.deadlines.betting_ms = 2_000;
        config.deadlines.commit_ms = 1_000;
        config.deadlines.reveal_ms = 1_000;
        config.deadlines.absence_ms = 1_000;
        config.seal();
        let genesis = TableState::genesis(config, registry).map_err(|e| e.to_string())?;

        let key_role = |key: usize| {
            instance_key
                .iter()
                .position(|k| *k == key)
                .map_or(Role::Honest, |i| roles[i])
        };
        let honest_keys: Vec<usize> = (0..settings.nodes.min(keys.len()))
            .filter(|k| key_role(*k) == Role::Honest)
            .collect();
        let wanted = overrides
            .withholders
            .unwrap_or_else(|| uniform(&mut rng, 0, 2) as usize)
            .min(honest_keys.len().saturating_sub(1));
        let mut withholders = BTreeSet::new();
        while withholders.len() < wanted {
            withholders.insert(*pick(&mut rng, &honest_keys));
        }
        let accusable: BTreeSet<usize> = (0..keys.len())
            .filter(|k| key_role(*k) != Role::Honest)
            .collect();
        let players = keys
            .iter()
            .enumerate()
            .map(|(k, key)| Player {
                key: key.clone(),
                behaviour: if withholders.contains(&k) {
                    Behaviour::Withholder
                } else if key_role(k) == Role::Byzantine(ByzantineKind::Silent) {
                    Behaviour::Absent
                } else {
                    Behaviour::Honest
                },
                secrets: BTreeMap::new(),
                was_seated: k < settings.nodes,
                leaving: false,
            })
            .collect();
        let refuse = if settings.churn > 0.0 {
            *pick(&mut rng, &[0.0, 0.1, 0.3])
        } else {
            0.0
        };
        let chains = instance_key
            .iter()
            .map(|_| Chain::new(genesis.clone()).with_retained_states(RETAINED))
            .collect();
        Ok(CrapsApp {
            players,
            instance_key: instance_key.to_vec(),
            honest: roles.iter().map(|r| *r == Role::Honest).collect(),
            chains,
            decided: vec![BTreeMap::new(); instance_key.len()],
            pool: BTreeMap::new(),
            reported: BTreeSet::new(),
            report: GameReport {
                withholders: withholders.into_iter().collect(),
                accusable: accusable.iter().copied().collect(),
                ..GameReport::default()
            },
            accusable,
            latest: None,
            rng,
            violations: Vec::new(),
            churn: settings.churn,
            refuse,
            closings: BTreeMap::new(),
        })
    }

    /// The id the consensus of the run signs under
    /// ([`TableConfig::consensus_table_id`](bitcraps_game::TableConfig::consensus_table_id)).
    pub fn table_id(&self) -> TableId {
        self.chains.first().map_or(TableId([0; 32]), |c| {
            c.latest().config().consensus_table_id()
        })
    }

    fn key_of(&self, peer: &PeerId) -> Option<usize> {
        self.players.iter().position(|p| p.key.peer_id() == *peer)
    }

    /// Signs `op` as player `k`'s next operation after those already in the pool.
    fn sign(&mut self, state: &TableState, k: usize, op: Operation) -> Option<SignedOp> {
        let key = &self.players[k].key;
        let peer = key.peer_id();
        let after_pool = self
            .pool
            .get(&peer)
            .and_then(|m| m.keys().next_back())
            .map_or(0, |n| n.saturating_add(1));
        let nonce = state.next_nonce(&peer).max(after_pool);
        SignedOp::sign(key, &state.config().table_id, nonce, op).ok()
    }

    fn publish(&mut self, op: SignedOp) {
        self.pool.entry(op.author).or_default().insert(op.nonce, op);
    }

    fn pending(&self, peer: &PeerId) -> impl Iterator<Item = &SignedOp> {
        self.pool.get(peer).into_iter().flat_map(|m| m.values())
    }

    /// Drops pooled operations that can no longer be applied (spent nonces; an unseated
    /// author's, except its request to join).
    fn clean_pool(&mut self, state: &TableState) {
        for (peer, ops) in &mut self.pool {
            let next = state.next_nonce(peer);
            ops.retain(|n, _| *n >= next);
            if state.seat_of(peer).is_none() {
                ops.retain(|_, op| matches!(op.op, Operation::Join { .. }));
            }
        }
        self.pool.retain(|_, ops| !ops.is_empty());
    }

    /// Every bot looks at a newly decided state and acts.
    fn act(&mut self, state: &TableState) {
        self.clean_pool(state);
        // The shooter waits for pooled bets and leaves (a leave needs betting open).
        let pooled_bets = self
            .pool
            .values()
            .flat_map(|m| m.values())
            .any(|op| matches!(op.op, Operation::PlaceBet { .. } | Operation::Leave));
        for k in 0..self.players.len() {
            let peer = self.players[k].key.peer_id();
            let Some(seat) = state.seat_of(&peer) else {
                continue;
            };
            let behaviour = self.players[k].behaviour;
            if behaviour == Behaviour::Absent {
                continue;
            }
            let roll = state.roll_number();
            let pending = self.pending(&peer).count();
            match state.stage() {
                Stage::Betting { since, .. } => {
                    let early = state.height() <= since.saturating_add(1);
                    if pending == 0
                        && !self.players[k].leaving
                        && (early || state.bets().is_empty())
                        && chance(&mut self.rng, 0.6)
                    {
                        self.try_bet(state, k);
                    }
                    let pending = self.pending(&peer).count();
                    if state.shooter() == Some(seat)
                        && pending == 0
                        && !pooled_bets
                        && state.height() >= since.saturating_add(3)
                    {
                        if let Some(op) = self.sign(state, k, Operation::CloseBetting { roll }) {
                            self.publish(op);
                        }
                    }
                }
                Stage::Committing {
                    eligible,
                    commitments,
                    ..
                } => {
                    let already = self
                        .pending(&peer)
                        .any(|op| matches!(op.op, Operation::Commit { .. }));
                    if eligible.contains(&seat) && !commitments.contains_key(&seat) && !already {
                        let secret = dice::Nonce(bytes32(&mut self.rng));
                        self.players[k].secrets.insert(roll, secret);
                        let table = state.config().table_id.0;
                        let op = Operation::Commit {
                            roll,
                            seat,
                            commitment: dice::commit(&table, roll, seat, &secret),
                        };
                        if let Some(op) = self.sign(state, k, op) {
                            self.publish(op);
                        }
                    }
                }
                Stage::Revealing {
                    commitments,
                    reveals,
                    ..
                } => {
                    let already = self
                        .pending(&peer)
                        .any(|op| matches!(op.op, Operation::Reveal { .. }));
                    let secret = self.players[k].secrets.get(&roll).copied();
                    if behaviour == Behaviour::Honest
                        && commitments.contains_key(&seat)
                        && !reveals.contains_key(&seat)
                        && !already
                    {
                        if let Some(nonce) = secret {
                            if let Some(op) =
                                self.sign(state, k, Operation::Reveal { roll, seat, nonce })
                            {
                                self.publish(op);
                            }
                        }
                    }
                }
            }
        }
        self.act_membership(state);
    }

    /// Places a random bet the table accepts now (checked before it is published).
    fn try_bet(&mut self, state: &TableState, k: usize) {
        let kinds: Vec<BetKind> = match state.phase() {
            Phase::ComeOut => vec![
                BetKind::PassLine,
                BetKind::DontPass,
                BetKind::Field,
                BetKind::AnySeven,
                BetKind::Hardway(HardNumber::Six),
                BetKind::Place(Point::Eight),
            ],
            Phase::Point(p) => vec![
                BetKind::Come,
                BetKind::DontCome,
                BetKind::Field,
                BetKind::PassOdds(p),
                BetKind::Place(Point::Six),
                BetKind::Yo,
            ],
        };
        let kind = *pick(&mut self.rng, &kinds);
        let amount = state.config().rules.min_bet * uniform(&mut self.rng, 1, 6);
        let op = Operation::PlaceBet {
            kind,
            amount,
            working: Working::TableRule,
        };
        let Some(signed) = self.sign(state, k, op) else {
            return;
        };
        // An operation the table refuses is never published (and never signed again under
        // that nonce with other content: the bot simply does not bet this time).
        let mut draft = state.draft(state.timestamp_ms().saturating_add(1));
        if draft.push(signed.clone()).is_ok() {
            self.publish(signed);
        }
    }

    fn record(&mut self, events: &[Event], state: &TableState) {
        for e in events {
            match e {
                Event::DiceRolled { .. } => self.report.rolls += 1,
                Event::BetPlaced { .. } => self.report.bets_placed += 1,
                Event::BetResolved { .. } => self.report.bets_resolved += 1,
                Event::TableClosed { final_balances, .. } => {
                    self.report.closed_at = Some(state.height());
                    // The closing cashes everyone out with a `SeatLeft` each: not leaves.
                    self.report.leaves = self
                        .report
                        .leaves
                        .saturating_sub(final_balances.len() as u64);
                }
                Event::JoinRequested { .. } => self.report.join_requests += 1,
                Event::SeatJoined { .. } => self.report.joins += 1,
                Event::JoinDeclined { .. } => self.report.joins_declined += 1,
                Event::SeatLeft { .. } => self.report.leaves += 1,
                Event::CommitmentsClosed { missed, .. } => {
                    for seat in missed {
                        let peer = state.seat(*seat).map(|s| s.peer);
                        if let Some(k) = peer.and_then(|p| self.key_of(&p)) {
                            *self.report.missed_rolls.entry(k).or_default() += 1;
                        }
                    }
                }
                Event::Penalty { peer, reason, .. } => {
                    if let Some(k) = self.key_of(peer) {
                        self.report.penalties.push((k, reason.clone()));
                    }
                }
                Event::SeatRemoved { seat, reason, .. } => {
                    self.report.unseats += 1;
                    let peer = state.seat(*seat).map(|s| s.peer);
                    if let (Some(k), RemovalReason::MissedRolls(_)) =
                        (peer.and_then(|p| self.key_of(&p)), reason)
                    {
                        self.report.unseated_for_missed_rolls.push(k);
                    }
                }
                _ => {}
            }
        }
    }
}

impl Application for CrapsApp {
    fn validity<'a>(&'a self, instance: usize, now_ms: u64) -> Box<dyn ValueValidity + 'a> {
        Box::new(self.chains[instance].validity(Some(GENESIS_MS.saturating_add(now_ms))))
    }

    fn propose(
        &mut self,
        instance: usize,
        height: Height,
        _round: Round,
        _nonce: u64,
        now_ms: u64,
    ) -> Value {
        if let Some(v) = self.decided[instance].get(&height.0) {
            return v.clone();
        }
        let chain = &self.chains[instance];
        if chain.latest().height().saturating_add(1) != height.0 {
            return Value::new(Vec::new());
        }
        let candidates: Vec<SignedOp> = self
            .pool
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        chain
            .latest()
            .build_block(GENESIS_MS.saturating_add(now_ms), candidates)
            .and_then(|b| b.block.to_value())
            .unwrap_or_else(|_| Value::new(Vec::new()))
    }

    fn on_decided(&mut self, instance: usize, height: Height, value: &Value, _now_ms: u64) {
        match self.chains[instance].apply_decided(height.0, value) {
            Ok(Applied::New { state, events }) => {
                let decided = &mut self.decided[instance];
                decided.insert(height.0, value.clone());
                while decided.len() > DECIDED_KEPT {
                    decided.pop_first();
                }
                if self.honest[instance] {
                    self.check_closing(instance, height.0, &events);
                }
                if height.0 > self.report.heights && self.honest[instance] {
                    self.check_conservation(instance, &state, &events);
                    self.report.heights = height.0;
                    self.record(&events, &state);
                    self.latest = Some(state.clone());
                    self.act(&state);
                }
            }
            Ok(Applied::Duplicate) => {}
            Err(e) => {
                if self.honest[instance] {
                    self.violations.push(format!(
                        "game: honest instance {instance} (key {}) cannot apply the block decided at {height}: {e}",
                        self.instance_key[instance]
                    ));
                }
            }
        }
    }

    fn next_seats(&self, instance: usize, height: Height) -> NextSeats {
        self.seats_after(instance, height)
    }

    fn on_evidence(&mut self, instance: usize, evidence: &Evidence) {
        if !self.honest[instance] {
            return;
        }
        let offender = evidence.offender();
        let Some(state) = self.latest.clone() else {
            return;
        };
        if self.reported.contains(&offender) || state.seat_of(&offender).is_none() {
            return;
        }
        let reporter = self.instance_key[instance];
        if state
            .seat_of(&self.players[reporter].key.peer_id())
            .is_none()
        {
            return;
        }
        let op = Operation::Dispute(Dispute::Evidence(Box::new(GameEvidence::Consensus(
            evidence.clone(),
        ))));
        if let Some(op) = self.sign(&state, reporter, op) {
            self.reported.insert(offender);
            self.publish(op);
        }
    }

    fn checks_plain_values(&self) -> bool {
        false
    }

    fn extra_liveness_heights(&self) -> u64 {
        CRAPS_LIVENESS_HEIGHTS
    }

    fn extra_liveness_ms(&self) -> u64 {
        CRAPS_LIVENESS_MS
    }

    fn last_height(&self) -> Option<Height> {
        self.latest
            .as_ref()
            .and_then(|state| state.closed_at())
            .map(Height)
    }

    fn take_violations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.violations)
    }

    fn finish(&mut self) -> (Vec<String>, Option<GameReport>) {
        let mut out = self.take_violations();
        out.extend(self.check_hashes());
        out.extend(self.check_penalties());
        (out, Some(self.report.clone()))
    }
}

#[path = "craps_checks.rs"]
mod checks;

#[path = "craps_churn.rs"]
mod churn;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "craps_tests.rs"]
mod tests;
