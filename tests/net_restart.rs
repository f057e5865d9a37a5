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

use net_common::{data_dir, free_port, relay, Children, BIN};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(300);
/// Rolls every player plays (a roll takes well under a second with the players' fast timings).
const ROLLS: u64 = 80;
/// Each player's own time limit (seconds).
const PLAYER_TIMEOUT: &str = "280";
/// Kills of the victim planned, a third of each kind.
const KILLS: usize = 16;
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
    /// SIGKILL by itself at its first guard write a little after its N-th bet became durable
    /// (the bet has left, and is most likely not decided yet).
    AfterSentBet(u64),
}

impl Death {
    fn crash_point(self) -> Option<String> {
        match self {
            Death::Outside(_) => None,
            Death::AfterGuard(n) => Some(format!("guard:{n}")),
            Death::AfterOp(n) => Some(format!("op:{n}")),
            Death::AfterSentBet(n) => Some(format!("sent-bet:{n}")),
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

    /// [`KILLS`] deaths, a quarter of each kind, shuffled, with random moments.
    fn deaths(&mut self) -> Vec<Death> {
        let mut deaths: Vec<Death> = (0..KILLS)
            .map(|i| match i % 4 {
                0 => Death::Outside(Duration::from_millis(100 + self.next() % 2_400)),
                1 => Death::AfterGuard(2 + self.next() % 30),
                2 => Death::AfterOp(1 + self.next() % 3),
                _ => Death::AfterSentBet(1 + self.next() % 2),
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

/// Starts run `run` of player `who`: with a crash point, and with the planted bug.
fn player(
    addr: &str,
    dir: &Path,
    (who, run): (usize, usize),
    crash_point: Option<String>,
    planted: bool,
    tx: &Sender<Line>,
) -> Child {
    let mut command = Command::new(BIN);
    command
        .args(["--join", addr, "--headless", "--rolls"])
        .arg(ROLLS.to_string())
        .args(["--timeout", PLAYER_TIMEOUT, "--data-dir"])
        .arg(dir)
        .env_remove("BITCRAPS_CRASH_AFTER")
        .env_remove("BITCRAPS_PLANT_BUG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = crash_point {
        command.env("BITCRAPS_CRASH_AFTER", point);
    }
    if planted {
        command.env("BITCRAPS_PLANT_BUG", "forget-own-ops");
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

/// One finished run of the victim.
#[derive(Debug)]
struct Run {
    death: Option<Death>,
    out: Vec<String>,
}

/// Everything the players printed, and the victim's runs.
struct Played {
    /// Each player's stdout (the victim's: of its last run).
    out: Vec<Vec<String>>,
    /// Each player's stderr (the victim's: of its last run).
    err: Vec<Vec<String>>,
    /// The victim's earlier runs, each ended by its death.
    runs: Vec<Run>,
    /// The table's processes (relay first), still to be reaped.
    children: Children,
    /// The data directories.
    dirs: Vec<PathBuf>,
    /// Time taken.
    elapsed: Duration,
    /// The loop stopped because `stop` held.
    stopped: bool,
}

const VICTIM: usize = 3;

/// Plays a table of four with the relay, killing the victim as `deaths` say (in order, as long
/// as the game is not too far along); with `planted`, every restart of the victim plants the
/// bug. Stops when every player ended, or as soon as `stop(outputs)` holds.
fn kill_loop(
    mut deaths: Vec<Death>,
    planted: bool,
    stop: impl Fn(&[Vec<String>]) -> bool,
) -> Played {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(vec![relay(port).0]);
    let (tx, lines): (Sender<Line>, Receiver<Line>) = mpsc::channel();
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| data_dir("net-restart", &format!("p{i}-{planted}")))
        .collect();
    // children.0[1 + who] is player `who`'s current process.
    for (who, dir) in dirs.iter().enumerate() {
        let point = (who == VICTIM)
            .then(|| deaths.first().and_then(|d| d.crash_point()))
            .flatten();
        children
            .0
            .push(player(&addr, dir, (who, 0), point, false, &tx));
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
    let mut stopped = false;
    while !ended.iter().all(|e| *e) {
        if stop(&out) {
            stopped = true;
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "not finished within {DEADLINE:?} ({} deaths so far); outputs: {out:#?}\nerrors: \
             {err:#?}\nearlier runs of the victim: {runs:#?}",
            runs.len()
        );
        let mut restart = false;
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            let child = &mut children.0[1 + VICTIM];
            child.kill().expect("SIGKILL the victim");
            child.wait().expect("reap the victim");
            eprintln!("killed player {VICTIM} from outside ({death:?})");
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
            if who == VICTIM && line_run != run {
                continue; // the rest of a killed run
            }
            match line {
                Some(line) if is_err => err[who].push(line),
                Some(line) => {
                    if let Some(roll) = roll_of(&line) {
                        last_roll = last_roll.max(roll);
                        if let (true, Some(Death::Outside(after))) = (who == VICTIM, death) {
                            kill_at.get_or_insert(Instant::now() + after);
                        }
                    }
                    out[who].push(line);
                }
                None if is_err => {}
                None if who == VICTIM => {
                    let status = children.0[1 + VICTIM].wait().unwrap();
                    if status.signal() == Some(9) {
                        assert!(
                            death.is_some_and(|d| d.crash_point().is_some()),
                            "the victim died of SIGKILL without a crash point: {:#?}",
                            out[VICTIM]
                        );
                        assert!(
                            out[VICTIM].iter().any(|l| l.starts_with("crash point: ")),
                            "{:#?}",
                            out[VICTIM]
                        );
                        eprintln!("player {VICTIM} killed itself ({death:?})");
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
                out: std::mem::take(&mut out[VICTIM]),
            });
            err[VICTIM].clear();
            deaths.remove(0);
            // The next death, unless the game is too far along for the last run to finish.
            death = deaths
                .first()
                .copied()
                .filter(|_| last_roll < LAST_KILL_ROLL);
            kill_at = None;
            run += 1;
            let point = death.and_then(Death::crash_point);
            children.0[1 + VICTIM] =
                player(&addr, &dirs[VICTIM], (VICTIM, run), point, planted, &tx);
        }
    }
    Played {
        out,
        err,
        runs,
        children,
        dirs,
        elapsed: start.elapsed(),
        stopped,
    }
}

impl Drop for Played {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The victim's short key, from the first line of its first run ("created identity 1a2b3c4d …").
fn victim_id(played: &Played) -> String {
    let first = played
        .runs
        .first()
        .map_or(&played.out[VICTIM], |r| &r.out)
        .first()
        .cloned()
        .unwrap_or_default();
    first
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_player_killed_again_and_again_resumes_from_its_journal() {
    let deaths = Plan(seed()).deaths();
    eprintln!("player {VICTIM} dies, in order: {deaths:?}");
    let mut played = kill_loop(deaths, false, |_| false);
    let statuses: Vec<_> = (0..4)
        .map(|who| played.children.0[1 + who].wait().unwrap())
        .collect();
    let Played { out, err, runs, .. } = &played;

    let mut hashes = Vec::new();
    for who in 0..4 {
        let status = statuses[who];
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
    let sent = count(|d| matches!(d, Death::AfterSentBet(_)));
    eprintln!(
        "{} deaths in {:.0} s: {outside} from outside, {guard} after a guard write, {op} after an \
         operation write, {sent} after a bet left",
        runs.len(),
        played.elapsed.as_secs_f64()
    );
    assert!(runs.len() >= 10, "only {} deaths: {runs:#?}", runs.len());
    assert!(
        outside >= 1 && guard >= 1 && op >= 1 && sent >= 1,
        "{runs:#?}"
    );
    for (i, earlier) in runs.iter().enumerate().skip(1) {
        assert!(
            earlier.out.iter().any(|l| l.starts_with("resuming table")),
            "run {i}: {earlier:#?}"
        );
    }
    let resumed = out[VICTIM]
        .iter()
        .find(|l| l.starts_with("resuming table"))
        .unwrap_or_else(|| panic!("the victim did not resume:\n{}", out[VICTIM].join("\n")));
    assert!(
        !out[VICTIM]
            .iter()
            .any(|l| l.starts_with("waiting for players")),
        "{}",
        out[VICTIM].join("\n")
    );
    eprintln!("{resumed}");
}

/// The negative control of the test above: the victim restarted with the planted bug (it
/// erases the operations it signed before dying) after each of its bets left, and with a new
/// bet amount each run. It signs a different bet under a nonce the others have seen, and they
/// catch it: a penalty against it is applied. The checks of the test above can fail.
#[test]
fn control_a_player_that_forgets_its_signed_bets_is_caught_and_punished() {
    let deaths = vec![
        Death::AfterSentBet(1),
        Death::AfterSentBet(1),
        Death::AfterSentBet(2),
        Death::AfterSentBet(1),
        Death::AfterSentBet(2),
        Death::AfterSentBet(1),
    ];
    let punished = |out: &[Vec<String>]| {
        out.iter()
            .take(VICTIM)
            .flatten()
            .any(|l| l.starts_with("penalty applied: "))
    };
    let played = kill_loop(deaths, true, punished);
    let victim = victim_id(&played);
    let penalties: Vec<&String> = played
        .out
        .iter()
        .take(VICTIM)
        .flatten()
        .filter(|l| l.starts_with("penalty applied: "))
        .collect();
    eprintln!(
        "after {} deaths in {:.0} s: {penalties:?}",
        played.runs.len(),
        played.elapsed.as_secs_f64()
    );
    assert!(
        played
            .runs
            .iter()
            .skip(1)
            .all(|r| r.out.iter().any(|l| l.starts_with("planted bug: "))),
        "every restart planted the bug: {:#?}",
        played.runs
    );
    assert!(
        played.stopped && !penalties.is_empty(),
        "the planted bug went unpunished: {:#?}",
        played.out
    );
    assert!(
        penalties.iter().all(|l| l.contains(&victim)),
        "only the victim {victim} is punished: {penalties:?}"
    );
}
