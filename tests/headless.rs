//! `bitcraps --headless --rolls 100`: the bots play a hundred rolls without a window, and the
//! summary shows balances that satisfy the accounting identity and identical state hashes on
//! every honest player. With a cheating bot: `tests/headless_cheats.rs` (`cheats` feature).

mod headless_common;

use headless_common::play;

#[test]
fn a_hundred_rolls_keep_the_books_balanced() {
    let out = play(&["--rolls", "100"]).expect("100 rolls");
    assert!(out.contains("roll 100 at height"), "{out}");
    assert!(out.contains(": balanced"), "{out}");
    assert!(out.contains("on all 4 honest players: identical"), "{out}");
    assert!(out.contains("misbehaviour detected: none"), "{out}");
}

/// A player's build (no `cheats` feature) has no cheating bot: the option does not exist.
#[cfg(not(feature = "cheats"))]
#[test]
fn a_players_build_has_no_cheating_bot() {
    let err = play(&["--rolls", "1", "--byzantine-bot", "withhold"]).expect_err("no cheats");
    assert!(err.contains("--byzantine-bot"), "{err}");
}
