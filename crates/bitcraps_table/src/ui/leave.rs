//! Leaving the table: a LEAVE TABLE button (beside the RULES button) that cashes the local
//! player out, explaining in plain words when it cannot be used now (bets on the table, a roll
//! under way, a dispute against the player). Once the leave is decided a panel shows what was
//! cashed out (chips in hand and bond); when the player loses its seat or the table closes
//! (fewer than four players left), the panel says so, with every player's final chips.

use bevy::prelude::*;
use bevy_bitcraps::{GameEvent, LocalPlayer, OperationDecided, PlayerError};
use bitcraps_game::{Event, Operation, Seat, TableState, MIN_SEATS};

use super::controls::button;
use super::log::removal_text;
use super::rules::RulesButton;
use super::{panel, text, title};
use crate::actions::{ActionError, ActionFeedback};
use crate::names::PlayerNames;
use crate::palette;

/// Why the local player cannot leave now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaveError {
    /// The plugin refused it.
    #[error(transparent)]
    Player(#[from] PlayerError),
    /// The local player has no seat.
    #[error("you have no seat at this table")]
    NotSeated,
    /// Bets of the local player are on the table.
    #[error(
        "you still have {} on the table: you may leave once they are decided (or taken down)",
        bets_text(*.count, *.amount)
    )]
    OpenBets {
        /// How many bets (and custom stakes).
        count: usize,
        /// Their chips.
        amount: u64,
    },
    /// The local player takes part in the roll under way.
    #[error("you take part in the roll under way: you may leave once its dice are revealed")]
    InRoll,
    /// A dispute against the local player is open.
    #[error("a dispute against you is open: you may leave once it is resolved")]
    UnderDispute,
    /// The table has closed.
    #[error("the table has closed: everyone was cashed out already")]
    TableClosed,
    /// An earlier action is still waiting for its decision.
    #[error("wait: your last action is not decided yet")]
    Pending,
    /// The table decided the leave but refused it.
    #[error("the table refused your leave: {0}")]
    Refused(String),
}

fn bets_text(count: usize, amount: u64) -> String {
    if count == 1 {
        format!("a bet of {amount} chips")
    } else {
        format!("{count} bets ({amount} chips)")
    }
}

/// Checks that `seat` may leave `state` now (the table's own rule, checked before signing).
pub fn check_leave(state: &TableState, seat: Seat) -> Result<(), LeaveError> {
    if state.closed_at().is_some() {
        return Err(LeaveError::TableClosed);
    }
    let (mut count, mut amount) = (0usize, 0u64);
    for open in state.bets_of(seat) {
        count += 1;
        amount = amount.saturating_add(open.bet.amount);
    }
    for name in state.registry().names() {
        let pot = state
            .custom(name)
            .and_then(|slot| slot.pots.get(&seat).copied())
            .unwrap_or(0);
        if pot > 0 {
            count += 1;
            amount = amount.saturating_add(pot);
        }
    }
    if count > 0 {
        return Err(LeaveError::OpenBets { count, amount });
    }
    if state.stage().involves(seat) {
        return Err(LeaveError::InRoll);
    }
    if state.disputes().values().any(|claim| claim.accused == seat) {
        return Err(LeaveError::UnderDispute);
    }
    Ok(())
}

/// Leaves the table as the local player, after checking it.
pub fn leave(player: &mut LocalPlayer) -> Result<String, LeaveError> {
    let (Some(state), Some(seat)) = (player.state(), player.seat()) else {
        return Err(LeaveError::NotSeated);
    };
    check_leave(state, seat)?;
    if player.pending() > 0 {
        return Err(LeaveError::Pending);
    }
    player.leave()?;
    Ok("leaving: the table is deciding your cash-out".into())
}

/// The LEAVE TABLE button.
#[derive(Component, Debug)]
pub struct LeaveButton;

/// The end-of-play panel.
#[derive(Component, Debug)]
pub struct EndPanel;

/// The end-of-play panel's title.
#[derive(Component, Debug)]
pub struct EndTitle;

/// The end-of-play panel's text.
#[derive(Component, Debug)]
pub struct EndText;

/// The end-of-play panel's CLOSE button.
#[derive(Component, Debug)]
pub struct EndClose;

/// How the local player's time at the table ended (left, lost its seat, or the table closed),
/// shown in a panel until closed.
#[derive(Resource, Clone, Debug, Default)]
pub struct EndOfPlay {
    /// The panel's title.
    pub title: String,
    /// Its lines.
    pub lines: Vec<String>,
    /// Whether the panel is up.
    pub shown: bool,
}

impl EndOfPlay {
    fn show(&mut self, title: impl Into<String>, lines: Vec<String>) {
        self.title = title.into();
        self.lines = lines;
        self.shown = true;
    }
}

/// The local player's seat, chips in hand and bond in the last state seen (a cash-out is
/// reported as chips in hand plus bond).
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct LastSeat(pub Option<(Seat, u64, u64)>);

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn(panel(Node {
            right: px(424),
            bottom: px(12),
            ..default()
        }))
        .with_children(|p| {
            p.spawn((button("RULES (H)", 140.0), RulesButton));
            p.spawn((button("LEAVE TABLE", 140.0), LeaveButton));
        });
    commands
        .spawn((
            panel(Node {
                top: percent(30),
                left: percent(50),
                margin: UiRect::left(px(-230)),
                width: px(460),
                display: Display::None,
                ..default()
            }),
            GlobalZIndex(10),
            EndPanel,
        ))
        .with_children(|p| {
            p.spawn((title(""), EndTitle));
            p.spawn((text("", palette::TEXT), EndText));
            p.spawn((button("CLOSE", 120.0), EndClose));
        });
}

/// Leaves when LEAVE TABLE is pressed; closes the end-of-play panel when CLOSE is.
pub(super) fn press(
    leave_buttons: Query<&Interaction, (Changed<Interaction>, With<LeaveButton>)>,
    close_buttons: Query<&Interaction, (Changed<Interaction>, With<EndClose>)>,
    mut player: LocalPlayer,
    mut feedback: ResMut<ActionFeedback>,
    mut end: ResMut<EndOfPlay>,
) {
    if leave_buttons.iter().any(|i| *i == Interaction::Pressed) {
        feedback.show(leave(&mut player).map_err(ActionError::from));
    }
    if close_buttons.iter().any(|i| *i == Interaction::Pressed) && end.shown {
        end.shown = false;
    }
}

/// Reports the decided outcome of leaving, losing a seat or the table closing.
pub(super) fn watch(
    mut events: MessageReader<GameEvent>,
    mut decided: MessageReader<OperationDecided>,
    player: LocalPlayer,
    names: Res<PlayerNames>,
    mut last: ResMut<LastSeat>,
    mut end: ResMut<EndOfPlay>,
    mut feedback: ResMut<ActionFeedback>,
) {
    let me = player.peer();
    for d in decided.read() {
        let mine = Some(d.op.author) == me && matches!(d.op.op, Operation::Leave);
        if let (true, Some(reason)) = (mine, &d.refused) {
            feedback.show(Err(LeaveError::Refused(reason.clone()).into()));
        }
    }
    let Some(state) = player.state() else {
        events.clear();
        return;
    };
    let is_me = |seat: &Seat| {
        state.seat(*seat).is_some_and(|s| Some(s.peer) == me)
            || last.0.is_some_and(|(s, ..)| s == *seat)
    };
    for e in events.read() {
        match &e.event {
            Event::SeatLeft { seat, cashed_out } if is_me(seat) => {
                let bond = last.0.filter(|(s, ..)| s == seat).map_or(0, |(.., b)| b);
                let line = format!(
                    "cashed out {cashed_out} chips: {} in hand and your bond of {bond}",
                    cashed_out.saturating_sub(bond)
                );
                feedback.show(Ok(format!("you left the table: {line}")));
                end.show("YOU LEFT THE TABLE", vec![line]);
            }
            Event::SeatRemoved {
                seat,
                reason,
                cashed_out,
            } if is_me(seat) => end.show(
                "YOU LOST YOUR SEAT",
                vec![
                    format!("why: {}", removal_text(reason)),
                    format!("{cashed_out} chips were cashed out to you"),
                ],
            ),
            Event::TableClosed {
                final_balances,
                bank,
            } => {
                let mut lines = vec![format!(
                    "fewer than {MIN_SEATS} players were left: every bet went back and everyone \
                     was cashed out. Final chips:"
                )];
                for f in final_balances {
                    lines.push(format!("  {:<18} {:>9}", names.of(&f.peer), f.cashed_out));
                }
                lines.push(format!("  {:<18} {:>9}", "the bank", bank));
                end.show("THE TABLE CLOSED", lines);
            }
            _ => {}
        }
    }
    let now = player
        .seat()
        .and_then(|seat| state.seat(seat).map(|s| (seat, s.balance, s.bond)));
    if last.0 != now {
        last.0 = now;
    }
}

/// Shows or hides the end-of-play panel.
pub(super) fn refresh(
    end: Res<EndOfPlay>,
    mut panels: Query<&mut Node, With<EndPanel>>,
    mut titles: Query<&mut Text, (With<EndTitle>, Without<EndText>)>,
    mut texts: Query<&mut Text, (With<EndText>, Without<EndTitle>)>,
) {
    if !end.is_changed() {
        return;
    }
    for mut node in &mut panels {
        node.display = if end.shown {
            Display::Flex
        } else {
            Display::None
        };
    }
    for mut t in &mut titles {
        t.0.clone_from(&end.title);
    }
    for mut t in &mut texts {
        t.0 = end.lines.join("\n");
    }
}
