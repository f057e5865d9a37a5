//! What the engine keeps for later, and the byte bounds on it.
//!
//! - Messages of future heights (within [`crate::Limits::max_future_heights`]), replayed when
//!   their height starts, capped per signer by count and — together with the signer's
//!   proposals of the current height — by bytes ([`crate::Limits::max_buffered_bytes_per_signer`]).
//! - Decisions of future heights, verified or not (a decision of a height whose participant set
//!   is not declared yet cannot be verified), at most [`MAX_DECISIONS_PER_HEIGHT`] per height and
//!   [`crate::Limits::max_buffered_decision_bytes`] in all; the lowest heights are kept first.

use std::collections::BTreeMap;

use crate::certificate::Decision;
use crate::engine::catch_up::decision_bytes;
use crate::engine::Engine;
use crate::error::InputError;
use crate::keys::PeerId;
use crate::message::SignedProposal;
use crate::types::{Height, Round};
use crate::wire::VerifiedMessage;

/// Different decisions kept per future height (a Byzantine may relay a bogus one first; the
/// certificate decides which one counts once the height's set is known).
pub(crate) const MAX_DECISIONS_PER_HEIGHT: usize = 2;

/// Bytes counted for a message besides its value: header, signature, bookkeeping.
const OVERHEAD: usize = 256;

/// Bytes a message is counted for.
pub(crate) fn message_bytes(message: &VerifiedMessage) -> usize {
    match message {
        VerifiedMessage::Proposal(p) => proposal_bytes(p),
        VerifiedMessage::Decision(d) => decision_bytes(d),
        VerifiedMessage::Vote(_) | VerifiedMessage::Status(_) => OVERHEAD,
    }
}

/// Bytes a proposal is counted for.
pub(crate) fn proposal_bytes(proposal: &SignedProposal) -> usize {
    proposal.value.bytes().len() + OVERHEAD
}

/// A decision kept for a future height, with whether its certificate passed `verify_strict`
/// against that height's set already (`false`: verified by a batch, or not at all yet).
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) decision: Decision,
    pub(crate) strict: bool,
}

/// The buffers and their byte accounts.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// Signed messages of future heights.
    pub(crate) future: BTreeMap<Height, Vec<VerifiedMessage>>,
    /// Future messages per signer (count).
    per_signer: BTreeMap<PeerId, usize>,
    /// Future message bytes per signer.
    future_bytes: BTreeMap<PeerId, usize>,
    /// Current-height proposal bytes per proposer.
    round_bytes: BTreeMap<PeerId, usize>,
    /// Decisions of future heights.
    pub(crate) decisions: BTreeMap<Height, Vec<Pending>>,
    /// Their bytes.
    decision_bytes: usize,
}

impl Buffers {
    /// Bytes of `peer`'s messages held.
    pub(crate) fn held(&self, peer: &PeerId) -> usize {
        self.future_bytes.get(peer).copied().unwrap_or(0)
            + self.round_bytes.get(peer).copied().unwrap_or(0)
    }

    /// Bytes of every signer's messages and of the buffered decisions.
    pub(crate) fn total(&self) -> usize {
        self.future_bytes.values().sum::<usize>()
            + self.round_bytes.values().sum::<usize>()
            + self.decision_bytes
    }

    /// Counts a proposal of the current height.
    pub(crate) fn charge_round(&mut self, peer: PeerId, bytes: usize) {
        *self.round_bytes.entry(peer).or_insert(0) += bytes;
    }

    /// Uncounts a proposal of the current height.
    pub(crate) fn release_round(&mut self, peer: PeerId, bytes: usize) {
        if let Some(held) = self.round_bytes.get_mut(&peer) {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                self.round_bytes.remove(&peer);
            }
        }
    }

    /// A new height: the current height's proposals are gone.
    pub(crate) fn clear_round(&mut self) {
        self.round_bytes.clear();
    }

    /// Uncounts future messages taken out of the buffer.
    pub(crate) fn unbuffer(&mut self, messages: &[VerifiedMessage]) {
        for m in messages {
            let Some(author) = m.author() else { continue };
            if let Some(count) = self.per_signer.get_mut(&author) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.per_signer.remove(&author);
                }
            }
            if let Some(held) = self.future_bytes.get_mut(&author) {
                *held = held.saturating_sub(message_bytes(m));
                if *held == 0 {
                    self.future_bytes.remove(&author);
                }
            }
        }
    }

    /// Takes the decisions of `height` out, dropping those of lower heights.
    pub(crate) fn take_decisions(&mut self, height: Height) -> Vec<Pending> {
        let stale: Vec<Height> = self.decisions.range(..=height).map(|(h, _)| *h).collect();
        let mut taken = Vec::new();
        for h in stale {
            let Some(pending) = self.decisions.remove(&h) else {
                continue;
            };
            for p in &pending {
                self.decision_bytes = self
                    .decision_bytes
                    .saturating_sub(decision_bytes(&p.decision));
            }
            if h == height {
                taken = pending;
            }
        }
        taken
    }

    /// Keeps a decision of a future height, making room by dropping decisions of higher
    /// heights if needed. `Ok(false)`: already kept.
    pub(crate) fn keep_decision(
        &mut self,
        pending: Pending,
        limit: usize,
    ) -> Result<bool, InputError> {
        let height = pending.decision.height();
        let kept = self.decisions.get(&height);
        if kept.is_some_and(|k| k.iter().any(|p| p.decision == pending.decision)) {
            return Ok(false);
        }
        if kept.is_some_and(|k| k.len() >= MAX_DECISIONS_PER_HEIGHT) {
            return Err(InputError::DecisionBufferFull(height));
        }
        let size = decision_bytes(&pending.decision);
        while self.decision_bytes.saturating_add(size) > limit {
            let Some(highest) = self.decisions.keys().next_back().copied() else {
                break;
            };
            if highest <= height {
                break;
            }
            if let Some(dropped) = self.decisions.remove(&highest) {
                for p in &dropped {
                    self.decision_bytes = self
                        .decision_bytes
                        .saturating_sub(decision_bytes(&p.decision));
                }
            }
        }
        if self.decision_bytes.saturating_add(size) > limit {
            return Err(InputError::DecisionBufferFull(height));
        }
        self.decision_bytes += size;
        self.decisions.entry(height).or_default().push(pending);
        Ok(true)
    }
}

impl Engine {
    /// Buffers a verified message of a future height.
    pub(crate) fn buffer(&mut self, message: VerifiedMessage) -> Result<(), InputError> {
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
        let VerifiedMessage::Decision(decision) = message else {
            return self.buffer_signed(message);
        };
        let pending = Pending {
            strict: decision.is_strict(),
            decision: decision.into_inner(),
        };
        let limit = self.config.limits.max_buffered_decision_bytes;
        self.buffers.keep_decision(pending, limit).map(|_| ())
    }

    /// Buffers a future proposal, vote or status under its signer's count and byte shares.
    fn buffer_signed(&mut self, message: VerifiedMessage) -> Result<(), InputError> {
        let Some(author) = message.author() else {
            return Ok(());
        };
        let height = message.height();
        let buffers = &mut self.buffers;
        if buffers
            .future
            .get(&height)
            .is_some_and(|bucket| bucket.contains(&message))
        {
            return Ok(());
        }
        let limits = &self.config.limits;
        let count = buffers.per_signer.get(&author).copied().unwrap_or(0);
        if count >= limits.max_buffered_per_signer {
            return Err(InputError::BufferFull(author));
        }
        let size = message_bytes(&message);
        let held = buffers.held(&author);
        if held.saturating_add(size) > limits.max_buffered_bytes_per_signer {
            return Err(InputError::ByteBudget {
                from: author,
                held,
                limit: limits.max_buffered_bytes_per_signer,
            });
        }
        *buffers.per_signer.entry(author).or_insert(0) += 1;
        *buffers.future_bytes.entry(author).or_insert(0) += size;
        buffers.future.entry(height).or_default().push(message);
        Ok(())
    }

    /// Makes room for `size` more bytes of `proposer`'s proposals at the current height, by
    /// dropping its proposals of earlier rounds that hold neither the locked nor the valid
    /// value; refuses if that is not enough.
    pub(crate) fn make_room_for_proposal(
        &mut self,
        proposer: PeerId,
        size: usize,
    ) -> Result<(), InputError> {
        let limit = self.config.limits.max_buffered_bytes_per_signer;
        let keep: Vec<_> = [&self.locked, &self.valid]
            .into_iter()
            .flatten()
            .map(|(_, v)| v.id())
            .collect();
        let rounds: Vec<Round> = self
            .proposals
            .range(..self.round)
            .map(|(r, _)| *r)
            .collect();
        for round in rounds {
            if self.buffers.held(&proposer).saturating_add(size) <= limit {
                break;
            }
            let Some(seen) = self.proposals.get_mut(&round) else {
                continue;
            };
            let mut freed = 0;
            seen.retain(|p| {
                let drop = p.header().proposer == proposer && !keep.contains(&p.header().value_id);
                if drop {
                    freed += proposal_bytes(p);
                }
                !drop
            });
            if seen.is_empty() {
                self.proposals.remove(&round);
            }
            self.buffers.release_round(proposer, freed);
        }
        let held = self.buffers.held(&proposer);
        if held.saturating_add(size) > limit {
            return Err(InputError::ByteBudget {
                from: proposer,
                held,
                limit,
            });
        }
        Ok(())
    }

    /// Messages buffered for future heights (for monitoring memory bounds).
    pub fn buffered_messages(&self) -> usize {
        self.buffers.future.values().map(Vec::len).sum::<usize>()
            + self.buffers.decisions.values().map(Vec::len).sum::<usize>()
    }

    /// Bytes of `signer`'s messages this engine holds: its future-height messages and its
    /// proposals of the current height (bounded by
    /// [`crate::Limits::max_buffered_bytes_per_signer`]; its votes of the current height,
    /// bounded by count, are not included).
    pub fn buffered_bytes_of(&self, signer: &PeerId) -> usize {
        self.buffers.held(signer)
    }

    /// Bytes held in buffers and proposals, all signers and decisions together.
    pub fn buffered_bytes(&self) -> usize {
        self.buffers.total()
    }
}
