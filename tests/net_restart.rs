//! A networked player killed with SIGKILL again and again comes back every time: the real
//! binary on 127.0.0.1, `bitcraps relay` and four `bitcraps --join ... --headless` processes
//! with their own data directories. One of them (the victim) is killed [`KILLS`] times in a
//! loop while the table plays, three ways in a random order:
//!
//! - from outside (`Child::kill`, SIGKILL) at a random moment after its run has seen a roll;
//! - by itself right after its N-th signing guard became durable, before the proposal or votes
//!   it protects were sent (`BITCRAPS_CRASH_AFTER=guard:N`, a debug-build crash point);
//! - by itself right after one of its own operations (a bet, a dice commitment or reveal)
//!   became durable, before it was sent (`BITCRAPS_CRASH_AFTER=op:N`).
//!
//! After each death it is restarted with the same data directory: it finds its saved table,
//! skips the lobby, proves its seat to the seated relay on a new connection, resumes from its
//! journal ("resuming table … at height H") and catches up. All four end with the same state
//! hash; nobody detects misbehaviour and the table applies no penalty (a restarted node that
//! signed a second, conflicting vote, proposal or operation would be reported and punished).
//!
//! The order, the moments and the crash points come from a seed printed at the start
//! (`NET_RESTART_SEED` repeats a run).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod net_common;

use net_common::{data_dir, free_port, Children, BIN};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(300);
/// Rolls every player plays (a roll takes well under a second with the players' fast timings).
const ROLLS: u64 = 80;
/// Each player's own time limit (seconds).
const PLAYER_TIMEOUT: &str = "280";
/// Kills of the victim planned, a third of each kind.
const KILLS: usize = 15;
/// No kill is started once any player has seen this roll: the victim's last run must catch up
/// and see the last roll with the others.
const LAST_KILL_ROLL: u64 = ROLLS - 20;

/// A line of a child's output: (child, run, line), `None` at its end.
type Line = (usize, usize, Option<String>);

/// How the victim's run dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Death {
    /// SIGKILL from the test, this long after the run's first roll.
    Outside(Duration),
    /// SIGKILL by itself after its N-th durable guard write.
    AfterGuard(u64),
    /// SIGKILL by itself after its N-th durable own operation.
    AfterOp(u64),
}

impl Death {
    fn crash_point(self) -> Option<String> {
        match self {
            Death::Outside(_) => None,
            Death::AfterGuard(n) => Some(format!("guard:{n}")),
            Death::AfterOp(n) => Some(format!("op:{n}")),
        }
    }
}

/// A small deterministic generator (xorshift) for the plan.
struct Plan(u64);

impl Plan {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// [`KILLS`] deaths, a third of each kind, shuffled, with random moments.
    fn deaths(&mut self) -> Vec<Death> {
        let mut deaths: Vec<Death> = (0..KILLS)
            .map(|i| match i % 3 {
                0 => Death::Outside(Duration::from_millis(100 + self.next() % 2_400)),
                1 => Death::AfterGuard(2 + self.next() % 30),
                _ => Death::AfterOp(1 + self.next() % 3),
            })
            .collect();
        for i in (1..deaths.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            deaths.swap(i, j);
        }
        deaths
    }
}

fn seed() -> u64 {
    let seed = std::env::var("NET_RESTART_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("kill plan seed: {seed} (NET_RESTART_SEED to repeat)");
    seed | 1
}

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

fn player(
    addr: &str,
    dir: &Path,
    who: usize,
    run: usize,
    crash_point: Option<String>,
    tx: &Sender<Line>,
) -> Child {
    let mut command = Command::new(BIN);
    command
        .args(["--join", addr, "--headless", "--rolls"])
        .arg(ROLLS.to_string())
        .args(["--timeout", PLAYER_TIMEOUT, "--data-dir"])
        .arg(dir)
        .env_remove("BITCRAPS_CRASH_AFTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = crash_point {
        command.env("BITCRAPS_CRASH_AFTER", point);
    }
    let mut child = command.spawn().expect("start a player");
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

/// Starts the relay; returns it once it listens.
fn relay(port: u16, addr: &str) -> Child {
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
        // Drain the relay's output to its end: a closed pipe would kill it at its next line.
        for line in BufReader::new(relay_out).lines().map_while(Result::ok) {
            let _ = relay_tx.send(line);
        }
    });
    let first = relay_lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the relay says where it listens");
    assert!(first.contains(addr), "{first}");
    relay
}

/// One finished run of the victim.
#[derive(Debug)]
struct Run {
    death: Option<Death>,
    out: Vec<String>,
}

#[test]
fn a_player_killed_again_and_again_resumes_from_its_journal() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(vec![relay(port, &addr)]);
    let (tx, lines): (Sender<Line>, Receiver<Line>) = mpsc::channel();

    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| data_dir("net-restart", &format!("p{i}")))
        .collect();
    let victim = 3;
    let mut plan = Plan(seed());
    let mut deaths = plan.deaths();
    eprintln!("player {victim} dies, in order: {deaths:?}");
    // children.0[1 + who] is player `who`'s current process.
    for (who, dir) in dirs.iter().enumerate() {
        let point = (who == victim)
            .then(|| deaths.first().and_then(|d| d.crash_point()))
            .flatten();
        children.0.push(player(&addr, dir, who, 0, point, &tx));
    }

    let mut out: Vec<Vec<String>> = vec![Vec::new(); 4];
    let mut err: Vec<Vec<String>> = vec![Vec::new(); 4];
    let mut runs: Vec<Run> = Vec::new();
    let mut run = 0;
    // The death planned for the victim's current run (None: it plays to the end).
    let mut death: Option<Death> = deaths.first().copied();
    let mut kill_at: Option<Instant> = None;
    let mut last_roll = 0;
    let mut ended = [false; 4];
    while !ended.iter().all(|e| *e) {
        assert!(
            start.elapsed() < DEADLINE,
            "not finished within {DEADLINE:?} ({} deaths so far); outputs: {out:#?}\nerrors: \
             {err:#?}\nearlier runs of the victim: {runs:#?}",
            runs.len()
        );
        let mut restart = false;
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            let child = &mut children.0[1 + victim];
            child.kill().expect("SIGKILL the victim");
            child.wait().expect("reap the victim");
            eprintln!("killed player {victim} from outside ({death:?})");
            restart = true;
        }
        if !restart {
            let Ok((who, line_run, line)) = lines.recv_timeout(Duration::from_millis(20)) else {
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
            match line {
                Some(line) if is_err => err[who].push(line),
                Some(line) => {
                    if let Some(roll) = roll_of(&line) {
                        last_roll = last_roll.max(roll);
                        if let (true, Some(Death::Outside(after))) = (who == victim, death) {
                            kill_at.get_or_insert(Instant::now() + after);
                        }
                    }
                    out[who].push(line);
                }
                None if is_err => {}
                None if who == victim => {
                    let status = children.0[1 + victim].wait().unwrap();
                    if status.signal() == Some(9) {
                        assert!(
                            matches!(death, Some(Death::AfterGuard(_) | Death::AfterOp(_))),
                            "the victim died of SIGKILL without a crash point: {:#?}",
                            out[victim]
                        );
                        assert!(
                            out[victim].iter().any(|l| l.starts_with("crash point: ")),
                            "{:#?}",
                            out[victim]
                        );
                        eprintln!("player {victim} killed itself ({death:?})");
                        restart = true;
                    } else {
                        ended[who] = true;
                    }
                }
                None => ended[who] = true,
            }
        }
        if restart {
            runs.push(Run {
                death,
                out: std::mem::take(&mut out[victim]),
            });
            err[victim].clear();
            deaths.remove(0);
            // The next death, unless the game is too far along for the last run to finish.
            death = deaths
                .first()
                .copied()
                .filter(|_| last_roll < LAST_KILL_ROLL);
            kill_at = None;
            run += 1;
            let point = death.and_then(Death::crash_point);
            children.0[1 + victim] = player(&addr, &dirs[victim], victim, run, point, &tx);
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
        for clean in ["misbehaviour reports: 0", "penalties: 0"] {
            assert!(
                out[who].iter().any(|l| l.trim() == clean),
                "player {who} does not say '{clean}':\n{text}"
            );
        }
        assert!(
            !out[who]
                .iter()
                .any(|l| l.contains("misbehaviour detected") || l.contains("penalty applied")),
            "player {who}:\n{text}"
        );
    }
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");

    // The loop killed the victim many times, each way at least once, and every run after the
    // first resumed the saved table without the lobby.
    let count = |f: fn(&Death) -> bool| {
        runs.iter()
            .filter(|r| r.death.as_ref().is_some_and(f))
            .count()
    };
    let outside = count(|d| matches!(d, Death::Outside(_)));
    let guard = count(|d| matches!(d, Death::AfterGuard(_)));
    let op = count(|d| matches!(d, Death::AfterOp(_)));
    eprintln!(
        "{} deaths in {:.0} s: {outside} from outside, {guard} after a guard write, {op} after an \
         operation write",
        runs.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(runs.len() >= 10, "only {} deaths: {runs:#?}", runs.len());
    assert!(outside >= 1 && guard >= 1 && op >= 1, "{runs:#?}");
    for (i, earlier) in runs.iter().enumerate().skip(1) {
        assert!(
            earlier.out.iter().any(|l| l.starts_with("resuming table")),
            "run {i}: {earlier:#?}"
        );
    }
    let resumed = out[victim]
        .iter()
        .find(|l| l.starts_with("resuming table"))
        .unwrap_or_else(|| panic!("the victim did not resume:\n{}", out[victim].join("\n")));
    assert!(
        !out[victim]
            .iter()
            .any(|l| l.starts_with("waiting for players")),
        "{}",
        out[victim].join("\n")
    );
    eprintln!("{resumed}");
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
