//! Send set: answer the engine's value request of a height started this frame, spawn the
//! entities of this node's own messages, report the engine's refusals, and encode outbound
//! envelopes into [`NetOutbox`].

use bevy::prelude::*;

use crate::application::TableApp;
use crate::index::EntityIndex;
use crate::messages::{MessageRejected, MisbehaviourDetected, PersistFailed};
use crate::node::ConsensusNode;
use crate::receive::report;
use crate::status::PeerHealth;
use crate::transport::{NetOutbox, OutboundPacket};

#[allow(clippy::too_many_arguments)]
pub(crate) fn send_effects(
    time: Res<Time>,
    mut app: ResMut<TableApp>,
    mut node: ResMut<ConsensusNode>,
    mut index: ResMut<EntityIndex>,
    mut outbox: ResMut<NetOutbox>,
    mut health: ResMut<PeerHealth>,
    mut commands: Commands,
    mut rejected: MessageWriter<MessageRejected>,
    mut misbehaviour: MessageWriter<MisbehaviourDetected>,
    mut persist_failed: MessageWriter<PersistFailed>,
) {
    // A height started in the apply set asked for a value after the consensus set ran: a
    // proposer answers now, so its proposal leaves in this frame rather than the next.
    node.answer_value_requests(&mut *app.0, time.elapsed());
    let effects = &mut node.effects;
    for failure in effects.persist_failures.drain(..) {
        persist_failed.write(PersistFailed {
            height: failure.height,
            round: failure.round,
            error: failure.error,
            dropped: failure.dropped,
        });
    }
    for message in effects.own.drain(..) {
        index.spawn(&mut commands, &message, true, true);
    }
    for error in effects.rejections.drain(..) {
        report(error, &mut health, &mut rejected, &mut misbehaviour);
    }
    for (to, envelope) in effects.outbound.drain(..) {
        match envelope.encode() {
            Ok(bytes) => outbox.0.push(OutboundPacket {
                to,
                bytes: bytes.into(),
            }),
            Err(error) => log::error!("could not encode an outbound message: {error}"),
        }
    }
}
