//! Receiving messages: routing by height, the checks that depend on the height's participant
//! set, and decisions (certificates) from peers.
//!
//! The host verified each message's signatures, but possibly against another height's set (a
//! batch verifier built with one set) or with a batch equation. Signatures are bound to keys,
//! not to sets, so the engine re-checks only membership in the set of the message's own height
//! (cheap), and re-checks strictly, once, whatever it would output: a decision's certificate.

use crate::certificate::{strict_part, Decision};
use crate::engine::buffer::{proposal_bytes, Pending};
use crate::engine::{emit_evidence, Engine, Step};
use crate::error::InputError;
use crate::evidence::Evidence;
use crate::io::{Output, ValueValidity};
use crate::keys::PeerId;
use crate::message::{SignedProposal, SignedVote, Verified};
use crate::types::{Round, ValueId};
use crate::votekeeper::AddVote;
use crate::wire::VerifiedMessage;

impl Engine {
    /// Routes a message by height; `Ok(true)` if the current height's state changed (only then
    /// can a rule newly fire: gossip repeats most messages, and repeats change nothing).
    pub(crate) fn on_message(
        &mut self,
        message: VerifiedMessage,
        app: &dyn ValueValidity,
        out: &mut Vec<Output>,
    ) -> Result<bool, InputError> {
        if !self.started {
            return Err(InputError::NotStarted);
        }
        let height = message.height();
        let decided_here = height < self.height || self.step == Step::Commit;
        if let VerifiedMessage::Status(status) = &message {
            if decided_here {
                self.catch_up(status.status.signer, height, out);
            }
            self.behind |= height > self.height;
            return Ok(false);
        }
        if height > self.height {
            self.behind = true;
            return self.buffer(message).map(|()| false);
        }
        if decided_here {
            // A vote of the height just decided, in the tick of the decision, is most likely a
            // peer finishing that height on its own: answer only if it is still behind later.
            let just_decided = self.decisions.keys().next_back() == Some(&height)
                && self.ticks_since_decision == 0;
            if let (Some(author), false) = (message.author(), just_decided) {
                self.catch_up(author, height, out);
            }
            return Ok(false);
        }
        match message {
            VerifiedMessage::Vote(vote) => self.on_vote(vote, out),
            VerifiedMessage::Proposal(proposal) => self.on_proposal(proposal, out),
            VerifiedMessage::Status(_) => Ok(false),
            VerifiedMessage::Decision(decision) => {
                let strict = decision.is_strict();
                self.on_decision(decision.into_inner(), strict, app, out)
            }
        }
    }

    /// A decision whose certificate nobody checked yet ([`crate::Input::UnverifiedDecision`]).
    pub(crate) fn on_unverified_decision(
        &mut self,
        decision: Decision,
        app: &dyn ValueValidity,
        out: &mut Vec<Output>,
    ) -> Result<bool, InputError> {
        if !self.started {
            return Err(InputError::NotStarted);
        }
        let height = decision.height();
        if height < self.height || (height == self.height && self.step == Step::Commit) {
            return Ok(false);
        }
        if height == self.height {
            return self.on_decision(decision, false, app, out);
        }
        let limit = self
            .height
            .0
            .saturating_add(self.config.limits.max_future_heights);
        if height.0 > limit {
            return Err(InputError::HeightTooFarAhead {
                height,
                current: self.height,
            });
        }
        self.behind = true;
        // Verified now if its set is known, so that a bogus one takes no room.
        let strict = match self.sets.at(height) {
            Some(set) => {
                strict_part(&decision.certificate, &self.config.table, set, false)
                    .map_err(|reason| InputError::CertificateRefused { height, reason })?;
                true
            }
            None => false,
        };
        let limit = self.config.limits.max_buffered_decision_bytes;
        self.buffers
            .keep_decision(Pending { decision, strict }, limit)?;
        Ok(false)
    }

    /// A decision of the current height: its certificate, cut to what holds strictly against
    /// this height's set, must still have 2f+1 precommits; then the value must be valid here.
    pub(crate) fn on_decision(
        &mut self,
        decision: Decision,
        strict: bool,
        app: &dyn ValueValidity,
        out: &mut Vec<Output>,
    ) -> Result<bool, InputError> {
        let height = self.height;
        let certificate = strict_part(
            &decision.certificate,
            &self.config.table,
            &self.participants,
            strict,
        )
        .map_err(|reason| InputError::CertificateRefused { height, reason })?;
        let value = decision.value;
        if value.id() != certificate.value_id {
            return Err(InputError::CertificateRefused {
                height,
                reason: crate::error::VerifyError::DecisionValueMismatch(height),
            });
        }
        if !self.is_valid(app, &value) {
            return Err(InputError::InvalidDecidedValue {
                height,
                value: value.id(),
            });
        }
        self.decide(certificate.round, value, certificate, out);
        Ok(true)
    }

    fn on_vote(
        &mut self,
        vote: Verified<SignedVote>,
        out: &mut Vec<Output>,
    ) -> Result<bool, InputError> {
        self.check_member(vote.vote.signer)?;
        self.check_round(vote.vote.signer, vote.vote.round)?;
        let known: Vec<ValueId> = self
            .proposals
            .get(&vote.vote.round)
            .map(|ps| ps.iter().map(|p| p.header().value_id).collect())
            .unwrap_or_default();
        let relevant = |v: Option<ValueId>| v.is_none_or(|id| known.contains(&id));
        match self.votes.add(vote, &relevant) {
            AddVote::Added => Ok(true),
            AddVote::Duplicate => Ok(false),
            AddVote::Conflict(evidence) => {
                if let Some(evidence) = evidence {
                    emit_evidence(&self.config.table, &self.participants, *evidence, out);
                }
                Ok(true)
            }
        }
    }

    /// Refuses a signer who is not a participant of the current height.
    fn check_member(&self, from: PeerId) -> Result<(), InputError> {
        if self.participants.contains(&from) {
            Ok(())
        } else {
            Err(InputError::NotParticipant {
                from,
                height: self.height,
            })
        }
    }

    fn check_round(&self, from: PeerId, round: Round) -> Result<(), InputError> {
        if round.0
            > self
                .round
                .0
                .saturating_add(self.config.limits.max_rounds_ahead)
        {
            return Err(InputError::RoundTooFarAhead {
                from,
                round,
                current: self.round,
            });
        }
        Ok(())
    }

    fn on_proposal(
        &mut self,
        proposal: Verified<SignedProposal>,
        out: &mut Vec<Output>,
    ) -> Result<bool, InputError> {
        let header = proposal.header().clone();
        self.check_round(header.proposer, header.round)?;
        if header.proposer != self.participants.proposer(header.height, header.round) {
            return Err(InputError::NotProposer {
                from: header.proposer,
                height: header.height,
                round: header.round,
            });
        }
        if let Some(vr) = header.valid_round {
            if vr >= header.round {
                return Err(InputError::BadValidRound {
                    from: header.proposer,
                    round: header.round,
                    valid_round: vr,
                });
            }
        }
        self.votes.mark_sender(header.round, header.proposer);
        let seen = self
            .proposals
            .get(&header.round)
            .map_or(&[][..], Vec::as_slice);
        if seen.iter().any(|p| p.signed == proposal.signed) {
            // A repeat; the sender still counts for line 55.
            return Ok(true);
        }
        if let Some(first) = seen.first() {
            let full = seen.len() >= 2;
            if self.double_proposal_reported.insert(header.round) {
                let evidence = Evidence::DoubleProposal {
                    first: first.signed.clone(),
                    second: proposal.signed.clone(),
                };
                emit_evidence(&self.config.table, &self.participants, evidence, out);
            }
            if full {
                return Ok(true);
            }
        }
        let size = proposal_bytes(&proposal);
        if header.proposer != self.peer_id() {
            self.make_room_for_proposal(header.proposer, size)?;
            self.buffers.charge_round(header.proposer, size);
        }
        self.proposals
            .entry(header.round)
            .or_default()
            .push(proposal);
        Ok(true)
    }
}
