//! Bookkeeping between consensus messages and their entities: spawning, linking votes to
//! proposals, de-duplicating repeats, and pruning by height.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use bevy::prelude::*;
use bitcraps_consensus::{Height, Round, ValueId, WireMessage};

use crate::components::{Proposal, Vote, VoteFor};

type ProposalKey = (Height, Round, ValueId);

/// Maps consensus objects to their entities (internal to the plugin, public for diagnostics).
#[derive(Resource, Default, Debug)]
pub struct EntityIndex {
    /// Digests of received message bytes per height, to drop gossip repeats before they cost a
    /// signature check.
    seen: BTreeMap<Height, HashSet<[u8; 32]>>,
    proposals: HashMap<ProposalKey, Entity>,
    orphans: HashMap<ProposalKey, Vec<Entity>>,
    by_height: BTreeMap<Height, Vec<Entity>>,
    /// Decided-height marker entities, oldest first.
    pub(crate) decided_markers: VecDeque<Entity>,
}

impl EntityIndex {
    /// Records the digest of a message at `height`; false if it was already seen.
    pub(crate) fn first_sight(&mut self, height: Height, digest: [u8; 32]) -> bool {
        self.seen.entry(height).or_default().insert(digest)
    }

    /// Entities currently tracked (proposals and votes).
    pub fn tracked(&self) -> usize {
        self.by_height.values().map(Vec::len).sum()
    }

    /// The entity of a proposal, if tracked.
    pub fn proposal(&self, height: Height, round: Round, value: ValueId) -> Option<Entity> {
        self.proposals.get(&(height, round, value)).copied()
    }

    /// Spawns the entity of a proposal or vote (other messages have none).
    pub(crate) fn spawn(
        &mut self,
        commands: &mut Commands,
        message: &WireMessage,
        verified: bool,
        local: bool,
    ) -> Option<Entity> {
        let entity = match message {
            WireMessage::Proposal(p) => {
                let h = p.header();
                let key = (h.height, h.round, h.value_id);
                if self.proposals.contains_key(&key) {
                    // A second copy of one proposal (e.g. ours echoed back): one entity is enough.
                    return None;
                }
                let entity = commands
                    .spawn(Proposal {
                        height: h.height,
                        round: h.round,
                        proposer: h.proposer,
                        value_id: h.value_id,
                        valid_round: h.valid_round,
                        value_len: p.value.bytes().len(),
                        verified,
                        local,
                    })
                    .id();
                self.proposals.insert(key, entity);
                for vote in self.orphans.remove(&key).unwrap_or_default() {
                    commands.entity(vote).try_insert(VoteFor(entity));
                }
                entity
            }
            WireMessage::Vote(v) => {
                let vote = &v.vote;
                let mut spawned = commands.spawn(Vote {
                    signer: vote.signer,
                    height: vote.height,
                    round: vote.round,
                    kind: vote.kind,
                    value: vote.value,
                    verified,
                    local,
                });
                if let Some(value) = vote.value {
                    let key = (vote.height, vote.round, value);
                    match self.proposals.get(&key) {
                        Some(proposal) => {
                            spawned.insert(VoteFor(*proposal));
                        }
                        None => self.orphans.entry(key).or_default().push(spawned.id()),
                    }
                }
                spawned.id()
            }
            WireMessage::Decision(_) | WireMessage::Status(_) => return None,
        };
        self.by_height
            .entry(message.height())
            .or_default()
            .push(entity);
        Some(entity)
    }

    /// Forgets a proposal entity that failed verification (votes stop linking to it).
    pub(crate) fn forget_proposal(
        &mut self,
        height: Height,
        round: Round,
        value: ValueId,
        entity: Entity,
    ) {
        if self.proposals.get(&(height, round, value)) == Some(&entity) {
            self.proposals.remove(&(height, round, value));
        }
    }

    /// Despawns every entity of heights below `keep_from`; returns how many were despawned.
    pub(crate) fn prune_below(&mut self, commands: &mut Commands, keep_from: Height) -> usize {
        let mut despawned = 0;
        let newer = self.by_height.split_off(&keep_from);
        for (_, entities) in std::mem::replace(&mut self.by_height, newer) {
            for entity in entities {
                commands.entity(entity).try_despawn();
                despawned += 1;
            }
        }
        self.seen = self.seen.split_off(&keep_from);
        self.proposals.retain(|(h, _, _), _| *h >= keep_from);
        self.orphans.retain(|(h, _, _), _| *h >= keep_from);
        despawned
    }
}
