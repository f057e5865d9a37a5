//! `bitcraps --headless --byzantine-bot KIND` (a build with the `cheats` feature): the cheating
//! bot is caught and punished, and the books still balance on every honest player.

mod headless_common;

use headless_common::play;

#[test]
fn a_withholding_bot_is_punished_and_the_books_still_balance() {
    let out = play(&["--rolls", "10", "--byzantine-bot", "withhold"]).expect("withholder");
    assert!(out.contains("withheld its dice reveal"), "{out}");
    assert!(
        out.contains("(withholds reveals) balance       0  bond     0  unseated"),
        "{out}"
    );
    assert!(out.contains(": balanced"), "{out}");
    assert!(out.contains("on all 4 honest players: identical"), "{out}");
}

#[test]
fn a_double_voter_is_caught_with_evidence() {
    let out = play(&["--rolls", "10", "--byzantine-bot", "double-vote"]).expect("double voter");
    assert!(
        out.contains("misbehaviour detected: Bot 4 (double votes): double vote"),
        "{out}"
    );
    assert!(
        out.contains("penalty: Bot 4 (double votes) double vote"),
        "{out}"
    );
    assert!(out.contains(": balanced"), "{out}");
}
