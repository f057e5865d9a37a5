//! Receive set: decode inbound packets with a size limit, drop repeats, spawn unverified
//! entities, queue messages for verification.

use std::collections::VecDeque;

use bevy::prelude::*;
use bitcraps_consensus::{Height, InputError, PeerId, Status, WireMessage};
use sha2::{Digest, Sha256};

use crate::config::BitCrapsConfig;
use crate::envelope::{Envelope, SignedStateHash};
use crate::error::RejectError;
use crate::index::EntityIndex;
use crate::messages::{ApplicationPacket, MessageRejected, Misbehaviour, MisbehaviourDetected};
use crate::node::ConsensusNode;
use crate::status::PeerHealth;
use crate::stranger::{stranger_status, StrangerLimit};
use crate::transport::{Destination, NetInbox};
use crate::verify::VerifiedInbox;

/// Frames between two status requests of a node that is too far behind to buffer the table's
/// messages.
const STATUS_REQUEST_FRAMES: u32 = 30;

/// A decoded message waiting for its signature check.
#[derive(Debug)]
pub(crate) enum Unverified {
    Consensus(WireMessage),
    StateHash(SignedStateHash),
}

/// One queued message.
#[derive(Debug)]
pub(crate) struct Queued {
    pub from: PeerId,
    pub message: Unverified,
    pub entity: Option<Entity>,
}

/// Messages decoded and waiting for verification, oldest first.
#[derive(Resource, Default, Debug)]
pub struct VerifyQueue(pub(crate) VecDeque<Queued>);

impl VerifyQueue {
    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reports a rejected input: a message, the peer's health counters, and a misbehaviour message
/// for inputs no honest peer sends.
pub(crate) fn report(
    error: RejectError,
    health: &mut PeerHealth,
    rejected: &mut MessageWriter<MessageRejected>,
    misbehaviour: &mut MessageWriter<MisbehaviourDetected>,
) {
    let peer = error.peer();
    let signals = health.of(peer);
    let misbehaving = match &error {
        RejectError::Decode { .. } => {
            signals.malformed += 1;
            true
        }
        RejectError::Verify { .. } | RejectError::BadAnnouncement { .. } => {
            signals.invalid += 1;
            true
        }
        RejectError::Refused { .. } => {
            signals.refused += 1;
            false
        }
        RejectError::Stranger { .. } => false,
    };
    if misbehaving {
        log::warn!("{error}");
        misbehaviour.write(MisbehaviourDetected {
            offender: peer,
            misbehaviour: Misbehaviour::InvalidInput(error.clone()),
        });
    } else {
        log::debug!("{error}");
    }
    rejected.write(MessageRejected(error));
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn receive_packets(
    mut inbox: ResMut<NetInbox>,
    config: Res<BitCrapsConfig>,
    mut node: ResMut<ConsensusNode>,
    mut queue: ResMut<VerifyQueue>,
    mut index: ResMut<EntityIndex>,
    mut health: ResMut<PeerHealth>,
    mut commands: Commands,
    mut rejected: MessageWriter<MessageRejected>,
    mut misbehaviour: MessageWriter<MisbehaviourDetected>,
    mut application: MessageWriter<ApplicationPacket>,
    mut verified_inbox: ResMut<VerifiedInbox>,
    mut frames_since_request: Local<u32>,
    mut strangers: Local<StrangerLimit>,
    time: Res<Time>,
) {
    let current = node.engine().height();
    let horizon = Height(current.0.saturating_add(config.limits.max_future_heights));
    let limit = config.max_message_bytes;
    let mut far_behind = false;
    let mut table_height = current;
    for packet in inbox.0.drain(..) {
        let from = packet.from;
        let stranger = !node.directory().contains(&from);
        if stranger && !strangers.admit(from, time.elapsed()) {
            // Over the strangers' budget: dropped unread (see `crate::stranger`).
            continue;
        }
        let envelope = match Envelope::decode(&packet.bytes, limit) {
            Ok(envelope) => envelope,
            Err(error) => {
                let error = if stranger {
                    // Junk from someone who holds no vote: say who, not what.
                    RejectError::Stranger { peer: from }
                } else {
                    RejectError::Decode { peer: from, error }
                };
                report(error, &mut health, &mut rejected, &mut misbehaviour);
                continue;
            }
        };
        if stranger {
            // Someone who holds no vote: a newcomer asking to sit down, or catching up first.
            match envelope {
                // Its join request (the pool keeps only join requests of players not seated).
                Envelope::Application(bytes) => {
                    application.write(ApplicationPacket { from, bytes });
                }
                // Its signed status, for catch-up: decided heights are public.
                Envelope::Consensus(WireMessage::Status(status)) => {
                    match stranger_status(&config.table, node.directory(), from, status) {
                        Some(verified) => verified_inbox.0.push_back((from, verified)),
                        None => report(
                            RejectError::Stranger { peer: from },
                            &mut health,
                            &mut rejected,
                            &mut misbehaviour,
                        ),
                    }
                }
                _ => report(
                    RejectError::Stranger { peer: from },
                    &mut health,
                    &mut rejected,
                    &mut misbehaviour,
                ),
            }
            continue;
        }
        match envelope {
            Envelope::Consensus(message) => {
                let height = message.height();
                if height > horizon {
                    far_behind = true;
                    table_height = table_height.max(height);
                    report(
                        RejectError::Refused {
                            peer: from,
                            error: InputError::HeightTooFarAhead { height, current },
                        },
                        &mut health,
                        &mut rejected,
                        &mut misbehaviour,
                    );
                    continue;
                }
                // Repeats of current and future messages change nothing in the engine: drop them
                // before they cost a signature check. Messages about decided heights and statuses
                // are kept, as their repeats drive catch-up.
                let current_or_future = height >= current
                    && matches!(message, WireMessage::Proposal(_) | WireMessage::Vote(_));
                if current_or_future {
                    let digest: [u8; 32] = Sha256::digest(&packet.bytes).into();
                    if !index.first_sight(height, digest) {
                        continue;
                    }
                }
                let entity = if current_or_future {
                    index.spawn(&mut commands, &message, false, false)
                } else {
                    None
                };
                queue.0.push_back(Queued {
                    from,
                    message: Unverified::Consensus(message),
                    entity,
                });
            }
            Envelope::StateHash(statement) => queue.0.push_back(Queued {
                from,
                message: Unverified::StateHash(statement),
                entity: None,
            }),
            Envelope::Application(bytes) => {
                application.write(ApplicationPacket { from, bytes });
            }
        }
    }
    // The table is beyond what this node can check or buffer (its engine never sees those
    // messages, so it would never ask): ask for the decided heights with a signed status, at
    // most once every STATUS_REQUEST_FRAMES frames.
    *frames_since_request = frames_since_request.saturating_add(1);
    if far_behind && *frames_since_request >= STATUS_REQUEST_FRAMES {
        *frames_since_request = 0;
        log::info!(
            "catching up: decided up to height {}, the table is at height {}",
            current.0.saturating_sub(1),
            table_height.0
        );
        let status = Status {
            table: config.table,
            height: current,
            signer: config.local_peer(),
        }
        .sign(&config.keypair);
        node.effects.outbound.push((
            Destination::Broadcast,
            Envelope::Consensus(WireMessage::Status(status)),
        ));
    }
    let excess = queue.0.len().saturating_sub(config.max_verify_queue);
    if excess > 0 {
        log::warn!("verification queue full: dropping the {excess} oldest messages");
        for dropped in queue.0.drain(..excess) {
            if let Some(entity) = dropped.entity {
                commands.entity(entity).try_despawn();
            }
        }
    }
}
