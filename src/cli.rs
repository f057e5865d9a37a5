//! The command line.

use std::path::PathBuf;

use bevy_bitcraps::ByzantineKind;
use clap::{Parser, ValueEnum};

/// Trustless peer-to-peer craps: you and bot players at a 3D table, every bet, roll and payout
/// agreed by Byzantine-fault-tolerant consensus among the players' own machines (here, one
/// process: every player is a full consensus node over an in-memory network).
#[derive(Parser, Debug, Clone)]
#[command(name = "bitcraps", version, about, long_about = None)]
pub struct Cli {
    /// Bot players besides you (3 to 15: a table seats 4 to 16).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(3..=15))]
    pub bots: u16,
    /// Make the last bot cheat: it equivocates, withholds its dice reveal, forges votes, double
    /// votes, ... The honest players catch and punish it.
    #[arg(long, value_enum, value_name = "KIND")]
    pub byzantine_bot: Option<Cheat>,
    /// No window: the bots (and a bot in your seat) play `--rolls` rolls, then a summary is
    /// printed (for servers and CI).
    #[arg(long)]
    pub headless: bool,
    /// Rolls to play with `--headless`.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub rolls: u64,
    /// Play `--after-rolls` rolls, save a PNG of the window to PATH, and exit (your seat is
    /// played by a bot).
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// Rolls to play before `--screenshot`.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub after_rolls: u64,
    /// Let a bot play your seat in the window too.
    #[arg(long)]
    pub autoplay: bool,
    /// Seed of the players' keys (the same seed seats the same table).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Give up after this many seconds (headless and screenshot runs).
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub timeout: u64,
}

/// How the Byzantine bot cheats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from([
            "bitcraps",
            "--headless",
            "--rolls",
            "5",
            "--byzantine-bot",
            "double-vote",
        ]);
        assert!(cli.headless);
        assert_eq!(cli.rolls, 5);
        assert_eq!(cli.byzantine_bot, Some(Cheat::DoubleVote));
        assert!(
            Cli::try_parse_from(["bitcraps", "--bots", "2"]).is_err(),
            "a table needs 4 seats"
        );
        assert!(
            Cli::try_parse_from(["bitcraps", "--bots", "16"]).is_err(),
            "at most 16 seats"
        );
    }
}
