//! The player's hands: click a felt spot to bet the selected chip on it, right-click (or
//! shift-click) to take your bet down; `1`–`4` pick a chip, `Space` rolls when you shoot.
//!
//! A game that shares the keyboard and mouse with the table gates it with [`TableInput`]:
//! switched off, the table ignores keys, clicks on the felt, the HUD's buttons and the
//! camera's controls alike; its keys can be rebound or unbound.

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

/// Whether the table takes the player's input, and its keys. Every input path of the table
/// (the keyboard shortcuts, the felt's click observer, the HUD's button observers and the
/// orbit camera's mouse and keys) reads it, so a game turns the table's input off while the
/// player walks around, types or uses the same keys, and back on when the player sits down.
#[derive(Resource, Clone, Debug, PartialEq, Eq)]
pub struct TableInput {
    /// The table takes input (default `true`).
    pub enabled: bool,
    /// The key that closes betting and rolls as shooter (default `Space`; `None`: none).
    pub roll: Option<KeyCode>,
    /// The keys that pick the chips of [`CHIP_CHOICES`] (default `1`–`4`).
    pub chips: [Option<KeyCode>; 4],
    /// The orbit camera follows the mouse and the arrow, `+`/`-` and `Home` keys (default
    /// `true`).
    pub camera: bool,
}

impl Default for TableInput {
    fn default() -> Self {
        TableInput {
            enabled: true,
            roll: Some(KeyCode::Space),
            chips: [
                Some(KeyCode::Digit1),
                Some(KeyCode::Digit2),
                Some(KeyCode::Digit3),
                Some(KeyCode::Digit4),
            ],
            camera: true,
        }
    }
}

impl TableInput {
    /// The table takes input now (a run condition for systems and a check for observers).
    pub fn active(input: Option<Res<TableInput>>) -> bool {
        input.is_none_or(|i| i.enabled)
    }
}

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
            .init_resource::<TableInput>()
            .add_observer(click_felt)
            .add_systems(
                Update,
                keyboard
                    .in_set(TableSystems::Input)
                    .run_if(TableInput::active),
            );
    }
}

/// The felt coordinates of a world-space `hit` on the felt whose global transform is
/// `felt_global` and whose own (parent-relative) transform is `felt_local`: the hit is taken
/// into the felt's frame and placed where the felt sits in the table's frame, so a table that
/// a game moved, turned or scaled under a parent of its own maps clicks exactly as one at the
/// world origin.
pub fn felt_uv(hit: Vec3, felt_global: &GlobalTransform, felt_local: &Transform) -> Vec2 {
    let in_felt = felt_global.affine().inverse().transform_point3(hit);
    world_to_uv(felt_local.transform_point(in_felt))
}

#[allow(clippy::too_many_arguments)]
fn click_felt(
    click: On<Pointer<Click>>,
    input: Option<Res<TableInput>>,
    felts: Query<(&GlobalTransform, &Transform), With<Felt>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    chip: Res<ChipSelection>,
    mut player: LocalPlayer,
    mut feedback: ResMut<ActionFeedback>,
) {
    if !TableInput::active(input) {
        return;
    }
    let Ok((felt_global, felt_local)) = felts.get(click.entity) else {
        return;
    };
    let Some(position) = click.hit.position else {
        return;
    };
    let Some(spot) = spot_at(felt_uv(position, felt_global, felt_local)) else {
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
    input: Res<TableInput>,
    mut chip: ResMut<ChipSelection>,
    mut player: LocalPlayer,
    mut feedback: ResMut<ActionFeedback>,
) {
    let Some(keys) = keys else {
        return;
    };
    for (key, amount) in input.chips.into_iter().zip(CHIP_CHOICES) {
        if key.is_some_and(|key| keys.just_pressed(key)) {
            chip.0 = amount;
        }
    }
    if input.roll.is_some_and(|key| keys.just_pressed(key)) {
        feedback.show(actions::roll(&mut player));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{spots, uv_to_world};

    /// A click on the centre of every spot of a table that a game moved, turned and scaled
    /// under a parent of its own (and of one at the origin) finds that spot. The old mapping
    /// (the world hit read as if the felt were at the origin) found another spot or none: the
    /// negative control below.
    #[test]
    fn a_click_on_a_moved_turned_scaled_table_finds_the_spot_under_it() {
        let felt_local = Transform::IDENTITY;
        let parents = [
            Transform::IDENTITY,
            Transform::from_xyz(7.5, 1.2, -3.0),
            Transform::from_xyz(-2.0, 0.8, 11.0)
                .with_rotation(Quat::from_rotation_y(2.1))
                .with_scale(Vec3::splat(0.37)),
            Transform::from_xyz(0.0, 3.0, 0.0)
                .with_rotation(Quat::from_euler(EulerRot::YXZ, -0.7, 0.2, 0.1))
                .with_scale(Vec3::new(1.8, 1.8, 1.8)),
        ];
        let mut old_mapping_wrong = 0;
        for parent in parents {
            let felt_global = GlobalTransform::from(parent * felt_local);
            for spot in spots() {
                let uv = spot.rect.center();
                let hit = felt_global.transform_point(uv_to_world(uv));
                let found = spot_at(felt_uv(hit, &felt_global, &felt_local));
                assert_eq!(
                    found.map(|s| s.target),
                    Some(spot.target),
                    "parent {parent:?}, spot {:?}",
                    spot.target
                );
                if spot_at(world_to_uv(hit)).map(|s| s.target) != Some(spot.target) {
                    old_mapping_wrong += 1;
                }
            }
        }
        assert!(
            old_mapping_wrong > spots().len(),
            "negative control: reading the world hit as table coordinates misses on a moved \
             table ({old_mapping_wrong} misses)"
        );
    }
}
