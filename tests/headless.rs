//! `bitcraps --headless --rolls 100`: the bots play a hundred rolls without a window, and the
//! summary shows balances that satisfy the accounting identity and identical state hashes on
//! every honest player — also with a cheating bot, which is caught and punished.

use std::process::Command;

/// Runs `bitcraps --headless ARGS`: its output, or why it failed.
fn play(args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_bitcraps"))
        .arg("--headless")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run the game: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(format!(
            "{args:?} failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

#[test]
fn a_hundred_rolls_keep_the_books_balanced() {
    let out = play(&["--rolls", "100"]).expect("100 rolls");
    assert!(out.contains("roll 100 at height"), "{out}");
    assert!(out.contains(": balanced"), "{out}");
    assert!(out.contains("on all 4 honest players: identical"), "{out}");
    assert!(out.contains("misbehaviour detected: none"), "{out}");
}

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
