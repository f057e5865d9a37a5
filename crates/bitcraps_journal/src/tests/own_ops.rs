//! The local player's own operations across a crash: an operation signed and sent, but not yet
//! decided when the node dies, is sent again after the restart; the player's next operation
//! takes the next nonce. The control forgets the journaled operation before the restart (as a
//! node without this journal would): the table then sees two operations under one nonce and
//! punishes the player — so the check of the first test can fail.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bevy_bitcraps::bitcraps_game::{BetKind, Operation, Working};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::{GameApp, TableApp};

use super::plugin::{crash, game_setup, restart, rolls, same_height, Seen};
use super::support::TempDir;
use crate::{DataDir, Journal};

fn field(amount: u64) -> Operation {
    Operation::PlaceBet {
        kind: BetKind::Field,
        amount,
        working: Working::TableRule,
    }
}

fn game(t: &mut TestTable) -> &mut GameApp {
    t.apps[0]
        .world_mut()
        .resource_mut::<TableApp>()
        .into_inner()
        .get_mut::<GameApp>()
        .expect("the game")
}

/// Plays a little, has App 0 sign and send a field bet, kills App 0 one frame later (the bet
/// is in the others' pools, not decided), optionally wipes its journaled operations, restarts it
/// and has it bet again at once. Returns the table after a few more rolls.
fn crash_with_an_operation_in_flight(seed: u64, forget: bool) -> (TestTable, u64) {
    let tmp = TempDir::new();
    let dir = DataDir::new(tmp.file("data"));
    let dead = Arc::new(AtomicBool::new(false));
    // Five players: the control's punished player leaves four, who play on.
    let mut t = TestTable::new(5, seed, |_, config| config, game_setup).expect("table");
    crash(&mut t);
    restart(&mut t, &dir, &dead);
    assert!(
        t.run_until(20_000, |t| rolls(t, 1) >= 1
            && t.min_height(&[0, 1, 2, 3, 4]) >= 4),
        "first roll"
    );
    let before = game(&mut t).in_flight().len();
    game(&mut t).submit(field(10));
    let sent = game(&mut t).in_flight().last().cloned().expect("signed");
    assert_eq!(game(&mut t).in_flight().len(), before + 1);
    t.step();
    crash(&mut t);
    if forget {
        let path = dir.journal_path(&t.table);
        let mut journal = Journal::open_existing(&path).expect("open");
        journal.forget_own_ops_below(u64::MAX).expect("forget");
    } else {
        let journal = Journal::open_existing(dir.journal_path(&t.table)).expect("open");
        assert!(
            journal.own_ops().expect("read").contains(&sent),
            "the operation was journaled before it left"
        );
    }
    restart(&mut t, &dir, &dead);
    game(&mut t).submit(field(25));
    let mine: Vec<u64> = game(&mut t).in_flight().iter().map(|op| op.nonce).collect();
    if !forget {
        assert!(
            game(&mut t).in_flight().contains(&sent) || mine.iter().all(|n| *n > sent.nonce),
            "the first bet is in flight again (or already decided), the second took a later nonce"
        );
    }
    let target = rolls(&t, 1) + 2;
    assert!(
        t.run_until(30_000, |t| rolls(t, 1) >= target && same_height(t)),
        "rolls after the restart"
    );
    drop(tmp);
    let me = t.keys[0].peer_id();
    let punished = (1..5)
        .filter(|i| {
            t.apps[*i]
                .world()
                .resource::<Seen>()
                .penalties
                .contains(&me)
        })
        .count() as u64;
    eprintln!(
        "forget={forget}: sent nonce {}, in flight after restart {mine:?}, height {}, rolls {}, punished by {punished}",
        sent.nonce,
        t.view(0).height.0,
        rolls(&t, 1)
    );
    (t, punished)
}

#[test]
fn an_operation_in_flight_at_a_crash_is_sent_again_not_replaced() {
    let (t, punished) = crash_with_an_operation_in_flight(811, false);
    assert_eq!(punished, 0, "nobody punishes the restarted player");
    let hashes: Vec<_> = (0..5).map(|i| t.view(i).state_hash).collect();
    assert!(
        hashes.iter().all(|h| *h == hashes[0]),
        "state hashes differ"
    );
}

#[test]
fn control_without_the_journaled_operation_the_player_is_punished_for_double_signing() {
    let (_, punished) = crash_with_an_operation_in_flight(811, true);
    assert!(
        punished > 0,
        "signing another bet under the same nonce is caught and punished"
    );
}
