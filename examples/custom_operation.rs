//! A custom side bet from outside `bitcraps_game`: the **fire bet**.
//!
//! Placed before a new shooter's first roll, the fire bet wins if the shooter makes 4, 5 or 6
//! *different* points before sevening out: 4 points pay 24:1, 5 pay 249:1, 6 pay 999:1 (paid at
//! once, there is nothing more to make). Fewer than 4 points and the bet loses on the seven-out.
//!
//! The hand ends on a seven-out, or when the dice pass for any other reason at a roll; if the
//! shooter leaves between rolls, the next shooter carries the hand on (as the table does).
//!
//! The game logic is in plain functions ([`fire_bet_registry`], [`place_fire_bet`],
//! [`fire_payout`], [`FireState`], [`FireBet`]) so that other front ends (a Bevy plugin, a bot)
//! can call them; `main` plays a short demo on a local table.
//!
//! The same operation also plays through the Bevy plugin: [`play_on_bevy_table`] registers it
//! on four headless Apps with `app.add_game_operation::<FireBet>()`, one player submits it
//! with `LocalPlayer::submit_custom::<FireBet>`, and every App reads it back as a typed
//! `CustomOperationDecided<FireBet>` message once consensus has decided it.
//!
//! Run it with `cargo run --example custom_operation`, its tests with
//! `cargo test -p bitcraps --example custom_operation`.

use std::sync::Arc;

use bevy_bitcraps::bevy::prelude::*;
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::{
    BitCrapsSystems, BotPlayer, BotPlugin, BotStrategy, CustomOperationDecided, GameApp,
    GameAppExt, GameOperation, GamePlugin, LocalPlayer, StateHashBook, TableApp, TableView,
};
use bitcraps::game::driver::{LocalTable, RollPlan};
use bitcraps::game::{
    CustomContext, CustomError, CustomOperation, Event, Operation, PhaseEvent, Point, Registry,
    RegistryError, RollReport, Seat, TableConfig, TableData, TableState,
};

/// The fire bet's stable name (part of the registry hash: never change it).
pub const FIRE_BET: &str = "fire-bet";

/// What the fire bet pays "to 1" for `points` distinct points made, if it wins.
pub fn fire_payout(points: u32) -> Option<u64> {
    match points {
        4 => Some(24),
        5 => Some(249),
        6 => Some(999),
        _ => None,
    }
}

/// The worst case the bank must cover: every fire bet paid at 999:1.
pub const FIRE_MAX_PAYOUT: u64 = 999;

/// The fire bet's own state, kept by the table (3 bytes: the points made this hand as a bit
/// set over [`Point::ALL`], whether the hand has started, and whether betting is still open
/// for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FireState {
    /// Bit `i` set: `Point::ALL[i]` was made this hand.
    pub points: u8,
    /// The current shooter has rolled at least once this hand (no new fire bets).
    pub hand_started: bool,
}

impl FireState {
    /// Decodes the state bytes (empty = a fresh table).
    pub fn decode(bytes: &[u8]) -> Result<FireState, CustomError> {
        match bytes {
            [] => Ok(FireState::default()),
            [points, started] if *points < 64 && *started <= 1 => Ok(FireState {
                points: *points,
                hand_started: *started == 1,
            }),
            _ => Err(CustomError::Payload(format!(
                "bad fire-bet state {bytes:?}"
            ))),
        }
    }

    /// Encodes the state.
    pub fn encode(self) -> Vec<u8> {
        vec![self.points, u8::from(self.hand_started)]
    }

    /// Distinct points made this hand.
    pub fn count(self) -> u32 {
        self.points.count_ones()
    }

    /// Records a point made.
    pub fn made(self, point: Point) -> FireState {
        let bit = Point::ALL.iter().position(|p| *p == point).unwrap_or(0);
        FireState {
            points: self.points | (1 << bit),
            ..self
        }
    }
}

/// The fire bet as a custom operation. Payload: the stake, 8 bytes big-endian.
#[derive(Debug, Clone, Copy, Default)]
pub struct FireBet;

fn stake_of(payload: &[u8]) -> Result<u64, CustomError> {
    let bytes: [u8; 8] = payload.try_into().map_err(|_| {
        CustomError::Payload(format!("{} bytes, expected an 8-byte stake", payload.len()))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

impl CustomOperation for FireBet {
    fn name(&self) -> &str {
        FIRE_BET
    }

    fn validate(
        &self,
        table: &TableData,
        config: &TableConfig,
        author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        let stake = stake_of(payload)?;
        let state = FireState::decode(table.custom(FIRE_BET).map_or(&[], |s| &s.state))?;
        if !table.stage().is_betting() {
            return Err(CustomError::Rejected("betting is closed".into()));
        }
        if state.hand_started {
            return Err(CustomError::Rejected(
                "the fire bet is taken only before a new shooter's first roll".into(),
            ));
        }
        if stake < config.rules.min_bet {
            return Err(CustomError::Rejected(format!(
                "the minimum fire bet is {}",
                config.rules.min_bet
            )));
        }
        let already = table
            .custom(FIRE_BET)
            .and_then(|s| s.pots.get(&author).copied())
            .unwrap_or(0);
        if already.saturating_add(stake) > config.rules.max_bet {
            return Err(CustomError::Rejected(format!(
                "the maximum fire bet is {}",
                config.rules.max_bet
            )));
        }
        Ok(())
    }

    fn apply(
        &self,
        ctx: &mut CustomContext<'_>,
        author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        let stake = stake_of(payload)?;
        ctx.stake(author, stake)?;
        let total: u64 = ctx.pots().values().sum();
        ctx.set_exposure(total.saturating_mul(FIRE_MAX_PAYOUT))?;
        ctx.emit(Some(author), payload.to_vec());
        Ok(())
    }

    fn on_roll(&self, ctx: &mut CustomContext<'_>, roll: &RollReport) -> Result<(), CustomError> {
        let mut state = FireState::decode(ctx.state())?;
        state.hand_started = true;
        if let PhaseEvent::PointMade(point) = roll.event {
            state = state.made(point);
        }
        let hand_over = roll.event == PhaseEvent::SevenOut || roll.next_shooter != roll.shooter;
        if state.count() == 6 || hand_over {
            settle(ctx, state.count())?;
            state = FireState::default();
        }
        ctx.set_state(state.encode());
        Ok(())
    }
}

/// Pays or collects every fire bet for `points` distinct points made.
fn settle(ctx: &mut CustomContext<'_>, points: u32) -> Result<(), CustomError> {
    for (seat, stake) in ctx.pots() {
        match fire_payout(points) {
            Some(to_one) => {
                ctx.pay(seat, stake.saturating_mul(to_one))?;
                ctx.release(seat, stake)?;
            }
            None => ctx.forfeit(seat, stake)?,
        }
        ctx.emit(Some(seat), vec![points as u8]);
    }
    ctx.set_exposure(0)
}

/// A registry with the fire bet.
pub fn fire_bet_registry() -> Result<Registry, RegistryError> {
    Registry::new().with(Arc::new(FireBet))
}

/// The operation that places a fire bet of `stake` chips.
pub fn place_fire_bet(stake: u64) -> Operation {
    Operation::Custom {
        name: FIRE_BET.into(),
        payload: stake.to_be_bytes().to_vec(),
    }
}

/// Dice that make the points 4, 5, 6 and 8, set a 9, then seven out.
pub const FOUR_POINTS_THEN_SEVEN_OUT: [(u8, u8); 10] = [
    (2, 2),
    (1, 3),
    (1, 4),
    (2, 3),
    (1, 5),
    (2, 4),
    (2, 6),
    (3, 5),
    (4, 5),
    (3, 4),
];

/// Plays `dice` on `table`, one roll each; returns every event.
pub fn play(
    table: &mut LocalTable,
    dice: &[(u8, u8)],
) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    let mut events = Vec::new();
    for (a, b) in dice {
        events.extend(table.play_roll(&RollPlan::dice(*a, *b))?);
    }
    Ok(events)
}

/// In the Bevy plugin the fire bet's payload is its stake as 8 big-endian bytes: the same bytes
/// as [`place_fire_bet`] (the project codec writes a byte array as its bytes).
impl GameOperation for FireBet {
    type Payload = [u8; 8];
}

/// Fire bets decided on one App, as the plugin delivered them.
#[derive(Resource, Default)]
struct FireBetsHeard(Vec<(Option<Seat>, u64)>);

fn hear_fire_bets(
    mut heard: ResMut<FireBetsHeard>,
    mut decided: MessageReader<CustomOperationDecided<FireBet>>,
) {
    for d in decided.read() {
        heard.0.push((d.seat, u64::from_be_bytes(d.payload)));
    }
}

/// Whether this App's player has put its fire bet down yet.
#[derive(Resource, Default)]
struct FireBetPlaced(bool);

fn place_fire_bet_once(mut placed: ResMut<FireBetPlaced>, mut player: LocalPlayer) {
    if !placed.0 && player.seat().is_some() {
        placed.0 = player
            .submit_custom::<FireBet>(&FIRE_STAKE_ON_BEVY.to_be_bytes())
            .is_ok();
    }
}

/// The stake the Bevy demo's player puts on the fire bet.
pub const FIRE_STAKE_ON_BEVY: u64 = 10;

/// What [`play_on_bevy_table`] saw.
#[derive(Debug)]
pub struct BevyOutcome {
    /// For each App, the fire bets it saw decided: (author's seat, stake).
    pub heard: Vec<Vec<(Option<Seat>, u64)>>,
    /// The seat of the player who placed it.
    pub placed_by: Option<Seat>,
    /// The state hash of each App at the last height all of them decided.
    pub hashes: Vec<[u8; 32]>,
    /// Frames stepped.
    pub frames: u64,
}

/// Four headless Bevy Apps (bots on the pass line, connected by the in-memory transport) with
/// the fire bet registered through `add_game_operation`; App 1's player places a fire bet. Runs
/// until every App has seen it decided and `rolls` dice rolls have been played.
pub fn play_on_bevy_table(rolls: u64) -> Result<BevyOutcome, Box<dyn std::error::Error>> {
    let mut table = TestTable::new(
        4,
        2027,
        |_, config| config,
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin))
                .add_game_operation::<FireBet>()
                .init_resource::<FireBetsHeard>()
                .add_systems(Update, hear_fire_bets.after(BitCrapsSystems::Apply));
            app.world_mut()
                .spawn(BotPlayer::new(BotStrategy::PassLine { amount: 10 }));
            if i == 1 {
                app.init_resource::<FireBetPlaced>().add_systems(
                    Update,
                    place_fire_bet_once.before(BitCrapsSystems::Consensus),
                );
            }
        },
    )?;
    let rolled = |t: &TestTable| {
        t.apps[0]
            .world()
            .resource::<TableView>()
            .snapshot::<TableState>()
            .map_or(0, |s| s.roll_number().saturating_sub(1))
    };
    let heard_everywhere = |t: &TestTable| {
        t.apps
            .iter()
            .all(|a| !a.world().resource::<FireBetsHeard>().0.is_empty())
    };
    if !table.run_until(100_000, |t| heard_everywhere(t) && rolled(t) >= rolls) {
        return Err("the fire bet was not decided on every App in time".into());
    }
    // Let every App reach the same height before comparing state hashes.
    let height = table
        .apps
        .iter()
        .map(|a| a.world().resource::<TableView>().height)
        .min()
        .unwrap_or_default();
    let hashes = table
        .apps
        .iter()
        .filter_map(|a| a.world().resource::<StateHashBook>().local(height))
        .collect();
    for app in &table.apps {
        if let Some(state) = app.world().resource::<TableView>().snapshot::<TableState>() {
            state.check_accounting()?;
        }
    }
    Ok(BevyOutcome {
        heard: table
            .apps
            .iter()
            .map(|a| a.world().resource::<FireBetsHeard>().0.clone())
            .collect(),
        placed_by: table.apps[1]
            .world()
            .resource::<TableApp>()
            .get::<GameApp>()
            .and_then(GameApp::seat),
        hashes,
        frames: table.frames,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Arc::new(fire_bet_registry()?);
    let mut table = LocalTable::new(4, 10_000, 10_000_000, registry)?;
    let before = table.state().seat(Seat(1)).map_or(0, |s| s.balance);
    let bet = table.sign_seat(Seat(1), place_fire_bet(10))?;
    table.apply(vec![bet])?;
    println!("seat 1 puts 10 on the fire bet");
    for e in play(&mut table, &FOUR_POINTS_THEN_SEVEN_OUT)? {
        match e {
            Event::DiceRolled { roll, event, .. } => println!("  rolled {roll}: {event:?}"),
            Event::Custom {
                name, seat, data, ..
            } if name == FIRE_BET && data.len() == 1 => {
                println!("  fire bet of {seat:?} settled with {} points", data[0]);
            }
            _ => {}
        }
    }
    let after = table.state().seat(Seat(1)).map_or(0, |s| s.balance);
    println!("seat 1: {before} → {after} chips (10 at 24:1 = +240)");
    table.state().check_accounting()?;

    println!("\nthe same operation through the Bevy plugin, on four Apps:");
    let outcome = play_on_bevy_table(3)?;
    for (i, heard) in outcome.heard.iter().enumerate() {
        println!("  App {i} saw the fire bet decided: {heard:?}");
    }
    let agree = outcome.hashes.len() == 4 && outcome.hashes.windows(2).all(|w| w[0] == w[1]);
    println!(
        "  {} frames; state hashes of the four Apps {}",
        outcome.frames,
        if agree { "identical" } else { "DIFFER" }
    );
    if !agree {
        return Err("state hashes differ".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use bitcraps::game::{GenesisError, OpError, TableState};

    fn table() -> LocalTable {
        LocalTable::new(
            4,
            100_000,
            100_000_000,
            Arc::new(fire_bet_registry().unwrap()),
        )
        .unwrap()
    }

    fn balance(t: &LocalTable, seat: Seat) -> u64 {
        t.state().seat(seat).unwrap().balance
    }

    fn bet(
        t: &mut LocalTable,
        seat: Seat,
        stake: u64,
    ) -> Result<Vec<Event>, Box<dyn std::error::Error>> {
        let op = t.sign_seat(seat, place_fire_bet(stake))?;
        Ok(t.apply(vec![op])?)
    }

    #[test]
    fn payout_table() {
        assert_eq!(fire_payout(3), None);
        assert_eq!(fire_payout(4), Some(24));
        assert_eq!(fire_payout(5), Some(249));
        assert_eq!(fire_payout(6), Some(999));
        let s = FireState::default()
            .made(Point::Four)
            .made(Point::Four)
            .made(Point::Ten);
        assert_eq!(s.count(), 2);
        assert_eq!(FireState::decode(&s.encode()).unwrap(), s);
        assert!(FireState::decode(&[1, 2, 3]).is_err());
    }

    #[test]
    fn four_points_pay_24_to_1() {
        let mut t = table();
        let start = balance(&t, Seat(1));
        bet(&mut t, Seat(1), 10).unwrap();
        assert_eq!(t.state().custom(FIRE_BET).unwrap().exposure, 9_990);
        play(&mut t, &FOUR_POINTS_THEN_SEVEN_OUT).unwrap();
        assert_eq!(balance(&t, Seat(1)), start + 240);
        assert_eq!(t.state().custom(FIRE_BET).unwrap().exposure, 0);
        t.state().check_accounting().unwrap();
    }

    #[test]
    fn five_points_pay_249_to_1() {
        let mut t = table();
        let start = balance(&t, Seat(2));
        bet(&mut t, Seat(2), 20).unwrap();
        let mut dice = FOUR_POINTS_THEN_SEVEN_OUT[..8].to_vec();
        dice.extend([(4, 5), (3, 6), (6, 4), (1, 6)]);
        play(&mut t, &dice).unwrap();
        assert_eq!(balance(&t, Seat(2)), start + 20 * 249);
    }

    #[test]
    fn six_points_pay_999_to_1_at_once() {
        let mut t = table();
        let start = balance(&t, Seat(3));
        bet(&mut t, Seat(3), 10).unwrap();
        let mut dice = FOUR_POINTS_THEN_SEVEN_OUT[..8].to_vec();
        dice.extend([(4, 5), (3, 6), (6, 4), (4, 6)]);
        let events = play(&mut t, &dice).unwrap();
        assert_eq!(balance(&t, Seat(3)), start + 9_990);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Custom { name, data, .. } if name == FIRE_BET && data == &vec![6]
        )));
        // The shooter still has the dice; a new fire bet waits for a new hand.
        assert_eq!(t.state().shooter(), Some(Seat(0)));
    }

    #[test]
    fn three_points_lose_on_the_seven_out() {
        let mut t = table();
        let start = balance(&t, Seat(1));
        let bank = t.state().bank();
        bet(&mut t, Seat(1), 50).unwrap();
        let mut dice = FOUR_POINTS_THEN_SEVEN_OUT[..6].to_vec();
        dice.extend([(5, 5), (1, 6)]);
        play(&mut t, &dice).unwrap();
        assert_eq!(balance(&t, Seat(1)), start - 50);
        assert_eq!(t.state().bank(), bank + 50);
        // A new shooter: the fire bet is open again.
        assert_eq!(t.state().shooter(), Some(Seat(1)));
        bet(&mut t, Seat(1), 10).unwrap();
    }

    #[test]
    fn the_fire_bet_closes_with_the_first_roll() {
        let mut t = table();
        play(&mut t, &[(2, 2)]).unwrap();
        let err = bet(&mut t, Seat(1), 10).unwrap_err();
        let block = err.downcast_ref::<bitcraps::game::BlockError>().unwrap();
        assert!(matches!(
            block,
            bitcraps::game::BlockError::Op { error, .. }
                if matches!(**error, OpError::Custom { ref name, error: CustomError::Rejected(_), .. } if name == FIRE_BET)
        ));
        assert!(bet(&mut t, Seat(1), 5).is_err());
    }

    #[test]
    fn a_build_without_the_fire_bet_refuses_the_table() {
        let t = table();
        let config = t.state().config().clone();
        let err = TableState::genesis(config.clone(), Arc::new(Registry::new())).unwrap_err();
        assert!(matches!(err, GenesisError::RegistryMismatch { .. }));
        assert!(err.to_string().contains("cannot play together"), "{err}");
        assert!(TableState::genesis(config, Arc::new(fire_bet_registry().unwrap())).is_ok());
    }

    #[test]
    fn the_demo_runs() {
        main().unwrap();
    }

    #[test]
    fn the_fire_bet_plays_through_the_bevy_plugin_on_four_apps() {
        let outcome = play_on_bevy_table(2).unwrap();
        assert!(outcome.placed_by.is_some());
        for heard in &outcome.heard {
            // Exactly one fire bet, by App 1's seat, for the stake it submitted.
            assert_eq!(heard, &vec![(outcome.placed_by, FIRE_STAKE_ON_BEVY)]);
        }
        assert_eq!(outcome.hashes.len(), 4);
        assert!(outcome.hashes.windows(2).all(|w| w[0] == w[1]));
    }
}
