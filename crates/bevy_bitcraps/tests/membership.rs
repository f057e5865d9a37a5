//! The seats are the validators, through the plugin: a running table of four bot Apps admits a
//! fifth player (a newcomer App that catches up from the others' certificates and then votes),
//! refuses a sixth by the bots' admission policy, and plays on after a genesis player leaves.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, Keypair, PeerId};
use bevy_bitcraps::bitcraps_game::{Event, JoinDeclined, Operation, Stage, TableState};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

const GENESIS: usize = 4;

fn state(t: &TestTable, i: usize) -> TableState {
    t.view(i)
        .snapshot::<TableState>()
        .expect("craps state")
        .clone()
}

fn submit(t: &mut TestTable, i: usize, op: Operation) {
    let mut app = t.apps[i].world_mut().resource_mut::<TableApp>();
    app.get_mut::<GameApp>().expect("game").submit(op);
}

#[derive(Resource, Default)]
struct Events(Vec<Event>);

fn collect(mut seen: ResMut<Events>, mut events: MessageReader<GameEvent>) {
    seen.0.extend(events.read().map(|e| e.event.clone()));
}

/// Four genesis Apps and two newcomers; the bots admit while fewer than five are seated.
fn table(seed: u64) -> TestTable {
    let genesis: Vec<PeerId> = testing::test_keys(GENESIS + 2, seed)[..GENESIS]
        .iter()
        .map(Keypair::peer_id)
        .collect();
    TestTable::new(
        GENESIS + 2,
        seed,
        |i, config| {
            let key = config.keypair.clone();
            let config = if i < GENESIS {
                BitCrapsConfig::new(config.table, key, genesis.iter().copied())
            } else {
                BitCrapsConfig::newcomer(config.table, key, genesis.iter().copied())
            };
            config.expect("config").with_fast_timings()
        },
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin))
                .init_resource::<Events>()
                .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
            let strategy = if i == 1 {
                BotStrategy::Field { amount: 10 }
            } else {
                BotStrategy::PassLine { amount: 10 }
            };
            app.world_mut()
                .spawn(BotPlayer::new(strategy).admitting(AdmissionPolicy::UpTo(5)));
        },
    )
    .expect("table")
}

fn same_hashes(t: &TestTable, which: &[usize], from: u64) {
    let up_to = t.min_height(which);
    assert!(up_to > from, "no height after {from}: {up_to}");
    for h in from..=up_to {
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
fn a_running_table_admits_refuses_and_plays_on_after_a_leave() {
    let mut t = table(31);
    let genesis = [0, 1, 2, 3];
    assert!(t.run_until(3_000, |t| t.min_height(&genesis) >= 4));
    // A fifth player asks to sit down: the bots admit it (fewer than five seated).
    let fifth = t.keys[4].peer_id();
    submit(&mut t, 4, Operation::Join { buy_in: 1_000 });
    let five = [0, 1, 2, 3, 4];
    assert!(
        t.run_until(20_000, |t| five
            .iter()
            .all(|i| state(t, *i).seat_of(&fifth).is_some())),
        "the newcomer was not seated everywhere: heights {:?}",
        five.map(|i| t.view(i).height)
    );
    let seated_at = state(&t, 0).height();
    // Two heights later it votes: its precommits appear in the certificates.
    assert!(
        t.run_until(20_000, |t| {
            let node = t.apps[0].world().resource::<ConsensusNode>();
            node.journal()
                .range(Height(seated_at + 2)..)
                .any(|(_, d)| d.certificate.signers().any(|s| s == fifth))
        }),
        "the newcomer never signed a certificate"
    );
    // A sixth: the bots refuse (five are seated), and the sixth sees why.
    let sixth = t.keys[5].peer_id();
    submit(&mut t, 5, Operation::Join { buy_in: 1_000 });
    let declined = |t: &TestTable, i: usize| {
        t.apps[i].world().resource::<Events>().0.iter().any(|e| {
            matches!(e, Event::JoinDeclined { peer, reason: JoinDeclined::Refused } if *peer == sixth)
        })
    };
    assert!(
        t.run_until(20_000, |t| declined(t, 0) && declined(t, 5)),
        "the sixth was not refused on both sides"
    );
    assert!(state(&t, 0).seat_of(&sixth).is_none());
    // A genesis player leaves: its bot stops, its field bets resolve, then it leaves.
    let leaver = t.keys[1].peer_id();
    let bots: Vec<Entity> = {
        let world = t.apps[1].world_mut();
        let mut q = world.query_filtered::<Entity, With<BotPlayer>>();
        q.iter(world).collect()
    };
    for bot in bots {
        t.apps[1].world_mut().despawn(bot);
    }
    let mut asked = 0;
    assert!(
        t.run_until(30_000, |t| {
            let s = state(t, 1);
            if let Some(seat) = s.seat_of(&leaver) {
                let idle =
                    s.bets_of(seat).next().is_none() && matches!(s.stage(), Stage::Betting { .. });
                let app = t.apps[1].world().resource::<TableApp>();
                let pending = app.get::<GameApp>().map_or(1, GameApp::pending_local);
                if idle && pending == 0 && asked < 50 {
                    asked += 1;
                    submit(t, 1, Operation::Leave);
                }
                false
            } else {
                true
            }
        }),
        "the leaver never left"
    );
    let left_at = state(&t, 0).height();
    let stay = [0, 2, 3, 4];
    assert!(t.run_until(30_000, |t| t.min_height(&stay) >= left_at + 15));
    same_hashes(&t, &stay, 1);
    let s = state(&t, 0);
    assert_eq!(s.closed_at(), None, "four players keep the table open");
    assert_eq!(s.seated().len(), 4);
    assert!(!s.validators_next().contains(&leaver));
    assert!(s.validators_next().contains(&fifth));
    s.check_accounting().expect("accounting identity");
    eprintln!(
        "frames {}, newcomer seated at {seated_at}, leaver gone at {left_at}, heights {:?}",
        t.frames,
        stay.map(|i| t.view(i).height.0)
    );
}
