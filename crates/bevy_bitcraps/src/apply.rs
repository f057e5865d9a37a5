//! Apply set: hand evidence to the application, apply decided values, start the next height,
//! announce the state hash and compare it with the peers' announcements (desync detection).

use std::collections::{BTreeMap, BTreeSet};

use bevy::prelude::*;
use bitcraps_consensus::{Height, PeerId};

use crate::application::TableApp;
use crate::components::{DecidedHeight, DecidedProposal};
use crate::config::BitCrapsConfig;
use crate::consensus::GossipFired;
use crate::envelope::{Envelope, SignedStateHash, StateHash};
use crate::index::EntityIndex;
use crate::messages::{DesyncDetected, HeightDecided, Misbehaviour, MisbehaviourDetected};
use crate::node::ConsensusNode;
use crate::status::{ConsensusStatus, PeerHealth, TableView};
use crate::transport::Destination;

/// State hashes of recent heights, local and announced (for desync detection).
#[derive(Resource, Debug, Default)]
pub struct StateHashBook {
    local: BTreeMap<Height, StateHash>,
    /// The latest announcement of each peer for a height not applied here yet.
    pending: BTreeMap<PeerId, SignedStateHash>,
    reported: BTreeSet<(PeerId, Height)>,
    punished: BTreeSet<(PeerId, Height, bitcraps_consensus::Round, &'static str)>,
}

/// Local state hashes remembered.
const HASH_MEMORY: usize = 256;

impl StateHashBook {
    /// The local state hash recorded after `height`.
    pub fn local(&self, height: Height) -> Option<StateHash> {
        self.local.get(&height).copied()
    }

    fn record(&mut self, height: Height, hash: StateHash) {
        self.local.insert(height, hash);
        while self.local.len() > HASH_MEMORY {
            self.local.pop_first();
        }
        if self.reported.len() > 4 * HASH_MEMORY {
            self.reported.clear();
        }
    }
}

pub(crate) fn handle_evidence(
    mut node: ResMut<ConsensusNode>,
    mut app: ResMut<TableApp>,
    mut book: ResMut<StateHashBook>,
    mut health: ResMut<PeerHealth>,
    mut misbehaviour: MessageWriter<MisbehaviourDetected>,
) {
    for evidence in std::mem::take(&mut node.effects.evidence) {
        let offender = evidence.offender();
        let key = (
            offender,
            evidence.height(),
            evidence.round(),
            evidence.kind_name(),
        );
        if !book.punished.insert(key) {
            continue;
        }
        log::warn!(
            "{} by {offender} at {}/{}",
            evidence.kind_name(),
            evidence.height(),
            evidence.round()
        );
        health.of(offender).evidence += 1;
        app.0.on_evidence(&evidence);
        misbehaviour.write(MisbehaviourDetected {
            offender,
            misbehaviour: Misbehaviour::Equivocation(Box::new(evidence)),
        });
    }
    if book.punished.len() > 4 * HASH_MEMORY {
        book.punished.clear();
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_decisions(
    time: Res<Time>,
    config: Res<BitCrapsConfig>,
    mut node: ResMut<ConsensusNode>,
    mut app: ResMut<TableApp>,
    mut view: ResMut<TableView>,
    mut status: ResMut<ConsensusStatus>,
    mut book: ResMut<StateHashBook>,
    mut health: ResMut<PeerHealth>,
    mut index: ResMut<EntityIndex>,
    mut commands: Commands,
    mut decided: MessageWriter<HeightDecided>,
    mut desync: MessageWriter<DesyncDetected>,
) {
    let now = time.elapsed();
    let me = config.local_peer();
    while let Some(decision) = node.pop_decided() {
        let height = decision.height;
        let hash = match app.0.apply(height, &decision.value, &decision.certificate) {
            Ok(hash) => hash,
            Err(error) => {
                log::error!("{error}");
                let local = app.0.state_hash();
                desync.write(DesyncDetected {
                    height,
                    peer: me,
                    local,
                    remote: None,
                });
                local
            }
        };
        book.record(height, hash);
        let voters = node
            .engine()
            .participants_at(height)
            .cloned()
            .unwrap_or_else(|| config.participants.clone());
        for peer in voters.ids() {
            if !decision.certificate.signers().any(|s| s == *peer) {
                health.of(*peer).missed_precommits += 1;
            }
        }
        *view = TableView {
            height,
            state_hash: hash,
            snapshot: app.0.snapshot(),
        };
        status.last_decided = Some(height);
        status.last_decision_latency = Some(decision.latency);
        status.decided_count += 1;
        log::debug!(
            "decided height {} in round {}: signed by {} of {} players, {} ms after the height began",
            height.0,
            decision.round.0,
            decision.certificate.signers().count(),
            voters.len(),
            decision.latency.as_millis()
        );
        if let Some(proposal) = index.proposal(height, decision.round, decision.value.id()) {
            commands.entity(proposal).try_insert(DecidedProposal);
        }
        let marker = commands
            .spawn(DecidedHeight {
                height,
                round: decision.round,
                value_id: decision.value.id(),
                signers: decision.certificate.signers().collect(),
                state_hash: hash,
                latency: decision.latency,
            })
            .id();
        index.decided_markers.push_back(marker);
        node.effects.outbound.push((
            Destination::Broadcast,
            Envelope::StateHash(SignedStateHash::sign(
                &config.keypair,
                config.table,
                height,
                hash,
            )),
        ));
        decided.write(HeightDecided {
            height,
            round: decision.round,
            value: decision.value,
            certificate: decision.certificate,
            state_hash: hash,
            latency: decision.latency,
        });
        node.start_height(height.next(), &*app.0, now);
    }
    for (height, peer) in std::mem::take(&mut node.effects.invalid_decisions) {
        if book.reported.insert((peer, height)) {
            let local = app.0.state_hash();
            log::error!(
                "desync: a certified decision for {height} relayed by {peer} is invalid here"
            );
            health.of(peer).desyncs += 1;
            desync.write(DesyncDetected {
                height,
                peer,
                local,
                remote: None,
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn compare_state_hashes(
    config: Res<BitCrapsConfig>,
    view: Res<TableView>,
    app: Res<TableApp>,
    gossip: Res<GossipFired>,
    mut node: ResMut<ConsensusNode>,
    mut announcements: ResMut<crate::verify::VerifiedAnnouncements>,
    mut book: ResMut<StateHashBook>,
    mut health: ResMut<PeerHealth>,
    mut desync: MessageWriter<DesyncDetected>,
) {
    let applied = view.height;
    if applied == Height(0) && book.local(applied).is_none() {
        // The genesis state, so that a peer that announces another genesis is reported.
        book.record(applied, app.0.state_hash());
    }
    // Re-announce the current state on gossip ticks, so that a peer that missed the first
    // announcement — or a node whose state was damaged since, or one that started from another
    // genesis and cannot apply anything — is compared again.
    if gossip.0 {
        node.effects.outbound.push((
            Destination::Broadcast,
            Envelope::StateHash(SignedStateHash::sign(
                &config.keypair,
                config.table,
                applied,
                app.0.state_hash(),
            )),
        ));
    }
    let mut incoming: Vec<SignedStateHash> = announcements.0.drain(..).map(|(_, s)| s).collect();
    // Announcements that waited for this node to reach their height.
    let ready: Vec<PeerId> = book
        .pending
        .iter()
        .filter(|(_, s)| s.height <= applied)
        .map(|(p, _)| *p)
        .collect();
    for peer in ready {
        if let Some(s) = book.pending.remove(&peer) {
            incoming.push(s);
        }
    }
    for statement in incoming {
        let (peer, height) = (statement.signer, statement.height);
        if peer == config.local_peer() {
            continue;
        }
        let local = if height == applied {
            Some(app.0.state_hash())
        } else {
            book.local(height)
        };
        match local {
            Some(local) if local != statement.hash && book.reported.insert((peer, height)) => {
                log::error!(
                    "desync at {height}: local state {} but {peer} has {}",
                    bitcraps_consensus::short_hex(&local),
                    bitcraps_consensus::short_hex(&statement.hash)
                );
                health.of(peer).desyncs += 1;
                desync.write(DesyncDetected {
                    height,
                    peer,
                    local,
                    remote: Some(statement.hash),
                });
            }
            Some(_) => {}
            None if height > applied => {
                book.pending.insert(peer, statement);
            }
            None => {}
        }
    }
}
