//! Cleanup set: despawn the entities of old heights and old decided-height markers.

use bevy::prelude::*;
use bitcraps_consensus::Height;

use crate::config::BitCrapsConfig;
use crate::index::EntityIndex;
use crate::node::ConsensusNode;

pub(crate) fn prune(
    config: Res<BitCrapsConfig>,
    node: Res<ConsensusNode>,
    mut index: ResMut<EntityIndex>,
    mut commands: Commands,
) {
    let current = node.engine().height();
    let keep_from = Height(current.0.saturating_sub(config.keep_heights));
    index.prune_below(&mut commands, keep_from);
    while index.decided_markers.len() > config.keep_decided_markers {
        if let Some(marker) = index.decided_markers.pop_front() {
            commands.entity(marker).try_despawn();
        }
    }
}
