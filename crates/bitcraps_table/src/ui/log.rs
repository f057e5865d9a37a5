//! The event log: decisions, rolls, payouts, disputes, penalties and misbehaviour, newest last.

use std::collections::VecDeque;

use bevy::prelude::*;
use bevy_bitcraps::{DesyncDetected, GameEvent, TableView};
use bitcraps_game::{
    AbandonReason, Event, JoinDeclined, Outcome, PenaltyReason, PhaseEvent, RemovalReason,
    TableState, Verdict,
};

use super::{panel, title};
use crate::names::PlayerNames;
use crate::palette;

/// Lines kept.
const KEEP: usize = 200;
/// Lines shown.
const SHOWN: usize = 10;

/// What happened at the table, in words.
#[derive(Resource, Clone, Debug, Default)]
pub struct EventLog {
    /// The lines and their colours, oldest first.
    pub lines: VecDeque<(String, Color)>,
    /// Lines written since the App started.
    pub written: u64,
}

impl EventLog {
    /// Appends a line.
    pub fn push(&mut self, line: impl Into<String>, color: Color) {
        self.lines.push_back((line.into(), color));
        self.written += 1;
        while self.lines.len() > KEEP {
            self.lines.pop_front();
        }
    }
}

/// A line of the log panel.
#[derive(Component, Debug)]
pub struct LogLine(pub usize);

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn(panel(Node {
            left: px(12),
            bottom: px(12),
            width: px(500),
            ..default()
        }))
        .with_children(|p| {
            p.spawn(title("EVENTS"));
            for i in 0..SHOWN {
                p.spawn((
                    Text::new(""),
                    TextFont::from_font_size(super::TEXT_SIZE - 1.0),
                    TextColor(palette::TEXT),
                    LogLine(i),
                ));
            }
        });
}

/// "You bet" but "Bot 1 bets".
fn verb<'a>(name: &str, third_person: &'a str, you: &'a str) -> &'a str {
    if name == "You" {
        you
    } else {
        third_person
    }
}

/// Describes a game event for the log (`None`: not worth a line).
pub fn describe(event: &Event, state: &TableState, names: &PlayerNames) -> Option<(String, Color)> {
    let name = |seat| names.of_seat(state, seat);
    let says = |seat, third: &'static str, you: &'static str| {
        let n = name(seat);
        let v = verb(&n, third, you);
        format!("{n} {v}")
    };
    let line = match event {
        Event::DiceRolled {
            roll_number,
            roll,
            shooter,
            event,
            ..
        } => {
            let what = match event {
                PhaseEvent::Natural => "natural, front line winner".to_string(),
                PhaseEvent::Craps => "craps".to_string(),
                PhaseEvent::PointEstablished(p) => format!("the point is {p}"),
                PhaseEvent::PointMade(p) => format!("point {p} made, winner"),
                PhaseEvent::SevenOut => "seven out".to_string(),
                PhaseEvent::NoDecision => "no decision".to_string(),
            };
            let by = shooter.map_or_else(|| "the table".into(), name);
            (
                format!("ROLL #{roll_number}: {roll} by {by}: {what}"),
                palette::FELT_GOLD,
            )
        }
        Event::BetResolved {
            seat,
            kind,
            amount,
            outcome,
            paid,
            ..
        } => match outcome {
            Outcome::Win { .. } => (
                format!(
                    "{} {} on {kind} ({amount} staked)",
                    says(*seat, "wins", "win"),
                    paid.saturating_sub(*amount)
                ),
                palette::GOOD,
            ),
            Outcome::Lose => (
                format!("{} {amount} on {kind}", says(*seat, "loses", "lose")),
                palette::TEXT_DIM,
            ),
            Outcome::Push => (format!("{}: {kind} pushes", name(*seat)), palette::TEXT_DIM),
            Outcome::Move(to) => (
                format!("{}: {kind} moves to {to}", name(*seat)),
                palette::TEXT_DIM,
            ),
            Outcome::Stay => return None,
        },
        Event::BetPlaced {
            seat, kind, amount, ..
        } => (
            format!("{} {amount} on {kind}", says(*seat, "bets", "bet")),
            palette::TEXT,
        ),
        Event::BetRemoved { seat, amount, .. } => (
            format!("{} down {amount}", says(*seat, "takes", "take")),
            palette::TEXT,
        ),
        Event::BettingClosed { roll, by, .. } => (
            format!(
                "betting closed for roll #{roll} by {}",
                by.map_or_else(|| "the deadline".into(), name)
            ),
            palette::TEXT_DIM,
        ),
        Event::ShooterChanged { to, .. } => (
            format!(
                "the dice pass to {}",
                to.map_or_else(|| "nobody".into(), name)
            ),
            palette::TEXT,
        ),
        Event::RollAbandoned { roll, reason } => (
            format!("roll #{roll} abandoned: {}", abandon_text(*reason)),
            palette::ALERT,
        ),
        Event::Penalty {
            seat,
            reason,
            bond_slashed,
            bets_forfeited,
            ..
        } => (
            format!(
                "PENALTY {}: {} - bond {bond_slashed} and bets {bets_forfeited} to the bank",
                name(*seat),
                penalty_text(reason)
            ),
            palette::ALERT,
        ),
        Event::SeatRemoved { seat, reason, .. } => (
            format!(
                "{} removed from the table: {}",
                name(*seat),
                removal_text(reason)
            ),
            palette::ALERT,
        ),
        Event::SeatLeft { seat, cashed_out } => (
            format!("{} with {cashed_out}", says(*seat, "leaves", "leave")),
            palette::TEXT,
        ),
        Event::DisputeOpened {
            id, by, accused, ..
        } => (
            format!("dispute {id}: {} accuses {}", name(*by), name(*accused)),
            palette::ALERT,
        ),
        Event::DisputeVoted { id, seat, uphold } => (
            format!(
                "dispute {id}: {} {}",
                says(*seat, "votes", "vote"),
                if *uphold { "uphold" } else { "reject" }
            ),
            palette::TEXT,
        ),
        Event::DisputeResolved { id, verdict } => (
            format!("dispute {id}: {}", verdict_text(*verdict)),
            palette::ALERT,
        ),
        Event::EvidenceAccepted { by, offender, kind } => (
            format!(
                "evidence of {kind} against {} accepted (from {})",
                name(*offender),
                name(*by)
            ),
            palette::ALERT,
        ),
        Event::BankShort { seat, unpaid, .. } => (
            format!(
                "the bank could not pay {} in full ({unpaid} short)",
                name(*seat)
            ),
            palette::ALERT,
        ),
        Event::JoinRequested { peer, buy_in, .. } => (
            format!("{} asks to sit down with {buy_in} chips", names.short(peer)),
            palette::FELT_GOLD,
        ),
        Event::JoinAnswered {
            newcomer,
            seat,
            admit,
        } => {
            let (third, you) = if *admit {
                ("allows", "allow")
            } else {
                ("refuses", "refuse")
            };
            (
                format!("{} {}", says(*seat, third, you), names.short(newcomer)),
                palette::TEXT_DIM,
            )
        }
        Event::SeatJoined {
            peer, buy_in, bond, ..
        } => (
            format!(
                "{} sat down with {buy_in} chips ({bond} of them as bond)",
                names.short(peer)
            ),
            palette::GOOD,
        ),
        Event::JoinDeclined { peer, reason } => {
            (declined_text(&names.short(peer), *reason), palette::TEXT)
        }
        Event::TableClosed { final_balances, .. } => (
            format!(
                "THE TABLE CLOSED: {} players cashed out",
                final_balances.len()
            ),
            palette::ALERT,
        ),
        _ => return None,
    };
    Some(line)
}

/// A join request that ended without a seat, in words.
pub fn declined_text(who: &str, reason: JoinDeclined) -> String {
    match reason {
        JoinDeclined::Refused => format!("the table refused {who}"),
        JoinDeclined::Expired => format!("{who}'s request to sit down lapsed unanswered"),
        JoinDeclined::TableFull => format!("no seat was left for {who}"),
        JoinDeclined::SupplyLimit => {
            format!("{who} was turned away: the table holds all the chips it may")
        }
        JoinDeclined::TableClosed => format!("{who} was turned away: the table closed"),
    }
}

fn abandon_text(reason: AbandonReason) -> &'static str {
    match reason {
        AbandonReason::NoCommitments => "nobody committed dice in time",
        AbandonReason::NoReveals => "nobody revealed dice in time",
    }
}

/// A penalty's reason in words.
pub fn penalty_text(reason: &PenaltyReason) -> String {
    match reason {
        PenaltyReason::Withheld { roll } => format!("withheld its dice reveal on roll #{roll}"),
        PenaltyReason::MismatchedReveal { roll } => {
            format!("revealed dice that do not open its commitment on roll #{roll}")
        }
        PenaltyReason::DoubleSigned { nonce } => {
            format!("signed two operations with nonce {nonce}")
        }
        PenaltyReason::DoubleVote => "double vote (two conflicting signed votes)".into(),
        PenaltyReason::DoubleProposal => "double proposal (two conflicting signed blocks)".into(),
        PenaltyReason::ClaimUpheld(id) => format!("dispute {id} upheld against it"),
    }
}

/// Why a seat was taken away, in words.
pub fn removal_text(reason: &RemovalReason) -> String {
    match reason {
        RemovalReason::MissedRolls(n) => format!("missed {n} rolls in a row"),
        RemovalReason::Penalty(p) => penalty_text(p),
    }
}

fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Upheld => "upheld",
        Verdict::Rejected => "rejected",
        Verdict::Expired => "expired",
        Verdict::Moot => "moot",
    }
}

/// Logs the decided blocks' game events, each block's first line naming its height.
pub(super) fn record_game_events(
    mut events: MessageReader<GameEvent>,
    view: Res<TableView>,
    names: Res<PlayerNames>,
    mut log: ResMut<EventLog>,
    mut last_height: Local<u64>,
) {
    let Some(state) = view.snapshot::<TableState>() else {
        events.clear();
        return;
    };
    for event in events.read() {
        let Some((line, color)) = describe(&event.event, state, &names) else {
            continue;
        };
        if *last_height != event.height {
            *last_height = event.height;
            log.push(
                format!("-- decided at height {} --", event.height),
                palette::TEXT_DIM,
            );
        }
        log.push(line, color);
    }
}

/// Logs state-hash disagreements (misbehaviour goes through the alert).
pub(super) fn record_consensus_events(
    mut desyncs: MessageReader<DesyncDetected>,
    names: Res<PlayerNames>,
    mut log: ResMut<EventLog>,
) {
    for d in desyncs.read() {
        log.push(
            format!("DESYNC at h{} with {}", d.height.0, names.of(&d.peer)),
            palette::ALERT,
        );
    }
}

pub(super) fn refresh(log: Res<EventLog>, mut lines: Query<(&mut Text, &mut TextColor, &LogLine)>) {
    if !log.is_changed() {
        return;
    }
    let skip = log.lines.len().saturating_sub(SHOWN);
    let shown: Vec<&(String, Color)> = log.lines.iter().skip(skip).collect();
    for (mut text, mut color, line) in &mut lines {
        match shown.get(line.0) {
            Some((t, c)) => {
                text.0.clone_from(t);
                color.0 = *c;
            }
            None => text.0.clear(),
        }
    }
}
