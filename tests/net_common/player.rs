//! A real player process whose output lines are collected while it runs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{data_dir, Children, BIN};

/// A running player: its process (an index into [`Children`]) and the lines it printed so far.
pub struct Player {
    /// Its index in the [`Children`] it was started into.
    pub index: usize,
    /// Standard output, line by line.
    pub out: Arc<Mutex<Vec<String>>>,
    /// Standard error, line by line.
    pub err: Arc<Mutex<Vec<String>>>,
    /// Its data directory.
    pub dir: PathBuf,
}

impl Player {
    /// Starts `bitcraps ARGS --data-dir <a fresh dir for test/name>`.
    pub fn start(children: &mut Children, test: &str, name: &str, args: &[&str]) -> Player {
        Player::start_in(children, data_dir(test, name), args)
    }

    /// Starts `bitcraps ARGS --data-dir DIR` (an existing player's folder: a restart).
    pub fn start_in(children: &mut Children, dir: PathBuf, args: &[&str]) -> Player {
        Player::start_with(children, dir, args, &[])
    }

    /// Starts `bitcraps ARGS --data-dir DIR` with these environment variables.
    pub fn start_with(
        children: &mut Children,
        dir: PathBuf,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Player {
        let name = dir.display().to_string();
        let mut child: Child = Command::new(BIN)
            .envs(env.iter().copied())
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        children.0.push(child);
        Player {
            index: children.0.len() - 1,
            out,
            err,
            dir,
        }
    }

    /// The highest roll it printed ("roll  12 at height …"), 0 before any.
    pub fn last_roll(&self) -> u64 {
        let out = self.out.lock().unwrap();
        out.iter()
            .filter_map(|l| {
                l.strip_prefix("roll ")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    }

    /// True once it printed a line containing `what`.
    pub fn printed(&self, what: &str) -> bool {
        self.out.lock().unwrap().iter().any(|l| l.contains(what))
    }

    /// Everything it printed, for failure messages.
    pub fn text(&self) -> String {
        let out = self.out.lock().unwrap().join("\n");
        let err = self.err.lock().unwrap().join("\n");
        format!("--- stdout\n{out}\n--- stderr\n{err}")
    }

    /// The first line starting with `starting`.
    pub fn line(&self, starting: &str) -> Option<String> {
        let out = self.out.lock().unwrap();
        out.iter().find(|l| l.starts_with(starting)).cloned()
    }

    /// The player's key, as it printed it when it created its identity.
    pub fn key(&self) -> String {
        let line = self.line("created identity").expect("an identity line");
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    /// Its journals (`tables/*.redb`).
    pub fn journals(&self) -> Vec<PathBuf> {
        journals(&self.dir)
    }
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Waits until `done`, or panics after `deadline` (from `start`) showing the players' output.
pub fn wait_for(
    start: Instant,
    deadline: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
    show: &[&Player],
) {
    while !done() {
        if start.elapsed() > deadline {
            let outputs: Vec<String> = show.iter().map(|p| p.text()).collect();
            panic!("timed out waiting for {what}:\n{}", outputs.join("\n"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the player's process to exit; returns whether it succeeded.
pub fn exit_of(
    children: &mut Children,
    player: &Player,
    start: Instant,
    deadline: Duration,
) -> bool {
    loop {
        if let Some(status) = children.0[player.index].try_wait().unwrap() {
            // Let the reader threads take the last lines.
            thread::sleep(Duration::from_millis(200));
            return status.success();
        }
        assert!(
            start.elapsed() < deadline,
            "player {} did not finish:\n{}",
            player.index,
            player.text()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The journals in a data directory.
pub fn journals(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("tables"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "redb"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `bitcraps verify` on `journal`; panics with its output unless it passes.
pub fn verify(journal: &Path) {
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(journal)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success(),
        "{}:\n{out}\n{err}",
        journal.display()
    );
    assert!(out.trim_end().ends_with("OK"), "{out}");
}

/// The end every honest game of these tests must reach: each player printed the same state
/// hash after roll `rolls`, no penalty and no misbehaviour, and every journal verifies; their
/// data folders are removed afterwards.
pub fn same_end(players: &[Player], rolls: u64) {
    let hashes: Vec<String> = players
        .iter()
        .map(|p| {
            p.line(&format!("state hash after roll {rolls}"))
                .unwrap_or_else(|| panic!("no hash:\n{}", p.text()))
        })
        .collect();
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");
    for p in players {
        assert!(p.printed("penalties: 0"), "{}", p.text());
        assert!(p.printed("misbehaviour reports: 0"), "{}", p.text());
        for journal in p.journals() {
            verify(&journal);
        }
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}
