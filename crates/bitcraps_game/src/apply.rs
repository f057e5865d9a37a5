//! Applying operations and blocks to a table state.
//!
//! A [`Draft`] is the next height under construction: operations are pushed one by one, each
//! checked against the state as the operations before it left it, all-or-nothing (a rejected
//! operation changes nothing; a block may carry a seated player's operation refused for good as
//! *failed*, which only spends its nonce). [`Draft::finish`] then runs the height's deadlines (dice flow and
//! dispute expiry), checks the accounting identity and hashes the new state.
//! [`TableState::apply_block`] is the same with every operation required to pass or to fail for
//! good: the validity of a block is a pure function of the previous decided state. A block must
//! also encode in at most [`MAX_BLOCK_BYTES`], every operation in at most
//! [`MAX_OP_BYTES`], and its time must be after its parent's by at
//! most [`MAX_BLOCK_TIME_STEP_MS`].

use std::sync::Arc;

use bitcraps_consensus::PeerId;

use crate::bets::Seat;
use crate::block::{Block, MAX_BLOCK_BYTES, MAX_BLOCK_TIME_STEP_MS, MAX_OPS_PER_BLOCK};
use crate::config::TableConfig;
use crate::custom::{CustomContext, Registry};
use crate::entry::{BlockEntry, FailedOp, MAX_FULL_FAILED_BODY_BYTES};
use crate::error::{BlockError, OpError};
use crate::events::Event;
use crate::ops::{
    signature_ok, Operation, SignedOp, MAX_CUSTOM_NAME_BYTES, MAX_CUSTOM_PAYLOAD_BYTES,
    MAX_OP_BYTES,
};
use crate::state::{TableData, TableState};

/// A seat may have at most this many open bets.
pub const MAX_BETS_PER_SEAT: usize = 32;
/// At most this many seats are ever taken at one table (seats are not reused).
pub const MAX_SEAT_RECORDS: usize = 256;
/// At most this many dispute claims are open at once.
pub const MAX_OPEN_DISPUTES: usize = 16;

/// One transaction on the working data: an operation or the end of a height.
pub(crate) struct Tx<'a> {
    pub(crate) data: &'a mut TableData,
    pub(crate) config: &'a TableConfig,
    pub(crate) registry: &'a Registry,
    pub(crate) events: &'a mut Vec<Event>,
    /// Per-roll bank payouts of the open bets in the current phase, if known (kept up to date
    /// by bet placement, dropped by anything else).
    pub(crate) cover: &'a mut Option<[u64; 36]>,
}

impl Tx<'_> {
    /// The seat of a seated author.
    pub(crate) fn author_seat(&self, peer: &PeerId) -> Result<Seat, OpError> {
        self.data
            .seat_of(peer)
            .ok_or(OpError::NotSeated { peer: *peer })
    }

    /// Applies a signed operation whose nonce and signature are already checked.
    fn dispatch(&mut self, op: &SignedOp) -> Result<(), OpError> {
        let peer = op.author;
        if self.data.closed_at.is_some() {
            return Err(OpError::TableClosed { peer });
        }
        match &op.op {
            Operation::Join { buy_in } => self.join(peer, *buy_in),
            Operation::Leave => self.leave(peer),
            Operation::FundBank { amount } => self.fund_bank(peer, *amount),
            Operation::PlaceBet {
                kind,
                amount,
                working,
            } => self.place_bet(peer, *kind, *amount, *working),
            Operation::RemoveBet { bet } => self.remove_bet(peer, *bet),
            Operation::CallBet { bet, working } => self.call_bet(peer, *bet, *working),
            Operation::CloseBetting { roll } => self.close_betting_op(peer, *roll),
            Operation::Commit {
                roll,
                seat,
                commitment,
            } => self.commit(peer, *roll, *seat, *commitment),
            Operation::Reveal { roll, seat, nonce } => self.reveal(peer, *roll, *seat, *nonce),
            Operation::Dispute(dispute) => self.dispute(peer, dispute),
            Operation::DisputeVote { dispute, uphold } => self.vote(peer, *dispute, *uphold),
            Operation::Custom { name, payload } => self.custom(peer, name, payload),
            Operation::Admit {
                newcomer,
                requested_at,
                admit,
            } => self.answer_join(peer, *newcomer, *requested_at, *admit),
        }
    }

    fn custom(&mut self, peer: PeerId, name: &str, payload: &[u8]) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        if name.len() > MAX_CUSTOM_NAME_BYTES {
            return Err(OpError::TooLong {
                seat,
                what: "custom operation name",
                len: name.len(),
                max: MAX_CUSTOM_NAME_BYTES,
            });
        }
        if payload.len() > MAX_CUSTOM_PAYLOAD_BYTES {
            return Err(OpError::TooLong {
                seat,
                what: "custom operation payload",
                len: payload.len(),
                max: MAX_CUSTOM_PAYLOAD_BYTES,
            });
        }
        let registry = self.registry;
        let ext = registry.get(name).ok_or_else(|| OpError::UnknownCustom {
            seat,
            name: name.to_string(),
        })?;
        let refused = |error| OpError::Custom {
            seat,
            name: name.to_string(),
            error,
        };
        ext.validate(self.data, self.config, seat, payload)
            .map_err(refused)?;
        let mut ctx = CustomContext::new(name, self.data, self.config, self.events);
        ext.apply(&mut ctx, seat, payload).map_err(refused)
    }
}

/// The next height under construction.
#[derive(Debug, Clone)]
pub struct Draft {
    base: TableState,
    data: TableData,
    events: Vec<Event>,
    ops: Vec<BlockEntry>,
    cover: Option<[u64; 36]>,
    signatures: OpSignatures,
}

/// Whether applying a block checks its operations' signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpSignatures {
    /// Every operation's signature is checked (strictly). Always, for a block from the network.
    #[default]
    Check,
    /// The signatures were checked before the block was stored by this node, and the storage
    /// protects its records against corruption (checksums): replaying one's own journal after a
    /// restart. Nonces, rules, payouts and everything else are still checked; an offline audit
    /// of a journal uses [`OpSignatures::Check`].
    AlreadyChecked,
}

impl Draft {
    /// Starts height `base.height() + 1` at block time `timestamp_ms` (which must be later than
    /// the base's, checked by [`Draft::finish`]).
    pub fn new(base: &TableState, timestamp_ms: u64) -> Draft {
        let mut data = TableData::clone(&base.data);
        data.height = base.height.saturating_add(1);
        data.timestamp_ms = timestamp_ms;
        Draft {
            base: base.clone(),
            data,
            events: Vec::new(),
            ops: Vec::new(),
            cover: None,
            signatures: OpSignatures::Check,
        }
    }

    /// The working data (the base plus the operations pushed so far, before the height's
    /// deadlines).
    pub fn data(&self) -> &TableData {
        &self.data
    }

    /// The entries accepted so far (applied operations and failed ones).
    pub fn ops(&self) -> &[BlockEntry] {
        &self.ops
    }

    /// The events so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Checks and applies one operation. On `Err` nothing changed.
    pub fn push(&mut self, op: SignedOp) -> Result<(), OpError> {
        self.check_envelope(&op)?;
        self.apply_checked(op)
    }

    /// Checks and applies one operation as a decided block does: an operation with a sound
    /// envelope from a seated author that the table refuses for good
    /// ([`OpError::is_final_refusal`]) is carried as *failed* — its nonce is spent, an
    /// [`Event::OperationFailed`] says why, and nothing else changes — and `Ok(Some(error))`
    /// is returned. Any other refusal is `Err` and changes nothing (a block carrying it is
    /// invalid).
    ///
    /// A failed operation whose body is over [`MAX_FULL_FAILED_BODY_BYTES`] is carried without
    /// it, as a [`FailedOp`] (see [`entry`](crate::entry)); its event then gives the reason any
    /// node can see for such an entry (see [`Draft::push_failed`]), the same on every node.
    ///
    /// Spending the nonce is what lets the author go on: nonces are exact, so an operation that
    /// could never be applied would otherwise block every later one of its author, and signing
    /// something else under that nonce is double-signing.
    pub fn push_or_fail(&mut self, op: SignedOp) -> Result<Option<OpError>, OpError> {
        self.check_envelope(&op)?;
        let peer = op.author;
        let Some(seat) = self.data.seat_of(&peer) else {
            // Unseated authors (a join, say) get no failed operations: see is_final_refusal.
            return self.apply_checked(op).map(|()| None);
        };
        match self.apply_checked(op.clone()) {
            Ok(()) => Ok(None),
            Err(error) if error.is_final_refusal() => {
                let failed = op
                    .to_failed()
                    .map_err(|error| OpError::Encode { peer, error })?;
                if failed.body.len() > MAX_FULL_FAILED_BODY_BYTES {
                    self.spend_failed(seat, BlockEntry::Failed(failed), None);
                } else {
                    self.spend_failed(seat, BlockEntry::Op(op), Some(error.to_string()));
                }
                Ok(Some(error))
            }
            Err(error) => Err(error),
        }
    }

    /// Carries a failed operation without its body, as a decided block does: the author must
    /// be seated, the nonce exact, the signature valid, and the signed body longer than
    /// [`MAX_FULL_FAILED_BODY_BYTES`] (smaller ones are carried in full, so that every node
    /// checks their refusal) and at most [`MAX_OP_BYTES`]. The nonce is spent and an
    /// [`Event::OperationFailed`] records it; nothing else changes. On `Err` nothing changed
    /// (a block carrying it is invalid).
    pub fn push_failed(&mut self, failed: FailedOp) -> Result<(), OpError> {
        let peer = failed.author;
        let expected = self.data.next_nonce(&peer);
        if failed.nonce != expected {
            return Err(OpError::WrongNonce {
                peer,
                expected,
                got: failed.nonce,
            });
        }
        let seat = self
            .data
            .seat_of(&peer)
            .ok_or(OpError::NotSeated { peer })?;
        let len = failed.body.len();
        if len > MAX_OP_BYTES {
            return Err(OpError::OpTooLarge {
                peer,
                len,
                max: MAX_OP_BYTES,
            });
        }
        if len <= MAX_FULL_FAILED_BODY_BYTES {
            return Err(OpError::FailedBodyWithheld {
                peer,
                len,
                max: MAX_FULL_FAILED_BODY_BYTES,
            });
        }
        if self.signatures == OpSignatures::Check && !failed.verify(&self.base.config.table_id) {
            return Err(OpError::BadSignature { peer });
        }
        self.spend_failed(seat, BlockEntry::Failed(failed), None);
        Ok(())
    }

    /// Spends the nonce of a failed entry whose checks passed and records it. `reason` is the
    /// refusal if the entry carries the operation in full; without its body, every node gives
    /// the same generic reason.
    fn spend_failed(&mut self, seat: Seat, entry: BlockEntry, reason: Option<String>) {
        let peer = entry.author();
        let nonce = entry.nonce();
        let kind = entry.kind();
        let reason = reason.unwrap_or_else(|| match &entry {
            BlockEntry::Failed(f) => format!(
                "refused by the table (carried without its {}-byte body)",
                f.body.len
            ),
            BlockEntry::Op(_) => "refused by the table".to_string(),
        });
        self.data.nonces.insert(peer, nonce);
        self.cover = None;
        self.events.push(Event::OperationFailed {
            seat,
            peer,
            nonce,
            kind,
            reason,
        });
        self.ops.push(entry);
    }

    /// The exact nonce, the encoded size and the signature.
    fn check_envelope(&self, op: &SignedOp) -> Result<(), OpError> {
        let peer = op.author;
        let expected = self.data.next_nonce(&peer);
        if op.nonce != expected {
            return Err(OpError::WrongNonce {
                peer,
                expected,
                got: op.nonce,
            });
        }
        op.check_size()?;
        if self.signatures == OpSignatures::AlreadyChecked {
            return Ok(());
        }
        let bytes = op
            .signing_bytes(&self.base.config.table_id)
            .map_err(|error| OpError::Encode { peer, error })?;
        if !signature_ok(&peer, &bytes, &op.signature) {
            return Err(OpError::BadSignature { peer });
        }
        Ok(())
    }

    /// Applies an operation whose envelope is checked, all-or-nothing.
    fn apply_checked(&mut self, op: SignedOp) -> Result<(), OpError> {
        let peer = op.author;
        let mut working = self.data.clone();
        working.nonces.insert(peer, op.nonce);
        let events_before = self.events.len();
        let mut cover = self.cover;
        let result = Tx {
            data: &mut working,
            config: &self.base.config,
            registry: &self.base.registry,
            events: &mut self.events,
            cover: &mut cover,
        }
        .dispatch(&op);
        match result {
            Ok(()) => {
                self.data = working;
                self.cover = if matches!(op.op, Operation::PlaceBet { .. }) {
                    cover
                } else {
                    None
                };
                self.ops.push(BlockEntry::Op(op));
                Ok(())
            }
            Err(e) => {
                self.events.truncate(events_before);
                Err(e)
            }
        }
    }

    /// Closes the height: block time and size checks, deadlines, accounting check, state hash.
    /// Returns the block of the accepted operations, the new state and everything that
    /// happened.
    pub fn finish(self) -> Result<(Block, TableState, Vec<Event>), BlockError> {
        let Draft {
            base,
            mut data,
            mut events,
            ops,
            ..
        } = self;
        if let Some(closed_at) = base.closed_at {
            return Err(BlockError::TableClosed {
                height: data.height,
                closed_at,
            });
        }
        check_block_time(base.timestamp_ms, data.timestamp_ms)?;
        let mut cover = None;
        Tx {
            data: &mut data,
            config: &base.config,
            registry: &base.registry,
            events: &mut events,
            cover: &mut cover,
        }
        .end_of_height()
        .map_err(|_| BlockError::Overflow {
            height: base.height.saturating_add(1),
        })?;
        data.check_accounting()?;
        let hash = data.compute_hash()?;
        let block = Block {
            height: data.height,
            timestamp_ms: data.timestamp_ms,
            prev_state_hash: base.hash,
            ops,
        };
        check_block_size(&block)?;
        let state = TableState {
            data: Arc::new(data),
            config: base.config.clone(),
            registry: base.registry.clone(),
            hash,
        };
        Ok((block, state, events))
    }
}

/// A block's time must be after its parent's, by at most [`MAX_BLOCK_TIME_STEP_MS`].
fn check_block_time(previous: u64, got: u64) -> Result<(), BlockError> {
    if got <= previous {
        return Err(BlockError::TimestampNotIncreasing { previous, got });
    }
    if got - previous > MAX_BLOCK_TIME_STEP_MS {
        return Err(BlockError::TimestampTooFar {
            previous,
            got,
            max_step: MAX_BLOCK_TIME_STEP_MS,
        });
    }
    Ok(())
}

/// A block must encode in at most [`MAX_BLOCK_BYTES`].
fn check_block_size(block: &Block) -> Result<(), BlockError> {
    let len = block.encode()?.len();
    if len > MAX_BLOCK_BYTES {
        return Err(BlockError::TooLarge {
            len,
            max: MAX_BLOCK_BYTES,
        });
    }
    Ok(())
}

impl TableState {
    /// Applies a decided (or proposed) block: it must be for the next height, build on this
    /// state, have a later timestamp by at most [`MAX_BLOCK_TIME_STEP_MS`], encode in at most
    /// [`MAX_BLOCK_BYTES`], and every operation must be accepted in order — or be carried as
    /// failed ([`Draft::push_or_fail`], [`Draft::push_failed`]).
    pub fn apply_block(&self, block: &Block) -> Result<(TableState, Vec<Event>), BlockError> {
        self.apply_block_with(block, OpSignatures::Check)
    }

    /// [`TableState::apply_block`], checking the operations' signatures or not (see
    /// [`OpSignatures`]: only for blocks this node checked before and stored safely).
    pub fn apply_block_with(
        &self,
        block: &Block,
        signatures: OpSignatures,
    ) -> Result<(TableState, Vec<Event>), BlockError> {
        let expected = self.height.saturating_add(1);
        if block.height != expected {
            return Err(BlockError::WrongHeight {
                expected,
                got: block.height,
            });
        }
        if block.prev_state_hash != self.hash {
            return Err(BlockError::WrongParent {
                height: block.height,
            });
        }
        check_block_time(self.timestamp_ms, block.timestamp_ms)?;
        if block.ops.len() > MAX_OPS_PER_BLOCK {
            return Err(BlockError::TooManyOps {
                count: block.ops.len(),
                max: MAX_OPS_PER_BLOCK,
            });
        }
        check_block_size(block)?;
        let mut draft = Draft::new(self, block.timestamp_ms);
        draft.signatures = signatures;
        for (index, entry) in block.ops.iter().enumerate() {
            let pushed = match entry {
                BlockEntry::Op(op) => draft.push_or_fail(op.clone()).map(|_| ()),
                BlockEntry::Failed(failed) => draft.push_failed(failed.clone()),
            };
            pushed.map_err(|e| BlockError::Op {
                index,
                author: entry.author(),
                error: Box::new(e),
            })?;
        }
        let (_, state, events) = draft.finish()?;
        Ok((state, events))
    }

    /// Starts the next height (see [`Draft`]).
    pub fn draft(&self, timestamp_ms: u64) -> Draft {
        Draft::new(self, timestamp_ms)
    }

    /// Whether `op` could still be applied some day: its nonce is not spent yet. Hosts drop
    /// stale operations from their pools (and refuse, at admission, operations over
    /// [`MAX_OP_BYTES`]: [`SignedOp::check_size`]).
    pub fn is_stale(&self, op: &SignedOp) -> bool {
        op.nonce < self.next_nonce(&op.author)
    }
}
