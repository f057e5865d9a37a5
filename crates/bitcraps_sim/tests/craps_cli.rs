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

/// `--craps` with `--spares` and `--churn`: the churn line shows joins and leaves, and the
/// craps negative control exits 0 only because it finds the planted bug.
#[test]
fn craps_with_churn_and_its_negative_control_from_the_command_line() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bitcraps-sim"))
            .args(args)
            .output()
            .expect("bitcraps-sim runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, stdout) = run(&[
        "--craps", "--spares", "2", "--churn", "0.3", "--runs", "4", "--seed", "9", "--nodes", "5",
    ]);
    assert!(ok, "{stdout}");
    let count = |line: &str, key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let churn = stdout
        .lines()
        .find(|l| l.starts_with("churn: "))
        .unwrap_or_default();
    assert!(count(churn, "joins=") > 0, "{stdout}");
    assert!(count(churn, "engine_set_changes=") > 0, "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("runs=4 violations=0 liveness_failures=0"),
        "{stdout}"
    );
    let (ok, stdout) = run(&[
        "--craps",
        "--wrong-height-set",
        "--runs",
        "60",
        "--nodes",
        "4",
        "--expect-violation",
    ]);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("  set: instance "), "{stdout}");
    assert!(
        stdout.contains("replay: cargo run --release -p bitcraps_sim -- --runs 1 --seed ")
            && stdout.contains("--wrong-height-set --craps"),
        "{stdout}"
    );
}
