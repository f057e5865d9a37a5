//! `bitcraps --headless --rolls 100`: the bots play a hundred rolls without a window, and the
//! summary shows balances that satisfy the accounting identity and identical state hashes on
//! every honest player. With a cheating bot: `tests/headless_cheats.rs` (`cheats` feature).

mod headless_common;

use headless_common::{play, play_logged};

#[test]
fn a_hundred_rolls_keep_the_books_balanced() {
    let out = play(&["--rolls", "100"]).expect("100 rolls");
    assert!(out.contains("roll 100 at height"), "{out}");
    assert!(out.contains(": balanced"), "{out}");
    assert!(out.contains("on all 4 honest players: identical"), "{out}");
    assert!(out.contains("misbehaviour detected: none"), "{out}");
}

/// The local table logs to standard error with `-vv` (each decided height), and stays quiet
/// without `-v`.
#[test]
fn a_local_table_logs_with_v_and_is_quiet_without() {
    let (out, err) = play_logged(&["--rolls", "1", "-vv"]).expect("-vv");
    assert!(out.contains("roll   1 at height"), "{out}");
    assert!(err.contains("decided height 1 in round 0"), "{err}");
    let (_, quiet) = play_logged(&["--rolls", "1"]).expect("quiet");
    assert!(!quiet.contains("decided height"), "{quiet}");
}

/// A player's build (no `cheats` feature) has no cheating bot: the option does not exist.
#[cfg(not(feature = "cheats"))]
#[test]
fn a_players_build_has_no_cheating_bot() {
    let err = play(&["--rolls", "1", "--byzantine-bot", "withhold"]).expect_err("no cheats");
    assert!(err.contains("--byzantine-bot"), "{err}");
}
