//! What goes into the engine and what comes out of it.

use std::time::Duration;

use crate::certificate::{CommitCertificate, Decision};
use crate::evidence::Evidence;
use crate::keys::PeerId;
use crate::message::{SignedProposal, SignedVote, Verified};
use crate::timeouts::Timeout;
use crate::types::{Height, Round, Value};
use crate::wire::{VerifiedMessage, WireMessage};

/// An input to [`crate::Engine::handle`].
#[derive(Clone, Debug)]
pub enum Input {
    /// Start the given height (the first one, or the one after the last decision, once the
    /// application has applied that decision).
    StartHeight(Height),
    /// A verified proposal, vote or decision (certificate) from the network.
    Message(VerifiedMessage),
    /// A timeout the engine scheduled has elapsed on the host's clock.
    TimeoutElapsed(Timeout),
    /// The application's value for a round where this node proposes (answer to
    /// [`Output::RequestValue`]).
    ValueReady {
        /// Height asked for.
        height: Height,
        /// Round asked for.
        round: Round,
        /// The value to propose.
        value: Value,
    },
    /// A decision (from catch-up) whose certificate nobody checked, typically because its
    /// height's participant set is not declared yet ([`crate::Engine::verify`] refused it with
    /// [`crate::VerifyError::UnknownParticipants`]). Of the current height, or of a future
    /// height whose set is known, the engine verifies it strictly now (a bad one is an error);
    /// otherwise it keeps it, within [`crate::Limits::max_buffered_decision_bytes`], and
    /// verifies it against its height's set when that height starts.
    UnverifiedDecision(Decision),
    /// Time to re-broadcast: liveness needs every message a correct node saw to reach every
    /// correct node eventually, across message loss.
    GossipTick,
}

impl From<VerifiedMessage> for Input {
    fn from(message: VerifiedMessage) -> Input {
        Input::Message(message)
    }
}

impl From<Verified<SignedVote>> for Input {
    fn from(vote: Verified<SignedVote>) -> Input {
        Input::Message(VerifiedMessage::Vote(vote))
    }
}

impl From<Verified<SignedProposal>> for Input {
    fn from(proposal: Verified<SignedProposal>) -> Input {
        Input::Message(VerifiedMessage::Proposal(proposal))
    }
}

impl From<Verified<Decision>> for Input {
    fn from(decision: Verified<Decision>) -> Input {
        Input::Message(VerifiedMessage::Decision(decision))
    }
}

/// An output of [`crate::Engine::handle`], for the host to carry out in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send to every participant. Persist [`crate::Engine::persistent_state`] first.
    Broadcast(WireMessage),
    /// Send to one participant (catch-up).
    SendTo {
        /// Recipient.
        peer: PeerId,
        /// Message.
        message: WireMessage,
    },
    /// A peer lacks decisions older than this engine retains: the host serves them from its
    /// journal (send `peer` the decisions from height `from` on, a few at a time).
    CatchUp {
        /// The lagging peer.
        peer: PeerId,
        /// The first height it lacks.
        from: Height,
    },
    /// Call back with [`Input::TimeoutElapsed`] after `after` has passed.
    ScheduleTimeout {
        /// Which timeout.
        timeout: Timeout,
        /// How long from now.
        after: Duration,
    },
    /// This node proposes at (height, round): answer with [`Input::ValueReady`].
    RequestValue {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
    },
    /// A value was decided. Apply it, then send [`Input::StartHeight`] for the next height.
    Decided {
        /// Height decided.
        height: Height,
        /// Round whose precommits decided.
        round: Round,
        /// The value.
        value: Value,
        /// 2f+1 precommits proving it.
        certificate: CommitCertificate,
    },
    /// A participant misbehaved; the evidence verifies on its own.
    Evidence(Evidence),
}

impl Output {
    /// True for outputs that carry a message this node signed or relays.
    pub fn is_message(&self) -> bool {
        matches!(self, Output::Broadcast(_) | Output::SendTo { .. })
    }
}

/// The application's judgement of proposed values.
pub trait ValueValidity {
    /// Deterministic validity of `value` at `height`: a pure function of the decided state, the
    /// same on every honest node. The engine never decides a value for which this is false.
    fn is_valid(&self, height: Height, value: &Value) -> bool;

    /// Local acceptance before prevoting a fresh proposal (e.g. its timestamp is near this
    /// node's clock). May differ between nodes; defaults to accepting.
    fn acceptable_now(&self, _height: Height, _value: &Value) -> bool {
        true
    }
}

impl<F: Fn(Height, &Value) -> bool> ValueValidity for F {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        self(height, value)
    }
}
