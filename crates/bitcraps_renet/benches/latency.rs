//! Decision latency over real renet on loopback: a relay on its own thread (1 ms tick) and four
//! bot players, each an App on its own thread at 60 frames per second (real time, frames not
//! aligned between players), playing craps. Measured on every player:
//!
//! - a single decision: from the start of a height (the previous one applied) to its decision;
//! - a whole roll: from the frame where betting closed (the close decided and applied) to the
//!   frame where the dice and the payouts are applied (commitments and reveals decided in
//!   between);
//!
//! with 0 % and 10 % of the relayed messages dropped. Prints p50 and p99 in milliseconds and in
//! frames, as a Markdown table.
//!
//! `cargo bench -p bitcraps_renet --bench latency [-- --seconds S]` (default 40 s per loss rate).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Keypair, PeerId, TableId};
use bevy_bitcraps::bitcraps_game::{Registry, Stage, TableState};
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::*;
use bitcraps_renet::{relay_config, spawn_relay, NetClient, NetClientConfig, NetClientPlugin};
use bitcraps_renet::{RelayFaults, RelayStats};

const FRAME: Duration = Duration::from_micros(16_667);

#[derive(Resource, Default)]
struct Samples {
    decisions: Vec<Duration>,
    rolls: Vec<Duration>,
    closed_at: Option<Duration>,
    was_betting: bool,
    warmup: u64,
}

fn record(
    time: Res<Time>,
    view: Res<TableView>,
    client: Res<NetClient>,
    mut samples: ResMut<Samples>,
    mut decided: MessageReader<HeightDecided>,
    mut rolled: MessageReader<DiceRolled>,
) {
    let now = time.elapsed();
    let warm = view.height.0 > samples.warmup && client.is_seated();
    for d in decided.read() {
        if warm {
            samples.decisions.push(d.latency);
        }
    }
    if let Some(state) = view.snapshot::<TableState>() {
        let betting = matches!(state.stage(), Stage::Betting { .. });
        if samples.was_betting && !betting {
            samples.closed_at = Some(now);
        }
        samples.was_betting = betting;
    }
    for _ in rolled.read() {
        if let (Some(at), true) = (samples.closed_at.take(), warm) {
            samples.rolls.push(now.saturating_sub(at));
        }
    }
}

fn player(config: BitCrapsConfig, relay: SocketAddr, i: usize, stop: Arc<AtomicBool>) -> Samples {
    let mut app = App::new();
    let strategy = match i % 3 {
        0 => BotStrategy::PassLine { amount: 10 },
        1 => BotStrategy::Field { amount: 10 },
        _ => BotStrategy::DontPass { amount: 20 },
    };
    app.add_plugins(MinimalPlugins)
        .add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((GamePlugin::default(), BotPlugin))
        .add_plugins(NetClientPlugin {
            config: NetClientConfig::new(relay),
        })
        .insert_resource(Samples {
            warmup: 5,
            ..Samples::default()
        })
        .add_systems(Update, record.after(BitCrapsSystems::Cleanup));
    app.world_mut().spawn(BotPlayer::new(strategy));
    app.finish();
    app.cleanup();
    // Players' frames are not aligned: each starts at its own offset within a frame.
    std::thread::sleep(FRAME.mul_f64(i as f64 / 4.0));
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        app.update();
        next += FRAME;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    app.world_mut().remove_resource::<Samples>().unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn row(what: &str, loss: u32, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let frames = |d: Duration| d.as_secs_f64() / FRAME.as_secs_f64();
    let (p50, p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
    format!(
        "| {what:<14} | {loss:>3} % | {:>7} | {:>7.1} | {:>7.1} | {:>10.2} | {:>10.2} |",
        samples.len(),
        ms(p50),
        ms(p99),
        frames(p50),
        frames(p99)
    )
}

fn run(seconds: u64, loss: f64, seed: u64) -> (Vec<Duration>, Vec<Duration>, RelayStats) {
    let keys: Vec<Keypair> = test_keys(4, seed);
    let peers: Vec<PeerId> = keys.iter().map(Keypair::peer_id).collect();
    let table = TableId::from_name(&format!("latency-{seed}"));
    let configs: Vec<BitCrapsConfig> = keys
        .iter()
        .map(|k| {
            BitCrapsConfig::new(table, k.clone(), peers.iter().copied())
                .unwrap()
                .with_fast_timings()
        })
        .collect();
    let mut relay_cfg = relay_config(&configs[0], &Registry::new());
    if loss > 0.0 {
        relay_cfg = relay_cfg.with_faults(RelayFaults::new(loss, Duration::ZERO, seed));
    }
    let relay = spawn_relay(relay_cfg, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let addr = relay.addr();
    let threads: Vec<_> = configs
        .into_iter()
        .enumerate()
        .map(|(i, config)| {
            let stop = stop.clone();
            std::thread::spawn(move || player(config, addr, i, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let (mut decisions, mut rolls) = (Vec::new(), Vec::new());
    for t in threads {
        let s = t.join().unwrap();
        decisions.extend(s.decisions);
        rolls.extend(s.rolls);
    }
    let stats = relay.stats();
    relay.stop();
    (decisions, rolls, stats)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let mut rows = Vec::new();
    for (loss, seed) in [(0.0, 1), (0.1, 2)] {
        let (decisions, rolls, stats) = run(seconds, loss, seed);
        let pct = (loss * 100.0) as u32;
        eprintln!("loss {pct} %: {stats:?}");
        rows.push(row("decision", pct, decisions));
        rows.push(row("roll", pct, rolls));
    }
    println!("| measured       | loss  | samples | p50 ms  | p99 ms  | p50 frames | p99 frames |");
    println!("|----------------|------:|--------:|--------:|--------:|-----------:|-----------:|");
    for r in rows {
        println!("{r}");
    }
}
