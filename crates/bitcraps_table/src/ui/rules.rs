//! The rules panel: the table's rules that matter for trust — what cheating costs, how
//! newcomers are let in, how leaving and closing work — read from the table's config (every
//! player agreed on it at genesis; it is inside every state hash). Toggled with `H` or `F1`
//! or the RULES button.

use bevy::prelude::*;
use bevy_bitcraps::LocalPlayer;
use bitcraps_game::{TableConfig, MIN_SEATS};

use super::{panel, text, title};
use crate::palette;

/// The RULES button.
#[derive(Component, Debug)]
pub struct RulesButton;

/// The rules panel.
#[derive(Component, Debug)]
pub struct RulesPanel;

/// The rules panel's text.
#[derive(Component, Debug)]
pub struct RulesText;

/// Whether the rules panel is open.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RulesShown(pub bool);

/// What a punished player forfeits of the chips in its hand, as the end of a sentence.
fn forfeit_text(percent: u8) -> String {
    match percent.min(100) {
        100 => ", and every chip in its hand: it leaves with nothing".into(),
        0 => "; it keeps the chips in its hand".into(),
        n => format!(", and {n} % of the chips in its hand"),
    }
}

/// The fewest of `n` answers that are "more than 2/3" and "more than 1/3".
pub fn thresholds(n: usize) -> (usize, usize) {
    (2 * n / 3 + 1, n / 3 + 1)
}

/// A duration in block-time milliseconds, in words.
fn duration_text(ms: u64) -> String {
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{} s", ms / 1_000)
    } else {
        format!("{ms} ms")
    }
}

/// The rules of the table `config` with `seated` players seated now, in plain words.
pub fn rules_text(config: &TableConfig, seated: usize) -> String {
    let bonds = config.bonds;
    let penalties = config.penalties;
    let admission = config.admission;
    let (allow, refuse) = thresholds(seated);
    [
        format!(
            "Bond: every player puts up {} chips as a bond when seated. When betting closes the \
             bond must also cover {} % of the most that player's bets could win on the roll.",
            bonds.minimum, bonds.cover_percent
        ),
        format!(
            "Cheating, proven (a double vote or proposal, two actions signed under one number, \
             dice that do not match their commitment, a claim the table upholds): the cheater \
             loses its seat, its bond and its bets to the bank{}.",
            forfeit_text(penalties.cheat_balance_percent)
        ),
        format!(
            "Withholding dice (committing, then not revealing within {}): the player loses its \
             seat, its bond and its bets to the bank{}. A machine that freezes or reconnects \
             for up to {} is never taken for a withholder.",
            duration_text(config.deadlines.reveal_ms),
            forfeit_text(penalties.withhold_balance_percent),
            duration_text(config.deadlines.stall_tolerance_ms())
        ),
        format!(
            "Betting closes {} after the first bet unless the shooter closes it sooner; \
             players then have {} to commit to their dice. Missing {} rolls in a row over at \
             least {}: the seat is taken away (bets that may come down are given back).",
            duration_text(config.deadlines.betting_ms),
            duration_text(config.deadlines.commit_ms),
            config.missed_roll_limit,
            duration_text(config.deadlines.absence_ms)
        ),
        format!(
            "Newcomers: a player asking to sit down is seated when more than 2/3 of the seated \
             players allow it (now {allow} of {seated}); more than 1/3 refusing turns it away \
             (now {refuse}). Unanswered, a request lapses after {}. At most {} players sit at \
             this table.",
            duration_text(admission.request_ms),
            admission.max_seats
        ),
        format!(
            "Leaving: with no bet on the table and outside a roll you take part in, LEAVE TABLE \
             cashes out your chips and your bond. Below {MIN_SEATS} players the table closes: \
             every bet goes back and everyone is cashed out."
        ),
    ]
    .join("\n\n")
}

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn((
            panel(Node {
                top: px(70),
                left: percent(50),
                margin: UiRect::left(px(-310)),
                width: px(620),
                display: Display::None,
                ..default()
            }),
            GlobalZIndex(5),
            RulesPanel,
        ))
        .with_children(|p| {
            p.spawn(title("THE RULES OF THIS TABLE  (H or F1 to close)"));
            p.spawn((text("", palette::TEXT), RulesText));
        });
}

/// Opens or closes the panel on `H`, `F1` or the RULES button.
pub(super) fn toggle(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    buttons: Query<&Interaction, (Changed<Interaction>, With<RulesButton>)>,
    mut shown: ResMut<RulesShown>,
) {
    let key = keys.is_some_and(|k| k.any_just_pressed([KeyCode::KeyH, KeyCode::F1]));
    let button = buttons.iter().any(|i| *i == Interaction::Pressed);
    if key || button {
        shown.0 = !shown.0;
    }
}

/// Shows the panel with the current table's rules.
pub(super) fn refresh(
    shown: Res<RulesShown>,
    player: LocalPlayer,
    mut panels: Query<&mut Node, With<RulesPanel>>,
    mut texts: Query<&mut Text, With<RulesText>>,
) {
    let display = if shown.0 {
        Display::Flex
    } else {
        Display::None
    };
    for mut node in &mut panels {
        if node.display != display {
            node.display = display;
        }
    }
    if !shown.0 {
        return;
    }
    let Some(state) = player.state() else {
        return;
    };
    let rules = rules_text(state.config(), state.seated().len());
    for mut t in &mut texts {
        if t.0 != rules {
            t.0.clone_from(&rules);
        }
    }
}
