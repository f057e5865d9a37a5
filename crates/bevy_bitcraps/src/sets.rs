//! The plugin's public system sets, chained in this order every frame in `Update`.

use bevy::prelude::SystemSet;

/// The stages of one frame of the plugin, chained in declaration order in `Update`:
/// receive → verify → consensus → apply → send → cleanup.
///
/// They run in `Update` rather than a dedicated schedule so that game systems, which live in
/// `Update` too, can be ordered around them with `.before(..)` / `.after(..)` — e.g. a bot that
/// places bets `.before(BitCrapsSystems::Consensus)` gets them into the block proposed in the
/// same frame, and a UI that reads [`crate::ConsensusStatus`] `.after(BitCrapsSystems::Apply)`
/// sees this frame's decision. The virtual clock (`Time`) drives consensus timeouts, so pausing
/// or scaling virtual time pauses or scales the table.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitCrapsSystems {
    /// Pull packets from the transport, decode them with a size limit, spawn unverified
    /// [`crate::Proposal`] / [`crate::Vote`] entities.
    Receive,
    /// Check signatures within the per-frame budget.
    Verify,
    /// Feed the engine: verified messages, timeouts, value requests, gossip ticks.
    Consensus,
    /// Apply decided values to the table state; announce and compare state hashes.
    Apply,
    /// Hand outbound packets to the transport.
    Send,
    /// Despawn entities of old heights.
    Cleanup,
}
