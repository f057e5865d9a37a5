//! A local table: the players' keys, the in-memory network, and each participant's App — the
//! consensus plugin, the craps game, a bot (or a cheat) in its seat.

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_bitcraps::testing::FRAME;
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsPlugin, BotPlayer, BotPlugin, BotStrategy, ConfigError, GamePlugin,
    GameSetup, MemoryHub, TransportAppExt,
};
use bitcraps::consensus::{Keypair, PeerId, TableId};
use bitcraps::table::PlayerNames;

use crate::cheat::Cheat;

/// How fast the table plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As fast as the consensus goes (headless runs).
    Fast,
    /// Slow enough for a person to bet between rolls (the window).
    Human,
}

/// Who sits at the table and how it plays.
#[derive(Clone, Debug)]
pub struct TableSpec {
    /// Bot players besides the local one.
    pub bots: usize,
    /// How the last bot cheats, if it does.
    pub cheat: Option<Cheat>,
    /// Seed of the keys.
    pub seed: u64,
    /// The pace.
    pub pace: Pace,
    /// A bot plays the local seat too.
    pub autoplay: bool,
}

/// The seated players: keys (the local player's first), their table, their network.
pub struct Participants {
    /// One key per player; index 0 is the local player.
    pub keys: Vec<Keypair>,
    /// The table id.
    pub table: TableId,
    /// The in-memory network connecting them.
    pub hub: MemoryHub,
    /// Their names.
    pub names: PlayerNames,
}

/// The strategies the bots cycle through.
const STRATEGIES: [BotStrategy; 4] = [
    BotStrategy::PassLine { amount: 25 },
    BotStrategy::Field { amount: 10 },
    BotStrategy::DontPass { amount: 25 },
    BotStrategy::PassLine { amount: 50 },
];

impl TableSpec {
    /// Players in all.
    pub fn players(&self) -> usize {
        self.bots + 1
    }

    /// The index of the cheating bot, if any.
    pub fn cheater(&self) -> Option<usize> {
        self.cheat.map(|_| self.bots)
    }

    /// Keys, network and names of the table.
    pub fn participants(&self) -> Participants {
        let keys = bevy_bitcraps::testing::test_keys(self.players(), self.seed);
        let mut names = PlayerNames::default();
        for (i, key) in keys.iter().enumerate() {
            let name = match (i, self.cheat) {
                (0, _) => "You".to_string(),
                (i, Some(cheat)) if Some(i) == self.cheater() => {
                    format!("Bot {i} ({})", cheat.describe())
                }
                (i, _) => format!("Bot {i}"),
            };
            names.0.insert(key.peer_id(), name);
        }
        Participants {
            table: TableId::from_name(&format!("bitcraps local table {}", self.seed)),
            hub: MemoryHub::new(),
            names,
            keys,
        }
    }

    /// The table's genesis terms (the same for every player).
    pub fn game(&self) -> GamePlugin {
        // Betting stays open 30 s of block time after the first bet: time for a person to bet
        // when a bot holds the dice.
        GamePlugin {
            setup: GameSetup::default(),
        }
    }

    /// Player `i`'s consensus configuration.
    pub fn config(&self, p: &Participants, i: usize) -> Result<BitCrapsConfig, ConfigError> {
        let peers: Vec<PeerId> = p.keys.iter().map(Keypair::peer_id).collect();
        let mut config =
            BitCrapsConfig::new(p.table, p.keys[i].clone(), peers)?.with_fast_timings();
        if self.pace == Pace::Human {
            // Heights come at a watchable pace instead of as fast as the machines agree.
            config.empty_block_delay = Duration::from_millis(300);
        }
        Ok(config)
    }

    /// Seats player `i` in `app`: consensus, game, transport, and its bot or cheat.
    pub fn seat(&self, app: &mut App, p: &Participants, i: usize) -> Result<(), ConfigError> {
        let config = self.config(p, i)?;
        let peer = config.local_peer();
        app.add_plugins(BitCrapsPlugin::new(config))
            .add_plugins((self.game(), BotPlugin))
            .set_transport(p.hub.connect(peer));
        if i == 0 && !self.autoplay {
            return Ok(());
        }
        let mut bot = BotPlayer::new(STRATEGIES[i % STRATEGIES.len()]);
        if self.pace == Pace::Human {
            bot.wait_heights = 10;
        }
        if let Some(cheat) = self.cheat.filter(|_| Some(i) == self.cheater()) {
            bot = cheat.install(app, self.seed ^ 0xB12A, bot);
        }
        app.world_mut().spawn(bot);
        Ok(())
    }

    /// A headless App for player `i` (no window, virtual time advanced by hand), finished and
    /// ready to step; with `log`, this App installs the process's logger (one App per process
    /// may: the local player's).
    pub fn headless_app(
        &self,
        p: &Participants,
        i: usize,
        log: Option<bevy::log::LogPlugin>,
    ) -> Result<App, ConfigError> {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(TimeUpdateStrategy::ManualDuration(FRAME));
        if let Some(log) = log {
            app.add_plugins(log);
        }
        self.seat(&mut app, p, i)?;
        app.finish();
        app.cleanup();
        Ok(app)
    }
}
