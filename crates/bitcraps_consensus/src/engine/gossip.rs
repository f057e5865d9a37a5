//! Gossip ticks: re-broadcasting what liveness needs to reach every correct node, asking for
//! decisions when behind, and the catch-up budget's clock.

use crate::engine::{Engine, Step};
use crate::io::Output;
use crate::message::Status;
use crate::types::{Round, VoteKind};
use crate::wire::WireMessage;

impl Engine {
    pub(crate) fn on_gossip_tick(&mut self, out: &mut Vec<Output>) {
        self.catch_up_log
            .tick(self.config.limits.catch_up_interval_ticks);
        self.ticks_since_decision = self.ticks_since_decision.saturating_add(1);
        if !self.started {
            return;
        }
        if std::mem::take(&mut self.behind) {
            let status = Status {
                table: self.config.table,
                height: self.persistent_state_height(),
                signer: self.peer_id(),
            };
            out.push(Output::Broadcast(WireMessage::Status(
                status.sign(&self.key),
            )));
        }
        let at = (self.height, self.round);
        if self.step == Step::Commit {
            if let Some(pc) = self.guard.last_vote(VoteKind::Precommit) {
                if pc.vote.height == self.height {
                    out.push(Output::Broadcast(WireMessage::Vote(pc.clone())));
                }
            }
            return;
        }
        if let Some(p) = self.guard.last_proposal() {
            if (p.header().height, p.header().round) == at {
                out.push(Output::Broadcast(WireMessage::Proposal(p.clone())));
            }
        }
        // Our votes of this round and the previous one: a group of nodes one round behind may
        // need our previous round's precommits to time out into our round (line 47), and
        // cannot skip to it (line 55) while we are fewer than f+1.
        let me = self.peer_id();
        for round in [self.round.0.checked_sub(1).map(Round), Some(self.round)]
            .into_iter()
            .flatten()
        {
            if let Some(votes) = self.votes.round(round) {
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    if let Some(v) = votes.of(kind).vote_of(&me) {
                        out.push(Output::Broadcast(WireMessage::Vote(v.clone())));
                    }
                }
            }
        }
        // Forward the polka behind our valid value, so that a proposer who missed it can
        // re-propose it and locked nodes can unlock (lines 28-29).
        if let Some((vr, value)) = self.valid.clone() {
            if vr < self.round {
                if let Some(p) = self.proposal_with_id(vr, value.id()) {
                    out.push(Output::Broadcast(WireMessage::Proposal(p.into_inner())));
                }
                if let Some(round) = self.votes.round(vr) {
                    for v in round.prevotes.votes_for(Some(value.id())) {
                        out.push(Output::Broadcast(WireMessage::Vote((**v).clone())));
                    }
                }
            }
        }
    }
}
