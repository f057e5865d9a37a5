//! Lingering departed players (`--craps` with churn): the host of an honest player that left
//! the table (or is not seated at a height) keeps signing votes with its key — for every vote it
//! receives of a height at which its key is not seated, the same vote under its own key, once
//! per (height, round, kind). Those votes are outside the key's tenure: every honest host must
//! refuse them (they verify against the set of their own height), and the checker's `tenure:`
//! check finds any certificate that counts one anyway.

use bitcraps_consensus::{Vote, WireMessage};

use crate::network::Packet;
use crate::sim::{Role, Simulation};

/// Signed (height, round, kind) entries a lingering host remembers.
const GHOST_MEMORY: usize = 64;

impl Simulation {
    /// `to` received `packet`: if `to` is an honest host whose key is not seated at the
    /// packet's vote height but was seated at some height its schedule knows, it signs the
    /// same vote itself and broadcasts it.
    pub(crate) fn linger_on(&mut self, to: usize, packet: &Packet) {
        let instance = &self.instances[to];
        if instance.role != Role::Honest || !instance.up {
            return;
        }
        let Ok(WireMessage::Vote(signed)) = self.cache.decode(packet) else {
            return;
        };
        let key = instance.key;
        let peer = self.keys[key].peer_id();
        let vote = &signed.vote;
        if vote.signer == peer || vote.table != self.table {
            return;
        }
        let schedule = &instance.schedule;
        let outside = schedule
            .at(vote.height)
            .is_some_and(|seats| !seats.contains(key));
        if !outside || !schedule.ever_seated(key) {
            return;
        }
        let entry = (vote.height, vote.round, vote.kind);
        let signed_here = &mut self.instances[to].ghost_signed;
        if !signed_here.insert(entry) {
            return;
        }
        while signed_here.len() > GHOST_MEMORY {
            signed_here.pop_first();
        }
        let ghost = Vote {
            signer: peer,
            ..vote.clone()
        }
        .sign(&self.keys[key]);
        self.checker.ghost_votes += 1;
        self.send_all(to, &WireMessage::Vote(ghost));
    }
}
