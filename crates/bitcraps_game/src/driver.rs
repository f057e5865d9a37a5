//! A whole table in one process: every player's key, a clock, and helpers that sign operations
//! and play rolls through real blocks. For tests, examples, benchmarks, single-machine bots and
//! game code that wants to drive a table without a network (a Bevy plugin's offline mode).
//!
//! ```
//! use std::sync::Arc;
//! use bitcraps_game::driver::{LocalTable, RollPlan};
//! use bitcraps_game::{BetKind, Event, Operation, Registry, Seat, Working};
//!
//! let mut table = LocalTable::new(4, 10_000, 1_000_000, Arc::new(Registry::new()))?;
//! let bet = table.sign_seat(Seat(1), Operation::PlaceBet {
//!     kind: BetKind::Field, amount: 10, working: Working::TableRule,
//! })?;
//! table.apply(vec![bet])?;
//! // Everyone commits and reveals; the dice come out 6-6 (the driver searches for nonces).
//! let events = table.play_roll(&RollPlan::dice(6, 6))?;
//! assert!(events.iter().any(|e| matches!(e, Event::BetResolved { paid: 40, .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use bitcraps_consensus::{EncodeError, Keypair, PeerId, TableId};

use crate::bets::Seat;
use crate::config::{SeatConfig, TableConfig};
use crate::custom::Registry;
use crate::dice::{commit, roll_from_seed, seed_from_reveals, Nonce};
use crate::error::{BlockError, GenesisError, SignError};
use crate::events::Event;
use crate::ops::{Operation, SignedOp};
use crate::state::{Stage, TableState};

/// Block time between the driver's blocks, ms.
pub const BLOCK_INTERVAL_MS: u64 = 1_000;
/// Nonce attempts when searching for chosen dice.
const DICE_SEARCH: u64 = 100_000;
/// Empty blocks the driver waits at most for a roll to finish.
const MAX_WAIT_BLOCKS: u64 = 1_000;

/// Why the driver could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The table refused a block.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// An operation could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// An operation could not be signed (too large, or not encodable).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// No key for this player or seat.
    #[error("the driver holds no key for {0}")]
    NoKey(String),
    /// Nobody holds the dice.
    #[error("there is no shooter")]
    NoShooter,
    /// No committing player is left to reveal.
    #[error("no player would reveal for roll {0}")]
    NobodyReveals(u64),
    /// No nonce found that gives the requested dice.
    #[error("no nonces found for dice {0}-{1}")]
    DiceNotFound(u8, u8),
    /// No join request of this player is waiting.
    #[error("no join request of {0} is waiting")]
    NoRequest(String),
    /// The roll did not finish in time.
    #[error("roll {0} did not finish within {MAX_WAIT_BLOCKS} blocks")]
    Stuck(u64),
}

/// How the players behave for one roll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollPlan {
    /// The dice to produce (faces, in any order), by searching the first revealer's nonce.
    pub dice: Option<(u8, u8)>,
    /// Seats that commit but never reveal.
    pub withhold: BTreeSet<Seat>,
    /// Seats that do not even commit.
    pub absent: BTreeSet<Seat>,
}

impl RollPlan {
    /// Everyone commits and reveals; random-looking dice.
    pub fn honest() -> RollPlan {
        RollPlan::default()
    }

    /// Everyone commits and reveals, and the dice show `a` and `b`.
    pub fn dice(a: u8, b: u8) -> RollPlan {
        RollPlan {
            dice: Some((a, b)),
            ..RollPlan::default()
        }
    }

    /// The same plan with `seat` withholding its reveal.
    pub fn withholding(mut self, seat: Seat) -> RollPlan {
        self.withhold.insert(seat);
        self
    }

    /// The same plan with `seat` not committing.
    pub fn without(mut self, seat: Seat) -> RollPlan {
        self.absent.insert(seat);
        self
    }
}

/// A table and all its players' keys in one process.
#[derive(Debug)]
pub struct LocalTable {
    state: TableState,
    keys: BTreeMap<PeerId, Keypair>,
    signed: BTreeMap<PeerId, u64>,
    clock_ms: u64,
}

/// `n` deterministic player keys (seeds 1..=n), for tests and examples.
pub fn test_keys(n: usize) -> Vec<Keypair> {
    (1..=n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            seed[8] = 0xB1;
            Keypair::from_seed(seed)
        })
        .collect()
}

impl LocalTable {
    /// A table of `players` deterministic keys ([`test_keys`]) each bringing `stack`, a bank of
    /// `bank`, default rules, and `registry`.
    pub fn new(
        players: usize,
        stack: u64,
        bank: u64,
        registry: Arc<Registry>,
    ) -> Result<LocalTable, GenesisError> {
        let keys = test_keys(players);
        let seats = keys
            .iter()
            .map(|k| SeatConfig {
                peer: k.peer_id(),
                stack,
            })
            .collect();
        let config = TableConfig::new(
            TableId::from_name("bitcraps-local-table"),
            1_700_000_000_000,
            seats,
            bank,
            &registry,
        );
        LocalTable::with_config(config, keys, registry)
    }

    /// A table from a config and the keys of (at least) its seats.
    pub fn with_config(
        config: TableConfig,
        keys: Vec<Keypair>,
        registry: Arc<Registry>,
    ) -> Result<LocalTable, GenesisError> {
        let clock_ms = config.genesis_time_ms;
        let state = TableState::genesis(config, registry)?;
        Ok(LocalTable {
            state,
            keys: keys.into_iter().map(|k| (k.peer_id(), k)).collect(),
            signed: BTreeMap::new(),
            clock_ms,
        })
    }

    /// The current state.
    pub fn state(&self) -> &TableState {
        &self.state
    }

    /// The table id.
    pub fn table_id(&self) -> TableId {
        self.state.config().table_id
    }

    /// The id the table's consensus signs under (see [`TableConfig::consensus_table_id`]).
    pub fn consensus_table_id(&self) -> TableId {
        self.state.config().consensus_table_id()
    }

    /// Adds a player's key (for players who join later).
    pub fn add_key(&mut self, key: Keypair) {
        self.keys.insert(key.peer_id(), key);
    }

    /// The key of the player at `seat`.
    pub fn key(&self, seat: Seat) -> Option<&Keypair> {
        self.state.seat(seat).and_then(|s| self.keys.get(&s.peer))
    }

    /// Signs `op` as `peer`'s next operation (nonces continue across unapplied signed ops).
    pub fn sign(&mut self, peer: &PeerId, op: Operation) -> Result<SignedOp, DriverError> {
        let key = self
            .keys
            .get(peer)
            .ok_or_else(|| DriverError::NoKey(peer.to_string()))?;
        let next = self
            .state
            .next_nonce(peer)
            .max(self.signed.get(peer).map_or(0, |n| n.saturating_add(1)));
        let signed = SignedOp::sign(key, &self.state.config().table_id, next, op)?;
        self.signed.insert(*peer, next);
        Ok(signed)
    }

    /// Signs `op` as the player at `seat`.
    pub fn sign_seat(&mut self, seat: Seat, op: Operation) -> Result<SignedOp, DriverError> {
        let peer = self
            .state
            .seat(seat)
            .map(|s| s.peer)
            .ok_or_else(|| DriverError::NoKey(seat.to_string()))?;
        self.sign(&peer, op)
    }

    /// Applies one block of `ops` at the next block time. On error nothing changes (and the
    /// driver forgets nonces it signed but did not get applied).
    pub fn apply(&mut self, ops: Vec<SignedOp>) -> Result<Vec<Event>, BlockError> {
        let timestamp_ms = self.clock_ms.saturating_add(BLOCK_INTERVAL_MS);
        let mut draft = self.state.draft(timestamp_ms);
        let result = (|| {
            for (index, op) in ops.into_iter().enumerate() {
                let author = op.author;
                draft.push(op).map_err(|e| BlockError::Op {
                    index,
                    author,
                    error: Box::new(e),
                })?;
            }
            draft.finish()
        })();
        match result {
            Ok((_, state, events)) => {
                self.state = state;
                self.clock_ms = timestamp_ms;
                Ok(events)
            }
            Err(e) => {
                self.signed.clear();
                Err(e)
            }
        }
    }

    /// Validators who may answer `newcomer`'s waiting join request and still sit at the table
    /// answer `admit` (`true`: admit), just enough of them to decide it, in one block. Returns
    /// its events.
    pub fn answer_join(
        &mut self,
        newcomer: &PeerId,
        admit: bool,
    ) -> Result<Vec<Event>, DriverError> {
        let Some(request) = self.state.join_requests().get(newcomer).cloned() else {
            return Err(DriverError::NoRequest(newcomer.to_string()));
        };
        // Just enough answers to decide it: more than 2/3 to admit, more than 1/3 to refuse.
        let n = request.admitters.len();
        let needed = if admit { 2 * n / 3 + 1 } else { n / 3 + 1 };
        let mut ops = Vec::new();
        for peer in &request.admitters {
            if ops.len() == needed {
                break;
            }
            if self.state.seat_of(peer).is_some() && self.keys.contains_key(peer) {
                ops.push(self.sign(
                    peer,
                    Operation::Admit {
                        newcomer: *newcomer,
                        requested_at: request.requested_at,
                        admit,
                    },
                )?);
            }
        }
        Ok(self.apply(ops)?)
    }

    /// A newcomer asks to sit down with `buy_in` and every validator admits it (two blocks).
    /// Adds its key; returns the events of both blocks.
    pub fn join_admitted(&mut self, key: Keypair, buy_in: u64) -> Result<Vec<Event>, DriverError> {
        let peer = key.peer_id();
        let mut events = self.request_join(key, buy_in)?;
        events.extend(self.answer_join(&peer, true)?);
        Ok(events)
    }

    /// A newcomer asks to sit down with `buy_in` (one block; the table has not answered yet).
    /// Adds its key; returns the block's events.
    pub fn request_join(&mut self, key: Keypair, buy_in: u64) -> Result<Vec<Event>, DriverError> {
        let peer = key.peer_id();
        self.add_key(key);
        let join = self.sign(&peer, Operation::Join { buy_in })?;
        Ok(self.apply(vec![join])?)
    }

    /// Advances the clock by `ms` (the next block's time is later by that much).
    pub fn advance_clock(&mut self, ms: u64) {
        self.clock_ms = self.clock_ms.saturating_add(ms);
    }

    /// The secret nonce the driver uses for `seat` on roll `roll` (attempt `attempt` of the
    /// dice search).
    pub fn nonce_for(&self, roll: u64, seat: Seat, attempt: u64) -> Nonce {
        let mut h = Sha256::new();
        h.update(b"bitcraps/driver-nonce/v1");
        h.update(self.table_id().as_bytes());
        h.update(roll.to_be_bytes());
        h.update(seat.0.to_be_bytes());
        h.update(attempt.to_be_bytes());
        Nonce(h.finalize().into())
    }

    /// Plays one roll: the shooter closes betting (if open), every eligible seat not absent
    /// commits, every committed seat not withholding reveals, and empty blocks follow until the
    /// roll is resolved. Returns every event of those heights.
    pub fn play_roll(&mut self, plan: &RollPlan) -> Result<Vec<Event>, DriverError> {
        let mut events = Vec::new();
        let roll = self.state.roll_number();
        if self.state.stage().is_betting() {
            let shooter = self.state.shooter().ok_or(DriverError::NoShooter)?;
            let close = self.sign_seat(shooter, Operation::CloseBetting { roll })?;
            events.extend(self.apply(vec![close])?);
        }
        let Stage::Committing { eligible, .. } = self.state.stage().clone() else {
            return Err(DriverError::Stuck(roll));
        };
        let committers: Vec<Seat> = eligible
            .into_iter()
            .filter(|s| !plan.absent.contains(s))
            .collect();
        let revealers: Vec<Seat> = committers
            .iter()
            .filter(|s| !plan.withhold.contains(s))
            .copied()
            .collect();
        let nonces = self.choose_nonces(roll, &committers, &revealers, plan.dice)?;
        let table = self.table_id().0;
        let mut ops = Vec::new();
        for seat in &committers {
            let nonce = nonces.get(seat).copied().unwrap_or(Nonce([0; 32]));
            ops.push(self.sign_seat(
                *seat,
                Operation::Commit {
                    roll,
                    seat: *seat,
                    commitment: commit(&table, roll, *seat, &nonce),
                },
            )?);
        }
        events.extend(self.apply(ops)?);
        let mut waited = 0;
        while matches!(self.state.stage(), Stage::Committing { .. }) {
            events.extend(self.apply(Vec::new())?);
            waited += 1;
            if waited > MAX_WAIT_BLOCKS {
                return Err(DriverError::Stuck(roll));
            }
        }
        if matches!(self.state.stage(), Stage::Revealing { .. }) {
            let mut ops = Vec::new();
            for seat in &revealers {
                if let Some(nonce) = nonces.get(seat) {
                    ops.push(self.sign_seat(
                        *seat,
                        Operation::Reveal {
                            roll,
                            seat: *seat,
                            nonce: *nonce,
                        },
                    )?);
                }
            }
            events.extend(self.apply(ops)?);
        }
        while !self.state.stage().is_betting() {
            events.extend(self.apply(Vec::new())?);
            waited += 1;
            if waited > MAX_WAIT_BLOCKS {
                return Err(DriverError::Stuck(roll));
            }
        }
        Ok(events)
    }

    /// Nonces for the committers such that the revealers' nonces give `dice` (if asked).
    fn choose_nonces(
        &self,
        roll: u64,
        committers: &[Seat],
        revealers: &[Seat],
        dice: Option<(u8, u8)>,
    ) -> Result<BTreeMap<Seat, Nonce>, DriverError> {
        let mut nonces: BTreeMap<Seat, Nonce> = committers
            .iter()
            .map(|s| (*s, self.nonce_for(roll, *s, 0)))
            .collect();
        let Some((a, b)) = dice else {
            return Ok(nonces);
        };
        let first = *revealers.first().ok_or(DriverError::NobodyReveals(roll))?;
        let want = (a.min(b), a.max(b));
        let table = self.table_id().0;
        for attempt in 0..DICE_SEARCH {
            nonces.insert(first, self.nonce_for(roll, first, attempt));
            let revealed: BTreeMap<Seat, Nonce> = revealers
                .iter()
                .filter_map(|s| nonces.get(s).map(|n| (*s, *n)))
                .collect();
            let seed = seed_from_reveals(&table, roll, &revealed)
                .map_err(|_| DriverError::NobodyReveals(roll))?;
            if roll_from_seed(seed).sorted_faces() == want {
                return Ok(nonces);
            }
        }
        Err(DriverError::DiceNotFound(a, b))
    }
}
