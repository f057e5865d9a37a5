//! The cheating bot of the local table's demos (`--byzantine-bot KIND`): only a build with the
//! `cheats` feature has one. Without it, [`Cheat`] has no value, so a player's build cannot
//! seat a cheater and contains none of the Byzantine behaviours.

use bevy::prelude::*;
use bitcraps::plugin::BotPlayer;

#[cfg(feature = "cheats")]
pub use with_cheats::Cheat;
#[cfg(not(feature = "cheats"))]
pub use without_cheats::Cheat;

#[cfg(feature = "cheats")]
mod with_cheats {
    use super::*;
    use bitcraps::plugin::{ByzantineKind, ByzantinePlugin};

    /// How the Byzantine bot cheats.
    #[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Cheat {
        /// Sends two different proposals to two halves of the table when it proposes.
        Equivocate,
        /// Commits to its dice but never reveals (hoping to cancel a losing roll).
        Withhold,
        /// Sends votes with bad signatures or claiming another player's identity.
        Forge,
        /// Signs two conflicting votes per round and splits them between the players.
        DoubleVote,
        /// Never sends anything.
        Silent,
        /// Re-sends old messages and its own messages signed for another table.
        Replay,
        /// Sends random, truncated and oversized bytes.
        Garbage,
        /// Runs the protocol but ignores its lock when prevoting.
        LockBreak,
    }

    impl Cheat {
        /// The consensus-level behaviour, if it is one (withholding is a game-level cheat).
        pub fn byzantine_kind(self) -> Option<ByzantineKind> {
            match self {
                Cheat::Equivocate => Some(ByzantineKind::EquivocatingProposer),
                Cheat::Withhold => None,
                Cheat::Forge => Some(ByzantineKind::Forger),
                Cheat::DoubleVote => Some(ByzantineKind::DoubleVoter),
                Cheat::Silent => Some(ByzantineKind::Silent),
                Cheat::Replay => Some(ByzantineKind::Replayer),
                Cheat::Garbage => Some(ByzantineKind::Garbage),
                Cheat::LockBreak => Some(ByzantineKind::LockBreaker),
            }
        }

        /// What it does, in a few words.
        pub fn describe(self) -> &'static str {
            match self {
                Cheat::Equivocate => "equivocates",
                Cheat::Withhold => "withholds reveals",
                Cheat::Forge => "forges",
                Cheat::DoubleVote => "double votes",
                Cheat::Silent => "is silent",
                Cheat::Replay => "replays",
                Cheat::Garbage => "sends garbage",
                Cheat::LockBreak => "breaks locks",
            }
        }
    }

    impl Cheat {
        /// Makes `bot`'s App cheat this way (`seed`: the cheat's randomness); the bot to spawn.
        pub fn install(self, app: &mut App, seed: u64, bot: BotPlayer) -> BotPlayer {
            match self.byzantine_kind() {
                Some(kind) => {
                    app.add_plugins(ByzantinePlugin { kind, seed });
                    bot
                }
                None => bot.withholding(),
            }
        }
    }
}

#[cfg(not(feature = "cheats"))]
mod without_cheats {
    use super::*;

    /// How the Byzantine bot cheats: never, in a build without the `cheats` feature.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Cheat {}

    impl Cheat {
        /// What it does, in a few words.
        pub fn describe(self) -> &'static str {
            match self {}
        }

        /// Makes `bot`'s App cheat this way.
        pub fn install(self, _app: &mut App, _seed: u64, _bot: BotPlayer) -> BotPlayer {
            match self {}
        }
    }
}
