//! `--headless`: every player is a headless App; they play until the local player's App has
//! seen `--rolls` rolls, then a summary is printed — balances, the accounting identity, state
//! hashes, and any misbehaviour caught.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::{
    BetResolved, BitCrapsSystems, DiceRolled, MisbehaviourDetected, PenaltyApplied, StateHashBook,
    TableView,
};
use bitcraps::game::{Outcome, TableState};
use bitcraps::table::ui::alert::misbehaviour_text;
use bitcraps::table::ui::log::penalty_text;

use crate::error::GameError;
use crate::local_table::{Pace, TableSpec};

/// What the local player's App saw.
#[derive(Resource, Default, Debug)]
struct Tally {
    rolls: Vec<DiceRolled>,
    bets_won: u64,
    bets_lost: u64,
    misbehaviour: BTreeMap<String, u64>,
    penalties: Vec<String>,
}

fn record(
    mut tally: ResMut<Tally>,
    mut rolls: MessageReader<DiceRolled>,
    mut bets: MessageReader<BetResolved>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut penalties: MessageReader<PenaltyApplied>,
    names: Res<bitcraps::table::PlayerNames>,
) {
    tally.rolls.extend(rolls.read().copied());
    for bet in bets.read() {
        match bet.outcome {
            Outcome::Win { .. } => tally.bets_won += 1,
            Outcome::Lose => tally.bets_lost += 1,
            _ => {}
        }
    }
    for m in misbehaviour.read() {
        let (kind, _) = misbehaviour_text(&m.misbehaviour);
        *tally
            .misbehaviour
            .entry(format!("{}: {kind}", names.of(&m.offender)))
            .or_default() += 1;
    }
    for p in penalties.read() {
        tally.penalties.push(format!(
            "{} {} (bond {} slashed, bets {} forfeited)",
            names.of(&p.peer),
            penalty_text(&p.reason),
            p.bond_slashed,
            p.bets_forfeited
        ));
    }
}

/// Plays `rolls` rolls without a window and prints the summary; the local player's App logs
/// at `verbose` (`-v`, `-vv`; `RUST_LOG` overrides).
pub fn run(spec: &TableSpec, rolls: u64, timeout: Duration, verbose: u8) -> Result<(), GameError> {
    let participants = spec.participants();
    let mut apps = Vec::with_capacity(spec.players());
    for i in 0..spec.players() {
        let log = (i == 0).then(|| crate::logging::log_plugin(verbose));
        let mut app = spec.headless_app(&participants, i, log)?;
        if i == 0 {
            app.init_resource::<Tally>()
                .insert_resource(participants.names.clone())
                .add_systems(Update, record.after(BitCrapsSystems::Apply));
        }
        apps.push(app);
    }
    println!(
        "BitCraps headless table: {} players ({}), {} rolls, {} pace",
        spec.players(),
        spec.cheat.map_or("all honest".to_string(), |c| format!(
            "the last bot {}",
            c.describe()
        )),
        rolls,
        if spec.pace == Pace::Fast {
            "fast"
        } else {
            "human"
        }
    );
    let started = Instant::now();
    let mut printed = 0;
    let mut frames = 0u64;
    loop {
        for app in &mut apps {
            app.update();
        }
        frames += 1;
        let tally = apps[0].world().resource::<Tally>();
        let names = apps[0].world().resource::<bitcraps::table::PlayerNames>();
        let state = apps[0].world().resource::<TableView>();
        let state = state.snapshot::<TableState>();
        for r in &tally.rolls[printed..] {
            let shooter = match (r.shooter, state) {
                (Some(s), Some(state)) => names.of_seat(state, s),
                _ => "-".into(),
            };
            println!(
                "roll {:>3} at height {:>4}: {} (shooter {shooter})",
                r.roll_number, r.height, r.roll
            );
        }
        printed = tally.rolls.len();
        if printed as u64 >= rolls {
            break;
        }
        if started.elapsed() > timeout {
            return Err(GameError::Timeout {
                rolls: printed as u64,
                wanted: rolls,
                seconds: timeout.as_secs(),
            });
        }
    }
    summary(spec, &apps, frames, started.elapsed())
}

fn summary(spec: &TableSpec, apps: &[App], frames: u64, took: Duration) -> Result<(), GameError> {
    let world = apps[0].world();
    let view = world.resource::<TableView>();
    let names = world.resource::<bitcraps::table::PlayerNames>();
    let tally = world.resource::<Tally>();
    let state = view
        .snapshot::<TableState>()
        .ok_or(GameError::NoTableState)?;
    println!(
        "\nafter {} heights, {frames} frames of {:.1} s virtual time, {:.1} s of wall time:",
        view.height.0,
        frames as f64 * bevy_bitcraps::testing::FRAME.as_secs_f64(),
        took.as_secs_f64()
    );
    for seat in state.seats() {
        println!(
            "  {:<24} balance {:>7}  bond {:>5}  {}",
            names.of(&seat.peer),
            seat.balance,
            seat.bond,
            if seat.is_seated() {
                "seated"
            } else {
                "unseated"
            }
        );
    }
    println!("  bank {:>31}", state.bank());
    println!("  bets won {}, lost {}", tally.bets_won, tally.bets_lost);
    let holdings = state.holdings().map_err(|_| GameError::Overflow)?;
    let supply = state.supply();
    let held = [holdings.on_table, holdings.bonds, holdings.bank]
        .into_iter()
        .fold(holdings.balances, u64::saturating_add);
    let owed = supply
        .genesis
        .saturating_add(supply.buy_ins)
        .saturating_sub(supply.cash_outs);
    let balanced = state.check_accounting();
    println!(
        "  accounting: balances {} + on the table {} + bonds {} + bank {} = {held}; \
         genesis {} + buy-ins {} - cash-outs {} = {owed}: {}",
        holdings.balances,
        holdings.on_table,
        holdings.bonds,
        holdings.bank,
        supply.genesis,
        supply.buy_ins,
        supply.cash_outs,
        if balanced.is_ok() {
            "balanced"
        } else {
            "MISMATCH"
        }
    );
    if tally.misbehaviour.is_empty() {
        println!("  misbehaviour detected: none");
    }
    for (what, count) in &tally.misbehaviour {
        println!("  misbehaviour detected: {what} ({count} times)");
    }
    for p in &tally.penalties {
        println!("  penalty: {p}");
    }
    // Honest players must share the state hash of the last height every one of them applied.
    let honest: Vec<&App> = apps
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != spec.cheater())
        .map(|(_, a)| a)
        .collect();
    let common = honest
        .iter()
        .map(|a| a.world().resource::<TableView>().height)
        .min()
        .unwrap_or_default();
    let hashes: Vec<_> = honest
        .iter()
        .filter_map(|a| a.world().resource::<StateHashBook>().local(common))
        .collect();
    let agree = hashes.len() == honest.len() && hashes.windows(2).all(|w| w[0] == w[1]);
    println!(
        "  state hash at h{}: {} on all {} honest players: {}",
        common.0,
        hashes
            .first()
            .map_or("-".into(), bitcraps::consensus::short_hex),
        honest.len(),
        if agree { "identical" } else { "MISMATCH" }
    );
    balanced?;
    if !agree {
        return Err(GameError::Desync(common.0));
    }
    Ok(())
}
