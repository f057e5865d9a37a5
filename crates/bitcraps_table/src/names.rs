//! Display names of the players, by key.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bitcraps_consensus::PeerId;
use bitcraps_game::Seat;

/// The names the interface shows for players (by key); unnamed players show their short key.
#[derive(Resource, Clone, Debug, Default)]
pub struct PlayerNames(pub BTreeMap<PeerId, String>);

impl PlayerNames {
    /// The name of `peer`.
    pub fn of(&self, peer: &PeerId) -> String {
        self.0
            .get(peer)
            .cloned()
            .unwrap_or_else(|| format!("player {peer}"))
    }

    /// The name of `peer`, or the start of its key ("ab12...": the default font has ASCII glyphs only) for a player without a name, such
    /// as a newcomer asking for a seat.
    pub fn short(&self, peer: &PeerId) -> String {
        self.0.get(peer).cloned().unwrap_or_else(|| {
            let key = peer.to_string();
            let start: String = key.chars().take(4).collect();
            format!("{start}...")
        })
    }

    /// The name of the player at `seat` of `state`, or "seat N".
    pub fn of_seat(&self, state: &bitcraps_game::TableState, seat: Seat) -> String {
        state
            .seat(seat)
            .map_or_else(|| seat.to_string(), |s| self.of(&s.peer))
    }
}
