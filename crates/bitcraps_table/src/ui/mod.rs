//! The interface, in bevy_ui over the table: the players and your chips, the controls (chip
//! selector, roll button, what became of your last action), the consensus at work, an event
//! log, an alert banner when a player misbehaves, and the seat's part: prompts to admit
//! newcomers, the LEAVE TABLE button with its cash-out, and the table's rules.

pub mod admission;
pub mod alert;
pub mod consensus;
pub mod controls;
pub mod leave;
pub mod log;
pub mod players;
pub mod rules;
#[cfg(test)]
mod tests;

use bevy::prelude::*;

use crate::actions::ActionFeedback;
use crate::names::PlayerNames;
use crate::palette;
use crate::TableSystems;

pub use alert::Alert;
pub use log::EventLog;

/// Font size of the panels' text.
pub const TEXT_SIZE: f32 = 14.0;

/// Builds and updates the interface.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableUiPlugin;

impl Plugin for TableUiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<EventLog>()
            .init_resource::<Alert>()
            .add_plugins(SeatUiPlugin)
            .add_systems(
                Startup,
                (
                    players::spawn,
                    consensus::spawn,
                    log::spawn,
                    controls::spawn,
                    alert::spawn,
                ),
            )
            .add_systems(
                Update,
                (
                    (log::record_game_events, log::record_consensus_events),
                    alert::raise,
                    (
                        players::refresh,
                        players::refresh_countdown,
                        consensus::refresh,
                        log::refresh,
                        controls::refresh,
                        alert::refresh,
                    ),
                )
                    .chain()
                    .in_set(TableSystems::Ui),
            );
    }
}

/// The seat's part of the interface: a prompt for each newcomer the local player is to admit
/// or refuse, the LEAVE TABLE and RULES buttons, the end-of-play panel (cash-out, lost seat,
/// table closed) and the rules panel. Part of [`TableUiPlugin`]; reads the game's messages
/// ([`bevy_bitcraps::GameEvent`], [`bevy_bitcraps::OperationDecided`]) and acts through
/// [`bevy_bitcraps::LocalPlayer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SeatUiPlugin;

impl Plugin for SeatUiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ActionFeedback>()
            .init_resource::<PlayerNames>()
            .init_resource::<admission::AdmissionAnswers>()
            .init_resource::<leave::EndOfPlay>()
            .init_resource::<leave::LastSeat>()
            .init_resource::<rules::RulesShown>()
            .add_systems(Startup, (admission::spawn, leave::spawn, rules::spawn))
            .add_systems(
                Update,
                (admission::answer, leave::press, rules::toggle)
                    .in_set(TableSystems::Input)
                    .run_if(crate::input::TableInput::active),
            )
            .add_systems(
                Update,
                (
                    admission::sync,
                    leave::watch,
                    leave::refresh,
                    rules::refresh,
                )
                    .chain()
                    .in_set(TableSystems::Ui),
            );
    }
}

/// A dark, rounded panel at an absolute place on the screen.
pub fn panel(node: Node) -> impl Bundle {
    (
        Node {
            position_type: PositionType::Absolute,
            flex_direction: FlexDirection::Column,
            padding: UiRect::all(px(10)),
            row_gap: px(4),
            border_radius: BorderRadius::all(px(8)),
            ..node
        },
        BackgroundColor(palette::PANEL),
    )
}

/// A text of the panels.
pub fn text(value: impl Into<String>, color: Color) -> impl Bundle {
    (
        Text::new(value),
        TextFont::from_font_size(TEXT_SIZE),
        TextColor(color),
    )
}

/// A panel's title.
pub fn title(value: impl Into<String>) -> impl Bundle {
    (
        Text::new(value),
        TextFont::from_font_size(TEXT_SIZE + 2.0),
        TextColor(palette::FELT_GOLD),
    )
}
