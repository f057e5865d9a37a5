//! Bots the host seats at its own network table (`--host --host-bots N`): each is a full player
//! with its own identity key and journal under the host's data directory (`bots/<n>/`, laid out
//! like a player's: `identity.key`, `tables/<table id>.redb`, the saved table), joining the
//! host's relay through the lobby like any other player and playing on its own thread until the
//! host stops. They let two people (the host and one joiner) fill a table of four.
//!
//! A bot journals its table exactly as a player does ([`JournalPlugin`]: its signing guard and
//! own operations are durable before they leave, so `bitcraps verify` passes on its journal and
//! a restart never makes it sign twice). When a restarted `--host` resumes its saved table,
//! [`HostBots::resume`] brings back every bot that saved that table, each from its journal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::{
    AdmissionPolicy, BitCrapsConfig, BitCrapsPlugin, BotPlayer, BotPlugin, BotStrategy,
};
use bitcraps::consensus::{Keypair, PeerId};
use bitcraps::game::Registry;
use bitcraps::journal::{load_or_create_identity, DataDir, JournalPlugin};
use bitcraps::net::{join_lobby, Genesis, LobbyJoin, NetClientConfig, NetClientPlugin};

use crate::error::GameError;
use crate::net_play::net_game;
use crate::saved_table::{save_table, saved_table, SavedTable};

/// What the bots bet, in turn (bot `n` bets the `(n - 1) % 3`-th, the same after a restart).
const STRATEGIES: [BotStrategy; 3] = [
    BotStrategy::PassLine { amount: 25 },
    BotStrategy::Field { amount: 10 },
    BotStrategy::DontPass { amount: 25 },
];

/// Frame period of a bot's App (60 frames per second).
const FRAME: Duration = Duration::from_micros(16_667);

/// Most bots a host can have had (a table seats at most 16, the host included).
const MAX_BOTS: usize = 15;

/// The folder of the host's bots in its data directory.
pub const BOTS_DIR: &str = "bots";

/// How the host's bots play.
#[derive(Clone, Copy, Debug)]
pub struct BotPace {
    /// Leave time between rolls for people to bet (a windowed host).
    pub slow: bool,
    /// How long a bot waits in the lobby for the table to form.
    pub timeout: Duration,
    /// How the bots answer newcomers.
    pub admission: AdmissionPolicy,
}

/// One bot of the host: its number (from 1), data directory and key.
struct BotSeat {
    number: usize,
    dir: DataDir,
    key: Keypair,
}

impl BotSeat {
    /// Bot `number`'s data directory under the host's `dir`, created if missing, and its
    /// identity key, loaded or created there.
    fn open(host_dir: &DataDir, number: usize) -> Result<BotSeat, GameError> {
        let dir = bot_dir(host_dir, number);
        dir.create().map_err(|source| GameError::DataDir {
            path: dir.root().to_path_buf(),
            source,
        })?;
        let path = dir.identity_path();
        let (key, _) = load_or_create_identity(&path)
            .map_err(|source| GameError::Identity { path, source })?;
        Ok(BotSeat { number, dir, key })
    }

    fn strategy(&self) -> BotStrategy {
        STRATEGIES[self.number.saturating_sub(1) % STRATEGIES.len()]
    }

    fn peer(&self) -> PeerId {
        self.key.peer_id()
    }
}

/// Bot `number`'s data directory under the host's `dir` (`bots/<number>`).
fn bot_dir(host_dir: &DataDir, number: usize) -> DataDir {
    DataDir::new(host_dir.root().join(BOTS_DIR).join(number.to_string()))
}

/// A bot's table configuration.
fn bot_config(genesis: &Genesis, key: Keypair, slow: bool) -> Result<BitCrapsConfig, GameError> {
    let mut config = genesis.config(key)?.with_fast_timings();
    if slow {
        config.empty_block_delay = Duration::from_millis(300);
    }
    Ok(config)
}

/// A bot ready to resume: its seat, configuration and journal (recovered, not yet running).
pub struct ResumedBot {
    seat: BotSeat,
    config: BitCrapsConfig,
    journal: JournalPlugin,
    genesis: Genesis,
}

impl ResumedBot {
    /// The bot's number (from 1).
    pub fn number(&self) -> usize {
        self.seat.number
    }

    /// The last height its journal recorded.
    pub fn height(&self) -> u64 {
        self.journal.recovered_height()
    }

    /// Its journal file.
    pub fn journal(&self) -> &Path {
        self.journal.path()
    }
}

/// The bots under the host's `dir` that saved `saved`'s table for the relay at `saved.relay`
/// and hold a genesis seat of it, each with its journal recovered (checked, as a player's is,
/// before it plays again). A bot folder without that table is left alone (it did not sit at
/// it); a bot whose journal fails its checks is an error.
pub fn resumable(
    host_dir: &DataDir,
    saved: &SavedTable,
    slow: bool,
) -> Result<Vec<ResumedBot>, GameError> {
    let mut bots = Vec::new();
    for number in 1..=MAX_BOTS {
        let dir = bot_dir(host_dir, number);
        if !dir.identity_path().exists() {
            continue;
        }
        let theirs = match saved_table(&dir, saved.relay) {
            Ok(Some(theirs)) => theirs,
            Ok(None) => continue,
            Err(error) => {
                println!("host bot {number}: {error}; it does not come back");
                continue;
            }
        };
        if theirs.genesis != saved.genesis {
            continue;
        }
        let seat = BotSeat::open(host_dir, number)?;
        if !saved.genesis.seats(&seat.peer()) {
            continue;
        }
        let config = bot_config(&saved.genesis, seat.key.clone(), slow)?;
        let journal = JournalPlugin::open(&seat.dir, &config, &net_game(&saved.genesis))?;
        bots.push(ResumedBot {
            seat,
            config,
            journal,
            genesis: theirs.genesis,
        });
    }
    Ok(bots)
}

/// The host's bots, each on its own thread.
pub struct HostBots {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl HostBots {
    /// Starts `count` bots (`bots/1` to `bots/<count>` under the host's `dir`) that join the
    /// lobby at `relay`, save and journal the table it forms, and play it. A bot that cannot
    /// join or play says why on standard error and stops.
    pub fn spawn(
        count: usize,
        host_dir: &DataDir,
        relay: SocketAddr,
        pace: BotPace,
    ) -> Result<HostBots, GameError> {
        let mut bots = HostBots {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::with_capacity(count),
        };
        for number in 1..=count.min(MAX_BOTS) {
            let seat = match BotSeat::open(host_dir, number) {
                Ok(seat) => seat,
                Err(e) => {
                    bots.stop();
                    return Err(e);
                }
            };
            println!(
                "host bot {number} plays as {} (data in {})",
                seat.peer(),
                seat.dir.root().display()
            );
            let stop = Arc::clone(&bots.stop);
            let started = bots.start(number, move || {
                let config = join(&seat, relay, pace)?;
                play(config, &seat, relay, pace, &stop)
            });
            if let Err(e) = started {
                bots.stop();
                return Err(e);
            }
        }
        Ok(bots)
    }

    /// Starts again the bots of a resumed table (see [`resumable`]): each proves its seat to
    /// the relay at `relay` and catches up from its journal.
    pub fn resume(
        resumed: Vec<ResumedBot>,
        relay: SocketAddr,
        pace: BotPace,
    ) -> Result<HostBots, GameError> {
        let mut bots = HostBots {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::with_capacity(resumed.len()),
        };
        for bot in resumed {
            let stop = Arc::clone(&bots.stop);
            let number = bot.number();
            let started = bots.start(number, move || {
                let ResumedBot {
                    seat,
                    config,
                    journal,
                    genesis,
                } = bot;
                play((config, journal, genesis), &seat, relay, pace, &stop)
            });
            if let Err(e) = started {
                bots.stop();
                return Err(e);
            }
        }
        Ok(bots)
    }

    /// Runs `body` on bot `number`'s thread, printing its error if it stops on one.
    fn start(
        &mut self,
        number: usize,
        body: impl FnOnce() -> Result<(), GameError> + Send + 'static,
    ) -> Result<(), GameError> {
        let thread = std::thread::Builder::new()
            .name(format!("host bot {number}"))
            .spawn(move || {
                if let Err(e) = body() {
                    eprintln!("host bot {number}: {e}");
                }
            })
            .map_err(|e| GameError::Bot(format!("cannot start a bot thread: {e}")))?;
        self.threads.push(thread);
        Ok(())
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

/// A new bot in the lobby at `relay`: waits for the table, saves it and opens its journal.
fn join(
    seat: &BotSeat,
    relay: SocketAddr,
    pace: BotPace,
) -> Result<(BitCrapsConfig, JournalPlugin, Genesis), GameError> {
    let mut request = LobbyJoin::new(relay, seat.key.clone(), Registry::new().hash());
    request.wait_timeout = Some(pace.timeout);
    let genesis = join_lobby(&request, |_| {})?.genesis().clone();
    save_table(
        &seat.dir,
        &SavedTable {
            relay,
            genesis: genesis.clone(),
        },
    )?;
    let config = bot_config(&genesis, seat.key.clone(), pace.slow)?;
    let journal = JournalPlugin::open(&seat.dir, &config, &net_game(&genesis))?;
    Ok((config, journal, genesis))
}

/// One bot's App, journaled, stepped at 60 frames per second until `stop`.
fn play(
    (config, journal, genesis): (BitCrapsConfig, JournalPlugin, Genesis),
    seat: &BotSeat,
    relay: SocketAddr,
    pace: BotPace,
    stop: &AtomicBool,
) -> Result<(), GameError> {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((net_game(&genesis), BotPlugin))
        .add_plugins(journal)
        .add_plugins(NetClientPlugin {
            config: NetClientConfig {
                genesis: Some(genesis),
                ..NetClientConfig::new(relay)
            },
        });
    app.world_mut()
        .spawn(BotPlayer::new(seat.strategy()).admitting(pace.admission));
    app.finish();
    app.cleanup();
    while !stop.load(Ordering::Relaxed) {
        let frame = Instant::now();
        app.update();
        std::thread::sleep(FRAME.saturating_sub(frame.elapsed()));
    }
    Ok(())
}
