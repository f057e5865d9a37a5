//! The plugin's configuration: the table, the local identity, the seats, timings and budgets.

use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::Resource;
use bitcraps_consensus::{
    codec::MAX_MESSAGE_BYTES, EngineConfig, Keypair, Limits, ParticipantSet, PeerId, TableId,
    TimeoutConfig,
};

use crate::error::ConfigError;

/// Everything [`crate::BitCrapsPlugin`] needs to seat the local player at a table.
///
/// Inserted as a resource by the plugin; read it from systems as `Res<BitCrapsConfig>`.
#[derive(Resource, Clone, Debug)]
pub struct BitCrapsConfig {
    /// The table (inside every signature).
    pub table: TableId,
    /// The local player's signing key (its public key is its seat).
    pub keypair: Keypair,
    /// Every seated participant, the local one included.
    pub participants: Arc<ParticipantSet>,
    /// Consensus timeouts (measured on Bevy's virtual clock).
    pub timeouts: TimeoutConfig,
    /// Consensus memory bounds.
    pub limits: Limits,
    /// How often the engine re-broadcasts its latest messages (liveness across loss).
    pub gossip_interval: Duration,
    /// How long the proposer waits for pending operations before proposing an empty block.
    /// Zero proposes at once.
    pub empty_block_delay: Duration,
    /// Signature checks run per frame at most; the rest stay queued for the next frame. A
    /// message is always checked whole, and at least one message is checked per frame.
    pub signature_budget_per_frame: usize,
    /// Largest accepted inbound packet, bytes (never above the codec's own limit).
    pub max_message_bytes: usize,
    /// Decided heights whose proposal and vote entities are kept (older ones are despawned).
    pub keep_heights: u64,
    /// Decided-height marker entities kept.
    pub keep_decided_markers: usize,
    /// Decisions this node keeps to serve lagging peers (beyond the engine's own window).
    pub journal_heights: usize,
    /// Largest number of messages waiting for verification; beyond it the oldest are dropped.
    pub max_verify_queue: usize,
}

impl BitCrapsConfig {
    /// A configuration with default timings for `keypair` seated among `participants`.
    pub fn new(
        table: TableId,
        keypair: Keypair,
        participants: impl IntoIterator<Item = PeerId>,
    ) -> Result<BitCrapsConfig, ConfigError> {
        let participants = Arc::new(ParticipantSet::new(participants)?);
        if !participants.contains(&keypair.peer_id()) {
            return Err(ConfigError::NotSeated(keypair.peer_id()));
        }
        Ok(BitCrapsConfig::unchecked(table, keypair, participants))
    }

    fn unchecked(
        table: TableId,
        keypair: Keypair,
        participants: Arc<ParticipantSet>,
    ) -> BitCrapsConfig {
        BitCrapsConfig {
            table,
            keypair,
            participants,
            timeouts: TimeoutConfig::default(),
            limits: Limits::default(),
            gossip_interval: Duration::from_millis(500),
            empty_block_delay: Duration::from_millis(250),
            signature_budget_per_frame: 256,
            max_message_bytes: MAX_MESSAGE_BYTES,
            keep_heights: 2,
            keep_decided_markers: 16,
            journal_heights: 256,
            max_verify_queue: 16_384,
        }
    }

    /// A configuration for a player who is not one of the genesis `participants`: it follows
    /// the table from genesis (catching up from the others' certificates), asks for a seat with
    /// a join operation, and votes once admitted. `participants` are the genesis seats.
    pub fn newcomer(
        table: TableId,
        keypair: Keypair,
        participants: impl IntoIterator<Item = PeerId>,
    ) -> Result<BitCrapsConfig, ConfigError> {
        let participants = Arc::new(ParticipantSet::new(participants)?);
        Ok(BitCrapsConfig::unchecked(table, keypair, participants))
    }

    /// Fast timings for tests and local bots: short timeouts, frequent gossip, no wait for
    /// operations before proposing.
    pub fn with_fast_timings(mut self) -> BitCrapsConfig {
        self.timeouts = TimeoutConfig {
            propose: Duration::from_millis(400),
            propose_delta: Duration::from_millis(100),
            prevote: Duration::from_millis(200),
            prevote_delta: Duration::from_millis(100),
            precommit: Duration::from_millis(200),
            precommit_delta: Duration::from_millis(100),
        };
        self.gossip_interval = Duration::from_millis(150);
        self.empty_block_delay = Duration::ZERO;
        self
    }

    /// The local player's identity.
    pub fn local_peer(&self) -> PeerId {
        self.keypair.peer_id()
    }

    /// The consensus engine's configuration derived from this one.
    pub fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig::new(self.table);
        config.timeouts = self.timeouts.clone();
        config.limits = self.limits.clone();
        config
    }
}
