//! The real binary over the network on 127.0.0.1: `bitcraps relay` and four
//! `bitcraps --join ... --headless --rolls 3` processes, each with its own data directory (so
//! its own identity key), seat themselves in the lobby, play, and print the same state hash.
//! A join to an address where nothing listens fails with a clear message. (A fifth player at a
//! running table asks its players for a seat: `tests/net_join.rs`.)
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod net_common;

use net_common::{data_dir, free_port, relay, Children, BIN};

/// An empty data folder for one player of this test.
fn local_dir(name: &str) -> PathBuf {
    data_dir("net-play", name)
}

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(60);

/// `bitcraps <mode> <addr> --headless --rolls 3 --timeout 50 --data-dir <dir>`, its output piped.
fn headless(mode: &str, addr: &str, dir: &PathBuf) -> Child {
    Command::new(BIN)
        .args([mode, addr, "--headless", "--rolls", "3", "--timeout", "50"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start bitcraps {mode}: {e}"))
}

fn player(addr: &str, dir: &PathBuf) -> Child {
    headless("--join", addr, dir)
}

/// Waits for every child of `which` to exit (or the deadline); returns (status ok, stdout,
/// stderr) of each.
fn wait_all(
    children: &mut Children,
    which: &[usize],
    start: Instant,
) -> Vec<(bool, String, String)> {
    let mut done: Vec<Option<bool>> = vec![None; which.len()];
    while done.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < DEADLINE,
            "the players did not finish within {DEADLINE:?}"
        );
        for (k, i) in which.iter().enumerate() {
            if done[k].is_none() {
                if let Some(status) = children.0[*i].try_wait().unwrap() {
                    done[k] = Some(status.success());
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    which
        .iter()
        .zip(done)
        .map(|(i, ok)| {
            let child = &mut children.0[*i];
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            (ok.unwrap_or(false), out, err)
        })
        .collect()
}

#[test]
fn a_relay_and_four_joining_processes_play_the_same_table() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let (relay, lines) = relay(port);
    children.0.push(relay);

    // Nothing listens on this one.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let lost_dir = local_dir("lost");
    children.0.push(player(&nowhere, &lost_dir));

    let dirs: Vec<PathBuf> = (0..4).map(|i| local_dir(&format!("p{i}"))).collect();
    for dir in &dirs {
        children.0.push(player(&addr, dir));
    }
    let results = wait_all(&mut children, &[2, 3, 4, 5], start);
    let mut hashes = Vec::new();
    let mut identities = Vec::new();
    for (i, (ok, out, err)) in results.iter().enumerate() {
        assert!(ok, "player {i} failed:\n{out}\n{err}");
        assert!(out.contains("waiting for players:"), "player {i}:\n{out}");
        assert!(out.contains("  (you)"), "player {i} saw its seat:\n{out}");
        let hash = out
            .lines()
            .find(|l| l.starts_with("state hash after roll 3"))
            .unwrap_or_else(|| panic!("player {i} printed no hash:\n{out}"));
        hashes.push(hash.to_string());
        let identity = out
            .lines()
            .find(|l| l.starts_with("created identity"))
            .unwrap_or_else(|| panic!("player {i} created its identity:\n{out}"));
        identities.push(identity.split_whitespace().nth(2).unwrap().to_string());
    }
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");
    identities.sort();
    identities.dedup();
    assert_eq!(identities.len(), 4, "four different keys");

    let lost = wait_all(&mut children, &[1], start).remove(0);
    assert!(!lost.0);
    assert!(lost.2.contains("no BitCraps relay answered"), "{}", lost.2);

    let relay_lines: Vec<String> = lines.try_iter().collect();
    assert!(
        relay_lines
            .iter()
            .any(|l| l.contains("waiting for players:")),
        "{relay_lines:#?}"
    );
    assert!(
        relay_lines.iter().any(|l| l.contains("formed")),
        "{relay_lines:#?}"
    );
    for dir in dirs.iter().chain([&lost_dir]) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The two-terminal game of the README: `bitcraps --host ADDR` (the host's player and, by
/// default, two bots of the host) and one `bitcraps --join ADDR` fill a table of four and play
/// it to the same state hash.
#[test]
fn a_host_with_its_bots_and_one_joiner_play_a_table_of_four() {
    let start = Instant::now();
    let addr = format!("127.0.0.1:{}", free_port());
    let host_dir = local_dir("host");
    let joiner_dir = local_dir("joiner");
    let mut children = Children(Vec::new());
    children.0.push(headless("--host", &addr, &host_dir));
    children.0.push(player(&addr, &joiner_dir));
    let results = wait_all(&mut children, &[0, 1], start);
    let mut hashes = Vec::new();
    for (who, (ok, out, err)) in ["host", "joiner"].iter().zip(&results) {
        assert!(ok, "the {who} failed:\n{out}\n{err}");
        let seats = out
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains(". "))
            .count();
        assert!(seats >= 4, "the {who} saw four seats:\n{out}");
        let hash = out
            .lines()
            .find(|l| l.starts_with("state hash after roll 3"))
            .unwrap_or_else(|| panic!("the {who} printed no hash:\n{out}"));
        hashes.push(hash.to_string());
    }
    assert!(
        results[0].1.contains("seating 2 bot(s) of this host"),
        "{}",
        results[0].1
    );
    assert_eq!(hashes[0], hashes[1]);

    // The host's journal of that table verifies offline and exports; a file that is not a
    // journal is refused with a message and a non-zero exit.
    let journal = std::fs::read_dir(host_dir.join("tables"))
        .expect("the host's tables folder")
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "redb"))
        .expect("the host journaled its table");
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&journal)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{out}\n{err}");
    assert!(out.trim_end().ends_with("OK"), "{out}");
    assert!(out.contains("verified") && out.contains("rolls:"), "{out}");
    let export = Command::new(BIN)
        .arg("export")
        .arg(&journal)
        .arg("--json")
        .output()
        .unwrap();
    assert!(export.status.success());
    assert!(String::from_utf8_lossy(&export.stdout)
        .trim_start()
        .starts_with('{'));
    let junk = host_dir.join("junk.redb");
    std::fs::write(&junk, b"not a journal at all").unwrap();
    let refused = Command::new(BIN).arg("verify").arg(&junk).output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("junk.redb"), "names the file: {err}");

    for dir in [&host_dir, &joiner_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
