//! Verify set: signature checks within the per-frame budget, through a [`SignatureCache`].
//!
//! The messages a frame's budget admits are verified together with one batch equation
//! ([`BatchVerifier`]; a failing batch is bisected down to one-by-one strict checks, so a forged
//! message never gets an honest one rejected) and their results handled in arrival order. Only
//! live messages on their way into the engine are batch-verified: see
//! [`bitcraps_consensus::batch`] for how the batch equation differs from `verify_strict` and
//! why that is safe here. Evidence, and every signature inside an applied block, is checked
//! strictly by the consensus engine and the game.

use std::collections::VecDeque;

use bevy::prelude::*;
use bitcraps_consensus::{
    BatchOutcome, BatchVerifier, Decision, Height, ParticipantSet, PeerId, Round, SignatureCache,
    TableId, ValueId, VerifiedMessage, VerifyError, WireMessage,
};

use crate::components::{Proposal, Vote};
use crate::config::BitCrapsConfig;
use crate::envelope::SignedStateHash;
use crate::error::RejectError;
use crate::index::EntityIndex;
use crate::messages::{MessageRejected, MisbehaviourDetected};
use crate::node::ConsensusNode;
use crate::receive::{report, Queued, Unverified, VerifyQueue};
use crate::status::PeerHealth;

/// Verified consensus messages waiting for the engine, with their senders.
#[derive(Resource, Default, Debug)]
pub struct VerifiedInbox(pub(crate) VecDeque<(PeerId, VerifiedMessage)>);

/// Catch-up decisions of heights whose validator set this node does not know yet, with their
/// senders: the engine checks each strictly against its own height's set once the heights
/// before it are applied. (Decisions of heights whose set is known are checked here, strictly,
/// against that set.)
#[derive(Resource, Default, Debug)]
pub struct UnverifiedDecisions(pub(crate) VecDeque<(PeerId, Decision)>);

/// Catch-up decisions queued at most (beyond it the oldest are dropped; peers send them again).
const MAX_QUEUED_DECISIONS: usize = 256;

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

/// How the verify set checks signatures. Without this resource: [`SignatureChecks::Batched`].
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureChecks {
    /// The frame's messages are verified together with batch equations (the default).
    #[default]
    Batched,
    /// Every message is verified on its own with `verify_strict` (for comparison and
    /// debugging; slower).
    OneByOne,
}

/// Signature checks a message costs.
fn cost(message: &Unverified) -> usize {
    match message {
        Unverified::Consensus(WireMessage::Decision(d)) => d.certificate.precommits.len().max(1),
        Unverified::Consensus(_) | Unverified::StateHash(_) => 1,
    }
}

/// An admitted message, with its result once checked.
#[derive(Debug, PartialEq)]
enum Checked {
    /// A consensus message, with the coordinates of a proposal entity to forget if it failed.
    Consensus {
        from: PeerId,
        entity: Option<Entity>,
        header: Option<(Height, Round, ValueId)>,
        result: Result<VerifiedMessage, VerifyError>,
    },
    /// A state-hash announcement.
    StateHash {
        from: PeerId,
        statement: SignedStateHash,
        ok: bool,
    },
}

fn proposal_header(message: &WireMessage) -> Option<(Height, Round, ValueId)> {
    match message {
        WireMessage::Proposal(p) => {
            let h = p.header();
            Some((h.height, h.round, h.value_id))
        }
        _ => None,
    }
}

/// Verifies the admitted messages one by one with `verify_strict` (through the cache).
fn check_one_by_one(
    table: &TableId,
    keys: &ParticipantSet,
    cache: &mut SignatureCache,
    admitted: Vec<Queued>,
) -> Vec<Checked> {
    admitted
        .into_iter()
        .map(
            |Queued {
                 from,
                 message,
                 entity,
             }| match message {
                Unverified::Consensus(message) => Checked::Consensus {
                    from,
                    entity,
                    header: proposal_header(&message),
                    result: message.verify_cached(table, keys, Some(cache)),
                },
                Unverified::StateHash(statement) => Checked::StateHash {
                    from,
                    ok: statement.verify(table, keys),
                    statement,
                },
            },
        )
        .collect()
}

/// Verifies the admitted messages together in one [`BatchVerifier`]; results in order, the
/// same as [`check_one_by_one`]'s (see [`bitcraps_consensus::batch`] for the one residual
/// difference, which only a Byzantine signer can cause, on its own messages).
fn check_batched(
    table: &TableId,
    keys: &ParticipantSet,
    cache: &mut SignatureCache,
    admitted: Vec<Queued>,
) -> Vec<Checked> {
    let mut batch = BatchVerifier::new(*table, keys);
    let mut checked = Vec::with_capacity(admitted.len());
    // Which results come from the batch: state hashes for another table fail before it.
    let mut from_batch = Vec::with_capacity(admitted.len());
    for Queued {
        from,
        message,
        entity,
    } in admitted
    {
        match message {
            Unverified::Consensus(message) => {
                let header = proposal_header(&message);
                batch.push_message(message);
                from_batch.push(true);
                checked.push(Checked::Consensus {
                    from,
                    entity,
                    header,
                    // Replaced by the batch's outcome below.
                    result: Err(VerifyError::BadSignature(from)),
                });
            }
            Unverified::StateHash(statement) => {
                // As `SignedStateHash::verify`: the table, then membership and signature.
                let same_table = statement.table == *table;
                if same_table {
                    batch.push_statement(
                        statement.signer,
                        statement.signing_bytes(),
                        statement.signature,
                    );
                }
                from_batch.push(same_table);
                checked.push(Checked::StateHash {
                    from,
                    statement,
                    ok: false,
                });
            }
        }
    }
    let mut outcomes = batch.verify(Some(cache)).into_iter();
    for (item, _) in checked.iter_mut().zip(from_batch).filter(|(_, b)| *b) {
        match (item, outcomes.next()) {
            (Checked::Consensus { result, .. }, Some(BatchOutcome::Message(outcome))) => {
                *result = outcome;
            }
            (Checked::StateHash { ok, .. }, Some(BatchOutcome::Statement(outcome))) => {
                *ok = outcome.is_ok();
            }
            // Not reached: the batch returns one outcome per item, in order, of its kind. A
            // mismatch would leave the item failed.
            _ => {}
        }
    }
    checked
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_messages(
    config: Res<BitCrapsConfig>,
    node: Res<ConsensusNode>,
    mut decisions: ResMut<UnverifiedDecisions>,
    mode: Option<Res<SignatureChecks>>,
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
    let mut admitted = Vec::new();
    let mut decided = Vec::new();
    while let Some(front) = queue.0.front() {
        let c = cost(&front.message);
        if used > 0 && used + c > budget {
            break;
        }
        let Some(queued) = queue.0.pop_front() else {
            break;
        };
        if let Queued {
            from,
            message: Unverified::Consensus(WireMessage::Decision(decision)),
            ..
        } = queued
        {
            used += c;
            match node.engine().participants_at(decision.height()) {
                // Its height's set is known: checked here, strictly, against that set.
                Some(set) => decided.push(Checked::Consensus {
                    from,
                    entity: None,
                    header: None,
                    result: WireMessage::Decision(decision).verify_cached(
                        &config.table,
                        set,
                        Some(&mut cache.0),
                    ),
                }),
                // Not yet: the engine checks it once the heights before it are applied.
                None => {
                    decisions.0.push_back((from, decision));
                    while decisions.0.len() > MAX_QUEUED_DECISIONS {
                        decisions.0.pop_front();
                    }
                }
            }
            continue;
        }
        used += c;
        admitted.push(queued);
    }
    // Signatures are checked against every key of the validator sets the engine knows (this
    // height's and the next); the engine then counts a message only for its own height's set.
    let keys = node.directory().clone();
    let mut checked = match mode.map_or(SignatureChecks::Batched, |m| *m) {
        SignatureChecks::Batched => check_batched(&config.table, &keys, &mut cache.0, admitted),
        SignatureChecks::OneByOne => check_one_by_one(&config.table, &keys, &mut cache.0, admitted),
    };
    checked.extend(decided);
    for item in checked {
        match item {
            Checked::Consensus {
                from,
                entity,
                result: Ok(verified),
                ..
            } => {
                if let Some(entity) = entity {
                    if let Ok(mut vote) = votes.get_mut(entity) {
                        vote.verified = true;
                    } else if let Ok(mut proposal) = proposals.get_mut(entity) {
                        proposal.verified = true;
                    }
                }
                inbox.0.push_back((from, verified));
            }
            Checked::Consensus {
                from,
                entity,
                header,
                result: Err(error),
            } => {
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
            Checked::StateHash {
                from,
                statement,
                ok: true,
            } => announcements.0.push((from, statement)),
            Checked::StateHash {
                from, ok: false, ..
            } => report(
                RejectError::BadAnnouncement { peer: from },
                &mut health,
                &mut rejected,
                &mut misbehaviour,
            ),
        }
    }
    stats.last_frame = used;
    stats.deferred = queue.0.len();
    stats.total += used as u64;
}

#[cfg(test)]
mod tests {
    use bitcraps_consensus::{
        Keypair, SignedProposal, SignedVote, TableId, Value, Vote as WireVote, VoteKind,
    };

    use super::*;

    fn queued(from: PeerId, message: Unverified) -> Queued {
        Queued {
            from,
            message,
            entity: None,
        }
    }

    #[test]
    fn batched_checks_give_the_one_by_one_results_in_order() {
        let keys: Vec<Keypair> = (1..=5u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let table = TableId::from_name("verify-set");
        let config = BitCrapsConfig::new(table, keys[0].clone(), keys.iter().map(Keypair::peer_id))
            .expect("config");
        let vote = |key: &Keypair, value: u8| WireVote {
            table,
            height: Height(2),
            round: Round(0),
            kind: VoteKind::Prevote,
            value: Some(Value::new(vec![value]).id()),
            signer: key.peer_id(),
        };
        let admitted = || {
            let mut out = Vec::new();
            for key in &keys {
                let v = vote(key, 1).sign(key);
                out.push(queued(
                    key.peer_id(),
                    Unverified::Consensus(WireMessage::Vote(v)),
                ));
            }
            // Key 1 forges a vote of key 2.
            let claimed = vote(&keys[2], 2);
            let forged = SignedVote {
                signature: keys[1].sign(&claimed.signing_bytes()),
                vote: claimed,
            };
            out.insert(
                2,
                queued(
                    keys[1].peer_id(),
                    Unverified::Consensus(WireMessage::Vote(forged)),
                ),
            );
            let mut proposal = SignedProposal::sign(
                &keys[3],
                table,
                Height(2),
                Round(0),
                Value::new(vec![1]),
                None,
            );
            out.push(queued(
                keys[3].peer_id(),
                Unverified::Consensus(WireMessage::Proposal(proposal.clone())),
            ));
            proposal.value = Value::new(vec![9]);
            out.push(queued(
                keys[3].peer_id(),
                Unverified::Consensus(WireMessage::Proposal(proposal)),
            ));
            let good = SignedStateHash::sign(&keys[4], table, Height(1), [7; 32]);
            out.push(queued(
                keys[4].peer_id(),
                Unverified::StateHash(good.clone()),
            ));
            let mut bad = good.clone();
            bad.hash = [8; 32];
            out.push(queued(keys[4].peer_id(), Unverified::StateHash(bad)));
            let elsewhere = SignedStateHash::sign(
                &keys[4],
                TableId::from_name("elsewhere"),
                Height(1),
                [7; 32],
            );
            out.push(queued(keys[4].peer_id(), Unverified::StateHash(elsewhere)));
            let outsider = Keypair::from_seed([99; 32]);
            let stranger = SignedStateHash::sign(&outsider, table, Height(1), [7; 32]);
            out.push(queued(keys[4].peer_id(), Unverified::StateHash(stranger)));
            out
        };
        let batched = check_batched(
            &config.table,
            &config.participants,
            &mut SignatureCache::default(),
            admitted(),
        );
        let one_by_one = check_one_by_one(
            &config.table,
            &config.participants,
            &mut SignatureCache::default(),
            admitted(),
        );
        assert_eq!(batched, one_by_one);
        let summary: Vec<bool> = batched
            .iter()
            .map(|c| match c {
                Checked::Consensus { result, .. } => result.is_ok(),
                Checked::StateHash { ok, .. } => *ok,
            })
            .collect();
        let mut expected = vec![true; 6];
        expected[2] = false;
        expected.extend([true, false, true, false, false, false]);
        assert_eq!(summary, expected);
        assert!(matches!(
            &batched[2],
            Checked::Consensus { from, result: Err(VerifyError::BadSignature(signer)), .. }
                if *from == keys[1].peer_id() && *signer == keys[2].peer_id()
        ));
        assert!(check_batched(
            &config.table,
            &config.participants,
            &mut SignatureCache::default(),
            Vec::new(),
        )
        .is_empty());
    }
}
