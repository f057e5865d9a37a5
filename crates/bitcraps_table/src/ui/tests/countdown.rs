//! The countdown line: when the current stage of the roll closes, in seconds of the local clock.

use bitcraps_game::{BetKind, Operation, Working};

use super::super::players::countdown_text;
use super::local_table;

#[test]
fn the_countdown_follows_each_stage_deadline_in_seconds() {
    let mut table = local_table(4);
    let start = table.state().timestamp_ms();
    assert_eq!(
        countdown_text(table.state(), start),
        "betting open: the clock starts with the first bet"
    );
    let bet = table
        .sign_seat(
            bitcraps_game::Seat(1),
            Operation::PlaceBet {
                kind: BetKind::Field,
                amount: 10,
                working: Working::TableRule,
            },
        )
        .expect("signed");
    table.apply(vec![bet]).expect("applied");
    let d = table.state().config().deadlines;
    let bet_at = table.state().timestamp_ms();
    assert_eq!(
        countdown_text(table.state(), bet_at),
        format!("betting closes in {} s", d.betting_ms / 1_000)
    );
    assert_eq!(
        countdown_text(table.state(), bet_at + 12_500),
        format!(
            "betting closes in {} s",
            (d.betting_ms - 12_500).div_ceil(1_000)
        )
    );
    assert_eq!(
        countdown_text(table.state(), bet_at + d.betting_ms + 1),
        "betting closes now"
    );
    let close = table
        .sign_seat(bitcraps_game::Seat(0), Operation::CloseBetting { roll: 1 })
        .expect("signed");
    table.apply(vec![close]).expect("applied");
    let closed_at = table.state().timestamp_ms();
    assert_eq!(
        countdown_text(table.state(), closed_at + 1_000),
        format!("commitments close in {} s", d.commit_ms / 1_000 - 1)
    );
}
