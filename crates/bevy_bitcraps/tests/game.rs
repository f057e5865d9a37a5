//! The craps table through the plugin: bots play rolls on four Apps; cheaters are punished.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, PeerId};
use bevy_bitcraps::bitcraps_game::{PenaltyReason, TableState};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

#[derive(Resource, Default)]
struct Seen {
    rolls: Vec<DiceRolled>,
    resolved: usize,
    penalties: Vec<PenaltyApplied>,
    misbehaviour: Vec<MisbehaviourDetected>,
    desync: usize,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut rolls: MessageReader<DiceRolled>,
    mut resolved: MessageReader<BetResolved>,
    mut penalties: MessageReader<PenaltyApplied>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut desync: MessageReader<DesyncDetected>,
) {
    seen.rolls.extend(rolls.read().copied());
    seen.resolved += resolved.read().count();
    seen.penalties.extend(penalties.read().cloned());
    seen.misbehaviour.extend(misbehaviour.read().cloned());
    seen.desync += desync.read().count();
}

/// Four bot Apps, or five with a Byzantine one (a table of four closes when it is unseated).
fn game_table(seed: u64, byzantine: Option<(usize, Option<ByzantineKind>, bool)>) -> TestTable {
    TestTable::new(
        if byzantine.is_some() { 5 } else { 4 },
        seed,
        |_, config| config,
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin))
                .init_resource::<Seen>()
                .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
            let strategy = match i % 3 {
                0 => BotStrategy::PassLine { amount: 10 },
                1 => BotStrategy::Field { amount: 10 },
                _ => BotStrategy::DontPass { amount: 20 },
            };
            let mut bot = BotPlayer::new(strategy);
            if let Some((b, kind, withhold)) = byzantine {
                if b == i {
                    if let Some(kind) = kind {
                        app.add_plugins(ByzantinePlugin { kind, seed });
                    }
                    if withhold {
                        bot = bot.withholding();
                    }
                }
            }
            app.world_mut().spawn(bot);
        },
    )
    .expect("table")
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn state(t: &TestTable, i: usize) -> TableState {
    t.view(i)
        .snapshot::<TableState>()
        .expect("craps state")
        .clone()
}

fn assert_same_hashes(t: &TestTable, which: &[usize]) {
    let up_to = t.min_height(which);
    for h in up_to.saturating_sub(200).max(1)..=up_to {
        let hashes: Vec<_> = which
            .iter()
            .filter_map(|i| {
                t.apps[*i]
                    .world()
                    .resource::<StateHashBook>()
                    .local(Height(h))
            })
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "hashes differ at {h}"
        );
    }
}

#[test]
fn four_bot_apps_play_fifty_rolls_with_identical_state() {
    let mut t = game_table(21, None);
    let all = [0, 1, 2, 3];
    assert!(
        t.run_until(30_000, |t| all
            .iter()
            .all(|i| seen(t, *i).rolls.len() >= 50)),
        "rolls: {:?}, heights {:?}",
        all.map(|i| seen(&t, i).rolls.len()),
        all.map(|i| t.view(i).height)
    );
    // Same rolls everywhere, same state at every height.
    let first: Vec<_> = seen(&t, 0).rolls[..50]
        .iter()
        .map(|r| (r.roll_number, r.roll))
        .collect();
    for i in all {
        let rolls: Vec<_> = seen(&t, i).rolls[..50]
            .iter()
            .map(|r| (r.roll_number, r.roll))
            .collect();
        assert_eq!(rolls, first);
        assert!(seen(&t, i).resolved > 0, "bets were resolved");
        assert!(seen(&t, i).penalties.is_empty() && seen(&t, i).desync == 0);
        let game = t.apps[i].world().resource::<TableApp>();
        assert!(game
            .get::<GameApp>()
            .unwrap()
            .accounting_errors()
            .is_empty());
    }
    assert_same_hashes(&t, &all);
    let s = state(&t, 0);
    s.check_accounting().expect("accounting identity");
    assert!(!s.bets().is_empty() || seen(&t, 0).resolved > 0);
    // Entities: four seats, one local.
    let world = t.apps[0].world_mut();
    let mut q = world.query::<&Seat>();
    let seats: Vec<Seat> = q.iter(world).cloned().collect();
    assert_eq!(seats.len(), 4);
    assert_eq!(seats.iter().filter(|s| s.local).count(), 1);
    let total: u64 = seats.iter().map(|s| s.balance + s.bond).sum();
    assert!(total > 0);
}

fn byz_seat_penalised(t: &TestTable, i: usize, byz: PeerId) -> Option<PenaltyReason> {
    seen(t, i)
        .penalties
        .iter()
        .find(|p| p.peer == byz)
        .map(|p| p.reason.clone())
}

#[test]
fn a_withholding_bot_is_slashed_and_unseated() {
    let mut t = game_table(23, Some((3, None, true)));
    let honest = [0, 1, 2, 4];
    let byz = t.keys[3].peer_id();
    assert!(t.run_until(20_000, |t| {
        honest
            .iter()
            .all(|i| byz_seat_penalised(t, *i, byz).is_some())
            && honest.iter().all(|i| seen(t, *i).rolls.len() >= 3)
    }));
    for i in honest {
        assert!(matches!(
            byz_seat_penalised(&t, i, byz),
            Some(PenaltyReason::Withheld { .. })
        ));
        let s = state(&t, i);
        assert!(s.seat_of(&byz).is_none(), "the withholder lost its seat");
        s.check_accounting().expect("accounting identity");
    }
    assert_same_hashes(&t, &honest);
}

#[test]
fn a_double_voter_is_reported_with_evidence_and_slashed() {
    let mut t = game_table(25, Some((3, Some(ByzantineKind::DoubleVoter), false)));
    let honest = [0, 1, 2, 4];
    let byz = t.keys[3].peer_id();
    assert!(
        t.run_until(20_000, |t| {
            // Every honest App applies the penalty; at least one found the evidence itself (the
            // conflicting votes go to different halves of the table).
            honest
                .iter()
                .all(|i| byz_seat_penalised(t, *i, byz).is_some())
                && honest.iter().any(|i| {
                    seen(t, *i)
                        .misbehaviour
                        .iter()
                        .any(|m| m.evidence().is_some())
                })
        }),
        "heights {:?}, penalties {:?}, evidence {:?}",
        honest.map(|i| t.view(i).height),
        honest.map(|i| seen(&t, i).penalties.len()),
        honest.map(|i| seen(&t, i)
            .misbehaviour
            .iter()
            .filter(|m| m.evidence().is_some())
            .count())
    );
    for i in honest {
        assert_eq!(
            byz_seat_penalised(&t, i, byz),
            Some(PenaltyReason::DoubleVote)
        );
        assert!(seen(&t, i).misbehaviour.iter().all(|m| m.offender == byz));
        state(&t, i)
            .check_accounting()
            .expect("accounting identity");
    }
    assert_same_hashes(&t, &honest);
}
