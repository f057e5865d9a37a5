//! Verify set: signature checks within the per-frame budget, through a [`SignatureCache`].

use std::collections::VecDeque;

use bevy::prelude::*;
use bitcraps_consensus::{PeerId, SignatureCache, VerifiedMessage, WireMessage};

use crate::components::{Proposal, Vote};
use crate::config::BitCrapsConfig;
use crate::envelope::SignedStateHash;
use crate::error::RejectError;
use crate::index::EntityIndex;
use crate::messages::{MessageRejected, MisbehaviourDetected};
use crate::receive::{report, Queued, Unverified, VerifyQueue};
use crate::status::PeerHealth;

/// Verified consensus messages waiting for the engine, with their senders.
#[derive(Resource, Default, Debug)]
pub struct VerifiedInbox(pub(crate) VecDeque<(PeerId, VerifiedMessage)>);

/// Verified state-hash announcements waiting for the apply set.
#[derive(Resource, Default, Debug)]
pub struct VerifiedAnnouncements(pub(crate) Vec<(PeerId, SignedStateHash)>);

/// The signature cache shared by every check of this App (precommits reappear inside
/// certificates).
#[derive(Resource, Default, Debug)]
pub struct SignatureCacheResource(pub SignatureCache);

/// Counters of the verify set, for diagnostics and benchmarks.
#[derive(Resource, Default, Debug, Clone, PartialEq, Eq)]
pub struct VerifyStats {
    /// Signatures checked (or answered by the cache) in the last frame.
    pub last_frame: usize,
    /// Messages left queued for the next frame at the end of the last frame.
    pub deferred: usize,
    /// Signatures checked since the App started.
    pub total: u64,
}

/// Signature checks a message costs.
fn cost(message: &Unverified) -> usize {
    match message {
        Unverified::Consensus(WireMessage::Decision(d)) => d.certificate.precommits.len().max(1),
        Unverified::Consensus(_) | Unverified::StateHash(_) => 1,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_messages(
    config: Res<BitCrapsConfig>,
    mut queue: ResMut<VerifyQueue>,
    mut cache: ResMut<SignatureCacheResource>,
    mut inbox: ResMut<VerifiedInbox>,
    mut announcements: ResMut<VerifiedAnnouncements>,
    mut stats: ResMut<VerifyStats>,
    mut health: ResMut<PeerHealth>,
    mut index: ResMut<EntityIndex>,
    mut votes: Query<&mut Vote>,
    mut proposals: Query<&mut Proposal>,
    mut commands: Commands,
    mut rejected: MessageWriter<MessageRejected>,
    mut misbehaviour: MessageWriter<MisbehaviourDetected>,
) {
    let budget = config.signature_budget_per_frame;
    let mut used = 0;
    while let Some(front) = queue.0.front() {
        let c = cost(&front.message);
        if used > 0 && used + c > budget {
            break;
        }
        let Some(Queued {
            from,
            message,
            entity,
        }) = queue.0.pop_front()
        else {
            break;
        };
        used += c;
        match message {
            Unverified::Consensus(message) => {
                let header = match &message {
                    WireMessage::Proposal(p) => {
                        let h = p.header();
                        Some((h.height, h.round, h.value_id))
                    }
                    _ => None,
                };
                match message.verify_cached(&config.table, &config.participants, Some(&mut cache.0))
                {
                    Ok(verified) => {
                        if let Some(entity) = entity {
                            if let Ok(mut vote) = votes.get_mut(entity) {
                                vote.verified = true;
                            } else if let Ok(mut proposal) = proposals.get_mut(entity) {
                                proposal.verified = true;
                            }
                        }
                        inbox.0.push_back((from, verified));
                    }
                    Err(error) => {
                        if let Some(entity) = entity {
                            if let Some((h, r, v)) = header {
                                index.forget_proposal(h, r, v, entity);
                            }
                            commands.entity(entity).try_despawn();
                        }
                        report(
                            RejectError::Verify { peer: from, error },
                            &mut health,
                            &mut rejected,
                            &mut misbehaviour,
                        );
                    }
                }
            }
            Unverified::StateHash(statement) => {
                if statement.verify(&config.table, &config.participants) {
                    announcements.0.push((from, statement));
                } else {
                    report(
                        RejectError::BadAnnouncement { peer: from },
                        &mut health,
                        &mut rejected,
                        &mut misbehaviour,
                    );
                }
            }
        }
    }
    stats.last_frame = used;
    stats.deferred = queue.0.len();
    stats.total += used as u64;
}
