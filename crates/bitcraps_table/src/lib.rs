//! # bitcraps_table
//!
//! The 3D craps table of BitCraps, as a Bevy plugin: a felt with its printed layout, rails and a
//! back wall, two dice that tumble onto the faces the players' machines agreed on, chips stacked
//! on the bets in each player's colour, the point puck, a camera that orbits and zooms, and a
//! bevy_ui interface (balances, bets, the shooter's roll button, the consensus at work, an event
//! log, misbehaviour alerts, a prompt to allow or refuse each newcomer asking for a seat, a
//! LEAVE TABLE button with its cash-out, and the table's rules: penalties, admission, closing).
//!
//! The plugin only *reads* what [`bevy_bitcraps`] publishes — [`TableView`](bevy_bitcraps::TableView),
//! [`ConsensusStatus`](bevy_bitcraps::ConsensusStatus), the [`Seat`](bevy_bitcraps::Seat),
//! [`DiceCommitment`](bevy_bitcraps::DiceCommitment), [`DiceReveal`](bevy_bitcraps::DiceReveal)
//! and [`Dispute`](bevy_bitcraps::Dispute) entities and the game messages — and acts through
//! [`LocalPlayer`](bevy_bitcraps::LocalPlayer). It never talks to the consensus engine.
//!
//! Add it to the local player's App, after `DefaultPlugins` (with rendering), `BitCrapsPlugin`
//! and `GamePlugin`:
//!
//! ```ignore
//! app.add_plugins((DefaultPlugins, BitCrapsPlugin::new(config), GamePlugin::default()))
//!    .add_plugins(TablePlugin)
//!    .insert_resource(PlayerNames::default());
//! ```
//!
//! The pure parts — the felt [`layout`], the dice's [`dice_motion`], the camera's
//! [`camera::orbit_transform`] and the bet [`actions`] checks — are plain functions, tested
//! without a GPU.

pub mod actions;
pub mod camera;
pub mod chips;
pub mod dice;
pub mod dice_motion;
pub mod felt;
pub mod input;
pub mod layout;
pub mod names;
pub mod palette;
pub mod puck;
pub mod scene;
pub mod ui;

use bevy::picking::mesh_picking::MeshPickingPlugin;
use bevy::prelude::*;

pub use actions::{ActionError, ActionFeedback};
pub use camera::OrbitCamera;
pub use dice::{DiceShow, Die};
pub use input::{ChipSelection, TableInput};
pub use names::PlayerNames;

/// Renders the craps table of the local player's App and lets the player bet and roll.
#[derive(Clone, Copy, Debug, Default)]
pub struct TablePlugin;

/// The table's system sets, run in `Update` after the plugin's apply set, in this order.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableSystems {
    /// Player input: clicks on the felt and buttons, keys.
    Input,
    /// Scene animation: dice, chips, puck, camera.
    Animate,
    /// The interface's texts.
    Ui,
}

impl Plugin for TablePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PlayerNames>()
            .configure_sets(
                Update,
                (TableSystems::Input, TableSystems::Animate, TableSystems::Ui)
                    .chain()
                    .after(bevy_bitcraps::BitCrapsSystems::Apply),
            )
            .add_plugins((
                felt::FeltPlugin,
                scene::ScenePlugin,
                camera::CameraPlugin,
                dice::DicePlugin,
                chips::ChipsPlugin,
                puck::PuckPlugin,
                input::InputPlugin,
                ui::TableUiPlugin,
            ));
        // A game that picks meshes itself already added it (adding a plugin twice panics).
        if !app.is_plugin_added::<MeshPickingPlugin>() {
            app.add_plugins(MeshPickingPlugin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A game that already picks meshes can add the table: the table adds
    /// `MeshPickingPlugin` only when it is missing (adding it twice panicked).
    #[test]
    fn a_game_that_already_picks_meshes_can_add_the_table() {
        let mut app = App::new();
        app.add_plugins(MeshPickingPlugin).add_plugins(TablePlugin);
        assert!(app.is_plugin_added::<TablePlugin>());
        let mut alone = App::new();
        alone.add_plugins(TablePlugin);
        assert!(alone.is_plugin_added::<MeshPickingPlugin>());
    }
}
