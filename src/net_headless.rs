//! A networked player without a window (`--host`/`--join` with `--headless`): a bot plays the
//! local seat until the table has played `--rolls` rolls, the player left
//! (`--leave-after-rolls`), the table closed, or a newcomer was refused; it says when the relay
//! is lost and when it is back, and ends with a summary whose state hash the players compare.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::{
    BitCrapsConfig, BitCrapsSystems, DiceRolled, MisbehaviourDetected, PenaltyApplied,
    StateHashBook, TableView,
};
use bitcraps::consensus::PeerId;
use bitcraps::game::TableState;
use bitcraps::journal::JournalPlugin;
use bitcraps::net::{Genesis, LinkState, NetClient};

use crate::cli::Cli;
use crate::error::GameError;
use crate::membership::{add_membership, LeaveAfter, SitDown, SitDownOutcome};
use crate::net_play::seat;

/// Frame period of a headless networked player.
const FRAME: Duration = Duration::from_micros(16_667);

/// How a headless game ended without an error.
pub(crate) enum Played {
    /// The rolls were played.
    Done,
    /// The relay never seated this player (a resumed table the relay no longer hosts).
    NotSeated(String),
}

/// How long a player waits for a lost relay to come back before it gives up (its journal
/// kept: the same command resumes the table).
const RELAY_GONE: Duration = Duration::from_secs(60);

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
pub(crate) fn headless(
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
