//! The upon-rules of Algorithm 1 ("The latest gossip on BFT consensus", Buchman, Kwon and
//! Milosevic, 2018), one method each, named after the paper's line numbers.
//!
//! [`Engine::run_rules`] evaluates them until none fires, after every input, as the paper's
//! "upon" clauses demand. Each rule only moves state forward (a step, a round, a once-per-round
//! flag, the valid round), so the loop ends.

use crate::engine::{Engine, OnceRule, Step};
use crate::io::{Output, ValueValidity};
use crate::timeouts::TimeoutKind;
use crate::types::{Round, ValueId, VoteKind};

impl Engine {
    /// Evaluates every rule until none fires.
    pub(crate) fn run_rules(&mut self, app: &dyn ValueValidity, out: &mut Vec<Output>) {
        while self.in_progress() {
            let fired = self.line_49_decide(app, out)
                || self.line_55_round_skip(out)
                || self.line_22_fresh_proposal(app, out)
                || self.line_28_proposal_with_polka(app, out)
                || self.line_34_prevote_timeout(out)
                || self.line_36_lock_on_polka(app, out)
                || self.line_44_nil_polka(out)
                || self.line_47_precommit_timeout(out)
                || self.polka_of_an_earlier_round(app);
            if !fired {
                break;
            }
        }
    }

    /// Line 49: PROPOSAL(h, r, v, ∗) and 2f+1 PRECOMMIT(h, r, id(v)) for any round r, valid(v):
    /// decide v, with those precommits as its certificate.
    fn line_49_decide(&mut self, app: &dyn ValueValidity, out: &mut Vec<Output>) -> bool {
        let candidates: Vec<(Round, ValueId)> = self
            .votes
            .rounds()
            .flat_map(|(round, votes)| {
                votes
                    .precommits
                    .value_counts()
                    .filter(|(_, count)| self.participants.is_quorum(*count))
                    .map(move |(value, _)| (*round, value))
            })
            .collect();
        for (round, id) in candidates {
            let Some(proposal) = self.proposal_with_id(round, id) else {
                continue;
            };
            let value = proposal.into_inner().value;
            if !self.is_valid(app, &value) {
                continue;
            }
            // Only with 2f+1 precommits that pass `verify_strict`: a certificate this engine
            // outputs must verify everywhere (see `Engine::certificate`).
            if let Some(certificate) = self.certificate(round, id) {
                self.decide(round, value, certificate, out);
                return true;
            }
        }
        false
    }

    /// Line 55: f+1 messages of any kind for a round above ours: StartRound of that round.
    fn line_55_round_skip(&mut self, out: &mut Vec<Output>) -> bool {
        let current = self.round;
        let target = self
            .votes
            .rounds()
            .rev()
            .take_while(|(round, _)| **round > current)
            .find(|(_, votes)| self.participants.is_one_third(votes.senders.len()))
            .map(|(round, _)| *round);
        match target {
            Some(round) => {
                self.start_round(round, out);
                true
            }
            None => false,
        }
    }

    /// Line 22: PROPOSAL(h, r, v, −1) from the proposer while in propose: prevote id(v) if valid(v)
    /// and (lockedRound = −1 or lockedValue = v), else nil.
    fn line_22_fresh_proposal(&mut self, app: &dyn ValueValidity, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(proposal) = self.first_proposal(self.round) else {
            return false;
        };
        if proposal.header().valid_round.is_some() {
            return false;
        }
        let value = proposal.into_inner().value;
        let unlocked = self.ignores_lock()
            || match &self.locked {
                None => true,
                Some((_, locked)) => locked.id() == value.id(),
            };
        let accept =
            unlocked && self.is_valid(app, &value) && app.acceptable_now(self.height, &value);
        self.cast_vote(VoteKind::Prevote, accept.then(|| value.id()), out);
        self.step = Step::Prevote;
        true
    }

    /// Line 28: PROPOSAL(h, r, v, vr) and 2f+1 PREVOTE(h, vr, id(v)), 0 ≤ vr < r, in propose:
    /// prevote id(v) if valid(v) and (lockedRound ≤ vr or lockedValue = v), else nil.
    fn line_28_proposal_with_polka(
        &mut self,
        app: &dyn ValueValidity,
        out: &mut Vec<Output>,
    ) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(proposal) = self.first_proposal(self.round) else {
            return false;
        };
        let Some(vr) = proposal.header().valid_round else {
            return false;
        };
        let value = proposal.into_inner().value;
        let polka = self.votes.count(vr, VoteKind::Prevote, Some(value.id()));
        if vr >= self.round || !self.participants.is_quorum(polka) {
            return false;
        }
        let unlocked = self.ignores_lock()
            || match &self.locked {
                None => true,
                Some((locked_round, locked)) => *locked_round <= vr || locked.id() == value.id(),
            };
        // A re-proposed value already has a polka: the local clock check does not apply.
        let accept = unlocked && self.is_valid(app, &value);
        self.cast_vote(VoteKind::Prevote, accept.then(|| value.id()), out);
        self.step = Step::Prevote;
        true
    }

    /// Line 34: 2f+1 PREVOTE(h, r, ∗) in prevote, for the first time: schedule the prevote timeout.
    fn line_34_prevote_timeout(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Prevote
            || self
                .fired
                .contains(&(self.round, OnceRule::L34PrevoteTimeout))
            || !self
                .participants
                .is_quorum(self.votes.total(self.round, VoteKind::Prevote))
        {
            return false;
        }
        self.fired.insert((self.round, OnceRule::L34PrevoteTimeout));
        self.schedule(TimeoutKind::Prevote, out);
        true
    }

    /// Line 36: PROPOSAL(h, r, v, ∗) and 2f+1 PREVOTE(h, r, id(v)), valid(v), step ≥ prevote,
    /// for the first time: if in prevote, lock v and precommit it; in any case validValue = v.
    fn line_36_lock_on_polka(&mut self, app: &dyn ValueValidity, out: &mut Vec<Output>) -> bool {
        if !matches!(self.step, Step::Prevote | Step::Precommit)
            || self.fired.contains(&(self.round, OnceRule::L36Polka))
        {
            return false;
        }
        let round = self.round;
        let candidates: Vec<_> = self.proposals.get(&round).cloned().unwrap_or_default();
        for proposal in candidates {
            let value = proposal.into_inner().value;
            let polka = self.votes.count(round, VoteKind::Prevote, Some(value.id()));
            if !self.participants.is_quorum(polka) || !self.is_valid(app, &value) {
                continue;
            }
            self.fired.insert((round, OnceRule::L36Polka));
            if self.step == Step::Prevote {
                self.locked = Some((round, value.clone()));
                self.cast_vote(VoteKind::Precommit, Some(value.id()), out);
                self.step = Step::Precommit;
            }
            self.valid = Some((round, value));
            return true;
        }
        false
    }

    /// Line 44: 2f+1 PREVOTE(h, r, nil) in prevote: precommit nil.
    fn line_44_nil_polka(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Prevote
            || !self
                .participants
                .is_quorum(self.votes.count(self.round, VoteKind::Prevote, None))
        {
            return false;
        }
        self.cast_vote(VoteKind::Precommit, None, out);
        self.step = Step::Precommit;
        true
    }

    /// Line 47: 2f+1 PRECOMMIT(h, r, ∗) for the first time: schedule the precommit timeout.
    fn line_47_precommit_timeout(&mut self, out: &mut Vec<Output>) -> bool {
        if self
            .fired
            .contains(&(self.round, OnceRule::L47PrecommitTimeout))
            || !self
                .participants
                .is_quorum(self.votes.total(self.round, VoteKind::Precommit))
        {
            return false;
        }
        self.fired
            .insert((self.round, OnceRule::L47PrecommitTimeout));
        self.schedule(TimeoutKind::Precommit, out);
        true
    }

    /// Liveness extension to line 36 (not in the paper's pseudocode): a polka of an earlier round
    /// above validRound, observed late, raises validValue/validRound (never the lock).
    ///
    /// Safe: validValue only chooses what this node proposes, and every receiver checks the
    /// polka itself before prevoting it (line 28). Needed when polkas formed before the network
    /// stabilised reach a later proposer only through gossip: without it a proposer whose
    /// validRound is below a correct node's lockedRound could stall the height forever.
    fn polka_of_an_earlier_round(&mut self, app: &dyn ValueValidity) -> bool {
        let floor = self.valid.as_ref().map(|(r, _)| *r);
        let mut found = None;
        for (round, proposals) in self.proposals.range(..self.round).rev() {
            if floor.is_some_and(|f| *round <= f) {
                break;
            }
            for proposal in proposals {
                let id = proposal.header().value_id;
                if self.participants.is_quorum(self.votes.count(
                    *round,
                    VoteKind::Prevote,
                    Some(id),
                )) {
                    found = Some((*round, proposal.value.clone()));
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        match found {
            Some((round, value)) if self.is_valid(app, &value) => {
                self.valid = Some((round, value));
                true
            }
            _ => false,
        }
    }
}
