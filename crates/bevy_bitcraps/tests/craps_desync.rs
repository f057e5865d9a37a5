//! A desync at game level: one craps App starts from a different genesis (its seats bring
//! another stack), so its table state differs from the others' from the first decided height.
//! The Apps report `DesyncDetected` naming the height — the odd App for the first decided height
//! it cannot apply, the others for the genesis state it announces — and the three agreeing Apps
//! keep going.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::Height;
use bevy_bitcraps::bitcraps_game::TableState;
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

const GOOD: [usize; 3] = [0, 1, 2];
const ODD: usize = 3;

#[derive(Resource, Default)]
struct Seen {
    desync: Vec<DesyncDetected>,
    rolls: usize,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut desync: MessageReader<DesyncDetected>,
    mut rolls: MessageReader<DiceRolled>,
) {
    seen.desync.extend(desync.read().cloned());
    seen.rolls += rolls.read().count();
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn hash_at(t: &TestTable, i: usize, h: Height) -> Option<StateHash> {
    t.apps[i].world().resource::<StateHashBook>().local(h)
}

#[test]
fn an_app_with_another_genesis_is_reported_as_desynced_at_a_named_height() {
    let mut t = TestTable::new(
        4,
        41,
        |_, config| config,
        |i, app| {
            let mut setup = GameSetup::default();
            if i == ODD {
                setup.stack -= 1;
            }
            app.add_plugins((GamePlugin { setup }, BotPlugin))
                .init_resource::<Seen>()
                .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
            app.world_mut()
                .spawn(BotPlayer::new(BotStrategy::Field { amount: 10 }));
        },
    )
    .expect("table");
    let odd = t.keys[ODD].peer_id();

    // The genesis states differ before anything is decided.
    let genesis = |t: &TestTable, i: usize| {
        t.view(i)
            .snapshot::<TableState>()
            .expect("craps state")
            .clone()
    };
    assert_eq!(t.view(0).height, Height(0));
    assert_ne!(genesis(&t, 0).hash(), genesis(&t, ODD).hash());
    assert_eq!(genesis(&t, 0).hash(), genesis(&t, 1).hash());

    let good_peers: Vec<_> = GOOD.iter().map(|i| t.keys[*i].peer_id()).collect();
    let odd_genesis = genesis(&t, ODD).hash();
    let good_genesis = genesis(&t, 0).hash();
    // The odd App cannot apply the block the others decide at height 1 (it extends another
    // state): it reports the certified decision as invalid, naming height 1 and each relayer.
    assert!(
        t.run_until(3_000, |t| {
            let reported: Vec<_> = seen(t, ODD).desync.iter().map(|d| d.peer).collect();
            t.min_height(&GOOD) >= 5 && good_peers.iter().all(|p| reported.contains(p))
        }),
        "desyncs after {} frames: {:?}, heights {:?}",
        t.frames,
        [0, 1, 2, 3].map(|i| seen(&t, i).desync.clone()),
        [0, 1, 2, 3].map(|i| t.view(i).height)
    );
    let own = seen(&t, ODD).desync.clone();
    assert_eq!(own.len(), GOOD.len(), "one report per relayer: {own:?}");
    for d in &own {
        assert_eq!(d.height, Height(1), "{d:?}");
        assert!(good_peers.contains(&d.peer), "{d:?}");
        assert_eq!(d.local, odd_genesis, "its own (genesis) state: {d:?}");
        assert_eq!(d.remote, None, "a certified decision, not an announcement");
    }
    // The odd App stays at its genesis; the agreeing Apps decided height 1 with another state.
    assert_eq!(t.view(ODD).height, Height(0));
    assert_eq!(t.view(ODD).state_hash, odd_genesis);
    assert!(hash_at(&t, ODD, Height(1)).is_none());
    assert!(hash_at(&t, 0, Height(1)).is_some());
    assert_ne!(hash_at(&t, 0, Height(1)), Some(odd_genesis));
    let health = t.apps[ODD].world().resource::<PeerHealth>();
    for p in &good_peers {
        assert!(health.0.get(p).is_some_and(|h| h.desyncs == 1), "{p}");
    }
    // The agreeing Apps learn of it too, from the odd App's announced genesis state, and never
    // blame one another.
    assert!(
        t.run_until(3_000, |t| GOOD
            .iter()
            .all(|i| seen(t, *i).desync.iter().any(|d| d.peer == odd))),
        "the agreeing Apps saw: {:?}",
        GOOD.map(|i| seen(&t, i).desync.clone())
    );
    for i in GOOD {
        let desyncs = &seen(&t, i).desync;
        assert!(
            desyncs.iter().all(|d| d.peer == odd),
            "App {i}: {desyncs:?}"
        );
        assert!(
            desyncs.iter().any(|d| d.height == Height(0)
                && d.remote == Some(odd_genesis)
                && d.local == good_genesis),
            "App {i}: {desyncs:?}"
        );
    }

    // The three agreeing Apps keep deciding, rolling and agreeing.
    let h = t.min_height(&GOOD);
    let rolls = seen(&t, 0).rolls;
    assert!(
        t.run_until(4_000, |t| t.min_height(&GOOD) >= h + 20
            && seen(t, 0).rolls > rolls),
        "no progress after the desync: heights {:?}, rolls {}",
        GOOD.map(|i| t.view(i).height),
        seen(&t, 0).rolls
    );
    let up_to = t.min_height(&GOOD);
    for height in 1..=up_to {
        let hashes: Vec<_> = GOOD
            .iter()
            .filter_map(|i| hash_at(&t, *i, Height(height)))
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "hashes differ at {height}"
        );
    }
    for i in GOOD {
        let state = t.view(i).snapshot::<TableState>().expect("craps state");
        state.check_accounting().expect("accounting identity");
        assert!(seen(&t, i).desync.iter().all(|d| d.peer == odd));
    }
}
