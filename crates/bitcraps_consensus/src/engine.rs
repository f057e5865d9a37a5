//! The engine: one participant's Tendermint state machine. Pure: inputs in, outputs out.
//!
//! The upon-rules of Algorithm 1 live in `rules.rs`, named after the paper's line numbers; this
//! file holds the state, routes inputs by height and carries out the actions (start a round,
//! propose, vote, decide, gossip, catch-up).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::certificate::{CommitCertificate, CommitSignature, Decision};
use crate::config::EngineConfig;
use crate::error::{InputError, VerifyError};
use crate::evidence::Evidence;
use crate::guard::{PersistentState, SigningGuard};
use crate::io::{Input, Output, ValueValidity};
use crate::keys::{Keypair, PeerId};
use crate::message::{SignedProposal, Status, Verified, Vote};
use crate::participants::ParticipantSet;
use crate::timeouts::{Timeout, TimeoutKind};
use crate::types::{Height, Round, TableId, Value, ValueId, VoteKind};
use crate::votekeeper::{AddVote, VoteKeeper};
use crate::wire::{VerifiedMessage, WireMessage};

/// Where the engine is within a height.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for a polka.
    Prevote,
    /// Precommitted; waiting for a decision.
    Precommit,
    /// Decided this height; waiting for the host to start the next one.
    Commit,
}

/// Rules of Algorithm 1 that fire only the first time their condition holds in a round.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OnceRule {
    L34PrevoteTimeout,
    L36Polka,
    L47PrecommitTimeout,
}

/// Upper bound on remembered catch-up replies between gossip ticks (bounds memory and traffic).
const MAX_CATCH_UP_REPLIES_PER_TICK: usize = 1024;

/// A participant's consensus engine (see the crate documentation).
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) key: Keypair,
    pub(crate) participants: Arc<ParticipantSet>,
    pub(crate) height: Height,
    pub(crate) started: bool,
    pub(crate) round: Round,
    pub(crate) step: Step,
    pub(crate) locked: Option<(Round, Value)>,
    pub(crate) valid: Option<(Round, Value)>,
    /// At most two proposals per round: the first, and one conflicting one (kept so a decision
    /// on it can still be recognised).
    pub(crate) proposals: BTreeMap<Round, Vec<Verified<SignedProposal>>>,
    double_proposal_reported: BTreeSet<Round>,
    pub(crate) votes: VoteKeeper,
    pub(crate) fired: BTreeSet<(Round, OnceRule)>,
    validity: BTreeMap<ValueId, bool>,
    pub(crate) guard: SigningGuard,
    decisions: BTreeMap<Height, Decision>,
    expected_next: Option<Height>,
    resume: Option<Resume>,
    future: BTreeMap<Height, Vec<VerifiedMessage>>,
    future_per_signer: BTreeMap<PeerId, usize>,
    catch_up_sent: BTreeSet<(PeerId, Height)>,
    /// Saw a message from a higher height since the last gossip tick.
    behind: bool,
    /// Gossip ticks since the last decision: late votes of the height just decided are normal
    /// in the tick of the decision and answered with the decision only after it.
    ticks_since_decision: u32,
}

/// Where a restored engine resumes, kept until that height starts (see [`Engine::restore`]).
#[derive(Clone, Debug)]
struct Resume {
    height: Height,
    round: Round,
    locked: Option<(Round, Value)>,
    valid: Option<(Round, Value)>,
}

impl Engine {
    /// A fresh engine. Send [`Input::StartHeight`] before anything else.
    pub fn new(config: EngineConfig, key: Keypair, participants: Arc<ParticipantSet>) -> Engine {
        Engine {
            config,
            key,
            participants,
            height: Height(0),
            started: false,
            round: Round(0),
            step: Step::Propose,
            locked: None,
            valid: None,
            proposals: BTreeMap::new(),
            double_proposal_reported: BTreeSet::new(),
            votes: VoteKeeper::default(),
            fired: BTreeSet::new(),
            validity: BTreeMap::new(),
            guard: SigningGuard::default(),
            decisions: BTreeMap::new(),
            expected_next: None,
            resume: None,
            future: BTreeMap::new(),
            future_per_signer: BTreeMap::new(),
            catch_up_sent: BTreeSet::new(),
            behind: false,
            ticks_since_decision: 0,
        }
    }

    /// An engine restarted from the state its host persisted. [`Input::StartHeight`] for the
    /// persisted height resumes its round with its lock, valid value and signing guard. Started
    /// at an earlier height (the host lost the decisions before it), the engine catches up with
    /// the guard in force, keeps the round and lock for the persisted height and resumes them
    /// when that height starts; until then [`Engine::persistent_state`] still returns them.
    pub fn restore(
        config: EngineConfig,
        key: Keypair,
        participants: Arc<ParticipantSet>,
        state: PersistentState,
    ) -> Engine {
        let mut engine = Engine::new(config, key, participants);
        engine.resume = Some(Resume {
            height: state.height,
            round: state.round,
            locked: state.locked,
            valid: state.valid,
        });
        engine.guard = state.guard;
        engine
    }

    /// Feeds one input; returns what the host must do, in order. An `Err` means the input was
    /// refused and changed nothing.
    pub fn handle(
        &mut self,
        input: Input,
        app: &dyn ValueValidity,
    ) -> Result<Vec<Output>, InputError> {
        let mut out = Vec::new();
        match input {
            Input::StartHeight(height) => self.start_height(height, app, &mut out)?,
            Input::Message(message) => {
                if self.on_message(message, app, &mut out)? {
                    self.run_rules(app, &mut out);
                }
            }
            Input::TimeoutElapsed(timeout) => {
                self.on_timeout(timeout, &mut out);
                self.run_rules(app, &mut out);
            }
            Input::ValueReady {
                height,
                round,
                value,
            } => {
                self.on_value_ready(height, round, value, &mut out);
                self.run_rules(app, &mut out);
            }
            Input::GossipTick => self.on_gossip_tick(&mut out),
        }
        Ok(out)
    }

    /// Verifies a wire message against this engine's table and participants.
    pub fn verify(&self, message: WireMessage) -> Result<VerifiedMessage, VerifyError> {
        message.verify(&self.config.table, &self.participants)
    }

    /// The state the host must persist before sending any message this engine output.
    pub fn persistent_state(&self) -> PersistentState {
        if let Some(resume) = &self.resume {
            // Restored, and not back at the persisted height yet (catching up the heights
            // before it): where to resume there stays what must be durable.
            return PersistentState {
                height: resume.height,
                round: resume.round,
                locked: resume.locked.clone(),
                valid: resume.valid.clone(),
                guard: self.guard.clone(),
            };
        }
        if self.in_progress() {
            PersistentState {
                height: self.height,
                round: self.round,
                locked: self.locked.clone(),
                valid: self.valid.clone(),
                guard: self.guard.clone(),
            }
        } else {
            PersistentState {
                height: self.persistent_state_height(),
                round: Round(0),
                locked: None,
                valid: None,
                guard: self.guard.clone(),
            }
        }
    }

    /// This node's identity.
    pub fn peer_id(&self) -> PeerId {
        self.key.peer_id()
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The participants.
    pub fn participants(&self) -> &Arc<ParticipantSet> {
        &self.participants
    }

    /// The current (or just decided) height.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The proposer of the current round.
    pub fn proposer(&self) -> PeerId {
        self.participants.proposer(self.height, self.round)
    }

    /// lockedRound (`None` is −1).
    pub fn locked_round(&self) -> Option<Round> {
        self.locked.as_ref().map(|(r, _)| *r)
    }

    /// validRound (`None` is −1).
    pub fn valid_round(&self) -> Option<Round> {
        self.valid.as_ref().map(|(r, _)| *r)
    }

    /// Distinct signers of `kind` votes seen in `round` of the current height.
    pub fn votes_seen(&self, round: Round, kind: VoteKind) -> usize {
        self.votes.total(round, kind)
    }

    /// A retained decision (value and certificate).
    pub fn decision(&self, height: Height) -> Option<&Decision> {
        self.decisions.get(&height)
    }

    /// The latest retained decision.
    pub fn last_decision(&self) -> Option<&Decision> {
        self.decisions.values().next_back()
    }

    /// Messages buffered for future heights (for monitoring memory bounds).
    pub fn buffered_messages(&self) -> usize {
        self.future.values().map(Vec::len).sum()
    }

    /// The height this node works on, or will work on next after a decision.
    fn persistent_state_height(&self) -> Height {
        if self.in_progress() {
            self.height
        } else {
            self.expected_next.unwrap_or(self.height)
        }
    }

    pub(crate) fn in_progress(&self) -> bool {
        self.started && self.step != Step::Commit
    }

    fn start_height(
        &mut self,
        height: Height,
        app: &dyn ValueValidity,
        out: &mut Vec<Output>,
    ) -> Result<(), InputError> {
        if self.in_progress() {
            return Err(InputError::HeightInProgress(self.height));
        }
        if let Some(expected) = self.expected_next {
            if height != expected {
                return Err(InputError::BadStartHeight {
                    requested: height,
                    expected,
                });
            }
        }
        self.height = height;
        self.started = true;
        self.expected_next = None;
        self.clear_height_state();
        let round = match self.resume.take() {
            Some(resume) if resume.height > height => {
                // Restored at a later height than the one starting (its decision was not
                // recorded before the crash): keep the lock for when that height starts.
                self.resume = Some(resume);
                self.locked = None;
                self.valid = None;
                Round(0)
            }
            Some(resume) if resume.height == height => {
                self.locked = resume.locked;
                self.valid = resume.valid;
                // Count the votes we signed before the restart, as we did then.
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    if let Some(v) = self.guard.last_vote(kind).cloned() {
                        if v.vote.height == height {
                            let _ = self.votes.add(Verified(v), &|_| true);
                        }
                    }
                }
                resume.round
            }
            _ => {
                self.locked = None;
                self.valid = None;
                Round(0)
            }
        };
        self.start_round(round, out);
        self.run_rules(app, out);

        // Replay what arrived early, dropping what is now stale.
        let stale: Vec<Height> = self.future.range(..height).map(|(h, _)| *h).collect();
        for h in stale {
            if let Some(messages) = self.future.remove(&h) {
                self.unbuffer(&messages);
            }
        }
        if let Some(messages) = self.future.remove(&height) {
            self.unbuffer(&messages);
            for message in messages {
                // Buffered messages were checked when they arrived; a refusal now only means a
                // round window moved, which is not an error of the current input.
                if let Ok(true) = self.on_message(message, app, out) {
                    self.run_rules(app, out);
                }
            }
        }
        Ok(())
    }

    fn clear_height_state(&mut self) {
        self.round = Round(0);
        self.step = Step::Propose;
        self.proposals.clear();
        self.double_proposal_reported.clear();
        self.votes.clear();
        self.fired.clear();
        self.validity.clear();
    }

    fn unbuffer(&mut self, messages: &[VerifiedMessage]) {
        for m in messages {
            if let Some(author) = m.author() {
                if let Some(count) = self.future_per_signer.get_mut(&author) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.future_per_signer.remove(&author);
                    }
                }
            }
        }
    }

    /// Routes a message by height; `Ok(true)` if the current height's state changed (only then
    /// can a rule newly fire: gossip repeats most messages, and repeats change nothing).
    fn on_message(
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
            VerifiedMessage::Vote(vote) => {
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
            VerifiedMessage::Proposal(proposal) => self.on_proposal(proposal, out),
            VerifiedMessage::Status(_) => Ok(false),
            VerifiedMessage::Decision(decision) => {
                let value = decision.value.clone();
                if !self.is_valid(app, &value) {
                    return Err(InputError::InvalidDecidedValue {
                        height,
                        value: value.id(),
                    });
                }
                let certificate = decision.into_inner().certificate;
                self.decide(certificate.round, value, certificate, out);
                Ok(true)
            }
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
        let seen = self.proposals.entry(header.round).or_default();
        if seen.iter().any(|p| p.signed == proposal.signed) {
            // A repeat; the sender still counts for line 55.
            return Ok(true);
        }
        if let Some(first) = seen.first() {
            if self.double_proposal_reported.insert(header.round) {
                let evidence = Evidence::DoubleProposal {
                    first: first.signed.clone(),
                    second: proposal.signed.clone(),
                };
                emit_evidence(&self.config.table, &self.participants, evidence, out);
            }
            if seen.len() >= 2 {
                return Ok(true);
            }
        }
        seen.push(proposal);
        Ok(true)
    }

    fn buffer(&mut self, message: VerifiedMessage) -> Result<(), InputError> {
        let height = message.height();
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
        let bucket = self.future.entry(height).or_default();
        if bucket.contains(&message) {
            return Ok(());
        }
        match message.author() {
            Some(author) => {
                let count = self.future_per_signer.entry(author).or_insert(0);
                if *count >= self.config.limits.max_buffered_per_signer {
                    return Err(InputError::BufferFull(author));
                }
                *count += 1;
            }
            None => {
                // One decision per height is enough.
                if bucket
                    .iter()
                    .any(|m| matches!(m, VerifiedMessage::Decision(_)))
                {
                    return Ok(());
                }
            }
        }
        bucket.push(message);
        Ok(())
    }

    /// Answers a message about a height we have decided with the decisions the sender lacks,
    /// once per (peer, height) between gossip ticks.
    fn catch_up(&mut self, peer: PeerId, height: Height, out: &mut Vec<Output>) {
        if peer == self.peer_id()
            || self.catch_up_sent.len() >= MAX_CATCH_UP_REPLIES_PER_TICK
            || !self.catch_up_sent.insert((peer, height))
        {
            return;
        }
        let oldest = self.decisions.keys().next().copied();
        if oldest.is_none_or(|oldest| height < oldest) {
            out.push(Output::CatchUp { peer, from: height });
            return;
        }
        for decision in self
            .decisions
            .range(height..)
            .take(self.config.limits.catch_up_batch)
            .map(|(_, d)| d)
        {
            out.push(Output::SendTo {
                peer,
                message: WireMessage::Decision(decision.clone()),
            });
        }
    }

    fn on_timeout(&mut self, timeout: Timeout, out: &mut Vec<Output>) {
        if !self.in_progress() || timeout.height != self.height || timeout.round != self.round {
            return;
        }
        match timeout.kind {
            // Line 57: OnTimeoutPropose.
            TimeoutKind::Propose if self.step == Step::Propose => {
                self.cast_vote(VoteKind::Prevote, None, out);
                self.step = Step::Prevote;
            }
            // Line 61: OnTimeoutPrevote.
            TimeoutKind::Prevote if self.step == Step::Prevote => {
                self.cast_vote(VoteKind::Precommit, None, out);
                self.step = Step::Precommit;
            }
            // Line 65: OnTimeoutPrecommit.
            TimeoutKind::Precommit => self.start_round(self.round.next(), out),
            _ => {}
        }
    }

    fn on_value_ready(
        &mut self,
        height: Height,
        round: Round,
        value: Value,
        out: &mut Vec<Output>,
    ) {
        if self.in_progress()
            && height == self.height
            && round == self.round
            && self.step == Step::Propose
            && self.proposer() == self.peer_id()
            && !self.proposals.contains_key(&round)
        {
            self.propose(value, None, out);
        }
    }

    fn on_gossip_tick(&mut self, out: &mut Vec<Output>) {
        self.catch_up_sent.clear();
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
                        out.push(Output::Broadcast(WireMessage::Vote(v.clone())));
                    }
                }
            }
        }
    }

    /// StartRound(round) (line 11).
    pub(crate) fn start_round(&mut self, round: Round, out: &mut Vec<Output>) {
        self.round = round;
        self.step = Step::Propose;
        if self.proposer() == self.peer_id() {
            // A lock breaker forgets its valid value too: it always proposes afresh.
            let valid = if self.ignores_lock() {
                None
            } else {
                self.valid.clone()
            };
            match valid {
                Some((vr, value)) => self.propose(value, Some(vr), out),
                None => out.push(Output::RequestValue {
                    height: self.height,
                    round,
                }),
            }
        }
        self.schedule(TimeoutKind::Propose, out);
    }

    pub(crate) fn schedule(&self, kind: TimeoutKind, out: &mut Vec<Output>) {
        out.push(Output::ScheduleTimeout {
            timeout: Timeout {
                height: self.height,
                round: self.round,
                kind,
            },
            after: self.config.timeouts.duration(kind, self.round),
        });
    }

    fn propose(&mut self, value: Value, valid_round: Option<Round>, out: &mut Vec<Output>) {
        let signed = self.guard.sign_proposal(
            &self.key,
            self.config.table,
            self.height,
            self.round,
            value,
            valid_round,
        );
        if let Some(proposal) = signed.message() {
            let round = proposal.header().round;
            self.votes.mark_sender(round, self.peer_id());
            let seen = self.proposals.entry(round).or_default();
            if !seen.iter().any(|p| p.signed == proposal.signed) {
                seen.insert(0, Verified(proposal.clone()));
                seen.truncate(2);
            }
            out.push(Output::Broadcast(WireMessage::Proposal(proposal)));
        }
    }

    /// Signs (through the guard), counts and broadcasts this node's vote in the current round.
    pub(crate) fn cast_vote(
        &mut self,
        kind: VoteKind,
        value: Option<ValueId>,
        out: &mut Vec<Output>,
    ) {
        let vote = Vote {
            table: self.config.table,
            height: self.height,
            round: self.round,
            kind,
            value,
            signer: self.peer_id(),
        };
        if let Some(signed) = self.guard.sign_vote(&self.key, vote).message() {
            let _ = self.votes.add(Verified(signed.clone()), &|_| true);
            out.push(Output::Broadcast(WireMessage::Vote(signed)));
        }
    }

    /// Line 49's action: decide, keep only the certificate, wait for the next `StartHeight`.
    pub(crate) fn decide(
        &mut self,
        round: Round,
        value: Value,
        certificate: CommitCertificate,
        out: &mut Vec<Output>,
    ) {
        let height = self.height;
        self.step = Step::Commit;
        self.expected_next = Some(height.next());
        self.ticks_since_decision = 0;
        self.decisions.insert(
            height,
            Decision {
                certificate: certificate.clone(),
                value: value.clone(),
            },
        );
        while self.decisions.len() > self.config.limits.retained_decisions.max(1) {
            self.decisions.pop_first();
        }
        self.clear_height_state();
        self.round = round;
        self.step = Step::Commit;
        self.locked = None;
        self.valid = None;
        out.push(Output::Decided {
            height,
            round,
            value,
            certificate,
        });
    }

    /// The 2f+1 precommits for `value` in `round`, as a certificate.
    pub(crate) fn certificate(&self, round: Round, value: ValueId) -> CommitCertificate {
        let precommits = self
            .votes
            .round(round)
            .map(|r| {
                r.precommits
                    .votes_for(Some(value))
                    .map(|v| CommitSignature {
                        signer: v.vote.signer,
                        signature: v.signature,
                    })
                    .collect()
            })
            .unwrap_or_default();
        CommitCertificate {
            table: self.config.table,
            height: self.height,
            round,
            value_id: value,
            precommits,
        }
    }

    /// A proposal of `round` (from its proposer) whose value has id `value`.
    pub(crate) fn proposal_with_id(
        &self,
        round: Round,
        value: ValueId,
    ) -> Option<Verified<SignedProposal>> {
        self.proposals
            .get(&round)?
            .iter()
            .find(|p| p.header().value_id == value)
            .cloned()
    }

    /// The first proposal received for `round`.
    pub(crate) fn first_proposal(&self, round: Round) -> Option<Verified<SignedProposal>> {
        self.proposals.get(&round)?.first().cloned()
    }

    /// valid(v), computed once per value and height.
    pub(crate) fn is_valid(&mut self, app: &dyn ValueValidity, value: &Value) -> bool {
        let height = self.height;
        *self
            .validity
            .entry(value.id())
            .or_insert_with(|| app.is_valid(height, value))
    }

    /// Whether the lock is deliberately ignored (fault injection only).
    pub(crate) fn ignores_lock(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.config.faults.ignore_lock
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            false
        }
    }
}

/// Outputs evidence only if it verifies strictly. Its messages reached the engine as
/// [`Verified`], but a host may have verified them with a batch equation ([`crate::batch`]),
/// which can accept a signature — crafted by its own signer — that `verify_strict` refuses.
/// Every node that applies evidence checks it with `verify_strict`, so evidence failing that
/// check would be refused everywhere, to the cost of the honest node submitting it. Two strict
/// checks, only when there is evidence.
fn emit_evidence(
    table: &TableId,
    participants: &ParticipantSet,
    evidence: Evidence,
    out: &mut Vec<Output>,
) {
    if evidence.verify(table, participants).is_ok() {
        out.push(Output::Evidence(evidence));
    }
}
