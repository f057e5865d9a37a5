//! Bots playing craps across processes through a renet relay.
//!
//! ```sh
//! # terminal 1: a relay, and bots in seats 0, 1 and 2 (three of four seats: enough to play)
//! cargo run --release -p bitcraps_renet --example net_table -- host 127.0.0.1:5000
//! # terminal 2: a bot in seat 3 joins (late: it catches up first)
//! cargo run --release -p bitcraps_renet --example net_table -- join 127.0.0.1:5000
//! # or a dedicated relay, and every seat joining it
//! cargo run --release -p bitcraps_renet --example net_table -- relay 5000
//! cargo run --release -p bitcraps_renet --example net_table -- join 127.0.0.1:5000 --seat 0
//! # or everything in one process
//! cargo run --release -p bitcraps_renet --example net_table -- local
//! ```
//!
//! Every seat key is derived from a public seed, which is fine for a demo on a LAN and nothing
//! else. Each player stops after `--rolls` rolls (default 10) and prints the table's state hash
//! at a height every process has reached, to compare across terminals.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{short_hex, Height, Keypair, PeerId, TableId};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::*;
use bitcraps_renet::{
    join_plugin, parse_address, relay_app, relay_config, spawn_relay, NetClient, SetupError,
    DEFAULT_PORT,
};

const SEATS: usize = 4;
const SEED: u64 = 2026;
const FRAME: Duration = Duration::from_micros(16_667);

fn configs() -> Vec<BitCrapsConfig> {
    let keys = test_keys(SEATS, SEED);
    let peers: Vec<PeerId> = keys.iter().map(Keypair::peer_id).collect();
    keys.iter()
        .map(|k| {
            BitCrapsConfig::new(
                TableId::from_name("net-table-example"),
                k.clone(),
                peers.clone(),
            )
            .unwrap()
        })
        .collect()
}

/// What a player thread reports.
#[derive(Clone, Default)]
struct Progress {
    rolls: usize,
    height: u64,
    link: String,
    /// The state hash after height 10 (compare it across processes).
    hash_at_10: Option<[u8; 32]>,
}

#[derive(Resource)]
struct Report(Arc<Mutex<Progress>>);

fn report(
    report: Res<Report>,
    view: Res<TableView>,
    book: Res<StateHashBook>,
    client: Res<NetClient>,
    mut rolls: MessageReader<DiceRolled>,
) {
    let mut p = report.0.lock().unwrap();
    p.rolls += rolls.read().count();
    p.height = view.height.0;
    p.link = client.describe();
    p.hash_at_10 = book.local(Height(10)).or(p.hash_at_10);
}

fn play(seat: usize, relay: SocketAddr, progress: Arc<Mutex<Progress>>, stop: Arc<AtomicBool>) {
    let config = configs().swap_remove(seat);
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((GamePlugin::default(), BotPlugin))
        .add_plugins(join_plugin(relay))
        .insert_resource(Report(progress))
        .add_systems(Update, report.after(BitCrapsSystems::Cleanup));
    app.world_mut()
        .spawn(BotPlayer::new(BotStrategy::PassLine { amount: 10 }));
    app.finish();
    app.cleanup();
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        app.update();
        next += FRAME;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    // bevy_renet sends netcode's disconnect on AppExit: the relay frees the seat at once.
    app.world_mut().write_message(AppExit::Success);
    app.update();
}

/// Runs bots in `seats` against the relay at `relay` until each saw `rolls` rolls.
fn players(seats: &[usize], relay: SocketAddr, rolls: usize) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let all: Vec<(usize, Arc<Mutex<Progress>>)> = seats
        .iter()
        .map(|s| (*s, Arc::new(Mutex::new(Progress::default()))))
        .collect();
    let threads: Vec<_> = all
        .iter()
        .map(|(seat, p)| {
            let (seat, p, stop) = (*seat, p.clone(), stop.clone());
            std::thread::spawn(move || play(seat, relay, p, stop))
        })
        .collect();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let snapshot: Vec<(usize, Progress)> = all
            .iter()
            .map(|(s, p)| (*s, p.lock().unwrap().clone()))
            .collect();
        for (seat, p) in &snapshot {
            println!(
                "seat {seat}: height {:>4}, {:>3} rolls — {}",
                p.height, p.rolls, p.link
            );
        }
        if snapshot.iter().all(|(_, p)| p.rolls >= rolls) {
            for (seat, p) in &snapshot {
                let hash = p.hash_at_10.map(|h| short_hex(&h)).unwrap_or_default();
                println!("seat {seat}: state hash after height 10: {hash}");
            }
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    ExitCode::SUCCESS
}

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(args: &[String]) -> Result<ExitCode, SetupError> {
    let rolls = arg(args, "--rolls", 10);
    let positional = args.get(2).filter(|a| !a.starts_with("--"));
    let config = relay_config(&configs()[0], &Registry::new());
    match args.get(1).map(String::as_str) {
        Some("host") => {
            let addr = parse_address(positional.map_or("127.0.0.1:5000", |s| s.as_str()))?;
            let relay = spawn_relay(config, addr)?;
            println!(
                "hosting: join with `net_table join {}`",
                relay.share_address()
            );
            Ok(players(&[0, 1, 2], relay.local_address(), rolls))
        }
        Some("join") => {
            let addr = parse_address(positional.map_or("127.0.0.1:5000", |s| s.as_str()))?;
            Ok(players(&[arg(args, "--seat", 3usize) % SEATS], addr, rolls))
        }
        Some("relay") => {
            let port: u16 = positional
                .and_then(|p| p.parse().ok())
                .unwrap_or(DEFAULT_PORT);
            let (mut app, addr) = relay_app(config, SocketAddr::from(([0, 0, 0, 0], port)))?;
            println!("relay for table net-table-example listening on {addr}");
            app.run();
            Ok(ExitCode::SUCCESS)
        }
        Some("local") => {
            let relay = spawn_relay(config, parse_address("127.0.0.1:0")?)?;
            Ok(players(&[0, 1, 2, 3], relay.local_address(), rolls))
        }
        _ => {
            eprintln!("usage: net_table host [ADDR:PORT] | join ADDR:PORT [--seat K] | relay [PORT] | local  [--rolls N]");
            Ok(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
