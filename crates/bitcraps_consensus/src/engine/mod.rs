//! The engine: one participant's Tendermint state machine. Pure: inputs in, outputs out.
//!
//! The upon-rules of Algorithm 1 live in `rules.rs`, named after the paper's line numbers; this
//! module holds the state and carries out the actions (start a height and a round, propose,
//! vote, decide). Around it, as in Malachite's split of core state machine and driver:
//! `receive` routes messages by height and checks them against their height's participant
//! set, `sets` keeps the set of each height as the host declares it, `buffer` keeps what
//! arrives early under byte bounds, `catch_up` answers lagging peers and `gossip` re-broadcasts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::certificate::{CommitCertificate, Decision};
use crate::config::EngineConfig;
use crate::error::InputError;
use crate::evidence::Evidence;
use crate::guard::{PersistentState, SigningGuard};
use crate::io::{Input, Output, ValueValidity};
use crate::keys::{Keypair, PeerId};
use crate::message::{SignedProposal, Verified, Vote};
use crate::participants::ParticipantSet;
use crate::timeouts::{Timeout, TimeoutKind};
use crate::types::{Height, Round, TableId, Value, ValueId, VoteKind};
use crate::votekeeper::VoteKeeper;
use crate::wire::WireMessage;

mod buffer;
mod catch_up;
mod certify;
mod gossip;
mod receive;
mod sets;

use buffer::Buffers;
use catch_up::CatchUpLog;
use sets::Schedule;

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

/// A participant's consensus engine (see the crate documentation).
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) key: Keypair,
    /// The participant set of the current height (of the base set before the first height).
    pub(crate) participants: Arc<ParticipantSet>,
    /// The participant set of every height known.
    sets: Schedule,
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
    buffers: Buffers,
    catch_up_log: CatchUpLog,
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
    /// A fresh engine whose participants are `participants` at every height, unless the host
    /// declares others ([`Engine::set_participants`]). Send [`Input::StartHeight`] before
    /// anything else.
    pub fn new(config: EngineConfig, key: Keypair, participants: Arc<ParticipantSet>) -> Engine {
        Engine {
            config,
            key,
            sets: Schedule::new(participants.clone()),
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
            buffers: Buffers::default(),
            catch_up_log: CatchUpLog::default(),
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
            Input::UnverifiedDecision(decision) => {
                if self.on_unverified_decision(decision, app, &mut out)? {
                    self.run_rules(app, &mut out);
                }
            }
            Input::GossipTick => self.on_gossip_tick(&mut out),
        }
        Ok(out)
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

    /// The participants of the current height (before the first `StartHeight`: of the height
    /// the engine would start; see [`Engine::participants_at`] for any height).
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

    /// The height this node works on, or will work on next after a decision.
    pub(crate) fn persistent_state_height(&self) -> Height {
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
        let participants = self
            .sets
            .at(height)
            .ok_or(InputError::UnknownParticipants(height))?
            .clone();
        self.participants = participants;
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
                            let _ = self.votes.add(Verified::strict(v), &|_| true);
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

        // Replay what arrived early, dropping what is now stale: a decision first (verified
        // against this height's set now, strictly if it was not yet), then the messages.
        for pending in self.buffers.take_decisions(height) {
            if self.step == Step::Commit {
                break;
            }
            // A bogus decision (kept unverified) is dropped here, not an error of this input.
            if let Ok(true) = self.on_decision(pending.decision, pending.strict, app, out) {
                self.run_rules(app, out);
            }
        }
        let stale: Vec<Height> = self
            .buffers
            .future
            .range(..height)
            .map(|(h, _)| *h)
            .collect();
        for h in stale {
            if let Some(messages) = self.buffers.future.remove(&h) {
                self.buffers.unbuffer(&messages);
            }
        }
        if let Some(messages) = self.buffers.future.remove(&height) {
            self.buffers.unbuffer(&messages);
            for message in messages {
                // Buffered messages were checked when they arrived; a refusal now only means a
                // round window moved or the signer is not a participant of this height, which
                // is not an error of the current input.
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
        self.buffers.clear_round();
        self.double_proposal_reported.clear();
        self.votes.clear();
        self.fired.clear();
        self.validity.clear();
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
                seen.insert(0, Verified::strict(proposal.clone()));
                if seen.len() > 2 {
                    for dropped in seen.split_off(2) {
                        let size = buffer::proposal_bytes(&dropped);
                        self.buffers.release_round(dropped.header().proposer, size);
                    }
                }
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
        if !self.participants.contains(&self.peer_id()) {
            // Not a participant of this height (not seated yet, or gone): an observer, which
            // follows the height but does not vote.
            return;
        }
        let vote = Vote {
            table: self.config.table,
            height: self.height,
            round: self.round,
            kind,
            value,
            signer: self.peer_id(),
        };
        if let Some(signed) = self.guard.sign_vote(&self.key, vote).message() {
            let _ = self.votes.add(Verified::strict(signed.clone()), &|_| true);
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
pub(crate) fn emit_evidence(
    table: &TableId,
    participants: &ParticipantSet,
    evidence: Evidence,
    out: &mut Vec<Output>,
) {
    if evidence.verify(table, participants).is_ok() {
        out.push(Output::Evidence(evidence));
    }
}
