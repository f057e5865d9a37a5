//! The player's hands: click a felt spot to bet the selected chip on it, right-click (or
//! shift-click) to take your bet down; `1`–`4` pick a chip, `Space` rolls when you shoot.

use std::time::Duration;

use bevy::picking::events::{Click, Pointer};
use bevy::picking::pointer::PointerButton;
use bevy::prelude::*;
use bevy_bitcraps::LocalPlayer;

use crate::actions::{self, ActionFeedback};
use crate::layout::{bet_for_click, spot_at, world_to_uv};
use crate::scene::Felt;
use crate::TableSystems;

/// The chip denominations the selector offers.
pub const CHIP_CHOICES: [u64; 4] = [10, 25, 100, 500];
/// A right click longer than this is a camera drag, not a click.
const CLICK_MAX: Duration = Duration::from_millis(300);

/// The chip the player bets with.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipSelection(pub u64);

impl Default for ChipSelection {
    fn default() -> Self {
        ChipSelection(CHIP_CHOICES[1])
    }
}

/// Clicks on the felt and keyboard shortcuts.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputPlugin;

impl Plugin for InputPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ChipSelection>()
            .init_resource::<ActionFeedback>()
            .add_observer(click_felt)
            .add_systems(Update, keyboard.in_set(TableSystems::Input));
    }
}

fn click_felt(
    click: On<Pointer<Click>>,
    felts: Query<(), With<Felt>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    chip: Res<ChipSelection>,
    mut player: LocalPlayer,
    mut feedback: ResMut<ActionFeedback>,
) {
    if !felts.contains(click.entity) {
        return;
    }
    let Some(position) = click.hit.position else {
        return;
    };
    let Some(spot) = spot_at(world_to_uv(position)) else {
        return;
    };
    let shift = keys.is_some_and(|k| k.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]));
    let take_down = match click.button {
        PointerButton::Primary => shift,
        // A long right press is the camera's drag.
        PointerButton::Secondary if click.duration <= CLICK_MAX => true,
        PointerButton::Secondary | PointerButton::Middle => return,
    };
    if take_down {
        feedback.show(actions::take_down(&mut player, spot.target));
        return;
    }
    let Some(phase) = player.state().map(|s| s.phase()) else {
        return;
    };
    let kind = bet_for_click(spot.target, phase);
    feedback.show(actions::place(&mut player, kind, chip.0));
}

fn keyboard(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mut chip: ResMut<ChipSelection>,
    mut player: LocalPlayer,
    mut feedback: ResMut<ActionFeedback>,
) {
    let Some(keys) = keys else {
        return;
    };
    let digits = [
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
    ];
    for (key, amount) in digits.into_iter().zip(CHIP_CHOICES) {
        if keys.just_pressed(key) {
            chip.0 = amount;
        }
    }
    if keys.just_pressed(KeyCode::Space) {
        feedback.show(actions::roll(&mut player));
    }
}
