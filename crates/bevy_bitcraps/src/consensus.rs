//! Consensus set: feed the engine its verified messages, due timeouts, the application's
//! proposals and gossip ticks, on Bevy's virtual clock.

use bevy::prelude::*;
use bitcraps_consensus::VoteKind;

use crate::application::TableApp;
use crate::node::ConsensusNode;
use crate::status::ConsensusStatus;
use crate::verify::{UnverifiedDecisions, VerifiedInbox};

/// Set when the engine ran a gossip tick this frame (the apply set re-announces the state hash).
#[derive(Resource, Default, Debug)]
pub(crate) struct GossipFired(pub bool);

pub(crate) fn drive_engine(
    time: Res<Time>,
    mut node: ResMut<ConsensusNode>,
    mut app: ResMut<TableApp>,
    mut inbox: ResMut<VerifiedInbox>,
    mut decisions: ResMut<UnverifiedDecisions>,
    mut gossip: ResMut<GossipFired>,
) {
    let now = time.elapsed();
    let node = &mut *node;
    node.ensure_started(&*app.0, now);
    while let Some((from, message)) = inbox.0.pop_front() {
        node.handle_message(message, from, &*app.0, now);
    }
    while let Some((from, decision)) = decisions.0.pop_front() {
        node.handle_unverified_decision(decision, from, &*app.0, now);
    }
    node.fire_timeouts(&*app.0, now);
    node.answer_value_requests(&mut *app.0, now);
    gossip.0 = node.gossip(&*app.0, now);
}

pub(crate) fn update_status(node: Res<ConsensusNode>, mut status: ResMut<ConsensusStatus>) {
    let engine = node.engine();
    let round = engine.round();
    let next = ConsensusStatus {
        height: engine.height(),
        round,
        step: engine.step(),
        proposer: engine.proposer(),
        prevotes: engine.votes_seen(round, VoteKind::Prevote),
        precommits: engine.votes_seen(round, VoteKind::Precommit),
        quorum: engine.participants().quorum(),
        last_decided: status.last_decided,
        last_decision_latency: status.last_decision_latency,
        decided_count: status.decided_count,
    };
    // Only write on change, so `Res::is_changed` means something to UIs.
    status.set_if_neq(next);
}
