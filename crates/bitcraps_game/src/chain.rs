//! A host's view of a table over heights: the recent decided states (copy-on-write, so readers
//! hold them for free), the consensus application ([`ValueValidity`]) over them, and the
//! application of decided blocks.
//!
//! ```text
//! engine.handle(input, &chain.validity(now_ms))      // validity from the decided state
//! Output::RequestValue  → chain.latest().build_block(now_ms, pool) → Input::ValueReady
//! Output::Decided       → chain.apply_decided(height, &value) → events → Input::StartHeight
//! ```
//!
//! Validating a proposal applies the whole block (signatures included); the result is cached by
//! (parent state, value id), so the engine asking again, and the decision that follows, cost
//! nothing more.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use bitcraps_consensus::{Height, Value, ValueId, ValueValidity};

use crate::block::{acceptable_after, acceptable_now, Block};
use crate::error::BlockError;
use crate::events::Event;
use crate::state::TableState;

/// States kept by default (the latest and the ones before it).
pub const DEFAULT_RETAINED_STATES: usize = 16;
/// Applied blocks kept in the validation cache.
const CACHE_ENTRIES: usize = 8;

/// Why a decided value could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The block is invalid on the decided state: this node disagrees with 2f+1 others.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The decision is not for the next height.
    #[error("decision for height {got}, the table is at height {at}")]
    OutOfOrder {
        /// The latest decided height here.
        at: u64,
        /// The decision's height.
        got: u64,
    },
    /// A different value was already applied at this height.
    #[error("height {height} was already decided with another value")]
    Conflict {
        /// The height.
        height: u64,
    },
}

/// What applying a decision did.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The block was applied.
    New {
        /// The new state.
        state: TableState,
        /// What happened.
        events: Vec<Event>,
    },
    /// The same value was already applied at that height (a replayed decision).
    Duplicate,
}

type Evaluated = Result<(TableState, Vec<Event>), BlockError>;

/// Recent decided states of one table and the consensus application over them.
#[derive(Debug)]
pub struct Chain {
    states: VecDeque<TableState>,
    decided: BTreeMap<u64, ValueId>,
    retain: usize,
    cache: Mutex<VecDeque<([u8; 32], ValueId, Evaluated)>>,
}

impl Chain {
    /// A chain starting at `genesis` (or at any decided state, e.g. one restored from a
    /// journal).
    pub fn new(genesis: TableState) -> Chain {
        Chain {
            states: VecDeque::from([genesis]),
            decided: BTreeMap::new(),
            retain: DEFAULT_RETAINED_STATES,
            cache: Mutex::new(VecDeque::new()),
        }
    }

    /// Keeps the last `retain` (at least 2) states instead of [`DEFAULT_RETAINED_STATES`].
    pub fn with_retained_states(mut self, retain: usize) -> Chain {
        self.retain = retain.max(2);
        self
    }

    /// The latest decided state.
    pub fn latest(&self) -> &TableState {
        // `states` is never empty: it starts with one state and only ever trims the oldest
        // beyond `retain ≥ 2`.
        &self.states[self.states.len() - 1]
    }

    /// The decided state after `height`, if still retained.
    pub fn state_at(&self, height: u64) -> Option<&TableState> {
        self.states.iter().rev().find(|s| s.height() == height)
    }

    /// The application for the consensus engine, with this node's clock (`None`: accept any
    /// block time, e.g. when replaying a journal).
    pub fn validity(&self, now_ms: Option<u64>) -> ChainValidity<'_> {
        ChainValidity {
            chain: self,
            now_ms,
        }
    }

    /// Applies `value` at `height` on the retained parent state (cached).
    pub fn evaluate(&self, height: u64, value: &Value) -> Evaluated {
        let parent = height.checked_sub(1).and_then(|h| self.state_at(h)).ok_or(
            BlockError::WrongHeight {
                expected: self.latest().height().saturating_add(1),
                got: height,
            },
        )?;
        let key = (parent.hash(), value.id());
        if let Ok(cache) = self.cache.lock() {
            if let Some((_, _, r)) = cache.iter().find(|(p, v, _)| (*p, *v) == key) {
                return r.clone();
            }
        }
        let result = Block::from_value(value).and_then(|block| {
            if block.height != height {
                return Err(BlockError::WrongHeight {
                    expected: height,
                    got: block.height,
                });
            }
            parent.apply_block(&block)
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.push_back((key.0, key.1, result.clone()));
            while cache.len() > CACHE_ENTRIES {
                cache.pop_front();
            }
        }
        result
    }

    /// Applies the value decided at `height` (which must be the next height, or an already
    /// applied one with the same value).
    pub fn apply_decided(&mut self, height: u64, value: &Value) -> Result<Applied, ChainError> {
        let at = self.latest().height();
        if height <= at {
            return match self.decided.get(&height) {
                Some(id) if *id == value.id() => Ok(Applied::Duplicate),
                Some(_) => Err(ChainError::Conflict { height }),
                // Older than what we remember: nothing to compare with; a replay.
                None => Ok(Applied::Duplicate),
            };
        }
        if height != at.saturating_add(1) {
            return Err(ChainError::OutOfOrder { at, got: height });
        }
        let (state, events) = self.evaluate(height, value)?;
        self.states.push_back(state.clone());
        while self.states.len() > self.retain {
            self.states.pop_front();
        }
        self.decided.insert(height, value.id());
        let oldest = self.states.front().map_or(0, |s| s.height());
        self.decided = self.decided.split_off(&oldest);
        Ok(Applied::New { state, events })
    }
}

/// [`ValueValidity`] over a [`Chain`] at one clock reading.
#[derive(Debug, Clone, Copy)]
pub struct ChainValidity<'a> {
    chain: &'a Chain,
    now_ms: Option<u64>,
}

impl ValueValidity for ChainValidity<'_> {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        self.chain.evaluate(height.0, value).is_ok()
    }

    /// The block time is within [`MAX_CLOCK_SKEW_MS`](crate::MAX_CLOCK_SKEW_MS) of the clock,
    /// or is the catch-up step after a long idle period ([`acceptable_after`], when the parent
    /// state is retained).
    fn acceptable_now(&self, height: Height, value: &Value) -> bool {
        self.now_ms.is_none_or(|now| {
            match height.0.checked_sub(1).and_then(|h| self.chain.state_at(h)) {
                Some(parent) => acceptable_after(parent.timestamp_ms(), value, now),
                None => acceptable_now(value, now),
            }
        })
    }
}
