//! Network play: `--host [ADDR:PORT]`, `--join ADDR:PORT` and `bitcraps relay`.
//!
//! The host runs a lobby relay ([`bitcraps::net::lobby`]) on its own thread and its player
//! joins it like everyone else. Each player proves its own identity key (from the data
//! directory), waits in the lobby until the table is full, checks the genesis the relay sends
//! (its key seated, the table id derived from the seat list) and plays that table through the
//! relay: headless with a bot in its seat (`--headless --rolls N`), or in the 3D window.
//!
//! Every player journals its table ([`JournalPlugin`]) under its data directory, and saves the
//! genesis with the relay's address when the table forms (`tables/<table id>.genesis`, and the
//! `current-table` pointer). A `--join` to the same relay after the process died finds that
//! table, skips the lobby, proves its seat to the seated relay on a new connection and resumes
//! from its journal ("resuming table … at height H"); if that relay does not seat it (it is a
//! new lobby, or gone), the player says so and goes through the lobby.
//!
//! A `--host` restarted on the same data directory and address finds the unfinished table it
//! hosted there and resumes it: its relay serves that table again at the same address, its own
//! player and every bot (journaled under `bots/<n>/`, see [`crate::host_bots`]) resume from
//! their journals, and the remote players, who retry while the relay is lost, come back.
//!
//! A `--join` to a relay whose table already plays gets that table's genesis instead of a
//! lobby; the player is then a **newcomer**: it connects like the others, follows the table
//! from its certificates, asks to sit down with `--buy-in` chips ([`crate::membership`]) and
//! plays once the players admitted it, or exits with their answer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsPlugin, BotPlayer, BotPlugin, BotStrategy, GameClock, GamePlugin,
    GameSetup,
};
use bitcraps::consensus::{Keypair, PeerId};
use bitcraps::game::{Event, Registry};
use bitcraps::journal::{load_or_create_identity, DataDir, Journal, JournalPlugin};
use bitcraps::net::{
    join_lobby, lobby_app, local_address, parse_address, spawn_lobby, spawn_relay, Genesis, Lobby,
    LobbyConfig, LobbyJoin, LobbyOutcome, NetClientConfig, NetClientPlugin, RelayConfig,
};
use bitcraps::table::PlayerNames;

use crate::cli::{Cli, RelayArgs};
use crate::error::GameError;
use crate::host_bots::{self, BotPace, HostBots};
use crate::membership::{add_membership, admission_policy, SitDown};
use crate::net_headless::{headless, Played};
use crate::relay_pin;
use crate::saved_table::{current_table, save_table, saved_table, SavedTable};
use crate::window::{self, WindowOptions};

/// The genesis setup every networked player of `genesis` uses (the same for all, or the state
/// hashes differ): it starts at the table's formation time and runs on the wall clock, so a
/// player that froze, lost its relay or restarted reads real time again at once, and the
/// table's deadlines are in real seconds.
pub(crate) fn net_game(genesis: &Genesis) -> GamePlugin {
    let setup = genesis.game_setup(GameSetup {
        clock: GameClock::Wall,
        ..GameSetup::default()
    });
    GamePlugin { setup }
}

/// The data directory (`--data-dir`, or the operating system's), created if missing.
fn data_dir(cli: &Cli) -> Result<DataDir, GameError> {
    let dir = match &cli.data_dir {
        Some(dir) => DataDir::new(dir.clone()),
        None => DataDir::platform_default().ok_or(GameError::NoDataDir)?,
    };
    dir.create().map_err(|source| GameError::DataDir {
        path: dir.root().to_path_buf(),
        source,
    })?;
    Ok(dir)
}

/// The local player's identity key, loaded from (or created in) the data directory.
fn identity(cli: &Cli, dir: &DataDir) -> Result<Keypair, GameError> {
    let path: PathBuf = match &cli.identity {
        Some(path) => path.clone(),
        None => dir.identity_path(),
    };
    let (key, created) = load_or_create_identity(&path).map_err(|source| GameError::Identity {
        path: path.clone(),
        source,
    })?;
    println!(
        "{} identity {} ({})",
        if created { "created" } else { "using" },
        key.peer_id(),
        path.display()
    );
    Ok(key)
}

/// `--host [ADDR:PORT]`: a lobby relay on its own thread, and the local player joins it with
/// the host's bots. A host that finds, in its data directory, the unfinished table it hosted on
/// that address resumes it instead ([`host_again`]).
pub fn host(cli: &Cli, addr: &str) -> Result<(), GameError> {
    let addr = parse_address(addr)?;
    if !cli.headless {
        window::probe()?;
    }
    let dir = data_dir(cli)?;
    let key = identity(cli, &dir)?;
    match hosted_table(cli, &dir, &key, local_address(addr)) {
        Ok(Some(saved)) => return host_again(cli, &dir, key, addr, &saved),
        Ok(None) => {}
        Err(error) => println!("{error}; hosting a new table"),
    }
    let relay = spawn_lobby(LobbyConfig::new(cli.players, &Registry::new()), addr)?;
    println!(
        "hosting a table of {} on {}; share this address: {}",
        cli.players,
        relay.addr(),
        relay.share_address()
    );
    println!(
        "  the others run: bitcraps --join {}",
        relay.share_address()
    );
    let seats = usize::from(cli.players);
    let bots = cli
        .host_bots
        .map_or(seats.saturating_sub(2), usize::from)
        .min(seats.saturating_sub(1));
    if bots > 0 {
        println!("seating {bots} bot(s) of this host");
    }
    let bots = match HostBots::spawn(bots, &dir, relay.local_address(), bot_pace(cli)) {
        Ok(bots) => bots,
        Err(e) => {
            relay.stop();
            return Err(e);
        }
    };
    let result = play(cli, &dir, key, relay.local_address());
    bots.stop();
    relay.stop();
    result
}

/// How the host's bots play.
fn bot_pace(cli: &Cli) -> BotPace {
    BotPace {
        slow: !cli.headless,
        timeout: Duration::from_secs(cli.timeout),
        admission: admission_policy(cli.admit_up_to),
    }
}

/// The table this host saved for its relay at `local` (the address its own player joined), if
/// the host holds one of its genesis seats and the table has not closed.
fn hosted_table(
    cli: &Cli,
    dir: &DataDir,
    key: &Keypair,
    local: SocketAddr,
) -> Result<Option<SavedTable>, GameError> {
    let Some(saved) = saved_table(dir, local)? else {
        return Ok(None);
    };
    if !saved.genesis.seats(&key.peer_id()) {
        return Ok(None);
    }
    let config = table_config(cli, &saved.genesis, key.clone())?;
    let path = dir.journal_path(&config.table);
    if path.exists() && journal_closed(&path)? {
        println!(
            "the table {} you hosted here has closed; hosting a new one",
            saved.genesis.terms.table
        );
        return Ok(None);
    }
    Ok(Some(saved))
}

/// True if the journal at `path` ends with the table's close (nothing is journaled after it).
fn journal_closed(path: &std::path::Path) -> Result<bool, GameError> {
    let journal = Journal::open_existing(path)?;
    let last = journal.stored_height(journal.height())?;
    Ok(last.is_some_and(|stored| {
        stored
            .events
            .iter()
            .any(|event| matches!(event, Event::TableClosed { .. }))
    }))
}

/// A restarted `--host` resumes the table it hosted: its relay comes back at the same address
/// serving that table (and only that one: its seats prove themselves again, newcomers get its
/// genesis), every bot that saved the table resumes from its journal, and so does the host's
/// own player. The remote players, who retry while the relay is lost, come back by
/// themselves.
fn host_again(
    cli: &Cli,
    dir: &DataDir,
    key: Keypair,
    addr: SocketAddr,
    saved: &SavedTable,
) -> Result<(), GameError> {
    let genesis = &saved.genesis;
    let resumed = host_bots::resumable(dir, saved, !cli.headless)?;
    let relay = spawn_relay(resumed_relay(genesis, &key)?, addr)?;
    println!(
        "your relay is back on {} serving table {}; the other players come back by themselves \
         (or run: bitcraps --join {})",
        relay.addr(),
        genesis.terms.table,
        relay.share_address()
    );
    let count = resumed.len();
    for bot in &resumed {
        println!(
            "  host bot {} resumes at height {} (journal {})",
            bot.number(),
            bot.height(),
            bot.journal().display()
        );
    }
    let bots = match HostBots::resume(resumed, relay.local_address(), bot_pace(cli)) {
        Ok(bots) => bots,
        Err(e) => {
            relay.stop();
            return Err(e);
        }
    };
    let result = match resume(cli, dir, key, relay.local_address(), saved, Some(count)) {
        Ok(Played::Done) => Ok(()),
        Ok(Played::NotSeated(reason)) => Err(GameError::Link(reason)),
        Err(e) => Err(e),
    };
    bots.stop();
    relay.stop();
    result
}

/// The seated relay of a table resumed by its host (`key`: the host's seat): the genesis
/// seats, and the genesis for players who ask to sit down.
fn resumed_relay(genesis: &Genesis, key: &Keypair) -> Result<RelayConfig, GameError> {
    let seats = genesis.config(key.clone())?.participants;
    let mut config = RelayConfig::new(genesis.terms, seats);
    config.genesis = Some(genesis.clone());
    Ok(config)
}

/// `--join ADDR:PORT`: resumes the table saved for that relay if there is one, or waits in its
/// lobby.
pub fn join(cli: &Cli, addr: &str) -> Result<(), GameError> {
    let relay = parse_address(addr)?;
    if relay.ip().is_unspecified() {
        return Err(GameError::JoinAddress(addr.to_string()));
    }
    if !cli.headless {
        window::probe()?;
    }
    let dir = data_dir(cli)?;
    let key = identity(cli, &dir)?;
    let lookup = if cli.resume {
        // Taken to another relay: saved again with its new address, so that a later
        // `--join NEWADDR` finds it.
        current_table(&dir).and_then(|found| {
            let moved = found.map(|saved| SavedTable { relay, ..saved });
            if let Some(saved) = &moved {
                save_table(&dir, saved)?;
            }
            Ok(moved)
        })
    } else {
        saved_table(&dir, relay)
    };
    if cli.resume && matches!(lookup, Ok(None)) {
        println!(
            "no saved table to resume in {}; joining the lobby",
            dir.root().display()
        );
    }
    match lookup {
        Ok(Some(saved)) => match resume(cli, &dir, key.clone(), relay, &saved, None)? {
            Played::Done => return Ok(()),
            Played::NotSeated(reason) => println!(
                "the relay at {relay} did not seat table {} again ({reason}); joining its lobby",
                saved.genesis.terms.table
            ),
        },
        Ok(None) => {}
        Err(error) => println!("{error}; joining the lobby"),
    }
    play(cli, &dir, key, relay)
}

/// How long a resumed player waits for the saved table's relay to seat it.
const RESUME_SEAT_TIMEOUT: Duration = Duration::from_secs(15);

/// The local player's configuration for `genesis`.
fn table_config(cli: &Cli, genesis: &Genesis, key: Keypair) -> Result<BitCrapsConfig, GameError> {
    let mut config = genesis.newcomer_config(key)?.with_fast_timings();
    if !cli.headless {
        config.empty_block_delay = Duration::from_millis(300);
    }
    Ok(config)
}

/// Opens (or resumes) the journal of the table `config` plays (formed as `genesis`).
fn journal(
    dir: &DataDir,
    config: &BitCrapsConfig,
    genesis: &Genesis,
) -> Result<JournalPlugin, GameError> {
    let plugin = JournalPlugin::open(dir, config, &net_game(genesis))?;
    Ok(crate::fault_injection::install(plugin))
}

/// Plays a saved table again: straight to its seated relay, resuming from the journal
/// (`hosted`: the host resumes its own table with that many bots).
fn resume(
    cli: &Cli,
    dir: &DataDir,
    key: Keypair,
    relay: SocketAddr,
    saved: &SavedTable,
    hosted: Option<usize>,
) -> Result<Played, GameError> {
    let me = key.peer_id();
    let config = table_config(cli, &saved.genesis, key)?;
    crate::fault_injection::before_resume(dir, &config.table);
    let journal = journal(dir, &config, &saved.genesis)?;
    match hosted {
        Some(bots) => println!(
            "resuming your hosted table {} with {bots} bot(s) at height {} (journal {})",
            saved.genesis.terms.table,
            journal.recovered_height(),
            journal.path().display()
        ),
        None => println!(
            "resuming table {} at height {} (journal {})",
            saved.genesis.terms.table,
            journal.recovered_height(),
            journal.path().display()
        ),
    }
    print_seats(&saved.genesis, &me);
    let sit_down = newcomer(cli, &saved.genesis, &me);
    if cli.headless {
        headless(
            cli,
            config,
            journal,
            (relay, &saved.genesis),
            sit_down,
            Some(RESUME_SEAT_TIMEOUT),
        )
    } else {
        windowed(cli, config, journal, &saved.genesis, relay, sit_down).map(|()| Played::Done)
    }
}

/// Waits in the lobby at `relay`, then plays the table it forms.
fn play(cli: &Cli, dir: &DataDir, key: Keypair, relay: SocketAddr) -> Result<(), GameError> {
    println!("joining the table at {relay} as {}", key.peer_id());
    let mut request = LobbyJoin::new(relay, key.clone(), Registry::new().hash());
    request.wait_timeout = Some(Duration::from_secs(cli.timeout));
    let mut last = None;
    let outcome = join_lobby(&request, |status| {
        let line = format!(
            "waiting for players: {} / {}",
            status.joined.len(),
            status.players
        );
        if last.as_ref() != Some(&line) {
            println!("{line}");
            last = Some(line);
        }
    })?;
    let me = key.peer_id();
    let genesis = match outcome {
        LobbyOutcome::Formed(genesis) => {
            println!("the table is full: table {}", genesis.terms.table);
            genesis
        }
        LobbyOutcome::Running(genesis) if genesis.seats(&me) => {
            println!(
                "table {} already plays and seats you: catching up",
                genesis.terms.table
            );
            genesis
        }
        LobbyOutcome::Running(genesis) => {
            println!(
                "table {} already plays; you will ask its players for a seat",
                genesis.terms.table
            );
            genesis
        }
    };
    print_seats(&genesis, &me);
    save_table(
        dir,
        &SavedTable {
            relay,
            genesis: genesis.clone(),
        },
    )?;
    let sit_down = newcomer(cli, &genesis, &me);
    let config = table_config(cli, &genesis, key)?;
    let journal = journal(dir, &config, &genesis)?;
    if cli.headless {
        match headless(cli, config, journal, (relay, &genesis), sit_down, None)? {
            Played::Done => Ok(()),
            Played::NotSeated(reason) => Err(GameError::Link(reason)),
        }
    } else {
        windowed(cli, config, journal, &genesis, relay, sit_down)
    }
}

/// A newcomer's request to sit down, if `me` holds no genesis seat of `genesis`.
fn newcomer(cli: &Cli, genesis: &Genesis, me: &PeerId) -> Option<SitDown> {
    if genesis.seats(me) {
        return None;
    }
    Some(SitDown::new(
        cli.buy_in.unwrap_or(net_game(genesis).setup.stack),
    ))
}

fn print_seats(genesis: &Genesis, me: &PeerId) {
    println!("seats (compare them with the other players: a different list is another table):");
    for (i, seat) in genesis.seats.iter().enumerate() {
        let you = if seat == me { "  (you)" } else { "" };
        println!("  {}. {seat}{you}", i + 1);
    }
}

fn names(genesis: &Genesis, me: &PeerId) -> PlayerNames {
    let mut names = PlayerNames::default();
    for (i, seat) in genesis.seats.iter().enumerate() {
        let name = if seat == me {
            "You".to_string()
        } else {
            format!("Player {} ({seat})", i + 1)
        };
        names.0.insert(*seat, name);
    }
    names
}

/// Seats the local player in `app`: consensus, game, its journal, the relay link, and a bot if
/// it plays.
pub(crate) fn seat(
    app: &mut App,
    cli: &Cli,
    config: BitCrapsConfig,
    journal: JournalPlugin,
    (relay, genesis): (SocketAddr, &Genesis),
    bot: bool,
) {
    // The genesis goes with the link: a relay that restarts (and comes back as an empty lobby)
    // gets it with this player's seat proof and serves the table again.
    let link = NetClientConfig {
        genesis: Some(genesis.clone()),
        ..NetClientConfig::new(relay)
    };
    app.add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((net_game(genesis), BotPlugin))
        .add_plugins(journal)
        .add_plugins(NetClientPlugin { config: link });
    if bot {
        let amount = bot_bet();
        println!("your bot bets {amount} on the pass line");
        app.world_mut().spawn(
            BotPlayer::new(BotStrategy::PassLine { amount })
                .admitting(admission_policy(cli.admit_up_to)),
        );
    }
}

/// The local bot's pass line bet: 10 to 50 by fives, chosen anew by each process, as a person
/// might change their mind between two sessions.
fn bot_bet() -> u64 {
    use rand_core::{OsRng, RngCore};
    10 + 5 * u64::from(OsRng.next_u32() % 9)
}

fn windowed(
    cli: &Cli,
    config: BitCrapsConfig,
    journal: JournalPlugin,
    genesis: &Genesis,
    relay: SocketAddr,
    sit_down: Option<SitDown>,
) -> Result<(), GameError> {
    let options = WindowOptions {
        screenshot: cli.screenshot.clone().map(|path| (path, cli.after_rolls)),
        timeout: Duration::from_secs(cli.timeout),
        verbose: cli.verbose,
    };
    let me = config.local_peer();
    let mut app = window::open(&options)?;
    seat(
        &mut app,
        cli,
        config,
        journal,
        (relay, genesis),
        cli.autoplay || cli.screenshot.is_some(),
    );
    add_membership(&mut app, sit_down, None);
    window::play(app, names(genesis, &me), options)
}

/// Prints the lobby's progress in a relay with no player.
fn report_lobby(
    lobby: Option<Res<Lobby>>,
    pin: Option<Res<PinFile>>,
    mut last: Local<Option<(usize, bool)>>,
) {
    let Some(lobby) = lobby else {
        return;
    };
    let now = (lobby.joined().len(), lobby.genesis().is_some());
    if *last == Some(now) {
        return;
    }
    *last = Some(now);
    match lobby.genesis() {
        Some(genesis) => {
            println!(
                "table {} formed: {}; relaying it",
                genesis.terms.table,
                genesis.describe_seats()
            );
            if let Some(pin) = pin {
                if let Err(e) = relay_pin::write_pin(&pin.0, &genesis.terms.table) {
                    bevy::log::warn!("{e}: a restart of this relay will not know its table");
                }
            }
        }
        None => println!("waiting for players: {} / {}", now.0, lobby.terms().players),
    }
}

/// Where a dedicated relay records the table it serves.
#[derive(Resource)]
struct PinFile(PathBuf);

/// `bitcraps relay --port P [--bind ADDR] [--players N] [--forget-table] [-v]`: a lobby relay
/// with no player that runs until stopped, logging refusals (and with `-v` connections,
/// handshakes and disconnects). It records the table it serves in the data directory; once
/// restarted it resumes that table only.
pub fn relay(cli: &Cli, args: &RelayArgs) -> Result<(), GameError> {
    let addr = SocketAddr::new(args.bind, args.port);
    let pin = relay_pin::pin_path(data_dir(cli)?.root(), args.port);
    if args.forget_table {
        let _ = std::fs::remove_file(&pin);
    }
    let mut config = LobbyConfig::new(args.players, &Registry::new());
    config.resume_only = relay_pin::read_pin(&pin)?;
    let (mut app, bound) = lobby_app(config.clone(), addr)?;
    app.add_plugins(crate::logging::log_plugin(cli.verbose))
        .insert_resource(PinFile(pin))
        .add_systems(Update, report_lobby);
    println!(
        "relay for a table of {} on {bound}; players run: bitcraps --join {}",
        args.players,
        bitcraps::net::shareable_address(bound)
    );
    if let Some(table) = config.resume_only {
        println!(
            "this relay served table {table} before it restarted: it resumes that table only \
             (--forget-table to start afresh)"
        );
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(GameError::Stopped(format!("relay exit code {code}"))),
    }
}
