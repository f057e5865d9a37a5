//! Resources describing the table: consensus progress, the decided state, peers' health.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::Resource;
use bitcraps_consensus::{Height, PeerId, Round, Step};

use crate::envelope::StateHash;

/// Where the local consensus engine is (updated every frame in the consensus and apply sets).
#[derive(Resource, Clone, Debug, PartialEq, Eq)]
pub struct ConsensusStatus {
    /// The height being decided.
    pub height: Height,
    /// The current round.
    pub round: Round,
    /// The current step.
    pub step: Step,
    /// The proposer of the current round.
    pub proposer: PeerId,
    /// Distinct prevotes seen in the current round.
    pub prevotes: usize,
    /// Distinct precommits seen in the current round.
    pub precommits: usize,
    /// Votes needed for a quorum (2f+1).
    pub quorum: usize,
    /// The last decided height.
    pub last_decided: Option<Height>,
    /// Virtual time from the start of the last decided height to its decision.
    pub last_decision_latency: Option<Duration>,
    /// Heights decided since the App started.
    pub decided_count: u64,
}

/// A read-only view of the latest decided table state.
#[derive(Resource, Clone, Default)]
pub struct TableView {
    /// The last applied height (`Height(0)` before the first decision).
    pub height: Height,
    /// The state hash after it.
    pub state_hash: StateHash,
    /// The application's snapshot (for the craps table: its state; for
    /// [`crate::BasicApp`]: a [`crate::BasicSnapshot`]).
    pub snapshot: Option<Arc<dyn Any + Send + Sync>>,
}

impl TableView {
    /// The snapshot as its concrete type.
    pub fn snapshot<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.snapshot.as_ref()?.downcast_ref()
    }
}

impl std::fmt::Debug for TableView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableView")
            .field("height", &self.height)
            .field(
                "state_hash",
                &bitcraps_consensus::short_hex(&self.state_hash),
            )
            .finish_non_exhaustive()
    }
}

/// Health signals of one peer, as seen locally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerSignals {
    /// Packets that did not decode.
    pub malformed: u64,
    /// Messages that failed verification.
    pub invalid: u64,
    /// Messages the engine refused.
    pub refused: u64,
    /// Verified evidence items against this peer.
    pub evidence: u64,
    /// State-hash mismatches with this peer.
    pub desyncs: u64,
    /// Decided heights whose certificate lacks this peer's precommit.
    pub missed_precommits: u64,
}

/// Per-peer health signals (for UIs and operators).
#[derive(Resource, Clone, Debug, Default)]
pub struct PeerHealth(pub BTreeMap<PeerId, PeerSignals>);

impl PeerHealth {
    /// The signals of a peer (created on first use).
    pub fn of(&mut self, peer: PeerId) -> &mut PeerSignals {
        self.0.entry(peer).or_default()
    }
}
