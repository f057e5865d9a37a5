//! `bitcraps-sim --craps`: real craps in the swarm from the command line.

#![allow(clippy::expect_used)]

use std::process::Command;

#[test]
fn craps_runs_print_the_game_line_and_the_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_bitcraps-sim"))
        .args([
            "--craps",
            "--runs",
            "8",
            "--seed",
            "3",
            "--nodes",
            "4",
            "--withholders",
            "1",
        ])
        .output()
        .expect("bitcraps-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("runs=8 violations=0 liveness_failures=0 heights="),
        "{stdout}"
    );
    let game = lines[lines.len() - 2];
    assert!(game.starts_with("craps: rolls="), "{stdout}");
    assert!(
        !game.contains("penalties=0"),
        "the withholders went unpunished: {stdout}"
    );
}
