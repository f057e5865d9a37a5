//! [`BitCrapsPlugin`]: resources, messages, chained system sets and systems.

use bevy::prelude::*;
use bitcraps_consensus::{Height, Round, Step};

use crate::application::TableApp;
use crate::apply::{apply_decisions, compare_state_hashes, handle_evidence, StateHashBook};
use crate::basic_app::BasicApp;
use crate::cleanup::prune;
use crate::config::BitCrapsConfig;
use crate::consensus::{drive_engine, update_status, GossipFired};
use crate::index::EntityIndex;
use crate::messages::{
    ApplicationPacket, DesyncDetected, HeightDecided, MessageRejected, MisbehaviourDetected,
    PersistFailed,
};
use crate::node::ConsensusNode;
use crate::receive::{receive_packets, VerifyQueue};
use crate::send::send_effects;
use crate::sets::BitCrapsSystems;
use crate::status::{ConsensusStatus, PeerHealth, TableView};
use crate::transport;
use crate::verify::{
    verify_messages, SignatureCacheResource, UnverifiedDecisions, VerifiedAnnouncements,
    VerifiedInbox, VerifyStats,
};

/// Seats the local player at a BitCraps table: consensus objects become entities, decisions are
/// applied to the table application ([`TableApp`], [`BasicApp`] unless one is inserted), and
/// packets flow through the transport seam ([`crate::NetInbox`] / [`crate::NetOutbox`]).
///
/// Works in any App, headless or rendered; it needs `Time` (e.g. from `MinimalPlugins` or
/// `TimePlugin`). Systems run in `Update`, in the chained [`BitCrapsSystems`] sets.
#[derive(Clone, Debug)]
pub struct BitCrapsPlugin {
    /// The table, the local identity, timings and budgets.
    pub config: BitCrapsConfig,
}

impl BitCrapsPlugin {
    /// A plugin for this configuration.
    pub fn new(config: BitCrapsConfig) -> BitCrapsPlugin {
        BitCrapsPlugin { config }
    }
}

impl Plugin for BitCrapsPlugin {
    fn build(&self, app: &mut App) {
        let config = self.config.clone();
        if !app.world().contains_resource::<TableApp>() {
            app.insert_resource(TableApp::new(BasicApp::new(
                config.table,
                config.participants.clone(),
            )));
        }
        let state_hash = app
            .world()
            .get_resource::<TableApp>()
            .map(|a| a.0.state_hash())
            .unwrap_or_default();
        let participants = config.participants.clone();
        app.insert_resource(ConsensusNode::new(&config))
            .insert_resource(ConsensusStatus {
                height: Height(1),
                round: Round(0),
                step: Step::Propose,
                proposer: participants.proposer(Height(1), Round(0)),
                prevotes: 0,
                precommits: 0,
                quorum: participants.quorum(),
                last_decided: None,
                last_decision_latency: None,
                decided_count: 0,
            })
            .insert_resource(TableView {
                height: Height(0),
                state_hash,
                snapshot: None,
            })
            .insert_resource(config)
            .init_resource::<PeerHealth>()
            .init_resource::<EntityIndex>()
            .init_resource::<VerifyQueue>()
            .init_resource::<VerifiedInbox>()
            .init_resource::<UnverifiedDecisions>()
            .init_resource::<VerifiedAnnouncements>()
            .init_resource::<SignatureCacheResource>()
            .init_resource::<VerifyStats>()
            .init_resource::<StateHashBook>()
            .init_resource::<GossipFired>()
            .add_message::<HeightDecided>()
            .add_message::<MisbehaviourDetected>()
            .add_message::<MessageRejected>()
            .add_message::<DesyncDetected>()
            .add_message::<ApplicationPacket>()
            .add_message::<PersistFailed>()
            .configure_sets(
                Update,
                (
                    BitCrapsSystems::Receive,
                    BitCrapsSystems::Verify,
                    BitCrapsSystems::Consensus,
                    BitCrapsSystems::Apply,
                    BitCrapsSystems::Send,
                    BitCrapsSystems::Cleanup,
                )
                    .chain(),
            );
        transport::build(app);
        app.add_systems(
            Update,
            (
                receive_packets
                    .in_set(BitCrapsSystems::Receive)
                    .after(transport::TransportSystems::Poll),
                verify_messages.in_set(BitCrapsSystems::Verify),
                (drive_engine, update_status)
                    .chain()
                    .in_set(BitCrapsSystems::Consensus),
                (
                    handle_evidence,
                    apply_decisions,
                    compare_state_hashes,
                    update_status,
                )
                    .chain()
                    .in_set(BitCrapsSystems::Apply),
                send_effects
                    .in_set(BitCrapsSystems::Send)
                    .before(transport::TransportSystems::Flush),
                prune.in_set(BitCrapsSystems::Cleanup),
            ),
        );
    }
}
