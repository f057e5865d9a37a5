//! Joining and leaving a running table from the command line.
//!
//! - A **newcomer** (`--join` to a relay whose table already plays, with a key that holds no
//!   genesis seat) asks the table to sit down with `--buy-in` chips once the relay let it in
//!   ([`SitDown`]), and learns the answer: seated, or declined and why.
//! - A headless player's bot answers newcomers by `--admit-up-to` ([`admission_policy`]).
//! - A headless player with `--leave-after-rolls N` stops betting after roll N, leaves as soon
//!   as the rules allow (no open bet, betting open) and stays until its tenure as a validator
//!   is over ([`LeaveAfter`]), so that the table never loses a vote it counts on.
//! - Every headless player prints who asks to sit down, who is admitted or declined, who
//!   leaves and a table's close, in plain words ([`report_membership`]).

use bevy::prelude::*;
use bevy_bitcraps::{
    AdmissionPolicy, BitCrapsSystems, BotPlayer, GameEvent, LocalPlayer, TableView,
};
use bitcraps::consensus::PeerId;
use bitcraps::game::{Event, JoinDeclined, Seat, Stage, TableState, MAX_SEATED};
use bitcraps::net::NetClient;

/// Times a leaving player re-asks (a leave refused by the table is spent: another one may be
/// needed once the last bet is settled).
const LEAVE_ATTEMPTS: u32 = 50;

/// A newcomer's request to sit down.
#[derive(Resource, Debug)]
pub struct SitDown {
    /// Chips it brings.
    pub buy_in: u64,
    asked: bool,
    /// The table's answer, once decided.
    pub outcome: Option<SitDownOutcome>,
}

impl SitDown {
    /// A request for a seat with `buy_in` chips, sent once the relay lets the player in.
    pub fn new(buy_in: u64) -> SitDown {
        SitDown {
            buy_in,
            asked: false,
            outcome: None,
        }
    }
}

/// The table's answer to a newcomer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SitDownOutcome {
    /// Seated: it plays from now on.
    Seated,
    /// Not seated, and why.
    Declined(JoinDeclined),
}

/// A genesis (or admitted) player who leaves after a number of rolls.
#[derive(Resource, Debug)]
pub struct LeaveAfter {
    /// Leave once the table played this many rolls.
    pub rolls: u64,
    asked: u32,
    seat: Option<Seat>,
    /// Height and chips cashed out, once the leave is decided.
    pub left: Option<(u64, u64)>,
}

impl LeaveAfter {
    /// Leaves after `rolls` rolls.
    pub fn new(rolls: u64) -> LeaveAfter {
        LeaveAfter {
            rolls,
            asked: 0,
            seat: None,
            left: None,
        }
    }

    /// True once the leave is decided and the player no longer votes at the next height (so
    /// it may stop without costing the table a vote it counts on).
    pub fn is_done(&self, state: &TableState, me: &PeerId) -> bool {
        self.left.is_some()
            && !state
                .validators_of(state.height() + 1)
                .is_some_and(|set| set.contains(me))
    }
}

/// How the headless player's bot answers newcomers: admits while fewer than `up_to` players
/// are seated (`0` refuses everyone).
pub fn admission_policy(up_to: Option<u16>) -> AdmissionPolicy {
    match up_to {
        Some(0) => AdmissionPolicy::RefuseAll,
        Some(n) => AdmissionPolicy::UpTo(usize::from(n)),
        None => AdmissionPolicy::UpTo(MAX_SEATED),
    }
}

/// Adds the membership systems: the newcomer's request, the leave, and the report.
pub fn add_membership(app: &mut App, sit_down: Option<SitDown>, leave: Option<LeaveAfter>) {
    if let Some(sit) = sit_down {
        app.insert_resource(sit)
            .add_systems(Update, ask_to_sit_down.before(BitCrapsSystems::Consensus));
    }
    if let Some(leave) = leave {
        app.insert_resource(leave)
            .add_systems(Update, leave_when_idle.before(BitCrapsSystems::Consensus));
    }
    app.add_systems(Update, report_membership.after(BitCrapsSystems::Apply));
}

/// Asks once for a seat, as soon as the relay forwards the player's messages.
fn ask_to_sit_down(
    mut sit: ResMut<SitDown>,
    mut player: LocalPlayer,
    client: Option<Res<NetClient>>,
) {
    if sit.asked || !client.is_some_and(|c| c.is_seated()) || player.state().is_none() {
        return;
    }
    sit.asked = true;
    match player.join(sit.buy_in) {
        Ok(()) => println!(
            "asking the table to sit down with {} chips; the players answer",
            sit.buy_in
        ),
        Err(e) => println!("cannot ask for a seat: {e}"),
    }
}

/// After the wanted rolls: stops the bot, then leaves once nothing of the player's is on the
/// table and betting is open.
fn leave_when_idle(
    mut leave: ResMut<LeaveAfter>,
    mut player: LocalPlayer,
    bots: Query<Entity, With<BotPlayer>>,
    mut commands: Commands,
) {
    let Some(state) = player.state().cloned() else {
        return;
    };
    if leave.left.is_some() || state.roll_number().saturating_sub(1) < leave.rolls {
        return;
    }
    for bot in &bots {
        commands.entity(bot).despawn();
    }
    let Some(seat) = player.seat() else {
        return;
    };
    leave.seat = Some(seat);
    let idle =
        state.bets_of(seat).next().is_none() && matches!(state.stage(), Stage::Betting { .. });
    if idle && player.pending() == 0 && leave.asked < LEAVE_ATTEMPTS {
        if leave.asked == 0 {
            println!("leaving the table after roll {}", leave.rolls);
        }
        leave.asked += 1;
        if let Err(e) = player.leave() {
            println!("cannot leave yet: {e}");
        }
    }
}

/// Prints who asks to sit down, who is admitted or declined, who leaves, and a close; records
/// the local newcomer's answer and the local player's leave.
fn report_membership(
    mut events: MessageReader<GameEvent>,
    view: Res<TableView>,
    player: LocalPlayer,
    mut sit: Option<ResMut<SitDown>>,
    mut leave: Option<ResMut<LeaveAfter>>,
) {
    let me = player.peer();
    let is_me = |peer: &PeerId| me.as_ref() == Some(peer);
    let state = view.snapshot::<TableState>();
    for GameEvent { height, event } in events.read() {
        match event {
            Event::JoinRequested { peer, buy_in, .. } if !is_me(peer) => {
                println!("{peer} asks to sit down with {buy_in} chips (height {height})");
            }
            Event::SeatJoined { peer, buy_in, .. } if is_me(peer) => {
                println!(
                    "the table admitted you: you sit down with {buy_in} chips (height {height})"
                );
                if let Some(sit) = sit.as_mut() {
                    sit.outcome = Some(SitDownOutcome::Seated);
                }
            }
            Event::SeatJoined { peer, buy_in, .. } if *height > 0 => {
                println!("{peer} sat down with {buy_in} chips (height {height})");
            }
            Event::JoinDeclined { peer, reason } if is_me(peer) => {
                println!("the table refused to seat you: {reason} (height {height})");
                if let Some(sit) = sit.as_mut() {
                    sit.outcome = Some(SitDownOutcome::Declined(*reason));
                }
            }
            Event::JoinDeclined { peer, reason } => {
                println!(
                    "the table refused {peer}'s request to sit down: {reason} (height {height})"
                );
            }
            Event::SeatLeft { seat, cashed_out } => {
                let mine = leave.as_ref().and_then(|l| l.seat) == Some(*seat);
                if let Some(leave) = leave.as_mut().filter(|_| mine) {
                    leave.left = Some((*height, *cashed_out));
                    println!(
                        "you left the table and cashed out {cashed_out} chips (height {height})"
                    );
                } else {
                    let who = state
                        .and_then(|s| s.seat(*seat))
                        .map_or_else(|| format!("seat {}", seat.0), |r| r.peer.to_string());
                    println!(
                        "{who} left the table and cashed out {cashed_out} chips (height {height})"
                    );
                }
            }
            Event::TableClosed { final_balances, .. } => {
                println!("the table closed at height {height}: fewer than four players were left");
                for b in final_balances {
                    let you = if is_me(&b.peer) { " (you)" } else { "" };
                    println!("  {}{you}: {} chips cashed out", b.peer, b.cashed_out);
                }
            }
            _ => {}
        }
    }
}
