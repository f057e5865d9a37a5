//! Network play: `--host [ADDR:PORT]`, `--join ADDR:PORT` and `bitcraps relay`.
//!
//! The host runs a lobby relay ([`bitcraps::net::lobby`]) on its own thread and its player
//! joins it like everyone else. Each player proves its own identity key (from the data
//! directory), waits in the lobby until the table is full, checks the genesis the relay sends
//! (its key seated, the table id derived from the seat list) and plays that table through the
//! relay: headless with a bot in its seat (`--headless --rolls N`), or in the 3D window.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsPlugin, BitCrapsSystems, BotPlayer, BotPlugin, BotStrategy, DiceRolled,
    GamePlugin, GameSetup, StateHashBook, TableView,
};
use bitcraps::consensus::{Keypair, PeerId};
use bitcraps::game::{Registry, TableState};
use bitcraps::journal::{load_or_create_identity, DataDir};
use bitcraps::net::{
    join_lobby, join_plugin, lobby_app, parse_address, spawn_lobby, Genesis, LinkState, Lobby,
    LobbyConfig, LobbyJoin, NetClient,
};
use bitcraps::table::PlayerNames;

use crate::cli::{Cli, RelayArgs};
use crate::error::GameError;
use crate::window::{self, WindowOptions};

/// Frame period of a headless networked player.
const FRAME: Duration = Duration::from_micros(16_667);

/// The genesis setup every networked player uses (the same for all, or the state hashes
/// differ): betting stays open long enough for a person to bet.
fn net_game() -> GamePlugin {
    let mut setup = GameSetup::default();
    setup.deadlines.betting_heights = 30;
    GamePlugin { setup }
}

/// The local player's identity key, loaded from (or created in) the data directory.
fn identity(cli: &Cli) -> Result<Keypair, GameError> {
    let path: PathBuf = match (&cli.identity, &cli.data_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => {
            let dir = DataDir::new(dir.clone());
            dir.create().map_err(|source| GameError::DataDir {
                path: dir.root().to_path_buf(),
                source,
            })?;
            dir.identity_path()
        }
        (None, None) => {
            let dir = DataDir::platform_default().ok_or(GameError::NoDataDir)?;
            dir.create().map_err(|source| GameError::DataDir {
                path: dir.root().to_path_buf(),
                source,
            })?;
            dir.identity_path()
        }
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

/// `--host [ADDR:PORT]`: a lobby relay on its own thread, and the local player joins it.
pub fn host(cli: &Cli, addr: &str) -> Result<(), GameError> {
    let addr = parse_address(addr)?;
    let key = identity(cli)?;
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
    let result = play(cli, key, relay.local_address());
    relay.stop();
    result
}

/// `--join ADDR:PORT`.
pub fn join(cli: &Cli, addr: &str) -> Result<(), GameError> {
    let relay = parse_address(addr)?;
    if relay.ip().is_unspecified() {
        return Err(GameError::JoinAddress(addr.to_string()));
    }
    let key = identity(cli)?;
    play(cli, key, relay)
}

/// Waits in the lobby at `relay`, then plays the table it forms.
fn play(cli: &Cli, key: Keypair, relay: SocketAddr) -> Result<(), GameError> {
    println!("joining the table at {relay} as {}", key.peer_id());
    let mut request = LobbyJoin::new(relay, key.clone(), Registry::new().hash());
    request.wait_timeout = Some(Duration::from_secs(cli.timeout));
    let mut last = None;
    let genesis = join_lobby(&request, |status| {
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
    println!("the table is full: table {}", genesis.terms.table);
    print_seats(&genesis, &me);
    let mut config = genesis.config(key)?.with_fast_timings();
    if !cli.headless {
        config.empty_block_delay = Duration::from_millis(300);
    }
    if cli.headless {
        headless(config, relay, cli.rolls, Duration::from_secs(cli.timeout))
    } else {
        windowed(cli, config, &genesis, relay)
    }
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

/// Seats the local player in `app`: consensus, game, the relay link, and a bot if it plays.
fn seat(app: &mut App, config: BitCrapsConfig, relay: SocketAddr, bot: bool) {
    app.add_plugins(BitCrapsPlugin::new(config))
        .add_plugins((net_game(), BotPlugin))
        .add_plugins(join_plugin(relay));
    if bot {
        app.world_mut()
            .spawn(BotPlayer::new(BotStrategy::PassLine { amount: 25 }));
    }
}

fn windowed(
    cli: &Cli,
    config: BitCrapsConfig,
    genesis: &Genesis,
    relay: SocketAddr,
) -> Result<(), GameError> {
    let options = WindowOptions {
        screenshot: cli.screenshot.clone().map(|path| (path, cli.after_rolls)),
        timeout: Duration::from_secs(cli.timeout),
    };
    let me = config.local_peer();
    let mut app = window::open(&options)?;
    seat(
        &mut app,
        config,
        relay,
        cli.autoplay || cli.screenshot.is_some(),
    );
    window::play(app, names(genesis, &me), options)
}

/// The rolls the local player's App saw.
#[derive(Resource, Default)]
struct Rolls(Vec<DiceRolled>);

fn record(mut rolls: ResMut<Rolls>, mut seen: MessageReader<DiceRolled>) {
    rolls.0.extend(seen.read().copied());
}

/// Why the link to the relay is down for good, if it is.
fn link_failure(app: &App) -> Option<String> {
    let client = app.world().get_resource::<NetClient>()?;
    match client.state() {
        LinkState::Refused(error) => Some(error.to_string()),
        _ => None,
    }
}

/// Plays `rolls` rolls with a bot in the local seat, then prints the summary.
fn headless(
    config: BitCrapsConfig,
    relay: SocketAddr,
    rolls: u64,
    timeout: Duration,
) -> Result<(), GameError> {
    let me = config.local_peer();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins);
    seat(&mut app, config, relay, true);
    app.init_resource::<Rolls>()
        .add_systems(Update, record.after(BitCrapsSystems::Apply));
    app.finish();
    app.cleanup();
    let started = Instant::now();
    let mut printed = 0;
    // After the last roll, keep playing a little so the others can decide it too.
    let mut linger_until: Option<Instant> = None;
    loop {
        let frame = Instant::now();
        app.update();
        if let Some(reason) = link_failure(&app) {
            return Err(GameError::Link(reason));
        }
        let seen = &app.world().resource::<Rolls>().0;
        for r in &seen[printed.min(seen.len())..] {
            println!(
                "roll {:>3} at height {:>4}: {}",
                r.roll_number, r.height, r.roll
            );
        }
        printed = seen.len();
        if printed as u64 >= rolls && linger_until.is_none() {
            linger_until = Some(Instant::now() + Duration::from_secs(2));
        }
        if linger_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        if started.elapsed() > timeout {
            return Err(GameError::Timeout {
                rolls: printed as u64,
                wanted: rolls,
                seconds: timeout.as_secs(),
            });
        }
        std::thread::sleep(FRAME.saturating_sub(frame.elapsed()));
    }
    summary(&app, &me, rolls)
}

fn summary(app: &App, me: &PeerId, rolls: u64) -> Result<(), GameError> {
    let world = app.world();
    let view = world.resource::<TableView>();
    let state = view
        .snapshot::<TableState>()
        .ok_or(GameError::NoTableState)?;
    println!("\nafter {} heights:", view.height.0);
    for seat in state.seats() {
        let you = if &seat.peer == me { " (you)" } else { "" };
        println!(
            "  {}{you:<6} balance {:>7}  bond {:>5}",
            seat.peer, seat.balance, seat.bond
        );
    }
    println!("  bank {:>25}", state.bank());
    let balanced = state.check_accounting();
    println!(
        "  accounting: {}",
        if balanced.is_ok() {
            "balanced"
        } else {
            "MISMATCH"
        }
    );
    balanced?;
    // The height of the last wanted roll is the same on every honest player: its state hash
    // is what the players compare.
    let seen = &world.resource::<Rolls>().0;
    let index = usize::try_from(rolls.max(1) - 1).unwrap_or(usize::MAX);
    let roll = seen.get(index).ok_or(GameError::NoTableState)?;
    let hash = world
        .resource::<StateHashBook>()
        .local(bitcraps::consensus::Height(roll.height))
        .ok_or(GameError::NoTableState)?;
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    println!(
        "state hash after roll {} (height {}): {hex}",
        roll.roll_number, roll.height
    );
    Ok(())
}

/// Prints the lobby's progress in a relay with no player.
fn report_lobby(lobby: Option<Res<Lobby>>, mut last: Local<Option<(usize, bool)>>) {
    let Some(lobby) = lobby else {
        return;
    };
    let now = (lobby.joined().len(), lobby.genesis().is_some());
    if *last == Some(now) {
        return;
    }
    *last = Some(now);
    match lobby.genesis() {
        Some(genesis) => println!(
            "table {} formed: {}; relaying it",
            genesis.terms.table,
            genesis.describe_seats()
        ),
        None => println!("waiting for players: {} / {}", now.0, lobby.terms().players),
    }
}

/// `bitcraps relay --port P [--bind ADDR] [--players N]`: a lobby relay with no player that
/// runs until stopped.
pub fn relay(args: &RelayArgs) -> Result<(), GameError> {
    let addr = SocketAddr::new(args.bind, args.port);
    let (mut app, bound) = lobby_app(LobbyConfig::new(args.players, &Registry::new()), addr)?;
    app.add_systems(Update, report_lobby);
    println!(
        "relay for a table of {} on {bound}; players run: bitcraps --join {}",
        args.players,
        bitcraps::net::shareable_address(bound)
    );
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(GameError::Stopped(format!("relay exit code {code}"))),
    }
}
