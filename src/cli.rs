//! The command line.

use std::path::PathBuf;

use bitcraps::net::DEFAULT_PORT;
use clap::{Args, Parser, Subcommand};

#[cfg(feature = "cheats")]
use crate::cheat::Cheat;

/// Trustless peer-to-peer craps: you and bot players at a 3D table, every bet, roll and payout
/// agreed by Byzantine-fault-tolerant consensus among the players' own machines (here, one
/// process: every player is a full consensus node over an in-memory network).
#[derive(Parser, Debug, Clone)]
#[command(
    name = "bitcraps",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A tool instead of a table: a dedicated relay, or a journal check or export.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Host a table on the network: a relay on ADDR:PORT (default 0.0.0.0:5000) that every
    /// player joins, you included; prints the address to share. The relay passes signed
    /// messages on but cannot forge them.
    #[arg(
        long,
        value_name = "ADDR:PORT",
        num_args = 0..=1,
        default_missing_value = "0.0.0.0:5000",
        conflicts_with = "join"
    )]
    pub host: Option<String>,
    /// Join the table hosted at ADDR:PORT (the address the host printed).
    #[arg(long, value_name = "ADDR:PORT")]
    pub join: Option<String>,
    /// Seats at a hosted table (4 to 16): play starts when that many players have joined.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(4..=16))]
    pub players: u16,
    /// Chips you bring when you `--join` a table that already plays (you ask its players for a
    /// seat; they admit you or refuse). Default: the stack every genesis seat started with.
    #[arg(long, value_name = "CHIPS", requires = "join")]
    pub buy_in: Option<u64>,
    /// Headless players: your bot admits newcomers while fewer than N players are seated and
    /// refuses beyond (0 refuses everyone; default: admit up to every seat, 16).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=16))]
    pub admit_up_to: Option<u16>,
    /// Headless players: leave the table (cash out balance and bond) once it has played N
    /// rolls, then exit.
    #[arg(long, value_name = "N")]
    pub leave_after_rolls: Option<u64>,
    /// Bots the host seats at its table besides you (default: all seats but one, so that one
    /// `--join` from another machine fills the table). `--host-bots 0` waits for people only.
    #[arg(long, value_name = "N", requires = "host")]
    pub host_bots: Option<u16>,
    /// Where your identity and table journals are kept (default: the OS data directory, e.g.
    /// ~/.local/share/bitcraps). `bitcraps relay` keeps the record of the table it serves
    /// there.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Your seat key file (created on first use, readable by you only; default: `identity.key`
    /// in the data directory).
    #[arg(long, value_name = "PATH")]
    pub identity: Option<PathBuf>,
    /// Bot players besides you (3 to 15: a table seats 4 to 16).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(3..=15))]
    pub bots: u16,
    /// Make the last bot cheat: it equivocates, withholds its dice reveal, forges votes, double
    /// votes, ... The honest players catch and punish it. The table then seats at least four
    /// bots (five players), so that it plays on once the cheater is unseated. Only in a build
    /// with the `cheats` feature (`cargo run --release --features cheats -- --byzantine-bot
    /// withhold`).
    #[cfg(feature = "cheats")]
    #[arg(long, value_enum, value_name = "KIND")]
    pub byzantine_bot: Option<Cheat>,
    /// No window: the bots (and a bot in your seat) play `--rolls` rolls, then a summary is
    /// printed (for servers and CI).
    #[arg(long)]
    pub headless: bool,
    /// With `--join ADDR`: resume the table you played last through the relay at ADDR, even
    /// if it was played through another relay (its relay is gone for good). The others do the
    /// same; the new relay serves the table once the first of you hands it over.
    #[arg(long, requires = "join")]
    pub resume: bool,
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
    /// Log more: `-v` connections, handshakes, reconnects and catch-up; `-vv` details
    /// (`RUST_LOG` overrides). Logs go to standard error; by default only warnings and errors.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Give up after this many seconds (headless and screenshot runs).
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub timeout: u64,
}

/// The tools.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// A dedicated relay with no player: players `--join` it. Runs until stopped.
    Relay(RelayArgs),
    /// Check a table journal offline: every certificate, signature, dice outcome, payout and
    /// the accounting identity at every height. Exits non-zero on the first failure.
    Verify {
        /// The journal file (`*.redb` in the data directory's `tables/`).
        path: PathBuf,
        /// The hash of the table config the players agreed on (hex, as `bitcraps verify`
        /// prints it). Without it the journal is checked against the config it carries, which
        /// proves the history follows from that config but not which table it is.
        #[arg(long, value_name = "HEX")]
        config_hash: Option<String>,
    },
    /// A UDP impairment proxy for trying a table over a bad network: listens on `--listen`,
    /// forwards to `--to` (a relay) with delay, jitter, loss and duplication each way, and
    /// prints its counters. Players `--join` the proxy's address. Runs until stopped.
    Netem(NetemArgs),
    /// Write a journal's hand history.
    Export {
        /// The journal file.
        path: PathBuf,
        /// As JSON on standard output (the only format so far).
        #[arg(long)]
        json: bool,
    },
}

/// `bitcraps relay`.
#[derive(Args, Debug, Clone)]
pub struct RelayArgs {
    /// The UDP port to listen on.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDR")]
    pub bind: std::net::IpAddr,
    /// Seats at the table (4 to 16).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(4..=16))]
    pub players: u16,
    /// Forget the table this relay served before it restarted. A restarted relay otherwise
    /// resumes only that table (its record is in the data directory), so that a stranger
    /// seated at another table cannot take it over before its players come back.
    #[arg(long)]
    pub forget_table: bool,
}

/// `bitcraps netem`.
#[derive(Args, Debug, Clone)]
pub struct NetemArgs {
    /// The address players send to (e.g. 127.0.0.1:5001).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// The relay's address.
    #[arg(long, value_name = "ADDR:PORT")]
    pub to: std::net::SocketAddr,
    /// Mean one-way delay, each way, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub delay_ms: u64,
    /// Each datagram's delay is uniform in delay ± jitter (datagrams then reorder).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,
    /// Probability (0 to 1) that a datagram is lost, each way.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub loss: f64,
    /// Probability (0 to 1) that a datagram is also sent twice, each way.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub duplicate: f64,
    /// Drop everything both ways from START to END seconds after the proxy started
    /// (e.g. `--partition 30-40`; repeatable).
    #[arg(long, value_name = "START-END", value_parser = parse_partition)]
    pub partition: Vec<bitcraps_netem::Partition>,
    /// Seed of the random draws (the same seed impairs each client's n-th datagram alike).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the counters every this many seconds.
    #[arg(long, default_value_t = 5, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stats_every: u64,
}

/// `START-END` in seconds (decimals allowed) → a partition.
fn parse_partition(text: &str) -> Result<bitcraps_netem::Partition, String> {
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| format!("expected START-END in seconds, got {text:?}"))?;
    let secs = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .and_then(|v| std::time::Duration::try_from_secs_f64(v).ok())
            .ok_or_else(|| format!("{s:?} is not a number of seconds"))
    };
    let (start, end) = (secs(start)?, secs(end)?);
    if end < start {
        return Err(format!("the partition {text:?} ends before it starts"));
    }
    Ok(bitcraps_netem::Partition { start, end })
}

impl Cli {
    /// How the last bot cheats (`--byzantine-bot`): never in a build without the `cheats`
    /// feature.
    pub fn cheat(&self) -> Option<crate::cheat::Cheat> {
        #[cfg(feature = "cheats")]
        {
            self.byzantine_bot
        }
        #[cfg(not(feature = "cheats"))]
        {
            None
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
        let cli = Cli::parse_from(["bitcraps", "--headless", "--rolls", "5"]);
        assert!(cli.headless);
        assert_eq!(cli.rolls, 5);
        assert_eq!(cli.verbose, 0);
        assert_eq!(Cli::parse_from(["bitcraps", "-vv"]).verbose, 2);
        assert_eq!(
            Cli::parse_from(["bitcraps", "relay", "-v"]).verbose,
            1,
            "the relay logs with -v too"
        );
        let cheat = Cli::try_parse_from(["bitcraps", "--byzantine-bot", "double-vote"]);
        // Only a build with the `cheats` feature has a cheating bot.
        #[cfg(feature = "cheats")]
        assert_eq!(
            cheat.map(|c| c.byzantine_bot).ok(),
            Some(Some(Cheat::DoubleVote))
        );
        #[cfg(not(feature = "cheats"))]
        assert!(cheat.is_err(), "a player's build has no cheating bot");
        assert!(
            Cli::try_parse_from(["bitcraps", "--bots", "2"]).is_err(),
            "a table needs 4 seats"
        );
        assert!(
            Cli::try_parse_from(["bitcraps", "--bots", "16"]).is_err(),
            "at most 16 seats"
        );
    }

    #[test]
    fn network_play_and_tools_parse() {
        let host = Cli::parse_from(["bitcraps", "--host"]);
        assert_eq!(host.host.as_deref(), Some("0.0.0.0:5000"));
        let host = Cli::parse_from(["bitcraps", "--host", "127.0.0.1:6000", "--players", "5"]);
        assert_eq!(host.host.as_deref(), Some("127.0.0.1:6000"));
        assert_eq!(host.players, 5);
        assert_eq!(host.host_bots, None);
        assert!(
            Cli::try_parse_from(["bitcraps", "--host-bots", "2"]).is_err(),
            "host only"
        );
        let join = Cli::parse_from(["bitcraps", "--join", "192.168.1.2:5000"]);
        assert_eq!(join.join.as_deref(), Some("192.168.1.2:5000"));
        let newcomer = Cli::parse_from([
            "bitcraps",
            "--join",
            "192.168.1.2:5000",
            "--buy-in",
            "2000",
            "--admit-up-to",
            "5",
            "--leave-after-rolls",
            "9",
        ]);
        assert_eq!(newcomer.buy_in, Some(2_000));
        assert_eq!(newcomer.admit_up_to, Some(5));
        assert_eq!(newcomer.leave_after_rolls, Some(9));
        assert!(
            Cli::try_parse_from(["bitcraps", "--buy-in", "10"]).is_err(),
            "a buy-in is for joining"
        );
        assert!(Cli::try_parse_from(["bitcraps", "--admit-up-to", "17"]).is_err());
        assert!(Cli::try_parse_from(["bitcraps", "--host", "--join", "x:1"]).is_err());
        let relay = Cli::parse_from(["bitcraps", "relay", "--port", "7000"]);
        assert!(matches!(
            relay.command,
            Some(Command::Relay(RelayArgs { port: 7000, .. }))
        ));
        let verify = Cli::parse_from(["bitcraps", "verify", "t.redb"]);
        assert!(matches!(verify.command, Some(Command::Verify { .. })));
        let netem = Cli::parse_from([
            "bitcraps",
            "netem",
            "--listen",
            "127.0.0.1:5001",
            "--to",
            "127.0.0.1:5000",
            "--delay-ms",
            "100",
            "--jitter-ms",
            "20",
            "--loss",
            "0.1",
            "--partition",
            "30-40.5",
        ]);
        let Some(Command::Netem(args)) = netem.command else {
            panic!("netem parses: {netem:?}");
        };
        assert_eq!((args.delay_ms, args.jitter_ms, args.loss), (100, 20, 0.1));
        assert_eq!(
            args.partition[0].end,
            std::time::Duration::from_millis(40_500)
        );
        assert!(Cli::try_parse_from(["bitcraps", "netem", "--to", "127.0.0.1:1"]).is_err());
        assert!(Cli::try_parse_from([
            "bitcraps",
            "netem",
            "--listen",
            "127.0.0.1:2",
            "--to",
            "127.0.0.1:1",
            "--partition",
            "5-4"
        ])
        .is_err());
        let export = Cli::parse_from(["bitcraps", "export", "t.redb", "--json"]);
        assert!(matches!(
            export.command,
            Some(Command::Export { json: true, .. })
        ));
    }
}
