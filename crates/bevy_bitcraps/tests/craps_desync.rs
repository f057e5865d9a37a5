//! One craps App starts from a different genesis (its seats bring another stack). The table id
//! is derived from the whole genesis, so that App is at another table: the others refuse its
//! messages (signed for another table), naming it, it decides nothing, and the three agreeing
//! Apps keep going with one state.
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
    rejected_from: Vec<bevy_bitcraps::bitcraps_consensus::PeerId>,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut desync: MessageReader<DesyncDetected>,
    mut rolls: MessageReader<DiceRolled>,
    mut rejected: MessageReader<MessageRejected>,
) {
    seen.desync.extend(desync.read().cloned());
    seen.rolls += rolls.read().count();
    for r in rejected.read() {
        let peer = r.0.peer();
        if !seen.rejected_from.contains(&peer) {
            seen.rejected_from.push(peer);
        }
    }
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn hash_at(t: &TestTable, i: usize, h: Height) -> Option<StateHash> {
    t.apps[i].world().resource::<StateHashBook>().local(h)
}

#[test]
fn an_app_with_another_genesis_is_at_another_table_and_named() {
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

    let odd_genesis = genesis(&t, ODD).hash();
    // The table id is derived from the whole genesis: the odd App is at another table, so its
    // signatures are for another table id. The others refuse its messages, naming it, and it
    // can decide nothing with them.
    let table_of = |t: &TestTable, i: usize| t.apps[i].world().resource::<BitCrapsConfig>().table;
    assert_ne!(table_of(&t, ODD), table_of(&t, 0));
    assert_eq!(table_of(&t, 1), table_of(&t, 0));
    assert!(
        t.run_until(3_000, |t| t.min_height(&GOOD) >= 5
            && GOOD
                .iter()
                .all(|i| seen(t, *i).rejected_from.contains(&odd))),
        "after {} frames: heights {:?}, rejected senders {:?}",
        t.frames,
        [0, 1, 2, 3].map(|i| t.view(i).height),
        GOOD.map(|i| seen(&t, i).rejected_from.clone())
    );
    assert_eq!(t.view(ODD).height, Height(0));
    assert_eq!(t.view(ODD).state_hash, odd_genesis);
    assert!(hash_at(&t, ODD, Height(1)).is_none());
    assert_ne!(hash_at(&t, 0, Height(1)), Some(odd_genesis));
    for i in GOOD {
        // Nobody of the agreeing three is blamed.
        let blamed = &seen(&t, i).rejected_from;
        assert!(blamed.iter().all(|p| *p == odd), "App {i}: {blamed:?}");
        assert!(seen(&t, i).desync.iter().all(|d| d.peer == odd));
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
