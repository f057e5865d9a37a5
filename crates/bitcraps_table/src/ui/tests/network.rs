//! The admission prompt at a real table: four headless Apps agree by consensus
//! ([`TestTable`], in-memory transport), a fifth asks to sit down, the first App's interface
//! asks its player, and pressing Allow gets the admission decided by the table.

use bevy_bitcraps::testing::{self, TestTable};
use bevy_bitcraps::{BitCrapsConfig, BitCrapsSystems, GamePlugin};
use bitcraps_game::TableState;

use super::*;

const GENESIS: usize = 4;

fn state(t: &TestTable, i: usize) -> TableState {
    t.view(i)
        .snapshot::<TableState>()
        .expect("craps state")
        .clone()
}

fn prompt_count(t: &mut TestTable) -> usize {
    let world = t.apps[0].world_mut();
    let mut q = world.query::<&AdmissionPrompt>();
    q.iter(world).count()
}

#[test]
fn at_a_running_table_allow_gets_the_admission_decided_and_is_not_asked_again() {
    let seed = 12;
    let genesis: Vec<PeerId> = testing::test_keys(GENESIS + 1, seed)[..GENESIS]
        .iter()
        .map(Keypair::peer_id)
        .collect();
    let mut t = TestTable::new(
        GENESIS + 1,
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
            app.add_plugins(GamePlugin::default());
            if i == 0 {
                app.init_resource::<EventLog>()
                    .init_resource::<ButtonInput<KeyCode>>()
                    .configure_sets(
                        Update,
                        (TableSystems::Input, TableSystems::Animate, TableSystems::Ui)
                            .chain()
                            .after(BitCrapsSystems::Apply),
                    )
                    .add_plugins(SeatUiPlugin);
            }
        },
    )
    .expect("table");
    let everyone = [0, 1, 2, 3];
    assert!(t.run_until(3_000, |t| t.min_height(&everyone) >= 2));
    assert_eq!(prompt_count(&mut t), 0);

    let guest = t.keys[GENESIS].peer_id();
    let me = t.keys[0].peer_id();
    {
        let mut app = t.apps[GENESIS].world_mut().resource_mut::<TableApp>();
        let game = app.get_mut::<GameApp>().expect("game");
        game.submit(Operation::Join { buy_in: 1_000 });
    }
    assert!(
        t.run_until(3_000, |t| prompt_count(t) == 1),
        "the seated player is asked"
    );
    {
        let world = t.apps[0].world_mut();
        let mut q = world.query::<(Entity, &AdmissionButton)>();
        let allow: Vec<Entity> = q
            .iter(world)
            .filter(|(_, b)| b.admit && b.request.newcomer == guest)
            .map(|(e, _)| e)
            .collect();
        assert_eq!(allow.len(), 1);
        world.entity_mut(allow[0]).insert(Interaction::Pressed);
    }
    // Nobody else answers: the request waits with the local admission decided in it, and the
    // question never comes back meanwhile.
    t.step();
    assert_eq!(prompt_count(&mut t), 0, "answered: the prompt is gone");
    let mut asked_again = false;
    let decided = t.run_until(3_000, |t| {
        asked_again |= prompt_count(t) > 0;
        state(t, 0)
            .join_requests()
            .get(&guest)
            .is_some_and(|r| r.admitted.contains(&me))
    });
    assert!(decided, "the admission was decided by the table");
    t.run_until(200, |_| false);
    asked_again |= prompt_count(&mut t) > 0;
    assert!(!asked_again, "asked again after answering");
    assert!(
        state(&t, 0).seat_of(&guest).is_none(),
        "1 of 4 does not seat"
    );
}
