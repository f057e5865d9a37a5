//! Bots the host seats at its own network table (`--host --host-bots N`): each is a full player
//! with its own fresh key, joining the host's relay through the lobby like any other player
//! and playing on its own thread until the host stops. They let two people (the host and one
//! joiner) fill a table of four.
//!
//! A bot's key is new each session and its table is not journaled: a bot that stops is simply
//! gone, and the table goes on while at most f seats are silent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::testing::FRAME;
use bevy_bitcraps::{AdmissionPolicy, BitCrapsPlugin, BotPlayer, BotPlugin, BotStrategy};
use bitcraps::consensus::Keypair;
use bitcraps::game::Registry;
use bitcraps::net::{join_lobby, LobbyJoin, NetClientConfig, NetClientPlugin};
use rand_core::{OsRng, RngCore};

use crate::error::GameError;
use crate::net_play::net_game;

/// What the bots bet, in turn.
const STRATEGIES: [BotStrategy; 3] = [
    BotStrategy::PassLine { amount: 25 },
    BotStrategy::Field { amount: 10 },
    BotStrategy::DontPass { amount: 25 },
];

/// The host's bots, each on its own thread.
pub struct HostBots {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl HostBots {
    /// Starts `count` bots that join the lobby at `relay` (`slow`: leave time between rolls for
    /// people to bet) and answer newcomers by `admission`. A bot that cannot join or play says
    /// why on standard error and stops.
    pub fn spawn(
        count: usize,
        relay: SocketAddr,
        slow: bool,
        timeout: Duration,
        admission: AdmissionPolicy,
    ) -> Result<HostBots, GameError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let mut seed = [0u8; 32];
            OsRng
                .try_fill_bytes(&mut seed)
                .map_err(|e| GameError::Bot(format!("no randomness for a bot key: {e}")))?;
            let key = Keypair::from_seed(seed);
            let stop = Arc::clone(&stop);
            let strategy = STRATEGIES[index % STRATEGIES.len()];
            let thread = std::thread::Builder::new()
                .name(format!("host bot {}", index + 1))
                .spawn(move || {
                    let bot = BotPlayer::new(strategy).admitting(admission);
                    if let Err(e) = run(key, relay, bot, slow, timeout, &stop) {
                        eprintln!("host bot {}: {e}", index + 1);
                    }
                })
                .map_err(|e| GameError::Bot(format!("cannot start a bot thread: {e}")))?;
            threads.push(thread);
        }
        Ok(HostBots { stop, threads })
    }

    /// Stops the bots: waits up to a second for their threads; a bot still waiting in the
    /// lobby is left to end with the process.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline && !self.threads.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(10));
        }
        for thread in self.threads {
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

/// One bot: the lobby, then its App stepped at 60 frames per second until `stop`.
fn run(
    key: Keypair,
    relay: SocketAddr,
    bot: BotPlayer,
    slow: bool,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<(), GameError> {
    let mut request = LobbyJoin::new(relay, key.clone(), Registry::new().hash());
    request.wait_timeout = Some(timeout);
    let genesis = join_lobby(&request, |_| {})?.genesis().clone();
    let mut config = genesis.config(key)?.with_fast_timings();
    if slow {
        config.empty_block_delay = Duration::from_millis(300);
    }
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((net_game(), BotPlugin))
        .add_plugins(NetClientPlugin {
            config: NetClientConfig {
                genesis: Some(genesis),
                ..NetClientConfig::new(relay)
            },
        });
    app.world_mut().spawn(bot);
    app.finish();
    app.cleanup();
    while !stop.load(Ordering::Relaxed) {
        let frame = Instant::now();
        app.update();
        std::thread::sleep(FRAME.saturating_sub(frame.elapsed()));
    }
    Ok(())
}
