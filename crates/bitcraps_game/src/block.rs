//! Blocks: the consensus value of each height.
//!
//! A [`Block`] carries the height, a block time, the hash of the state it builds on and a batch
//! of signed operations ([`BlockEntry`]); it travels as a consensus [`Value`] holding its
//! [`codec`] encoding. Whether a block is valid is a pure function of the previous decided state
//! ([`TableState::apply_block`]); whether a node *prevotes* a fresh proposal also depends on its
//! clock ([`acceptable_now`]: the block time must be within [`MAX_CLOCK_SKEW_MS`] of it).
//!
//! Proposers build blocks from their pending operations with [`TableState::build_block`], which
//! keeps exactly the operations the state accepts — plus, as failed, those of seated players it
//! refuses for good — in an order that respects every player's nonce sequence.
//!
//! # Size
//!
//! A block encodes in at most [`MAX_BLOCK_BYTES`] (and carries at most [`MAX_OPS_PER_BLOCK`]
//! entries); a larger one is invalid. The proposer's [`TableState::build_block`] stops adding
//! operations when the next one would not fit (it stays a candidate for a later block), so
//! a proposer can always propose, whatever is in its pool: every operation is at most
//! [`MAX_OP_BYTES`], and a large operation refused for good is carried without its body
//! ([`FailedOp`](crate::entry::FailedOp), about 140 bytes). Candidates are taken round-robin
//! over their authors (each author's operations in nonce order), so one player flooding the
//! pool cannot crowd the others out of a block.
//!
//! # Time
//!
//! Block time is strictly increasing, and a block's time may exceed its parent's by at most
//! [`MAX_BLOCK_TIME_STEP_MS`] (366 days), checked by [`TableState::apply_block`] itself: no
//! block, decided or replayed, can push the table's time to the end of `u64` (after which no
//! block could follow) or skip every deadline by centuries. An honest proposer stamps its clock
//! (within [`MAX_CLOCK_SKEW_MS`] of every honest node's), so an honest block is refused only if
//! the table was idle for more than a year; even then the table resumes: the proposer stamps
//! the largest step (`parent + MAX_BLOCK_TIME_STEP_MS`), which honest nodes accept while it is
//! still behind their clocks ([`acceptable_after`]; [`Chain`](crate::Chain) uses it), one
//! catch-up block per year of idleness.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use bitcraps_consensus::{codec, PeerId, Value};

use crate::apply::Draft;
use crate::entry::BlockEntry;
use crate::error::{BlockError, OpError};
use crate::events::Event;
use crate::ops::{Operation, SignedOp, MAX_OP_BYTES};
use crate::state::TableState;

/// The most operations one block carries.
pub const MAX_OPS_PER_BLOCK: usize = 1_024;
/// The largest encoded block, in bytes: 240 KiB (245,760).
///
/// Every block must travel in one relay frame of 256 KiB (262,144 bytes: the `bitcraps_renet`
/// channel budget's `max_message_bytes`, the envelope without the frame's own 128 bytes),
/// inside the largest envelope that carries a block: a catch-up decision (value plus commit
/// certificate) or a proposal (value plus signed header). A certificate holds the table id,
/// height, round and value id (under 100 bytes) and one signature entry per precommit (signer
/// 32 + signature 64 + a few bytes of framing, ≤ 110 bytes) for at most 16 seats: under 2 KiB.
/// A signed proposal header is under 250 bytes; the envelope and message tags and the value's
/// length prefix add under 16 bytes. The 16 KiB left (262,144 − 245,760 = 16,384) cover that
/// eight times over. It is also far below the codec's 1 MiB limit, so every block that is
/// valid encodes.
pub const MAX_BLOCK_BYTES: usize = 240 * 1024;
/// The largest step from a block's time to the next block's: 366 days, in ms. See the module
/// docs ("Time") for why honest tables are never refused.
pub const MAX_BLOCK_TIME_STEP_MS: u64 = 366 * 24 * 3_600 * 1_000;
/// The largest distance between a fresh proposal's block time and a node's clock for the node
/// to prevote it: 5 s.
///
/// Deadlines are in block time ([`Deadlines`](crate::Deadlines)), so this bounds how far a
/// Byzantine proposer can bring one forward: every decided block was prevoted by honest nodes,
/// so the table's time runs at most this far ahead of the honest clocks. Players' machines must
/// keep their clocks within it (any machine synchronised by NTP does); a node whose clock is
/// further off still follows the table from its certificates, but its prevotes do not help the
/// table decide.
pub const MAX_CLOCK_SKEW_MS: u64 = 5_000;
/// Bytes of a block's encoding besides its entries, at most: height and timestamp (varints of
/// at most 9 bytes each), the parent hash (32) and the entry count (a varint of at most 9);
/// rounded up.
const BLOCK_HEADER_BYTES: usize = 64;
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
    /// The operations, applied (or carried as failed) in order.
    pub ops: Vec<BlockEntry>,
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

/// [`acceptable_now`] for a proposal on a parent whose block time is `parent_timestamp_ms`:
/// also accepts a catch-up block after an idle period longer than [`MAX_BLOCK_TIME_STEP_MS`],
/// stamped exactly the largest step after its parent and still behind the clock (see the
/// module docs, "Time"). A proposer cannot choose that time, so it gains nothing by it.
pub fn acceptable_after(parent_timestamp_ms: u64, value: &Value, now_ms: u64) -> bool {
    Block::from_value(value).is_ok_and(|b| {
        b.timestamp_ms.abs_diff(now_ms) <= MAX_CLOCK_SKEW_MS
            || (Some(b.timestamp_ms) == parent_timestamp_ms.checked_add(MAX_BLOCK_TIME_STEP_MS)
                && b.timestamp_ms < now_ms)
    })
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
    /// [`Draft::push_or_fail`]), with the reason — also for those carried without their body,
    /// whose events on every node give only a generic reason.
    pub failed: Vec<(SignedOp, OpError)>,
}

impl TableState {
    /// Builds the next block from `candidates`: every candidate the state accepts goes in (and
    /// every candidate of a seated player that it refuses for good goes in as failed) while
    /// the block has room ([`MAX_OPS_PER_BLOCK`], [`MAX_BLOCK_BYTES`]; what does not fit stays
    /// a candidate for a later block). Betting and other operations come before the close of
    /// betting, which comes before commitments, which come before reveals; within each, the
    /// candidates are taken round-robin over their authors (each author's first operation by
    /// nonce, then each author's second, …; ties in the given order), and an operation refused
    /// only because an earlier one of its author (or the close of betting) is missing is
    /// retried after the others. The block time is `timestamp_ms`, raised to one millisecond
    /// after this state's if needed and lowered to [`MAX_BLOCK_TIME_STEP_MS`] after it.
    ///
    /// Whatever the candidates, the block encodes within [`MAX_BLOCK_BYTES`] (so its value
    /// always encodes): a proposer can always propose.
    pub fn build_block(
        &self,
        timestamp_ms: u64,
        candidates: impl IntoIterator<Item = SignedOp>,
    ) -> Result<BuiltBlock, BlockError> {
        let timestamp_ms = timestamp_ms
            .max(self.timestamp_ms.saturating_add(1))
            .min(self.timestamp_ms.saturating_add(MAX_BLOCK_TIME_STEP_MS));
        let mut draft = Builder {
            draft: self.draft(timestamp_ms),
            bytes: BLOCK_HEADER_BYTES,
            rejected: Vec::new(),
            failed: Vec::new(),
        };
        let candidates = fair_order(candidates.into_iter().collect());
        let mut start = 0;
        while start < candidates.len() {
            let rank = flow_rank(&candidates[start].op);
            let end = candidates[start..]
                .iter()
                .position(|op| flow_rank(&op.op) != rank)
                .map_or(candidates.len(), |n| start + n);
            let group = candidates[start..end].to_vec();
            draft.push_group(group);
            start = end;
        }
        let Builder {
            draft,
            rejected,
            failed,
            ..
        } = draft;
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

/// A proposer's draft with the bytes its block takes so far.
struct Builder {
    draft: Draft,
    /// Upper bound of the block's encoded size so far.
    bytes: usize,
    rejected: Vec<(SignedOp, OpError)>,
    failed: Vec<(SignedOp, OpError)>,
}

impl Builder {
    /// Whether `op` fits in full (it may take less: carried as failed without its body).
    fn fits(&self, op: &SignedOp) -> Result<bool, OpError> {
        if self.draft.ops().len() >= MAX_OPS_PER_BLOCK {
            return Ok(false);
        }
        // One byte for the entry's variant tag.
        let len = op.check_size()?.saturating_add(1);
        Ok(self.bytes.saturating_add(len) <= MAX_BLOCK_BYTES)
    }

    /// Counts the bytes of the entries pushed since the draft had `before` of them.
    fn count_new_entries(&mut self, before: usize) {
        for entry in self.draft.ops().iter().skip(before) {
            // An entry that fitted in full encodes: its size is at most the full operation's
            // plus its tag. Should it not encode, count the largest an entry may be.
            let len = codec::encode(entry).map_or(MAX_OP_BYTES.saturating_add(1), |b| b.len());
            self.bytes = self.bytes.saturating_add(len);
        }
    }

    /// Tries one candidate: in, carried as failed, retried later (`Some`), left out for now
    /// (no room: it stays a candidate), or rejected.
    fn try_push(&mut self, op: SignedOp) -> Option<(SignedOp, OpError)> {
        match self.fits(&op) {
            Ok(true) => {}
            // No room: it stays a candidate for the next block.
            Ok(false) => return None,
            Err(e) => {
                self.rejected.push((op, e));
                return None;
            }
        }
        let before = self.draft.ops().len();
        let retry = match self.draft.push(op.clone()) {
            Ok(()) => None,
            Err(e) if may_become_valid(&e) => Some((op, e)),
            Err(e) => {
                self.carry_failed(op, e);
                None
            }
        };
        self.count_new_entries(before);
        retry
    }

    /// Pushes a group of candidates, retrying those another may unblock, up to
    /// [`BUILD_PASSES`].
    fn push_group(&mut self, mut pending: Vec<SignedOp>) {
        for _ in 0..BUILD_PASSES {
            let mut retry = Vec::new();
            let before = self.draft.ops().len();
            for op in pending {
                retry.extend(self.try_push(op));
            }
            let progress = self.draft.ops().len() > before;
            if !progress || retry.is_empty() {
                self.rejected.extend(retry);
                return;
            }
            pending = retry.into_iter().map(|(op, _)| op).collect();
        }
        for op in pending {
            if let Some(refused) = self.try_push(op) {
                self.rejected.push(refused);
            }
        }
    }

    /// A candidate the state refuses: carried as failed if the refusal is final (its author's
    /// nonce is spent, so the author's later operations are not blocked behind it), else left
    /// out.
    fn carry_failed(&mut self, op: SignedOp, error: OpError) {
        if !error.is_final_refusal() {
            self.rejected.push((op, error));
            return;
        }
        match self.draft.push_or_fail(op.clone()) {
            Ok(Some(error)) => self.failed.push((op, error)),
            // Not expected (the same state refused it a moment ago); harmless if it happens.
            Ok(None) => {}
            Err(error) => self.rejected.push((op, error)),
        }
    }
}

/// The candidates grouped by flow rank ([`flow_rank`]) and, within a group, round-robin over
/// their authors: every author's first operation (by nonce), then every author's second, and
/// so on; ties in the given order.
fn fair_order(candidates: Vec<SignedOp>) -> Vec<SignedOp> {
    let mut by_author: BTreeMap<PeerId, Vec<(u64, usize)>> = BTreeMap::new();
    for (index, op) in candidates.iter().enumerate() {
        by_author
            .entry(op.author)
            .or_default()
            .push((op.nonce, index));
    }
    let mut turn = vec![0usize; candidates.len()];
    for ops in by_author.values_mut() {
        ops.sort_unstable();
        for (k, (_, index)) in ops.iter().enumerate() {
            if let Some(t) = turn.get_mut(*index) {
                *t = k;
            }
        }
    }
    let mut keyed: Vec<(u8, usize, usize, SignedOp)> = candidates
        .into_iter()
        .enumerate()
        .map(|(index, op)| {
            let t = turn.get(index).copied().unwrap_or(usize::MAX);
            (flow_rank(&op.op), t, index, op)
        })
        .collect();
    keyed.sort_by_key(|(rank, t, index, _)| (*rank, *t, *index));
    keyed.into_iter().map(|(_, _, _, op)| op).collect()
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
