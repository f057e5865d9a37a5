//! Blocks: the consensus value of each height.
//!
//! A [`Block`] carries the height, a block time, the hash of the state it builds on and a batch
//! of signed operations; it travels as a consensus [`Value`] holding its [`codec`] encoding.
//! Whether a block is valid is a pure function of the previous decided state
//! ([`TableState::apply_block`]); whether a node *prevotes* a fresh proposal also depends on its
//! clock ([`acceptable_now`]: the block time must be within [`MAX_CLOCK_SKEW_MS`] of it).
//!
//! Proposers build blocks from their pending operations with [`TableState::build_block`], which
//! keeps exactly the operations the state accepts — plus, as failed, those of seated players it
//! refuses for good — in an order that respects every player's nonce sequence.

use serde::{Deserialize, Serialize};

use bitcraps_consensus::{codec, Value};

use crate::apply::Draft;
use crate::error::{BlockError, OpError};
use crate::events::Event;
use crate::ops::{Operation, SignedOp};
use crate::state::TableState;

/// The most operations one block carries.
pub const MAX_OPS_PER_BLOCK: usize = 1_024;
/// The largest distance between a fresh proposal's block time and a node's clock for the node
/// to prevote it: 300 s.
pub const MAX_CLOCK_SKEW_MS: u64 = 300_000;
/// Passes [`TableState::build_block`] makes over the candidates (an operation may become
/// acceptable once another is in: the next nonce, or commitments once betting closed).
const BUILD_PASSES: usize = 8;

/// The value decided at one height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The height (the first block after genesis is 1).
    pub height: u64,
    /// Block time, ms since the Unix epoch; strictly increasing.
    pub timestamp_ms: u64,
    /// [`TableState::hash`] of the state this block applies to.
    pub prev_state_hash: [u8; 32],
    /// The operations, applied in order.
    pub ops: Vec<SignedOp>,
}

impl Block {
    /// The block's canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, BlockError> {
        Ok(codec::encode(self)?)
    }

    /// Decodes a block (size-limited, no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Block, BlockError> {
        Ok(codec::decode(bytes, codec::MAX_MESSAGE_BYTES)?)
    }

    /// The block as a consensus value.
    pub fn to_value(&self) -> Result<Value, BlockError> {
        Ok(Value::new(self.encode()?))
    }

    /// The block inside a consensus value.
    pub fn from_value(value: &Value) -> Result<Block, BlockError> {
        Block::decode(value.bytes())
    }
}

/// Whether a node whose clock reads `now_ms` should prevote a fresh proposal of `value`: the
/// value is a block whose time is within [`MAX_CLOCK_SKEW_MS`] of the clock. (Validity proper is
/// [`TableState::apply_block`].)
pub fn acceptable_now(value: &Value, now_ms: u64) -> bool {
    Block::from_value(value).is_ok_and(|b| b.timestamp_ms.abs_diff(now_ms) <= MAX_CLOCK_SKEW_MS)
}

/// A block built by a proposer.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// The block to propose.
    pub block: Block,
    /// The state after it.
    pub state: TableState,
    /// What it does.
    pub events: Vec<Event>,
    /// Candidates left out, with the reason from their last attempt (advisory: an operation
    /// left out now may be accepted later, e.g. a commitment before betting closes). Candidates
    /// left out only because the block was full are not listed.
    pub rejected: Vec<(SignedOp, OpError)>,
    /// Candidates the block carries as failed (refused for good: their nonces are spent, see
    /// [`Draft::push_or_fail`]), with the reason.
    pub failed: Vec<(SignedOp, OpError)>,
}

impl TableState {
    /// Builds the next block from `candidates`: every candidate the state accepts goes in (and
    /// every candidate of a seated player that it refuses for good goes in as failed), in
    /// the given order except that betting and other operations come before the close of
    /// betting, which comes before commitments, which come before reveals, and that an operation
    /// refused only because an earlier one of its author (or the close of betting) is missing
    /// is retried after the others. The block time
    /// is `timestamp_ms`, raised to one millisecond after this state's if needed.
    pub fn build_block(
        &self,
        timestamp_ms: u64,
        candidates: impl IntoIterator<Item = SignedOp>,
    ) -> Result<BuiltBlock, BlockError> {
        let timestamp_ms = timestamp_ms.max(self.timestamp_ms.saturating_add(1));
        let mut draft = self.draft(timestamp_ms);
        let mut candidates: Vec<SignedOp> = candidates.into_iter().collect();
        // Betting before the close, the close before commitments, commitments before reveals.
        candidates.sort_by_key(|op| flow_rank(&op.op));
        let mut rejected = Vec::new();
        let mut failed = Vec::new();
        let mut start = 0;
        while start < candidates.len() {
            let rank = flow_rank(&candidates[start].op);
            let end = candidates[start..]
                .iter()
                .position(|op| flow_rank(&op.op) != rank)
                .map_or(candidates.len(), |n| start + n);
            let group = candidates[start..end].to_vec();
            push_group(&mut draft, group, &mut rejected, &mut failed);
            start = end;
        }
        let (block, state, events) = draft.finish()?;
        Ok(BuiltBlock {
            block,
            state,
            events,
            rejected,
            failed,
        })
    }
}

/// Pushes a group of candidates, retrying those another may unblock, up to [`BUILD_PASSES`].
fn push_group(
    draft: &mut Draft,
    mut pending: Vec<SignedOp>,
    rejected: &mut Vec<(SignedOp, OpError)>,
    failed: &mut Vec<(SignedOp, OpError)>,
) {
    for _ in 0..BUILD_PASSES {
        let mut retry = Vec::new();
        let mut progress = false;
        for op in pending {
            if draft.ops().len() >= MAX_OPS_PER_BLOCK {
                // No room: it stays a candidate for the next block.
                continue;
            }
            match draft.push(op.clone()) {
                Ok(()) => progress = true,
                Err(e) if may_become_valid(&e) => retry.push((op, e)),
                Err(e) => carry_failed(draft, op, e, rejected, failed),
            }
        }
        if !progress || retry.is_empty() {
            rejected.extend(retry);
            return;
        }
        pending = retry.into_iter().map(|(op, _)| op).collect();
    }
    for op in pending {
        if draft.ops().len() < MAX_OPS_PER_BLOCK {
            if let Err(e) = draft.push(op.clone()) {
                rejected.push((op, e));
            }
        }
    }
}

/// A candidate the state refuses: carried as failed if the refusal is final (its author's nonce
/// is spent, so the author's later operations are not blocked behind it), else left out.
fn carry_failed(
    draft: &mut Draft,
    op: SignedOp,
    error: OpError,
    rejected: &mut Vec<(SignedOp, OpError)>,
    failed: &mut Vec<(SignedOp, OpError)>,
) {
    if !error.is_final_refusal() {
        rejected.push((op, error));
        return;
    }
    match draft.push_or_fail(op.clone()) {
        Ok(Some(error)) => failed.push((op, error)),
        // Not expected (the same state refused it a moment ago); harmless if it happens.
        Ok(None) => {}
        Err(error) => rejected.push((op, error)),
    }
}

/// Where an operation goes in a proposer's block: the dice flow in order, everything else first.
fn flow_rank(op: &Operation) -> u8 {
    match op {
        Operation::CloseBetting { .. } => 1,
        Operation::Commit { .. } => 2,
        Operation::Reveal { .. } => 3,
        _ => 0,
    }
}

/// Errors that another operation in the same block may clear.
fn may_become_valid(e: &OpError) -> bool {
    match e {
        OpError::WrongNonce { expected, got, .. } => got > expected,
        OpError::CommitmentsNotOpen { .. } | OpError::NotSeated { .. } => true,
        _ => false,
    }
}
