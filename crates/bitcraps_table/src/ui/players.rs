//! Your chips, the hand (phase, point, shooter, where the roll stands) and every player's name,
//! balance and bond.

use bevy::prelude::*;
use bevy_bitcraps::{LocalPlayer, Seat, TableView};
use bitcraps_game::{Stage, TableState};

use super::{panel, text, title};
use crate::names::PlayerNames;
use crate::palette;

/// Rows of the players' list (the table seats at most 16).
const ROWS: usize = 16;

/// The "you" line.
#[derive(Component, Debug)]
pub struct YouText;

/// The hand line.
#[derive(Component, Debug)]
pub struct HandText;

/// The countdown line: when the current stage of the roll closes.
#[derive(Component, Debug)]
pub struct CountdownText;

/// A row of the players' list.
#[derive(Component, Debug)]
pub struct PlayerRow(pub usize);

/// The colour swatch of a row.
#[derive(Component, Debug)]
pub struct PlayerSwatch(pub usize);

/// The text of a row.
#[derive(Component, Debug)]
pub struct PlayerText(pub usize);

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn(panel(Node {
            left: px(12),
            top: px(12),
            width: px(380),
            ..default()
        }))
        .with_children(|p| {
            p.spawn(title("BITCRAPS  -  no house, no server"));
            p.spawn((text("", palette::TEXT), YouText));
            p.spawn((text("", palette::TEXT), HandText));
            p.spawn((text("", palette::TEXT_DIM), CountdownText));
            for i in 0..ROWS {
                p.spawn((
                    Node {
                        display: Display::None,
                        column_gap: px(8),
                        align_items: AlignItems::Center,
                        ..default()
                    },
                    PlayerRow(i),
                ))
                .with_children(|row| {
                    row.spawn((
                        Node {
                            width: px(12),
                            height: px(12),
                            border_radius: BorderRadius::all(px(6)),
                            ..default()
                        },
                        BackgroundColor(Color::WHITE),
                        PlayerSwatch(i),
                    ));
                    row.spawn((text("", palette::TEXT), PlayerText(i)));
                });
            }
        });
}

/// Where the roll stands, in words.
pub fn stage_text(state: &TableState) -> String {
    match state.stage() {
        Stage::Betting { .. } => "betting open".into(),
        Stage::Committing {
            eligible,
            commitments,
            ..
        } => format!("committing dice {} / {}", commitments.len(), eligible.len()),
        Stage::Revealing {
            commitments,
            reveals,
            ..
        } => format!("revealing dice {} / {}", reveals.len(), commitments.len()),
    }
}

/// When the current stage closes, in words, on a clock reading `now_ms`: "betting closes in
/// 12 s", "reveals are due in 40 s".
pub fn countdown_text(state: &TableState, now_ms: u64) -> String {
    if state.closed_at().is_some() {
        return String::new();
    }
    match state.stage_deadline() {
        Some(deadline) => match deadline.seconds_left(now_ms) {
            0 => format!("{} now", deadline.stage.closing_words()),
            left => format!("{} in {left} s", deadline.stage.closing_words()),
        },
        None => "betting open: the clock starts with the first bet".into(),
    }
}

/// Updates the countdown every frame (the clock moves between decisions).
pub(super) fn refresh_countdown(
    player: LocalPlayer,
    mut texts: Query<&mut Text, With<CountdownText>>,
) {
    let (Some(state), Some(now)) = (player.state(), player.now_ms()) else {
        return;
    };
    let words = countdown_text(state, now);
    for mut text in &mut texts {
        if text.0 != words {
            text.0.clone_from(&words);
        }
    }
}

#[allow(clippy::type_complexity)]
pub(super) fn refresh(
    view: Res<TableView>,
    names: Res<PlayerNames>,
    seats: Query<&Seat>,
    mut texts: ParamSet<(
        Query<&mut Text, With<YouText>>,
        Query<&mut Text, With<HandText>>,
        Query<(&mut Text, &mut TextColor, &PlayerText)>,
    )>,
    mut rows: Query<(&mut Node, &PlayerRow)>,
    mut swatches: Query<(&mut BackgroundColor, &PlayerSwatch)>,
) {
    if !view.is_changed() && !names.is_changed() {
        return;
    }
    let Some(state) = view.snapshot::<TableState>() else {
        return;
    };
    let mut seated: Vec<&Seat> = seats.iter().collect();
    seated.sort_by_key(|s| s.seat);
    let you = seated.iter().find(|s| s.local);
    let on_table =
        |seat: bitcraps_game::Seat| -> u64 { state.bets_of(seat).map(|b| b.bet.amount).sum() };
    if let Ok(mut t) = texts.p0().single_mut() {
        t.0 = match you {
            Some(s) => format!(
                "You: {} in hand, {} bond, {} on the table",
                s.balance,
                s.bond,
                on_table(s.seat)
            ),
            None => "You are not seated".into(),
        };
    }
    if let Ok(mut t) = texts.p1().single_mut() {
        let phase = match state.phase().point() {
            Some(p) => format!("point {} (puck ON)", p.total()),
            None => "come-out".into(),
        };
        let shooter = state
            .shooter()
            .map_or_else(|| "nobody".into(), |s| names.of_seat(state, s));
        t.0 = format!(
            "roll #{} - {phase} - {} - shooter: {shooter}\nbank {}",
            state.roll_number(),
            stage_text(state),
            state.bank()
        );
    }
    for (mut node, row) in &mut rows {
        node.display = if row.0 < seated.len() {
            Display::Flex
        } else {
            Display::None
        };
    }
    for (mut color, swatch) in &mut swatches {
        if let Some(s) = seated.get(swatch.0) {
            color.0 = palette::seat_color(s.seat);
        }
    }
    for (mut t, mut color, row) in &mut texts.p2() {
        let Some(s) = seated.get(row.0) else {
            continue;
        };
        let mut line = format!(
            "{:<14} {:>7}  bond {:>5}",
            names.of(&s.peer),
            s.balance,
            s.bond
        );
        if state.shooter() == Some(s.seat) {
            line.push_str("  SHOOTER");
        }
        if s.health.missed_rolls > 0 || s.health.evidence_count > 0 {
            line.push_str(&format!(
                "  (missed {}, evidence {})",
                s.health.missed_rolls, s.health.evidence_count
            ));
        }
        t.0 = line;
        color.0 = if s.local {
            palette::FELT_GOLD
        } else {
            palette::TEXT
        };
    }
}
