//! Four bot players at one craps table, each in its own headless Bevy App, connected by the
//! in-memory transport and agreeing on every roll through Tendermint consensus.
//!
//! ```text
//! cargo run --release --example headless_table [ROLLS]
//! ```

use bevy_bitcraps::bevy::prelude::*;
use std::sync::{Arc, Mutex};

use bevy_bitcraps::bitcraps_game::{Outcome, TableState};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::{
    BetResolved, BitCrapsSystems, BotPlayer, BotPlugin, BotStrategy, DiceRolled, GamePlugin,
    StateHashBook, TableView,
};

/// What App 0 saw, shared with `main` (the example has no Bevy derives of its own).
#[derive(Default)]
struct Log {
    rolls: Vec<DiceRolled>,
    won: u64,
    lost: u64,
}

fn recorder(
    log: Arc<Mutex<Log>>,
) -> impl FnMut(MessageReader<DiceRolled>, MessageReader<BetResolved>) {
    move |mut rolls, mut bets| {
        let Ok(mut log) = log.lock() else {
            return;
        };
        log.rolls.extend(rolls.read().copied());
        for bet in bets.read() {
            if bet.paid > 0 {
                log.won += 1;
            } else if !matches!(bet.outcome, Outcome::Stay) {
                log.lost += 1;
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rolls: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let strategies = [
        BotStrategy::PassLine { amount: 25 },
        BotStrategy::Field { amount: 10 },
        BotStrategy::DontPass { amount: 25 },
        BotStrategy::PassLine { amount: 50 },
    ];
    let log = Arc::new(Mutex::new(Log::default()));
    let mut table = TestTable::new(
        4,
        2026,
        |_, config| config,
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin));
            if i == 0 {
                app.add_systems(Update, recorder(log.clone()).after(BitCrapsSystems::Apply));
            }
            app.world_mut().spawn(BotPlayer::new(strategies[i % 4]));
        },
    )?;
    let mut printed = 0;
    let done = table.run_until(200_000, |_| {
        let Ok(log) = log.lock() else {
            return true;
        };
        for r in &log.rolls[printed..] {
            let (a, b) = r.roll.sorted_faces();
            println!(
                "roll {:>3} at height {:>4}: {a} + {b} = {:>2}  (shooter {})",
                r.roll_number,
                r.height,
                a + b,
                r.shooter.map_or("-".to_string(), |s| s.to_string())
            );
        }
        printed = log.rolls.len();
        printed >= rolls
    });
    if !done {
        return Err(format!("only {printed} rolls were played").into());
    }
    let view = table.apps[0].world().resource::<TableView>();
    let state = view
        .snapshot::<TableState>()
        .ok_or("no craps state in the table view")?;
    state.check_accounting()?;
    println!(
        "\nafter {} heights ({} frames):",
        view.height.0, table.frames
    );
    for (i, seat) in state.seats().iter().enumerate() {
        println!(
            "  seat {i} ({}): balance {:>6}, bond {:>4}",
            seat.peer, seat.balance, seat.bond
        );
    }
    println!("  bank: {}", state.bank());
    if let Ok(log) = log.lock() {
        println!("  bets won {}, lost {}", log.won, log.lost);
    }
    let height = view.height;
    let hashes: Vec<_> = table
        .apps
        .iter()
        .filter_map(|a| a.world().resource::<StateHashBook>().local(height))
        .collect();
    let agree = hashes.len() == 4 && hashes.windows(2).all(|w| w[0] == w[1]);
    println!(
        "  state hash at {height}: {} on all four Apps: {}",
        bevy_bitcraps::bitcraps_consensus::short_hex(&view.state_hash),
        if agree { "identical" } else { "MISMATCH" }
    );
    if !agree {
        return Err("state hashes differ".into());
    }
    Ok(())
}
