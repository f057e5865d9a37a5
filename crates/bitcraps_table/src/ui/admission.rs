//! The admission prompt: when a newcomer asks to sit down at the running table, the local
//! player — if seated and one of the players who may answer — is asked, in plain words,
//! "ab12... wants to sit down with 1000 chips" with an Allow and a Refuse button, one prompt per
//! waiting request. A prompt goes once answered (it is never asked again: answers are remembered
//! per newcomer and request height here, and the decided state records them too) or once the
//! request is decided (seated, declined or lapsed). The outcome is written in the event log
//! (see [`super::log::describe`]).

use std::collections::BTreeSet;

use bevy::prelude::*;
use bevy_bitcraps::LocalPlayer;
use bitcraps_consensus::PeerId;
use bitcraps_game::membership::JoinRequest;
use bitcraps_game::TableState;

use super::controls::button;
use super::text;
use crate::actions::{ActionError, ActionFeedback};
use crate::names::PlayerNames;
use crate::palette;

/// One join request: the newcomer and the height its request was decided at (a newcomer may
/// ask again later; that is another request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    /// The newcomer.
    pub newcomer: PeerId,
    /// The height its request was decided at.
    pub requested_at: u64,
}

/// The join requests the local player answered from this interface, so that it is not asked
/// again while its answer is on its way to a decision.
#[derive(Resource, Clone, Debug, Default)]
pub struct AdmissionAnswers(pub BTreeSet<RequestKey>);

/// The column the prompts stack in.
#[derive(Component, Debug)]
pub struct PromptList;

/// A prompt about one join request.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionPrompt(pub RequestKey);

/// The question of a prompt.
#[derive(Component, Debug)]
pub struct PromptText;

/// The Allow (`admit` true) or Refuse button of a prompt.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionButton {
    /// The request it answers.
    pub request: RequestKey,
    /// Allow (true) or refuse.
    pub admit: bool,
}

const ALLOW: Color = Color::srgb(0.12, 0.50, 0.22);
const REFUSE: Color = Color::srgb(0.62, 0.12, 0.10);

/// The requests `me` is to be asked about in `state`: `me` is seated, may answer them (it was a
/// validator when they were made) and has answered them neither in the decided state nor in
/// `answered`. In the state's order (by newcomer key).
pub fn open_requests<'a>(
    state: &'a TableState,
    me: &PeerId,
    answered: &BTreeSet<RequestKey>,
) -> Vec<(RequestKey, &'a JoinRequest)> {
    if state.seat_of(me).is_none() || state.closed_at().is_some() {
        return Vec::new();
    }
    state
        .join_requests()
        .iter()
        .filter_map(|(newcomer, request)| {
            let key = RequestKey {
                newcomer: *newcomer,
                requested_at: request.requested_at,
            };
            let ask = request.admitters.contains(me)
                && !request.admitted.contains(me)
                && !request.refused.contains(me)
                && !answered.contains(&key);
            ask.then_some((key, request))
        })
        .collect()
}

/// The question, in words.
pub fn prompt_text(names: &PlayerNames, newcomer: &PeerId, request: &JoinRequest) -> String {
    format!(
        "{} wants to sit down with {} chips",
        names.short(newcomer),
        request.buy_in
    )
}

pub(super) fn spawn(mut commands: Commands) {
    commands.spawn((
        Node {
            position_type: PositionType::Absolute,
            top: px(70),
            left: percent(50),
            margin: UiRect::left(px(-300)),
            width: px(600),
            flex_direction: FlexDirection::Column,
            row_gap: px(6),
            ..default()
        },
        PromptList,
    ));
}

fn spawn_prompt(list: &mut ChildSpawnerCommands, key: RequestKey, question: String) {
    list.spawn((
        Node {
            padding: UiRect::all(px(8)),
            column_gap: px(10),
            align_items: AlignItems::Center,
            border_radius: BorderRadius::all(px(8)),
            ..default()
        },
        BackgroundColor(palette::PANEL),
        AdmissionPrompt(key),
    ))
    .with_children(|row| {
        row.spawn((
            text(question, palette::TEXT),
            Node {
                flex_grow: 1.0,
                ..default()
            },
            PromptText,
        ));
        for (label, admit, color) in [("Allow", true, ALLOW), ("Refuse", false, REFUSE)] {
            row.spawn((
                button(label, 90.0),
                AdmissionButton {
                    request: key,
                    admit,
                },
            ))
            .insert(BackgroundColor(color));
        }
    });
}

/// Shows a prompt for every request the local player is to answer, and removes the others.
pub(super) fn sync(
    mut commands: Commands,
    player: LocalPlayer,
    names: Res<PlayerNames>,
    mut answers: ResMut<AdmissionAnswers>,
    prompts: Query<(Entity, &AdmissionPrompt)>,
    lists: Query<Entity, With<PromptList>>,
) {
    let state = player.state();
    if let Some(state) = state {
        // Forget answers to requests that are gone (decided or lapsed).
        let gone = |k: &RequestKey| {
            state
                .join_requests()
                .get(&k.newcomer)
                .is_none_or(|r| r.requested_at != k.requested_at)
        };
        if answers.0.iter().any(gone) {
            answers.0.retain(|k| !gone(k));
        }
    }
    let wanted: Vec<(RequestKey, String)> = match (state, player.peer()) {
        (Some(state), Some(me)) => open_requests(state, &me, &answers.0)
            .into_iter()
            .map(|(key, request)| (key, prompt_text(&names, &key.newcomer, request)))
            .collect(),
        _ => Vec::new(),
    };
    let mut shown = BTreeSet::new();
    for (entity, prompt) in &prompts {
        if wanted.iter().any(|(key, _)| *key == prompt.0) {
            shown.insert(prompt.0);
        } else {
            commands.entity(entity).despawn();
        }
    }
    let Ok(list) = lists.single() else {
        return;
    };
    for (key, question) in wanted {
        if !shown.contains(&key) {
            commands
                .entity(list)
                .with_children(|l| spawn_prompt(l, key, question));
        }
    }
}

/// Sends the answer of a pressed Allow or Refuse button (once per request).
pub(super) fn answer(
    buttons: Query<(&Interaction, &AdmissionButton), Changed<Interaction>>,
    mut player: LocalPlayer,
    names: Res<PlayerNames>,
    mut answers: ResMut<AdmissionAnswers>,
    mut feedback: ResMut<ActionFeedback>,
) {
    for (interaction, button) in &buttons {
        let key = button.request;
        if *interaction != Interaction::Pressed || answers.0.contains(&key) {
            continue;
        }
        let waiting = player
            .state()
            .and_then(|s| s.join_requests().get(&key.newcomer))
            .map(|r| r.requested_at);
        if waiting.is_some_and(|at| at != key.requested_at) {
            // The newcomer asked again meanwhile: its new prompt replaces this one.
            continue;
        }
        let who = names.short(&key.newcomer);
        match player.answer_join(key.newcomer, button.admit) {
            Ok(()) => {
                answers.0.insert(key);
                let said = if button.admit {
                    format!("you allowed {who} to sit down: sent to the table")
                } else {
                    format!("you refused {who}: sent to the table")
                };
                feedback.show(Ok(said));
            }
            Err(e) => feedback.show(Err(ActionError::Player(e))),
        }
    }
}
