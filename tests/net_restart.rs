//! A networked player killed with SIGKILL mid-play comes back: the real binary on 127.0.0.1,
//! `bitcraps relay` and four `bitcraps --join ... --headless` processes with their own data
//! directories. One of them is killed (`Child::kill`, SIGKILL on Unix) at a few points of the
//! game and restarted with the same data directory each time: it finds its saved table, skips
//! the lobby, proves its seat to the seated relay on a new connection, resumes from its journal
//! ("resuming table … at height H") and catches up. All four end with the same state hash, and
//! nobody reports misbehaviour (a restarted node that signed a second, conflicting vote would be
//! reported by the others).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod net_common;

use net_common::{data_dir, free_port, Children, BIN};

/// An empty data folder for one player of this test.
fn local_dir(name: &str) -> PathBuf {
    data_dir("net-restart", name)
}

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(90);
/// Rolls every player plays.
const ROLLS: u64 = 12;
/// Each player's own time limit (seconds).
const PLAYER_TIMEOUT: &str = "85";

/// A line of a child's output: (child, run, line), `None` at its end.
type Line = (usize, usize, Option<String>);

/// Forwards every line of `stream` to `tx`, then `None`.
fn forward(stream: impl std::io::Read + Send + 'static, who: usize, run: usize, tx: Sender<Line>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send((who, run, Some(line))).is_err() {
                return;
            }
        }
        let _ = tx.send((who, run, None));
    });
}

fn player(addr: &str, dir: &Path, who: usize, run: usize, tx: &Sender<Line>) -> Child {
    let mut child = Command::new(BIN)
        .args(["--join", addr, "--headless", "--rolls"])
        .arg(ROLLS.to_string())
        .args(["--timeout", PLAYER_TIMEOUT, "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a player");
    forward(child.stdout.take().unwrap(), who, run, tx.clone());
    // stderr lines are tagged with the run + 1000 (kept apart from stdout).
    forward(child.stderr.take().unwrap(), who, run + 1000, tx.clone());
    child
}

/// The roll number of a "roll   k at height h: ..." line.
fn roll_of(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("roll ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Kill points: 2 or 3 distinct rolls in 1..=ROLLS/2, from the clock (printed to reproduce).
fn kill_points() -> Vec<u64> {
    let seed = std::env::var("NET_RESTART_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("kill points seed: {seed} (NET_RESTART_SEED to repeat)");
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let count = 2 + next() % 2;
    let mut points: Vec<u64> = (0..count).map(|_| 1 + next() % (ROLLS / 2)).collect();
    points.sort_unstable();
    points.dedup();
    points
}

#[test]
fn a_player_killed_mid_play_resumes_from_its_journal() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let (tx, lines): (Sender<Line>, Receiver<Line>) = mpsc::channel();
    let mut relay = Command::new(BIN)
        .args(["relay", "--bind", "127.0.0.1", "--players", "4", "--port"])
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay");
    let (relay_tx, relay_lines) = mpsc::channel();
    let relay_out = relay.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(relay_out).lines().map_while(Result::ok) {
            if relay_tx.send(line).is_err() {
                break;
            }
        }
    });
    children.0.push(relay);
    let first = relay_lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the relay says where it listens");
    assert!(first.contains(&addr), "{first}");

    let dirs: Vec<PathBuf> = (0..4).map(|i| local_dir(&format!("p{i}"))).collect();
    // children.0[1 + who] is player `who`'s current process.
    for (who, dir) in dirs.iter().enumerate() {
        children.0.push(player(&addr, dir, who, 0, &tx));
    }
    let victim = 3;
    let points = kill_points();
    eprintln!("player {victim} is killed after rolls {points:?}");

    // Output of each player's current run (older runs of the victim are kept apart).
    let mut out: Vec<Vec<String>> = vec![Vec::new(); 4];
    let mut err: Vec<Vec<String>> = vec![Vec::new(); 4];
    let mut victim_runs: Vec<Vec<String>> = Vec::new();
    let mut run = 0;
    let mut pending = points.clone();
    let mut ended = [false; 4];
    while !ended.iter().all(|e| *e) {
        assert!(
            start.elapsed() < DEADLINE,
            "not finished within {DEADLINE:?}; outputs: {out:#?}\nerrors: {err:#?}\nearlier \
             runs of the victim: {victim_runs:#?}"
        );
        let Ok((who, line_run, line)) = lines.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let (is_err, line_run) = if line_run >= 1000 {
            (true, line_run - 1000)
        } else {
            (false, line_run)
        };
        if who == victim && line_run != run {
            continue; // the rest of a killed run
        }
        let Some(line) = line else {
            if !is_err {
                ended[who] = true;
            }
            continue;
        };
        if is_err {
            err[who].push(line);
            continue;
        }
        let kill = who == victim
            && roll_of(&line).is_some_and(|r| pending.first().is_some_and(|p| r >= *p));
        out[who].push(line);
        if kill {
            let child = &mut children.0[1 + victim];
            child.kill().expect("SIGKILL the victim");
            child.wait().expect("reap the victim");
            let at = pending.remove(0);
            eprintln!("killed player {victim} after roll {at}");
            victim_runs.push(std::mem::take(&mut out[victim]));
            err[victim].clear();
            run += 1;
            children.0[1 + victim] = player(&addr, &dirs[victim], victim, run, &tx);
        }
    }
    let mut hashes = Vec::new();
    for who in 0..4 {
        let status = children.0[1 + who].wait().unwrap();
        let text = out[who].join("\n");
        let errors = err[who].join("\n");
        assert!(status.success(), "player {who} failed:\n{text}\n{errors}");
        let hash = out[who]
            .iter()
            .find(|l| l.starts_with(&format!("state hash after roll {ROLLS} ")))
            .unwrap_or_else(|| panic!("player {who} printed no hash:\n{text}\n{errors}"));
        hashes.push(hash.clone());
        assert!(
            out[who]
                .iter()
                .any(|l| l.trim() == "misbehaviour reports: 0"),
            "player {who} reports misbehaviour:\n{text}"
        );
        assert!(
            !out[who].iter().any(|l| l.contains("misbehaviour detected")),
            "player {who}:\n{text}"
        );
    }
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");
    assert!(
        pending.is_empty(),
        "the victim was not killed at {pending:?}"
    );
    assert_eq!(victim_runs.len(), points.len());
    // Every restart resumed the saved table without the lobby.
    let last = &out[victim];
    let resumed = last
        .iter()
        .find(|l| l.starts_with("resuming table"))
        .unwrap_or_else(|| panic!("the victim did not resume:\n{}", last.join("\n")));
    assert!(
        !last.iter().any(|l| l.starts_with("waiting for players")),
        "{}",
        last.join("\n")
    );
    for earlier in &victim_runs[1..] {
        assert!(
            earlier.iter().any(|l| l.starts_with("resuming table")),
            "{earlier:#?}"
        );
    }
    eprintln!("{resumed}");
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
