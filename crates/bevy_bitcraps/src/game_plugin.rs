//! [`GamePlugin`]: the craps table of `bitcraps_game` as the table application, its messages,
//! its entities, the pool of operations and the local player's clock.

use std::sync::Arc;

use bevy::prelude::*;
use bitcraps_game::{
    AdmissionRules, BondRules, ChipLimits, Deadlines, Event, PenaltyRules, Registry, SeatConfig,
    TableConfig, TableRules, TableState,
};

use crate::application::TableApp;
use crate::apply::apply_decisions;
use crate::config::BitCrapsConfig;
use crate::envelope::Envelope;
use crate::game_app::{decode_op, encode_op, GameApp, PoolRefusal};
use crate::game_entities::{sync_game_entities, GameEntities};
use crate::game_messages::{
    BetResolved, DiceRolled, DisputeOpened, DisputeResolved, GameEvent, OperationDecided,
    PenaltyApplied, SeatJoined, SeatLeft,
};
use crate::messages::ApplicationPacket;
use crate::node::ConsensusNode;
use crate::sets::BitCrapsSystems;
use crate::status::{PeerHealth, TableView};
use crate::transport::Destination;

/// The table's genesis terms, agreed by the initial seats (every seated participant of the
/// plugin's configuration, in canonical order, brings `stack`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameSetup {
    /// Genesis block time, ms since the Unix epoch (also the start of a
    /// [`GameClock::Virtual`] clock). On [`GameClock::Wall`] it must be when the table formed,
    /// agreed by every player (a lobby's formation time): block times start from it, so a
    /// genesis time long past makes the first blocks leap up to a year each towards the clock.
    pub genesis_time_ms: u64,
    /// Where this node's clock comes from: [`GameClock::Wall`] for a table over a network.
    pub clock: GameClock,
    /// Chips each initial seat brings.
    pub stack: u64,
    /// The bank's initial stake.
    pub bank_stake: u64,
    /// House rules.
    pub rules: TableRules,
    /// Bond rules.
    pub bonds: BondRules,
    /// Deadlines (in block time, with a floor of heights).
    pub deadlines: Deadlines,
    /// Missed rolls in a row before a seat is removed.
    pub missed_roll_limit: u32,
    /// What proven cheating and withheld reveals cost.
    pub penalties: PenaltyRules,
    /// How newcomers are admitted, and the most seats.
    pub admission: AdmissionRules,
    /// Bounds of buy-ins and of the chips in circulation.
    pub limits: ChipLimits,
}

impl Default for GameSetup {
    fn default() -> Self {
        GameSetup {
            genesis_time_ms: 1_700_000_000_000,
            clock: GameClock::Virtual,
            stack: 10_000,
            bank_stake: 1_000_000,
            rules: TableRules::default(),
            bonds: BondRules::default(),
            deadlines: Deadlines::default(),
            missed_roll_limit: 3,
            penalties: PenaltyRules::default(),
            admission: AdmissionRules::default(),
            limits: ChipLimits::default(),
        }
    }
}

/// Custom operations registered with [`crate::GameAppExt::add_game_operation`] before the table
/// starts (their registry hash is part of the table config).
#[derive(Resource, Default)]
pub struct GameRegistry(pub Registry);

/// Plays craps on top of [`crate::BitCrapsPlugin`] (add it after that plugin): inserts a
/// [`GameApp`] as the [`TableApp`] when the App finishes building, and adds the game's messages,
/// entities and systems.
#[derive(Clone, Debug, Default)]
pub struct GamePlugin {
    /// Genesis terms.
    pub setup: GameSetup,
}

/// Why the game could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameStartError {
    /// [`crate::BitCrapsPlugin`] was not added before [`GamePlugin`].
    #[error("GamePlugin needs BitCrapsPlugin")]
    NoTable,
    /// The genesis state could not be built.
    #[error(transparent)]
    Genesis(#[from] bitcraps_game::GenesisError),
}

impl GamePlugin {
    /// The genesis state for a plugin configuration and a registry. `config.table`, the id the
    /// consensus signs under, is the genesis nonce; operations are signed under the id derived
    /// from the whole genesis ([`bitcraps_game::TableConfig::derive_table_id`]).
    pub fn genesis(
        &self,
        config: &BitCrapsConfig,
        registry: Arc<Registry>,
    ) -> Result<TableState, GameStartError> {
        let seats = config
            .participants
            .ids()
            .iter()
            .map(|peer| SeatConfig {
                peer: *peer,
                stack: self.setup.stack,
            })
            .collect();
        let mut table = TableConfig::new(
            config.table,
            self.setup.genesis_time_ms,
            seats,
            self.setup.bank_stake,
            &registry,
        );
        table.rules = self.setup.rules;
        table.bonds = self.setup.bonds;
        table.deadlines = self.setup.deadlines;
        table.missed_roll_limit = self.setup.missed_roll_limit;
        table.penalties = self.setup.penalties;
        table.admission = self.setup.admission;
        table.limits = self.setup.limits;
        table.seal();
        Ok(TableState::genesis(table, registry)?)
    }
}

/// Where a node's game clock comes from: the block times it proposes, the clock check of the
/// proposals it prevotes ([`bitcraps_game::MAX_CLOCK_SKEW_MS`]) and so every deadline of the
/// table ([`Deadlines`]).
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GameClock {
    /// The system's wall clock. For tables over a network: the players' clocks agree (within
    /// the skew), and a node that froze, lost its relay or restarted from its journal reads real
    /// time as soon as it runs again, so it proposes and prevotes like the others.
    Wall,
    /// [`GenesisTime`] plus Bevy's virtual time since the App started, never behind the last
    /// decided block's time. For tables in one process (local play with bots, tests, replays)
    /// whose Apps share one notion of time and may run faster or slower than real time.
    #[default]
    Virtual,
}

/// The wall clock, ms since the Unix epoch (0 if the system clock is before 1970).
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2))
}

/// What the local game clock reads when the App starts, ms since the Unix epoch (the clock then
/// advances with Bevy's virtual time): the genesis time, or — for a node resumed from a journal
/// — the last decided block's time, so that its proposals and its clock check follow on from
/// the table's history.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesisTime(pub u64);

impl Plugin for GamePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GameRegistry>()
            .init_resource::<GameEntities>()
            .insert_resource(GenesisTime(self.setup.genesis_time_ms))
            .insert_resource(self.setup.clock)
            .add_message::<GameEvent>()
            .add_message::<OperationDecided>()
            .add_message::<DiceRolled>()
            .add_message::<BetResolved>()
            .add_message::<DisputeOpened>()
            .add_message::<DisputeResolved>()
            .add_message::<SeatJoined>()
            .add_message::<SeatLeft>()
            .add_message::<PenaltyApplied>()
            .add_systems(
                Update,
                (
                    (tick_clock, receive_ops)
                        .in_set(BitCrapsSystems::Consensus)
                        .before(crate::consensus::drive_engine),
                    (emit_game_messages, sync_game_entities, queue_op_broadcasts)
                        .chain()
                        .in_set(BitCrapsSystems::Apply)
                        .after(apply_decisions),
                ),
            );
    }

    fn finish(&self, app: &mut App) {
        let Some(config) = app.world().get_resource::<BitCrapsConfig>().cloned() else {
            log::error!("{}", GameStartError::NoTable);
            return;
        };
        let registry = app
            .world_mut()
            .remove_resource::<GameRegistry>()
            .map(|r| r.0)
            .unwrap_or_default();
        let registry = Arc::new(registry);
        match self.genesis(&config, registry.clone()) {
            Ok(genesis) => {
                let hash = genesis.hash();
                let game = GameApp::new(genesis, config.keypair.clone());
                let snapshot = crate::application::TableApplication::snapshot(&game);
                app.insert_resource(TableApp::new(game))
                    .insert_resource(TableView {
                        height: bevy::prelude::default(),
                        state_hash: hash,
                        snapshot,
                    });
            }
            Err(e) => log::error!("the craps table cannot start: {e}"),
        }
        app.insert_resource(GameRegistry(Registry::new()));
        app.insert_resource(RegistryInUse(registry));
    }
}

/// The custom-operation registry the running table uses.
#[derive(Resource, Clone)]
pub struct RegistryInUse(pub Arc<Registry>);

fn tick_clock(
    time: Res<Time>,
    genesis: Res<GenesisTime>,
    clock: Res<GameClock>,
    mut app: ResMut<TableApp>,
    mut virtual_offset: Local<u64>,
) {
    let Some(game) = app.get_mut::<GameApp>() else {
        return;
    };
    let now = match *clock {
        GameClock::Wall => wall_clock_ms(),
        GameClock::Virtual => {
            let elapsed = u64::try_from(time.elapsed().as_millis()).unwrap_or(u64::MAX / 2);
            let now = genesis
                .0
                .saturating_add(elapsed)
                .saturating_add(*virtual_offset);
            // Never behind the table: a node resumed from its journal (whose virtual time
            // started again) or one whose frames were clamped catches up with the decided time.
            let table = game.state().timestamp_ms();
            if table > now {
                *virtual_offset = virtual_offset.saturating_add(table - now);
            }
            now.max(table)
        }
    };
    game.set_now_ms(now);
}

fn receive_ops(
    mut packets: MessageReader<ApplicationPacket>,
    mut app: ResMut<TableApp>,
    mut health: ResMut<PeerHealth>,
) {
    let Some(game) = app.get_mut::<GameApp>() else {
        return;
    };
    for packet in packets.read() {
        let Some(op) = decode_op(&packet.bytes) else {
            log::warn!("operation from {} dropped: malformed", packet.from);
            health.of(packet.from).invalid += 1;
            continue;
        };
        match game.admit_op(op) {
            Ok(()) => {}
            // Bytes no honest player sends.
            Err(refusal @ (PoolRefusal::BadSignature { .. } | PoolRefusal::Size(_))) => {
                log::warn!("operation from {} dropped: {refusal}", packet.from);
                health.of(packet.from).invalid += 1;
            }
            // An honest player can send these (it left, the table closed, a request crossed
            // another): dropped without blame.
            Err(refusal) => {
                log::debug!("operation from {} not pooled: {refusal}", packet.from);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_game_messages(
    mut app: ResMut<TableApp>,
    mut all: MessageWriter<GameEvent>,
    mut ops: MessageWriter<OperationDecided>,
    mut dice: MessageWriter<DiceRolled>,
    mut bets: MessageWriter<BetResolved>,
    mut opened: MessageWriter<DisputeOpened>,
    mut resolved: MessageWriter<DisputeResolved>,
    mut joined: MessageWriter<SeatJoined>,
    mut left: MessageWriter<SeatLeft>,
    mut penalties: MessageWriter<PenaltyApplied>,
) {
    let Some(game) = app.get_mut::<GameApp>() else {
        return;
    };
    for decided in game.take_decided_ops() {
        ops.write(OperationDecided {
            height: decided.height,
            seat: decided.seat,
            op: decided.op,
            refused: decided.refused,
        });
    }
    for (height, event) in game.take_events() {
        match &event {
            Event::DiceRolled {
                roll_number,
                roll,
                shooter,
                ..
            } => {
                dice.write(DiceRolled {
                    height,
                    roll_number: *roll_number,
                    roll: *roll,
                    shooter: *shooter,
                });
            }
            Event::BetResolved {
                id,
                seat,
                kind,
                amount,
                outcome,
                paid,
            } => {
                bets.write(BetResolved {
                    height,
                    id: *id,
                    seat: *seat,
                    kind: *kind,
                    amount: *amount,
                    outcome: *outcome,
                    paid: *paid,
                });
            }
            Event::DisputeOpened {
                id, by, accused, ..
            } => {
                opened.write(DisputeOpened {
                    height,
                    id: *id,
                    by: *by,
                    accused: *accused,
                });
            }
            Event::DisputeResolved { id, verdict } => {
                resolved.write(DisputeResolved {
                    height,
                    id: *id,
                    verdict: *verdict,
                });
            }
            Event::SeatJoined { seat, peer, .. } => {
                joined.write(SeatJoined {
                    height,
                    seat: *seat,
                    peer: *peer,
                });
            }
            Event::SeatLeft { seat, cashed_out } => {
                left.write(SeatLeft {
                    height,
                    seat: *seat,
                    cashed_out: *cashed_out,
                    removed: None,
                });
            }
            Event::SeatRemoved {
                seat,
                reason,
                cashed_out,
            } => {
                left.write(SeatLeft {
                    height,
                    seat: *seat,
                    cashed_out: *cashed_out,
                    removed: Some(reason.clone()),
                });
            }
            Event::Penalty {
                seat,
                peer,
                reason,
                bond_slashed,
                bets_forfeited,
                balance_forfeited,
            } => {
                penalties.write(PenaltyApplied {
                    height,
                    seat: *seat,
                    peer: *peer,
                    reason: reason.clone(),
                    bond_slashed: *bond_slashed,
                    bets_forfeited: *bets_forfeited,
                    balance_forfeited: *balance_forfeited,
                });
            }
            _ => {}
        }
        all.write(GameEvent { height, event });
    }
}

fn queue_op_broadcasts(mut app: ResMut<TableApp>, mut node: ResMut<ConsensusNode>) {
    let Some(game) = app.get_mut::<GameApp>() else {
        return;
    };
    for op in game.take_broadcast() {
        if let Some(bytes) = encode_op(&op) {
            node.effects
                .outbound
                .push((Destination::Broadcast, Envelope::Application(bytes)));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use bitcraps_consensus::{Keypair, TableId};

    #[test]
    fn the_setup_s_penalties_admission_and_limits_reach_the_genesis() {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
        let config = BitCrapsConfig::new(
            TableId::from_name("setup"),
            keys[0].clone(),
            keys.iter().map(Keypair::peer_id),
        )
        .unwrap();
        let mut setup = GameSetup::default();
        setup.penalties.cheat_balance_percent = 50;
        setup.admission.max_seats = 9;
        setup.limits.max_buy_in = 77_777;
        let state = GamePlugin { setup }
            .genesis(&config, Arc::new(Registry::new()))
            .unwrap();
        let table = state.config();
        assert_eq!(table.penalties.cheat_balance_percent, 50);
        assert_eq!(table.admission.max_seats, 9);
        assert_eq!(table.limits.max_buy_in, 77_777);
        // And they are part of what the players agree on: another setup is another table.
        let other = GamePlugin::default()
            .genesis(&config, Arc::new(Registry::new()))
            .unwrap();
        assert_ne!(other.config().table_id, table.table_id);
    }
}
