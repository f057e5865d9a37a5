//! The local player's nonces through the plugin: an operation the table refuses for good is
//! decided as refused and never blocks the player's later operations (nor gets an honest
//! player slashed), and two operations of one player under one nonce seen in the pool are
//! turned into a dispute that punishes their author.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::PeerId;
use bevy_bitcraps::bitcraps_game::{BetKind, Operation, PenaltyReason, SignedOp, Working};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

#[derive(Resource, Default)]
struct Seen {
    decided: Vec<OperationDecided>,
    rolls: usize,
    penalties: Vec<PenaltyApplied>,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut decided: MessageReader<OperationDecided>,
    mut rolls: MessageReader<DiceRolled>,
    mut penalties: MessageReader<PenaltyApplied>,
) {
    seen.decided.extend(decided.read().cloned());
    seen.rolls += rolls.read().count();
    seen.penalties.extend(penalties.read().cloned());
}

fn table(seed: u64) -> TestTable {
    TestTable::new(
        4,
        seed,
        |_, config| config,
        |_, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin))
                .init_resource::<Seen>()
                .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
            app.world_mut()
                .spawn(BotPlayer::new(BotStrategy::PassLine { amount: 10 }));
        },
    )
    .expect("table")
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn game(t: &mut TestTable, i: usize) -> Mut<'_, TableApp> {
    t.apps[i].world_mut().resource_mut::<TableApp>()
}

fn field(amount: u64) -> Operation {
    Operation::PlaceBet {
        kind: BetKind::Field,
        amount,
        working: Working::TableRule,
    }
}

#[test]
fn a_refused_operation_is_decided_as_refused_and_blocks_nothing() {
    let mut t = table(31);
    let me = t.keys[0].peer_id();
    {
        let mut app = game(&mut t, 0);
        let game = app.get_mut::<GameApp>().unwrap();
        // Below the table minimum: refused for good. Then a bet the table takes.
        game.submit(field(1));
        game.submit(field(10));
    }
    let mine = |t: &TestTable| -> Vec<OperationDecided> {
        seen(t, 0)
            .decided
            .iter()
            .filter(|d| d.op.author == me && matches!(d.op.op, Operation::PlaceBet { .. }))
            .cloned()
            .collect()
    };
    assert!(
        t.run_until(20_000, |t| mine(t).len() >= 2 && seen(t, 0).rolls >= 5),
        "decided: {:?}",
        mine(&t)
    );
    let decided = mine(&t);
    let first = decided.iter().find(|d| d.op.op == field(1)).unwrap();
    let second = decided.iter().find(|d| d.op.op == field(10)).unwrap();
    assert!(first.op.nonce < second.op.nonce);
    let reason = first.refused.as_deref().expect("refused");
    assert!(reason.contains("minimum"), "{reason}");
    assert_eq!(second.refused, None);
    // Nobody was punished, the local player kept committing and revealing, nothing is stuck.
    for i in 0..4 {
        assert!(
            seen(&t, i).penalties.is_empty(),
            "{:?}",
            seen(&t, i).penalties
        );
    }
    let pending = t.apps[0]
        .world()
        .resource::<TableApp>()
        .get::<GameApp>()
        .unwrap()
        .pending_local();
    assert!(pending <= 2, "local operations stuck: {pending}");
}

/// The id operations are signed under: derived from the table's whole genesis.
fn ops_table(t: &TestTable) -> bevy_bitcraps::bitcraps_consensus::TableId {
    t.apps[0]
        .world()
        .resource::<TableApp>()
        .get::<GameApp>()
        .unwrap()
        .state()
        .config()
        .table_id
}

fn penalty_of(t: &TestTable, i: usize, peer: PeerId) -> Option<PenaltyReason> {
    seen(t, i)
        .penalties
        .iter()
        .find(|p| p.peer == peer)
        .map(|p| p.reason.clone())
}

#[test]
fn two_operations_under_one_nonce_in_the_pool_are_disputed() {
    let mut t = table(33);
    let cheat = t.keys[3].clone();
    let table_id = ops_table(&t);
    // Far ahead of the cheater's sequence, so both sit in the pool side by side.
    let nonce = 1_000;
    let a = SignedOp::sign(&cheat, &table_id, nonce, field(10)).unwrap();
    let b = SignedOp::sign(&cheat, &table_id, nonce, field(20)).unwrap();
    {
        let mut app = game(&mut t, 0);
        let game = app.get_mut::<GameApp>().unwrap();
        assert!(game.receive_op(a));
        assert!(game.receive_op(b));
    }
    let honest = [0, 1, 2];
    let peer = cheat.peer_id();
    assert!(t.run_until(20_000, |t| honest
        .iter()
        .all(|i| penalty_of(t, *i, peer).is_some())));
    for i in honest {
        assert_eq!(
            penalty_of(&t, i, peer),
            Some(PenaltyReason::DoubleSigned { nonce })
        );
        assert!(
            seen(&t, i).penalties.iter().all(|p| p.peer == peer),
            "only the cheater is punished"
        );
    }
}

#[test]
fn the_same_operation_twice_is_not_disputed() {
    let mut t = table(35);
    let key = t.keys[3].clone();
    let a = SignedOp::sign(&key, &ops_table(&t), 1_000, field(10)).unwrap();
    {
        let mut app = game(&mut t, 0);
        let game = app.get_mut::<GameApp>().unwrap();
        assert!(game.receive_op(a.clone()));
        assert!(game.receive_op(a));
    }
    assert!(t.run_until(20_000, |t| seen(t, 0).rolls >= 3));
    for i in 0..4 {
        assert!(
            seen(&t, i).penalties.is_empty(),
            "{:?}",
            seen(&t, i).penalties
        );
    }
}
