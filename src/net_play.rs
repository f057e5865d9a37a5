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
//! A `--join` to a relay whose table already plays gets that table's genesis instead of a
//! lobby; the player is then a **newcomer**: it connects like the others, follows the table
//! from its certificates, asks to sit down with `--buy-in` chips ([`crate::membership`]) and
//! plays once the players admitted it, or exits with their answer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsPlugin, BitCrapsSystems, BotPlayer, BotPlugin, BotStrategy, DiceRolled,
    GamePlugin, GameSetup, MisbehaviourDetected, PenaltyApplied, StateHashBook, TableView,
};
use bitcraps::consensus::{Keypair, PeerId};
use bitcraps::game::{Registry, TableState};
use bitcraps::journal::{load_or_create_identity, DataDir, JournalPlugin};
use bitcraps::net::{
    join_lobby, lobby_app, parse_address, spawn_lobby, Genesis, LinkState, Lobby, LobbyConfig,
    LobbyJoin, LobbyOutcome, NetClient, NetClientConfig, NetClientPlugin,
};
use bitcraps::table::PlayerNames;

use crate::cli::{Cli, RelayArgs};
use crate::error::GameError;
use crate::host_bots::HostBots;
use crate::membership::{add_membership, admission_policy, LeaveAfter, SitDown, SitDownOutcome};
use crate::saved_table::{save_table, saved_table, SavedTable};
use crate::window::{self, WindowOptions};

/// Frame period of a headless networked player.
const FRAME: Duration = Duration::from_micros(16_667);

/// The genesis setup every networked player uses (the same for all, or the state hashes
/// differ): betting stays open long enough for a person to bet.
pub(crate) fn net_game() -> GamePlugin {
    let mut setup = GameSetup::default();
    setup.deadlines.betting_heights = 30;
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

/// `--host [ADDR:PORT]`: a lobby relay on its own thread, and the local player joins it.
pub fn host(cli: &Cli, addr: &str) -> Result<(), GameError> {
    let addr = parse_address(addr)?;
    if !cli.headless {
        window::probe()?;
    }
    let dir = data_dir(cli)?;
    let key = identity(cli, &dir)?;
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
    let bots = match HostBots::spawn(
        bots,
        relay.local_address(),
        !cli.headless,
        Duration::from_secs(cli.timeout),
        admission_policy(cli.admit_up_to),
    ) {
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
    match saved_table(&dir, relay) {
        Ok(Some(saved)) => match resume(cli, &dir, key.clone(), relay, &saved)? {
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

/// How a headless game ended without an error.
enum Played {
    /// The rolls were played.
    Done,
    /// The relay never seated this player (a resumed table the relay no longer hosts).
    NotSeated(String),
}

/// How long a player waits for a lost relay to come back before it gives up (its journal
/// kept: the same command resumes the table).
const RELAY_GONE: Duration = Duration::from_secs(60);

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

/// Opens (or resumes) the journal of the table `config` plays.
fn journal(dir: &DataDir, config: &BitCrapsConfig) -> Result<JournalPlugin, GameError> {
    let plugin = JournalPlugin::open(dir, config, &net_game())?;
    Ok(crate::fault_injection::install(plugin))
}

/// Plays a saved table again: straight to its seated relay, resuming from the journal.
fn resume(
    cli: &Cli,
    dir: &DataDir,
    key: Keypair,
    relay: SocketAddr,
    saved: &SavedTable,
) -> Result<Played, GameError> {
    let me = key.peer_id();
    let config = table_config(cli, &saved.genesis, key)?;
    crate::fault_injection::before_resume(dir, &config.table);
    let journal = journal(dir, &config)?;
    println!(
        "resuming table {} at height {} (journal {})",
        saved.genesis.terms.table,
        journal.recovered_height(),
        journal.path().display()
    );
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
    let journal = journal(dir, &config)?;
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
    Some(SitDown::new(cli.buy_in.unwrap_or(net_game().setup.stack)))
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
fn seat(
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
        .add_plugins((net_game(), BotPlugin))
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

/// The rolls the local player's App saw.
#[derive(Resource, Default)]
struct Rolls(Vec<DiceRolled>);

fn record(mut rolls: ResMut<Rolls>, mut seen: MessageReader<DiceRolled>) {
    rolls.0.extend(seen.read().copied());
}

/// The misbehaviour the local node detected, by offender.
#[derive(Resource, Default)]
struct Misbehaviour(Vec<(PeerId, String)>);

fn record_misbehaviour(
    mut reports: ResMut<Misbehaviour>,
    mut seen: MessageReader<MisbehaviourDetected>,
) {
    for report in seen.read() {
        println!(
            "misbehaviour detected: {} {:?}",
            report.offender, report.misbehaviour
        );
        reports
            .0
            .push((report.offender, format!("{:?}", report.misbehaviour)));
    }
}

/// The penalties the table applied, by player.
#[derive(Resource, Default)]
struct Penalties(Vec<(PeerId, String)>);

fn record_penalties(mut penalties: ResMut<Penalties>, mut seen: MessageReader<PenaltyApplied>) {
    for p in seen.read() {
        println!("penalty applied: {} {:?}", p.peer, p.reason);
        penalties.0.push((p.peer, format!("{:?}", p.reason)));
    }
}

/// Why the link to the relay is down for good, if it is.
fn link_failure(app: &App) -> Option<String> {
    let client = app.world().get_resource::<NetClient>()?;
    match client.state() {
        LinkState::Refused(error) => Some(error.to_string()),
        _ => None,
    }
}

/// Rolls played at the table so far (the recovered ones included).
fn rolls_played(app: &App) -> u64 {
    app.world()
        .resource::<TableView>()
        .snapshot::<TableState>()
        .map_or(0, |state| state.roll_number().saturating_sub(1))
}

/// Plays until the table has played `--rolls` rolls with a bot in the local seat (or until the
/// player left, with `--leave-after-rolls`), then prints the summary. With `seat_timeout` (a
/// resumed table), a relay that does not seat the player in that time, or refuses it, ends the
/// game with [`Played::NotSeated`]. A newcomer (`sit_down`) the table declines ends it with
/// [`GameError::JoinDeclined`].
fn headless(
    cli: &Cli,
    config: BitCrapsConfig,
    journal: JournalPlugin,
    (relay, genesis): (SocketAddr, &Genesis),
    sit_down: Option<SitDown>,
    seat_timeout: Option<Duration>,
) -> Result<Played, GameError> {
    let (rolls, timeout) = (cli.rolls, Duration::from_secs(cli.timeout));
    let me = config.local_peer();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(crate::logging::log_plugin(cli.verbose));
    seat(&mut app, cli, config, journal, (relay, genesis), true);
    add_membership(
        &mut app,
        sit_down,
        cli.leave_after_rolls.map(LeaveAfter::new),
    );
    app.init_resource::<Rolls>()
        .init_resource::<Misbehaviour>()
        .init_resource::<Penalties>()
        .add_systems(
            Update,
            (record, record_misbehaviour, record_penalties).after(BitCrapsSystems::Apply),
        );
    app.finish();
    app.cleanup();
    let started = Instant::now();
    let mut printed = 0;
    let mut seated = false;
    let mut lost_since: Option<Instant> = None;
    // After the last roll, keep playing a little so the others can decide it too.
    let mut linger_until: Option<Instant> = None;
    loop {
        let frame = Instant::now();
        app.update();
        if !seated {
            seated = app
                .world()
                .get_resource::<NetClient>()
                .is_some_and(NetClient::is_seated);
            if let Some(limit) = seat_timeout.filter(|_| !seated) {
                if let Some(reason) = link_failure(&app) {
                    return Ok(Played::NotSeated(reason));
                }
                if started.elapsed() > limit {
                    return Ok(Played::NotSeated(format!(
                        "not seated within {} s",
                        limit.as_secs()
                    )));
                }
            }
        }
        if let Some(reason) = link_failure(&app) {
            return Err(GameError::Link(reason));
        }
        if seated {
            let now_seated = app
                .world()
                .get_resource::<NetClient>()
                .is_some_and(NetClient::is_seated);
            match (now_seated, lost_since) {
                (false, None) => {
                    let why = app
                        .world()
                        .get_resource::<NetClient>()
                        .and_then(|c| c.last_error().map(ToString::to_string))
                        .unwrap_or_else(|| "the connection dropped".into());
                    println!("relay lost ({why}); retrying …");
                    lost_since = Some(Instant::now());
                }
                (true, Some(at)) => {
                    println!(
                        "back at the relay after {:.1} s",
                        at.elapsed().as_secs_f64()
                    );
                    lost_since = None;
                }
                (false, Some(at)) if at.elapsed() > RELAY_GONE => {
                    return Err(GameError::RelayGone {
                        relay,
                        seconds: RELAY_GONE.as_secs(),
                    });
                }
                _ => {}
            }
        }
        let seen = &app.world().resource::<Rolls>().0;
        for r in &seen[printed.min(seen.len())..] {
            println!(
                "roll {:>3} at height {:>4}: {}",
                r.roll_number, r.height, r.roll
            );
        }
        printed = seen.len();
        if let Some(SitDownOutcome::Declined(reason)) = app
            .world()
            .get_resource::<SitDown>()
            .and_then(|s| s.outcome)
        {
            return Err(GameError::JoinDeclined(reason));
        }
        let done = rolls_played(&app) >= rolls || has_left(&app, &me) || table_closed(&app);
        if done && linger_until.is_none() {
            linger_until = Some(Instant::now() + Duration::from_secs(2));
        }
        if linger_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        if started.elapsed() > timeout {
            return Err(GameError::Timeout {
                rolls: rolls_played(&app),
                wanted: rolls,
                seconds: timeout.as_secs(),
            });
        }
        std::thread::sleep(FRAME.saturating_sub(frame.elapsed()));
    }
    summary(&app, &me, rolls.min(rolls_played(&app))).map(|()| Played::Done)
}

/// True once the table closed (fewer than four players were left: every player cashed out).
fn table_closed(app: &App) -> bool {
    app.world()
        .resource::<TableView>()
        .snapshot::<TableState>()
        .is_some_and(|state| state.closed_at().is_some())
}

/// True once the local player left (`--leave-after-rolls`) and no longer votes.
fn has_left(app: &App, me: &PeerId) -> bool {
    let world = app.world();
    let Some(leave) = world.get_resource::<LeaveAfter>() else {
        return false;
    };
    world
        .resource::<TableView>()
        .snapshot::<TableState>()
        .is_some_and(|state| leave.is_done(state, me))
}

fn summary(app: &App, me: &PeerId, rolls: u64) -> Result<(), GameError> {
    let world = app.world();
    let view = world.resource::<TableView>();
    let state = view
        .snapshot::<TableState>()
        .ok_or(GameError::NoTableState)?;
    println!("\nafter {} heights:", view.height.0);
    for seat in state.seats() {
        let you = match (&seat.peer == me, seat.is_seated()) {
            (true, true) => " (you)",
            (true, false) => " (you, left)",
            (false, true) => "",
            (false, false) => " (left)",
        };
        println!(
            "  {}{you:<12} balance {:>7}  bond {:>5}",
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
    let reports = &world.resource::<Misbehaviour>().0;
    println!("  misbehaviour reports: {}", reports.len());
    for (offender, what) in reports {
        println!("    {offender}: {what}");
    }
    let penalties = &world.resource::<Penalties>().0;
    println!("  penalties: {}", penalties.len());
    for (peer, why) in penalties {
        println!("    {peer}: {why}");
    }
    let seen = &world.resource::<Rolls>().0;
    let wanted = rolls.max(1);
    let roll = seen
        .iter()
        .find(|r| r.roll_number == wanted)
        .ok_or(GameError::RollBeforeResume(wanted))?;
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

/// `bitcraps relay --port P [--bind ADDR] [--players N] [-v]`: a lobby relay with no player that
/// runs until stopped, logging refusals (and with `-v` connections, handshakes and disconnects).
pub fn relay(args: &RelayArgs, verbose: u8) -> Result<(), GameError> {
    let addr = SocketAddr::new(args.bind, args.port);
    let (mut app, bound) = lobby_app(LobbyConfig::new(args.players, &Registry::new()), addr)?;
    app.add_plugins(crate::logging::log_plugin(verbose))
        .add_systems(Update, report_lobby);
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
