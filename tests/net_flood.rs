//! A flood at the real relay, over UDP on 127.0.0.1: `bitcraps relay` and four `--join
//! --headless` players play; after roll 3 the test floods the relay with 10 MiB/s of forged
//! netcode connection requests (each new, sealed like a real client's, a random client id, an
//! expiry a year ahead) and junk from eight source addresses (127.0.0.2–9, ever new ports), and
//! keeps 96 slow-loris connections (netcode connected, never a key) coming from the same
//! addresses. One player is killed with SIGKILL during the flood and started again on its data
//! directory: it must be seated again within 5 s of its start, and the four finish the game with
//! the same state hash, no penalty, and journals that verify. The relay logs the flood.
//!
//! It also measures the relay process under the flood — resident memory (`VmRSS`, `VmHWM` of
//! `/proc/PID/status`) and CPU time (`utime + stime` of `/proc/PID/stat`) — against the same
//! span without it, and prints them. `BITCRAPS_RELAY_BIN=target/release/bitcraps` measures a
//! release relay (the players stay the test's build):
//!
//! ```sh
//! cargo build --release
//! BITCRAPS_RELAY_BIN=target/release/bitcraps cargo test --test net_flood -- --nocapture
//! ```
//!
//! `FLOOD_LINGER_SECS=60` keeps flooding the relay for that long after the game and samples it
//! every 5 s; `FLOOD_MIB_PER_S=20` floods at another rate.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod net_common;

use bitcraps_renet::flood::{loopback_sources, Flood, FloodConfig, Loris, LorisConfig};
use net_common::player::{exit_of, same_end, wait_for, Player};
use net_common::{free_port, Children, BIN};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(150);
/// Rolls each player plays to.
const ROLLS: u64 = 40;
/// A restarted player must be seated again within this time of its start.
const BACK_WITHIN: Duration = Duration::from_secs(5);
/// Span of each measurement of the relay.
const SPAN: Duration = Duration::from_secs(3);

/// `bitcraps relay` for four on 127.0.0.1:`port`, with its standard error collected.
fn relay(port: u16) -> (Child, Arc<Mutex<Vec<String>>>) {
    let bin = std::env::var("BITCRAPS_RELAY_BIN").unwrap_or_else(|_| BIN.to_string());
    let dir = std::env::temp_dir().join(format!("bitcraps-flood-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(bin)
        .args(["relay", "--bind", "127.0.0.1", "--players", "4", "--port"])
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the relay");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = out.next().unwrap().unwrap();
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    thread::spawn(move || for _ in out.map_while(Result::ok) {});
    let err = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&err);
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (child, err)
}

/// Resident memory now and at its peak (kB), and CPU time (clock ticks) of process `pid`.
#[derive(Clone, Copy, Debug)]
struct Usage {
    rss_kb: u64,
    peak_kb: u64,
    ticks: u64,
    at: Instant,
}

fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): state is the 3rd field overall,
    // utime and stime the 14th and 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Usage {
        rss_kb: kb("VmRSS:"),
        peak_kb: kb("VmHWM:"),
        ticks: fields[11] + fields[12],
        at: Instant::now(),
    }
}

/// CPU use between two samples, in per cent of one core (100 ticks a second on Linux).
fn cpu_percent(from: Usage, to: Usage) -> f64 {
    (to.ticks - from.ticks) as f64 / (to.at - from.at).as_secs_f64()
}

#[test]
fn a_player_killed_during_a_flood_is_back_within_5_s_and_the_table_plays_on() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let (relay_child, relay_err) = relay(port);
    let relay_pid = relay_child.id();
    children.0.push(relay_child);
    let rolls = ROLLS.to_string();
    let args = [
        "--join",
        &addr,
        "--headless",
        "--rolls",
        &rolls,
        "--timeout",
        "140",
        "-v",
    ];
    let mut players: Vec<Player> = (0..4)
        .map(|i| Player::start(&mut children, "flood", &format!("p{i}"), &args))
        .collect();
    let all: Vec<&Player> = players.iter().collect();
    wait_for(
        start,
        DEADLINE,
        "three rolls",
        || players.iter().all(|p| p.printed("roll   3 at height")),
        &all,
    );
    // The relay playing, without a flood.
    let quiet_from = usage(relay_pid);
    thread::sleep(SPAN);
    let quiet_to = usage(relay_pid);

    // The flood.
    let target = addr.parse().unwrap();
    let mut config = FloodConfig::new(target, loopback_sources(2, 8));
    // For measurements: another rate (MiB/s).
    if let Some(mib) = std::env::var("FLOOD_MIB_PER_S")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        config.bytes_per_second = mib * 1024 * 1024;
    }
    let flood = Flood::spawn(config).expect("flood");
    let loris = Loris::spawn(LorisConfig {
        target,
        sources: loopback_sources(2, 8),
        per_source: 12,
    })
    .expect("slow-loris");
    thread::sleep(Duration::from_secs(1));
    let flood_from = usage(relay_pid);
    thread::sleep(SPAN);
    let flood_to = usage(relay_pid);

    // A player dies during the flood and starts again on its data directory.
    let victim = players.remove(3);
    children.0[victim.index].kill().unwrap();
    children.0[victim.index].wait().unwrap();
    let restarted = Instant::now();
    let victim = Player::start_in(&mut children, victim.dir.clone(), &args);
    let seated = || {
        victim
            .err
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("seated at the relay"))
    };
    while !seated() && restarted.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(20));
    }
    let back = restarted.elapsed();
    assert!(
        back < BACK_WITHIN,
        "seated again after {back:?} (at most {BACK_WITHIN:?}):\n{}",
        victim.text()
    );
    players.push(victim);

    for p in &players {
        assert!(exit_of(&mut children, p, start, DEADLINE), "{}", p.text());
    }
    // For measurements: keep flooding the relay (its table over) and sample it.
    let linger: u64 = std::env::var("FLOOD_LINGER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for _ in 0..linger / 5 {
        thread::sleep(Duration::from_secs(5));
        let now = usage(relay_pid);
        eprintln!(
            "relay after {:.0} s of flood: VmRSS {} kB, VmHWM {} kB, CPU {:.1} % since the flood began",
            (now.at - flood_from.at).as_secs_f64() + 1.0,
            now.rss_kb,
            now.peak_kb,
            cpu_percent(flood_from, now)
        );
    }
    let flood_end = usage(relay_pid);
    let sent = flood.stop();
    let loris = loris.stats();
    let logged: Vec<String> = relay_err
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("connection flood"))
        .cloned()
        .collect();
    eprintln!(
        "restarted player seated again after {:.2} s; flood sent {sent:?}, slow-loris {loris:?}",
        back.as_secs_f64()
    );
    eprintln!(
        "relay without flood: VmRSS {} kB, CPU {:.1} % of a core over {:.1} s",
        quiet_to.rss_kb,
        cpu_percent(quiet_from, quiet_to),
        (quiet_to.at - quiet_from.at).as_secs_f64()
    );
    eprintln!(
        "relay under flood: VmRSS {} kB after {:.0} s of flood, {} kB at the end, peak VmHWM \
         {} kB; CPU {:.1} % of a core over {:.1} s, {:.1} % until the game ended",
        flood_to.rss_kb,
        (flood_to.at - flood_from.at).as_secs_f64() + 1.0,
        flood_end.rss_kb,
        flood_end.peak_kb,
        cpu_percent(flood_from, flood_to),
        (flood_to.at - flood_from.at).as_secs_f64(),
        cpu_percent(flood_from, flood_end),
    );
    let lines = relay_err.lock().unwrap().len();
    eprintln!(
        "relay log: {lines} lines in all, {} flood summaries; the first: {}",
        logged.len(),
        logged.first().map_or("", String::as_str)
    );
    if std::env::var_os("SHOW_RELAY_LOG").is_some() {
        eprintln!("{}", relay_err.lock().unwrap().join("\n"));
    }
    assert!(sent.bytes > 3 * 10 * 1024 * 1024, "the flood ran: {sent:?}");
    assert!(!logged.is_empty(), "the relay logs the flood");
    same_end(&players, ROLLS);
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("bitcraps-flood-relay-{}", std::process::id())),
    );
}
