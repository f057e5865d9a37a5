//! Outbound traffic: what each role sends for the messages its engine outputs. Honest and
//! twinned instances send them as they are; the Byzantine kinds bend them here (and only here),
//! with the builders of [`crate::byzantine`].

use std::sync::Arc;

use bitcraps_consensus::{PeerId, WireMessage};

use crate::byzantine;
use crate::network::Packet;
use crate::rng::{chance, uniform};
use crate::settings::ByzantineKind;
use crate::sim::{Event, Role, Simulation};

impl Simulation {
    pub(crate) fn broadcast(&mut self, from: usize, message: WireMessage) {
        let key = self.keys[self.instances[from].key].clone();
        let own = message.author() == Some(key.peer_id());
        match self.instances[from].role {
            Role::Honest
            | Role::Twin
            | Role::Buggy(_)
            | Role::Byzantine(ByzantineKind::LockBreaker) => self.send_all(from, &message),
            Role::Byzantine(ByzantineKind::Silent) => {}
            Role::Byzantine(ByzantineKind::EquivocatingProposer) => match &message {
                WireMessage::Proposal(p) if own => {
                    let other = byzantine::equivocating_proposal(&key, p, from, &mut self.rng);
                    self.split(from, &message, &WireMessage::Proposal(other));
                }
                _ => self.send_all(from, &message),
            },
            Role::Byzantine(ByzantineKind::DoubleVoter) => match &message {
                WireMessage::Vote(v) if own => {
                    let other = byzantine::conflicting_vote(&key, v, &mut self.rng);
                    self.split(from, &message, &WireMessage::Vote(other));
                }
                _ => self.send_all(from, &message),
            },
            Role::Byzantine(ByzantineKind::Forger) => {
                if let WireMessage::Vote(v) = &message {
                    let victim_index = uniform(&mut self.rng, 0, self.keys.len() as u64) as usize;
                    let victim = self.keys[victim_index].peer_id();
                    for forged in byzantine::forged_votes(&key, v, victim) {
                        self.send_all(from, &forged);
                    }
                }
            }
            Role::Byzantine(ByzantineKind::Replayer) => {
                self.send_all(from, &message);
                if let WireMessage::Vote(v) = &message {
                    let replay = byzantine::cross_table_vote(&key, v, self.other_table);
                    self.send_all(from, &WireMessage::Vote(replay));
                }
            }
            Role::Byzantine(ByzantineKind::Garbage) => {
                let genuine = message.encode().ok();
                for junk in byzantine::garbage(&mut self.rng, genuine.as_deref()) {
                    self.send_packet_all(from, Packet::new(junk));
                }
            }
        }
    }

    /// Extra traffic of noisy Byzantine kinds on each gossip tick.
    pub(crate) fn noise(&mut self, from: usize) {
        match self.instances[from].role {
            Role::Byzantine(ByzantineKind::Garbage) => {
                for junk in byzantine::garbage(&mut self.rng, None) {
                    self.send_packet_all(from, Packet::new(junk));
                }
            }
            Role::Byzantine(ByzantineKind::Replayer) => {
                let recorded = &self.instances[from].recorded;
                if !recorded.is_empty() {
                    let i = uniform(&mut self.rng, 0, recorded.len() as u64) as usize;
                    let packet = recorded[i].clone();
                    self.send_packet_all(from, packet);
                }
            }
            _ => {}
        }
    }

    fn split(&mut self, from: usize, a: &WireMessage, b: &WireMessage) {
        let (Ok(a), Ok(b)) = (a.encode(), b.encode()) else {
            return;
        };
        let (a, b) = (Packet::new(a), Packet::new(b));
        for to in 0..self.instances.len() {
            if to != from {
                let packet = if chance(&mut self.rng, 0.5) { &a } else { &b };
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    pub(crate) fn send_all(&mut self, from: usize, message: &WireMessage) {
        if let Ok(bytes) = message.encode() {
            self.send_packet_all(from, Packet::new(bytes));
        }
    }

    fn send_packet_all(&mut self, from: usize, packet: Arc<Packet>) {
        for to in 0..self.instances.len() {
            if to != from {
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    pub(crate) fn send_to_key(&mut self, from: usize, peer: PeerId, message: &WireMessage) {
        if self.instances[from].role == Role::Byzantine(ByzantineKind::Silent) {
            return;
        }
        let Ok(bytes) = message.encode() else {
            return;
        };
        let packet = Packet::new(bytes);
        for to in 0..self.instances.len() {
            if to != from && self.keys[self.instances[to].key].peer_id() == peer {
                self.send_packet(from, to, packet.clone());
            }
        }
    }

    fn send_packet(&mut self, from: usize, to: usize, packet: Arc<Packet>) {
        for delay in self.network.delays(&mut self.rng, from, to, self.now) {
            self.push(
                delay,
                Event::Deliver {
                    to,
                    packet: packet.clone(),
                },
            );
        }
    }
}
