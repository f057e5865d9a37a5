//! The controls: the chip selector, the roll button (live when you hold the dice and betting is
//! open), what became of your last action, and a reminder of the mouse and keys.

use bevy::picking::events::{Click, Pointer};
use bevy::prelude::*;
use bevy_bitcraps::LocalPlayer;

use super::{panel, text, title};
use crate::actions::{self, ActionFeedback};
use crate::input::{ChipSelection, TableInput, CHIP_CHOICES};
use crate::palette;

/// A chip button of the selector.
#[derive(Component, Clone, Copy, Debug)]
pub struct ChipButton(pub u64);

/// The roll button.
#[derive(Component, Debug)]
pub struct RollButton;

/// The feedback line.
#[derive(Component, Debug)]
pub struct FeedbackText;

/// A button's colour at rest.
pub(crate) const BUTTON: Color = Color::srgb(0.16, 0.18, 0.22);
const SELECTED: Color = Color::srgb(0.15, 0.45, 0.95);
const ROLL_LIVE: Color = Color::srgb(0.80, 0.10, 0.08);

/// A rounded button with a label, `width` pixels wide.
pub(crate) fn button(label: impl Into<String>, width: f32) -> impl Bundle {
    (
        Button,
        Node {
            width: px(width),
            height: px(34),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            border_radius: BorderRadius::all(px(17)),
            ..default()
        },
        BackgroundColor(BUTTON),
        children![(
            Text::new(label),
            TextFont::from_font_size(15.0),
            TextColor(palette::TEXT),
            Pickable::IGNORE,
        )],
    )
}

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn(panel(Node {
            right: px(12),
            bottom: px(12),
            width: px(400),
            ..default()
        }))
        .with_children(|p| {
            p.spawn(title("YOUR CHIPS"));
            p.spawn(Node {
                column_gap: px(8),
                ..default()
            })
            .with_children(|row| {
                for amount in CHIP_CHOICES {
                    row.spawn((button(amount.to_string(), 64.0), ChipButton(amount)))
                        .observe(
                            move |_: On<Pointer<Click>>,
                                  input: Option<Res<TableInput>>,
                                  mut chip: ResMut<ChipSelection>| {
                                if TableInput::active(input) {
                                    chip.0 = amount;
                                }
                            },
                        );
                }
                row.spawn((button("ROLL", 96.0), RollButton)).observe(
                    |_: On<Pointer<Click>>,
                     input: Option<Res<TableInput>>,
                     mut player: LocalPlayer,
                     mut feedback: ResMut<ActionFeedback>| {
                        if TableInput::active(input) {
                            feedback.show(actions::roll(&mut player));
                        }
                    },
                );
            });
            p.spawn((text("", palette::TEXT), FeedbackText));
            p.spawn(text(
                "click a spot: bet   right-click: take down\nright-drag: orbit   wheel: zoom   space: roll   1-4: chip   H: rules",
                palette::TEXT_DIM,
            ));
        });
}

pub(super) fn refresh(
    chip: Res<ChipSelection>,
    feedback: Res<ActionFeedback>,
    player: LocalPlayer,
    mut chips: Query<(&ChipButton, &mut BackgroundColor), Without<RollButton>>,
    mut roll: Query<&mut BackgroundColor, With<RollButton>>,
    mut texts: Query<(&mut Text, &mut TextColor), With<FeedbackText>>,
) {
    for (button, mut color) in &mut chips {
        let want = if button.0 == chip.0 { SELECTED } else { BUTTON };
        if color.0 != want {
            color.0 = want;
        }
    }
    let live = player.is_shooter() && player.state().is_some_and(|s| s.stage().is_betting());
    for mut color in &mut roll {
        let want = if live { ROLL_LIVE } else { BUTTON };
        if color.0 != want {
            color.0 = want;
        }
    }
    if feedback.is_changed() {
        for (mut text, mut color) in &mut texts {
            text.0.clone_from(&feedback.text);
            color.0 = if feedback.error {
                palette::ALERT.mix(&Color::WHITE, 0.3)
            } else {
                palette::GOOD
            };
        }
    }
}
