//! A red banner when a player is caught misbehaving, naming the player and the evidence kind:
//! conflicting signed votes or proposals (self-verifying evidence), forged or malformed
//! messages, withheld or mismatched dice reveals. Each offence is also logged.

use std::collections::HashMap;

use bevy::prelude::*;
use bevy_bitcraps::{Misbehaviour, MisbehaviourDetected, PenaltyApplied, RejectError};
use bitcraps_consensus::{Evidence, PeerId};

use super::log::{penalty_text, EventLog};
use crate::names::PlayerNames;
use crate::palette;

/// Seconds an alert stays up.
const SHOW_SECONDS: f32 = 10.0;
/// Seconds before the same offence by the same player is reported again.
const REPEAT_SECONDS: f32 = 15.0;

/// The current alert.
#[derive(Resource, Clone, Debug, Default)]
pub struct Alert {
    /// Its text (empty: none).
    pub text: String,
    /// Seconds left on screen.
    pub left: f32,
    /// Alerts raised since the App started.
    pub raised: u64,
    last: HashMap<(PeerId, &'static str), f32>,
}

/// The banner.
#[derive(Component, Debug)]
pub struct AlertBanner;

/// The banner's text.
#[derive(Component, Debug)]
pub struct AlertText;

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                top: px(12),
                left: percent(50),
                margin: UiRect::left(px(-300)),
                width: px(600),
                padding: UiRect::all(px(10)),
                border_radius: BorderRadius::all(px(8)),
                justify_content: JustifyContent::Center,
                display: Display::None,
                ..default()
            },
            BackgroundColor(palette::ALERT.with_alpha(0.92)),
            AlertBanner,
        ))
        .with_children(|b| {
            b.spawn((
                Text::new(""),
                TextFont::from_font_size(17.0),
                TextColor(Color::WHITE),
                TextLayout::justify(Justify::Center),
                AlertText,
            ));
        });
}

/// The kind of evidence, and its details, in words.
pub fn misbehaviour_text(m: &Misbehaviour) -> (&'static str, String) {
    match m {
        Misbehaviour::Equivocation(evidence) => match &**evidence {
            Evidence::DoubleVote { first, .. } => (
                "double vote",
                format!(
                    "two conflicting signed {}s at h{} r{}",
                    first.vote.kind, first.vote.height.0, first.vote.round.0
                ),
            ),
            Evidence::DoubleProposal { first, .. } => (
                "equivocation",
                format!(
                    "two conflicting signed proposals at h{} r{}",
                    first.header.height.0, first.header.round.0
                ),
            ),
        },
        Misbehaviour::InvalidInput(error) => match error {
            RejectError::Decode { .. } => ("garbage", "bytes that do not decode".into()),
            RejectError::Verify { error, .. } => (
                "forgery",
                format!("a message that fails verification: {error}"),
            ),
            RejectError::Refused { error, .. } => ("refused message", error.to_string()),
            RejectError::BadAnnouncement { .. } => {
                ("forgery", "a badly signed state-hash announcement".into())
            }
            RejectError::Stranger { .. } => ("stranger", "packets from outside the table".into()),
        },
    }
}

pub(super) fn raise(
    time: Res<Time>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut penalties: MessageReader<PenaltyApplied>,
    names: Res<PlayerNames>,
    mut alert: ResMut<Alert>,
    mut log: ResMut<EventLog>,
) {
    let now = time.elapsed_secs();
    alert.left = (alert.left - time.delta_secs()).max(0.0);
    for m in misbehaviour.read() {
        let (kind, details) = misbehaviour_text(&m.misbehaviour);
        let key = (m.offender, kind);
        if alert
            .last
            .get(&key)
            .is_some_and(|at| now - at < REPEAT_SECONDS)
        {
            continue;
        }
        alert.last.insert(key, now);
        let text = format!(
            "MISBEHAVIOUR: {} - {kind}: {details}",
            names.of(&m.offender)
        );
        log.push(text.clone(), palette::ALERT);
        show(&mut alert, text);
    }
    for p in penalties.read() {
        let text = format!(
            "CAUGHT: {} {} - bond {} slashed to the bank",
            names.of(&p.peer),
            penalty_text(&p.reason),
            p.bond_slashed
        );
        show(&mut alert, text);
    }
}

fn show(alert: &mut Alert, text: String) {
    alert.text = text;
    alert.left = SHOW_SECONDS;
    alert.raised += 1;
}

pub(super) fn refresh(
    alert: Res<Alert>,
    mut banners: Query<&mut Node, With<AlertBanner>>,
    mut texts: Query<&mut Text, With<AlertText>>,
) {
    let visible = alert.left > 0.0 && !alert.text.is_empty();
    for mut node in &mut banners {
        let display = if visible {
            Display::Flex
        } else {
            Display::None
        };
        if node.display != display {
            node.display = display;
        }
    }
    if alert.is_changed() {
        for mut text in &mut texts {
            if text.0 != alert.text {
                text.0.clone_from(&alert.text);
            }
        }
    }
}
