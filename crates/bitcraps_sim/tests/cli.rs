//! The `bitcraps-sim` binary: its summary line, exit codes and replay commands.

#![allow(clippy::expect_used)]

use std::process::Command;

fn sim(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bitcraps-sim"))
        .args(args)
        .output()
        .expect("bitcraps-sim runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn clean_runs_end_with_one_summary_line_and_exit_zero() {
    let (ok, stdout) = sim(&["--runs", "20", "--seed", "5"]);
    assert!(ok, "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("runs=20 violations=0 liveness_failures=0 heights="),
        "{last}"
    );
    assert!(last.ends_with(" seed=5"), "{last}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("runs=")).count(), 1);
}

#[test]
fn expect_violation_succeeds_only_when_one_is_found() {
    let (ok, stdout) = sim(&[
        "--runs",
        "300",
        "--nodes",
        "4",
        "--twins",
        "2",
        "--expect-violation",
    ]);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("VIOLATION seed="), "{stdout}");
    assert!(
        stdout.contains("replay: cargo run --release -p bitcraps_sim -- --runs 1 --seed "),
        "{stdout}"
    );
    // Clean runs with --expect-violation must fail.
    let (ok, stdout) = sim(&["--runs", "5", "--nodes", "4", "--expect-violation"]);
    assert!(!ok, "{stdout}");
}

#[test]
fn wrong_height_set_control_is_caught_and_churn_is_reported() {
    let (ok, stdout) = sim(&[
        "--runs",
        "300",
        "--nodes",
        "4",
        "--wrong-height-set",
        "--expect-violation",
    ]);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("wrong-height-set=#"), "{stdout}");
    assert!(stdout.contains("certificate: instance"), "{stdout}");
    assert!(stdout.contains(" --wrong-height-set"), "{stdout}");
    let churn = stdout
        .lines()
        .find(|l| l.starts_with("churn: runs_with_churn="))
        .unwrap_or_default();
    assert!(!churn.contains("runs_with_churn=0 "), "{churn}");
}

#[test]
fn bad_arguments_are_refused() {
    let (ok, _) = sim(&["--churn", "1.5"]);
    assert!(!ok);
    let (ok, _) = sim(&["--craps", "--wrong-height-set"]);
    assert!(!ok);
    let (ok, _) = sim(&["--nodes", "3"]);
    assert!(!ok);
    let (ok, _) = sim(&["--byzantine", "nonsense"]);
    assert!(!ok);
}
