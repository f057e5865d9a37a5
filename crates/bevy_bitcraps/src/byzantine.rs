//! Byzantine bots: an App that plays with the honest engine but bends what it sends, with the
//! behaviours of [`bitcraps_byzantine`] (equivocate, double vote, forge, replay, garbage,
//! silence, lock breaking). For demos and tests of the honest players' defences; only built
//! with the `cheats` feature.
//!
//! The honest systems know nothing of it: [`ByzantinePlugin`] adds its own systems around
//! them, one that reads what arrived (a replayer remembers it) before the plugin's receive
//! system, and one that rewrites [`NetOutbox`] after the plugin's send system, before the
//! transport flushes it.

use std::collections::VecDeque;
use std::sync::Arc;

use bevy::prelude::*;
use bitcraps_byzantine::behaviours;
pub use bitcraps_byzantine::ByzantineKind;
use bitcraps_consensus::{Keypair, TableId, Value, WireMessage};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::config::BitCrapsConfig;
use crate::envelope::Envelope;
use crate::node::ConsensusNode;
use crate::sets::BitCrapsSystems;
use crate::transport::{Destination, NetInbox, NetOutbox, OutboundPacket, TransportSystems};

/// Inbound packets a replayer remembers.
const REPLAY_MEMORY: usize = 64;
/// Frames between two bursts of noise (garbage, replays).
const NOISE_EVERY_FRAMES: u64 = 8;

/// Makes this App's player Byzantine. Add it after [`crate::BitCrapsPlugin`].
#[derive(Clone, Copy, Debug)]
pub struct ByzantinePlugin {
    /// The behaviour.
    pub kind: ByzantineKind,
    /// Seed of the bot's randomness (which peers get which equivocation, the junk bytes...).
    pub seed: u64,
}

impl Plugin for ByzantinePlugin {
    fn build(&self, app: &mut App) {
        let Some(config) = app.world().get_resource::<BitCrapsConfig>().cloned() else {
            log::error!("ByzantinePlugin needs BitCrapsPlugin to be added first");
            return;
        };
        if self.kind == ByzantineKind::LockBreaker {
            app.insert_resource(ConsensusNode::with_lock_ignored(&config));
        }
        app.insert_resource(ByzantineBot::new(
            self.kind,
            self.seed,
            config.keypair.clone(),
        ))
        .add_systems(
            Update,
            (
                record_inbound
                    .in_set(BitCrapsSystems::Receive)
                    .after(TransportSystems::Poll)
                    .before(crate::receive::receive_packets),
                bend_outbound
                    .in_set(BitCrapsSystems::Send)
                    .after(crate::send::send_effects)
                    .before(TransportSystems::Flush),
            ),
        );
    }
}

/// A replayer remembers what the table's players sent it (not strangers' packets).
fn record_inbound(inbox: Res<NetInbox>, node: Res<ConsensusNode>, mut bot: ResMut<ByzantineBot>) {
    for packet in &inbox.0 {
        if node.directory().contains(&packet.from) {
            bot.record(&packet.bytes);
        }
    }
}

/// Replaces what the honest send system put in the outbox with what the bot sends instead.
fn bend_outbound(
    config: Res<BitCrapsConfig>,
    mut outbox: ResMut<NetOutbox>,
    mut bot: ResMut<ByzantineBot>,
) {
    let honest = std::mem::take(&mut outbox.0);
    for packet in honest {
        match Envelope::decode(&packet.bytes, config.max_message_bytes) {
            Ok(envelope) => bot.send(&config, packet.to, &envelope, &mut outbox.0),
            // Not an envelope (cannot happen: the honest system encodes them): sent as it is.
            Err(_) => outbox.0.push(packet),
        }
    }
    bot.noise(&mut outbox.0);
}

/// The state of a Byzantine bot (see [`ByzantinePlugin`]).
#[derive(Resource)]
pub struct ByzantineBot {
    kind: ByzantineKind,
    rng: ChaCha20Rng,
    key: Keypair,
    other_table: TableId,
    recorded: VecDeque<Arc<[u8]>>,
    frames: u64,
}

impl std::fmt::Debug for ByzantineBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByzantineBot")
            .field("kind", &self.kind)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ByzantineBot {
    /// A bot of `kind` signing with `key`.
    pub fn new(kind: ByzantineKind, seed: u64, key: Keypair) -> ByzantineBot {
        ByzantineBot {
            kind,
            rng: ChaCha20Rng::seed_from_u64(seed),
            other_table: TableId::from_name(&format!("elsewhere-{seed}")),
            key,
            recorded: VecDeque::new(),
            frames: 0,
        }
    }

    /// The behaviour.
    pub fn kind(&self) -> ByzantineKind {
        self.kind
    }

    /// Remembers an inbound packet (replayers re-send them later).
    pub(crate) fn record(&mut self, bytes: &Arc<[u8]>) {
        if self.kind == ByzantineKind::Replayer {
            self.recorded.push_back(bytes.clone());
            if self.recorded.len() > REPLAY_MEMORY {
                self.recorded.pop_front();
            }
        }
    }

    fn push(out: &mut Vec<OutboundPacket>, to: Destination, envelope: &Envelope) {
        if let Ok(bytes) = envelope.encode() {
            out.push(OutboundPacket {
                to,
                bytes: bytes.into(),
            });
        }
    }

    /// Sends `a` to a random half of the other participants and `b` to the rest.
    fn split(
        &mut self,
        config: &BitCrapsConfig,
        a: Envelope,
        b: Envelope,
        out: &mut Vec<OutboundPacket>,
    ) {
        let me = self.key.peer_id();
        let (Ok(a), Ok(b)) = (a.encode(), b.encode()) else {
            return;
        };
        let (a, b): (Arc<[u8]>, Arc<[u8]>) = (a.into(), b.into());
        for peer in config.participants.ids().iter().filter(|p| **p != me) {
            let bytes = if self.rng.next_u32().is_multiple_of(2) {
                &a
            } else {
                &b
            };
            out.push(OutboundPacket {
                to: Destination::Peer(*peer),
                bytes: bytes.clone(),
            });
        }
    }

    /// Bends one outbound envelope into what this bot sends instead.
    pub(crate) fn send(
        &mut self,
        config: &BitCrapsConfig,
        to: Destination,
        envelope: &Envelope,
        out: &mut Vec<OutboundPacket>,
    ) {
        let me = self.key.peer_id();
        let Envelope::Consensus(message) = envelope else {
            if self.kind != ByzantineKind::Silent {
                Self::push(out, to, envelope);
            }
            return;
        };
        let own = message.author() == Some(me);
        match (self.kind, message) {
            (ByzantineKind::Silent, _) => {}
            (ByzantineKind::EquivocatingProposer, WireMessage::Proposal(p)) if own => {
                let mut junk = vec![0u8; 64];
                self.rng.fill_bytes(&mut junk);
                let other = behaviours::equivocating_proposal(&self.key, p, Value::new(junk));
                self.split(
                    config,
                    envelope.clone(),
                    Envelope::Consensus(WireMessage::Proposal(other)),
                    out,
                );
            }
            (ByzantineKind::DoubleVoter, WireMessage::Vote(v)) if own => {
                let other = behaviours::conflicting_vote(&self.key, v, &mut self.rng);
                self.split(
                    config,
                    envelope.clone(),
                    Envelope::Consensus(WireMessage::Vote(other)),
                    out,
                );
            }
            (ByzantineKind::Forger, WireMessage::Vote(v)) => {
                let ids = config.participants.ids();
                let victim = ids[(self.rng.next_u32() as usize) % ids.len()];
                for forged in behaviours::forged_votes(&self.key, v, victim) {
                    Self::push(out, to, &Envelope::Consensus(forged));
                }
            }
            (ByzantineKind::Forger, _) => {}
            (ByzantineKind::Replayer, WireMessage::Vote(v)) => {
                Self::push(out, to, envelope);
                let replay = behaviours::cross_table_vote(&self.key, v, self.other_table);
                Self::push(out, to, &Envelope::Consensus(WireMessage::Vote(replay)));
            }
            (ByzantineKind::Garbage, _) => {
                let genuine = envelope.encode().ok();
                for junk in behaviours::garbage(&mut self.rng, genuine.as_deref()) {
                    out.push(OutboundPacket {
                        to,
                        bytes: junk.into(),
                    });
                }
            }
            _ => Self::push(out, to, envelope),
        }
    }

    /// Extra traffic of noisy kinds, every few frames.
    pub(crate) fn noise(&mut self, out: &mut Vec<OutboundPacket>) {
        self.frames += 1;
        if !self.frames.is_multiple_of(NOISE_EVERY_FRAMES) {
            return;
        }
        match self.kind {
            ByzantineKind::Garbage => {
                for junk in behaviours::garbage(&mut self.rng, None) {
                    out.push(OutboundPacket {
                        to: Destination::Broadcast,
                        bytes: junk.into(),
                    });
                }
            }
            ByzantineKind::Replayer if !self.recorded.is_empty() => {
                let i = (self.rng.next_u32() as usize) % self.recorded.len();
                out.push(OutboundPacket {
                    to: Destination::Broadcast,
                    bytes: self.recorded[i].clone(),
                });
            }
            _ => {}
        }
    }
}
