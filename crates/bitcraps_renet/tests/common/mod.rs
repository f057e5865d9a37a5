//! Shared helpers of the network tests: bots, a collector of game messages, checkers.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::Height;
use bevy_bitcraps::bitcraps_consensus::Keypair;
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::*;
use bitcraps_renet::testing::NetTable;
use bitcraps_renet::{join_lobby, Genesis, LobbyJoin, LobbyOutcome, RelayConfig, RelayHandle};

/// Wall-clock bound of one test phase (the tests stop by themselves well before it on an idle
/// machine; the bound keeps a loaded machine from hanging).
pub const WALL: Duration = Duration::from_secs(150);

/// What a player's App saw.
#[derive(Resource, Default)]
pub struct Seen {
    pub rolls: Vec<DiceRolled>,
    pub desync: Vec<DesyncDetected>,
    pub misbehaviour: Vec<MisbehaviourDetected>,
    pub penalties: Vec<PenaltyApplied>,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut rolls: MessageReader<DiceRolled>,
    mut desync: MessageReader<DesyncDetected>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut penalties: MessageReader<PenaltyApplied>,
) {
    seen.rolls.extend(rolls.read().copied());
    seen.desync.extend(desync.read().cloned());
    seen.misbehaviour.extend(misbehaviour.read().cloned());
    seen.penalties.extend(penalties.read().cloned());
}

/// Craps with a bot in seat `i` and the collector. A player who is away is never unseated for
/// missing rolls (a table of four would then close): these tests drop and bring back players.
pub fn bots(i: usize, app: &mut App) {
    bots_with(patient())(i, app)
}

/// The default genesis on the wall clock (as the binary plays over a network), formed when the
/// test process first asked (the same for every App of a test), except that missing rolls never
/// costs a seat.
pub fn patient() -> GameSetup {
    static FORMED_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    GameSetup {
        genesis_time_ms: *FORMED_MS.get_or_init(bevy_bitcraps::wall_clock_ms),
        clock: GameClock::Wall,
        missed_roll_limit: u32::MAX,
        ..GameSetup::default()
    }
}

/// Craps with this genesis, a bot in seat `i` and the collector.
pub fn bots_with(setup: GameSetup) -> impl FnMut(usize, &mut App) {
    move |i, app| {
        app.add_plugins((
            GamePlugin {
                setup: setup.clone(),
            },
            BotPlugin,
        ))
        .init_resource::<Seen>()
        .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
        let strategy = match i % 3 {
            0 => BotStrategy::PassLine { amount: 10 },
            1 => BotStrategy::Field { amount: 10 },
            _ => BotStrategy::DontPass { amount: 20 },
        };
        app.world_mut().spawn(BotPlayer::new(strategy));
    }
}

/// A table of four bot players behind a relay adjusted by `relay`.
pub fn bot_table(seed: u64, relay: impl FnOnce(RelayConfig) -> RelayConfig) -> NetTable {
    NetTable::new(4, seed, relay, |_, c| c, &mut bots).expect("net table")
}

pub fn seen(t: &NetTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

/// Checks that the players in `which` recorded the same state hash at every height from 0 to
/// the lowest height among them, and that they got at least to `min_height`. Returns what is
/// wrong otherwise.
pub fn same_hashes(t: &NetTable, which: &[usize], min_height: u64) -> Result<u64, String> {
    let up_to = t.min_height(which);
    if up_to < min_height {
        return Err(format!("only {up_to} heights decided everywhere"));
    }
    for h in up_to.saturating_sub(250)..=up_to {
        let hashes: Vec<_> = which
            .iter()
            .map(|i| {
                t.apps[*i]
                    .world()
                    .resource::<StateHashBook>()
                    .local(Height(h))
            })
            .collect();
        if hashes.iter().any(Option::is_none) && h > 0 {
            return Err(format!("a player has no hash at {h}"));
        }
        if hashes.windows(2).any(|w| w[0] != w[1]) {
            return Err(format!("state hashes differ at height {h}"));
        }
    }
    Ok(up_to)
}

/// The rolls every player in `which` saw, if they all saw the same first `n`.
pub fn same_rolls(t: &NetTable, which: &[usize], n: usize) -> Result<(), String> {
    let first: Vec<_> = seen(t, which[0])
        .rolls
        .iter()
        .take(n)
        .map(|r| (r.roll_number, r.roll))
        .collect();
    for i in which {
        let rolls: Vec<_> = seen(t, *i)
            .rolls
            .iter()
            .take(n)
            .map(|r| (r.roll_number, r.roll))
            .collect();
        if rolls.len() < n || rolls != first {
            return Err(format!(
                "player {i} saw other rolls ({} of {n})",
                rolls.len()
            ));
        }
    }
    Ok(())
}

/// Steps until the players in `which` decided `heights` more heights (false if they did not
/// within `frames` steps). `each` runs before every step (to drive raw clients).
pub fn progresses(
    t: &mut NetTable,
    which: &[usize],
    heights: u64,
    frames: u64,
    mut each: impl FnMut(&mut NetTable),
) -> bool {
    let target = t.min_height(which) + heights;
    t.run_until(frames, WALL, |t| {
        each(t);
        t.min_height(which) >= target
    })
}

/// A table of five seats where only the first four are bot Apps: seat 4 is left to a test's
/// raw client.
pub fn table_with_free_seat(seed: u64) -> NetTable {
    let mut t = NetTable::new(5, seed, |r| r, |_, c| c, &mut bots).expect("net table");
    t.apps.truncate(4);
    t
}

/// A lobby join at `relay` with `key`: 5 s to connect, 60 s to fill.
pub fn lobby_request(relay: &RelayHandle, key: &Keypair) -> LobbyJoin {
    let mut join = LobbyJoin::new(relay.local_address(), key.clone(), Registry::new().hash());
    join.connect_timeout = Duration::from_secs(5);
    join.wait_timeout = Some(Duration::from_secs(60));
    join
}

/// The lobby at `relay` forms a table of `keys` (each joining on its own thread); returns each
/// player's genesis.
pub fn form_table(relay: &RelayHandle, keys: &[Keypair]) -> Vec<Genesis> {
    let handles: Vec<_> = keys
        .iter()
        .map(|k| {
            let join = lobby_request(relay, k);
            std::thread::spawn(move || join_lobby(&join, |_| {}))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| match h.join().unwrap().expect("seated") {
            LobbyOutcome::Formed(genesis) => genesis,
            other => panic!("the lobby formed no table: {other:?}"),
        })
        .collect()
}
