//! The real binary over a bad network: `bitcraps relay`, one `bitcraps netem` proxy in front of
//! it (100 ms ± 20 ms one-way delay and 10 % loss in each direction), and four
//! `bitcraps --join <proxy> --headless --rolls 20` players that all reach roll 20 with the same
//! state hash. The proxy's own counters show that it really delayed and dropped their traffic.
//! About 2½ minutes in a debug build (20 rolls are about 165 heights, each several relay round
//! trips of at least 160 ms); on plain loopback the same game takes about 10 s.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod net_common;

use net_common::{data_dir, free_port, relay, Children, BIN};

/// Rolls the players play through the proxy.
const ROLLS: u64 = 20;

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(300);

/// The counters of one `netem:` stats line, by name.
fn counter(line: &str, name: &str) -> u64 {
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        if word.trim_start_matches('(') == name {
            return words
                .next()
                .unwrap()
                .trim_end_matches([',', ')'])
                .parse()
                .unwrap();
        }
    }
    panic!("no {name} in {line:?}");
}

fn player(addr: &str, dir: &PathBuf) -> Child {
    Command::new(BIN)
        .args(["--join", addr, "--headless", "--rolls"])
        .arg(ROLLS.to_string())
        .args(["--timeout", "290", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a player")
}

#[test]
fn four_players_play_20_rolls_through_100ms_jitter_and_10_percent_loss() {
    let start = Instant::now();
    let relay_port = free_port();
    let mut children = Children(Vec::new());
    let (relay, _relay_lines) = relay(relay_port);
    children.0.push(relay);

    let proxy_addr = format!("127.0.0.1:{}", free_port());
    let mut proxy = Command::new(BIN)
        .args(["netem", "--listen", &proxy_addr, "--to"])
        .arg(format!("127.0.0.1:{relay_port}"))
        .args(["--delay-ms", "100", "--jitter-ms", "20", "--loss", "0.1"])
        .args(["--seed", "13", "--stats-every", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bitcraps netem");
    let out = proxy.stdout.take().unwrap();
    children.0.push(proxy);
    let (tx, proxy_lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = proxy_lines
        .recv_timeout(Duration::from_secs(20))
        .expect("netem says where it listens");
    assert!(first.contains(&proxy_addr), "{first}");
    assert!(first.contains("delay 100 ms ± 20 ms, loss 0.1"), "{first}");

    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| data_dir("net-netem", &format!("p{i}")))
        .collect();
    let first_player = children.0.len();
    for dir in &dirs {
        children.0.push(player(&proxy_addr, dir));
    }
    let mut done: Vec<Option<bool>> = vec![None; dirs.len()];
    while done.iter().any(Option::is_none) {
        assert!(
            start.elapsed() < DEADLINE,
            "the players did not finish {ROLLS} rolls within {DEADLINE:?}"
        );
        for (k, status) in done.iter_mut().enumerate() {
            if status.is_none() {
                *status = children.0[first_player + k]
                    .try_wait()
                    .unwrap()
                    .map(|s| s.success());
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    let elapsed = start.elapsed();
    let wanted = format!("state hash after roll {ROLLS}");
    let mut hashes = Vec::new();
    for (k, ok) in done.iter().enumerate() {
        let child = &mut children.0[first_player + k];
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
        assert_eq!(*ok, Some(true), "player {k} failed:\n{out}\n{err}");
        let hash = out
            .lines()
            .find(|l| l.starts_with(&wanted))
            .unwrap_or_else(|| panic!("player {k} printed no {wanted:?}:\n{out}\n{err}"));
        hashes.push(hash.to_string());
    }
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");

    // The proxy really impaired the game: about one datagram in ten lost each way, everything
    // forwarded delayed, every player served.
    thread::sleep(Duration::from_millis(1_100));
    let stats = proxy_lines
        .try_iter()
        .filter(|l| l.starts_with("netem: received"))
        .last()
        .expect("netem printed its counters");
    let received = counter(&stats, "received");
    let dropped = counter(&stats, "dropped");
    let forwarded = counter(&stats, "forwarded");
    assert!(received > 1_000, "{stats}");
    let rate = dropped as f64 / received as f64;
    assert!((0.07..0.13).contains(&rate), "loss {rate:.3}: {stats}");
    let delayed = counter(&stats, "delayed");
    assert!(forwarded > 0 && delayed >= forwarded, "{stats}");
    assert!(counter(&stats, "clients") >= 4, "{stats}");
    eprintln!(
        "{ROLLS} rolls through the proxy in {:.1} s ({:.1} rolls/min including the lobby); {stats}",
        elapsed.as_secs_f64(),
        ROLLS as f64 * 60.0 / elapsed.as_secs_f64()
    );
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
