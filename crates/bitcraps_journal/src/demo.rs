//! An honest table played in one process, height by height, with commit certificates signed by
//! the seats' own keys: decided heights to journal in tests, benchmarks and demos (e.g. a
//! journal to try `verify` on) without running the consensus engines.
//!
//! ```
//! use bitcraps_journal::demo::DemoTable;
//! use bitcraps_journal::Journal;
//!
//! let dir = std::env::temp_dir().join(format!("bitcraps-demo-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("table.redb");
//! let mut table = DemoTable::new(4)?;
//! let mut journal = Journal::open(&path, table.config())?;
//! for height in table.play_roll(true)? {
//!     journal.record_decision(&height.decided())?;
//! }
//! let recovered = journal.load()?;
//! assert_eq!(recovered.state.hash(), table.state().hash());
//! # drop(journal);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use bitcraps_consensus::{
    CommitCertificate, CommitSignature, EncodeError, Height, Keypair, PeerId, Round, TableId,
    Value, ValueId, Vote, VoteKind,
};
use bitcraps_game::dice::commit;
use bitcraps_game::driver::test_keys;
use bitcraps_game::{
    BetKind, Block, BlockError, Event, GenesisError, Nonce, Operation, Registry, SeatConfig,
    SignedOp, Stage, TableConfig, TableState, Working,
};

use crate::records::DecidedHeight;

/// Block time between heights, ms.
pub const DEMO_BLOCK_MS: u64 = 1_000;
/// Empty heights a roll may wait at most.
const MAX_WAIT: usize = 64;

/// Why the demo table could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The table could not start.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// A block was refused.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// An operation could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// An operation could not be signed (too large, or unencodable).
    #[error(transparent)]
    Sign(#[from] bitcraps_game::SignError),
    /// The roll did not finish.
    #[error("roll {0} did not finish")]
    Stuck(u64),
}

/// One decided height of the demo table.
#[derive(Debug, Clone)]
pub struct DemoHeight {
    /// The block as a consensus value.
    pub value: Value,
    /// Its certificate.
    pub certificate: CommitCertificate,
    /// The state after it.
    pub state: TableState,
    /// What it did.
    pub events: Vec<Event>,
}

impl DemoHeight {
    /// The height as the journal records it.
    pub fn decided(&self) -> DecidedHeight<'_> {
        DecidedHeight {
            value: &self.value,
            certificate: &self.certificate,
            state_hash: self.state.hash(),
            events: &self.events,
        }
    }

    /// The decided block.
    pub fn block(&self) -> Result<Block, BlockError> {
        Block::from_value(&self.value)
    }
}

/// A table of deterministic players ([`test_keys`]) who all play honestly.
#[derive(Debug)]
pub struct DemoTable {
    seat_keys: Vec<Keypair>,
    state: TableState,
    signed: BTreeMap<PeerId, u64>,
}

impl DemoTable {
    /// A table of `players` players (4 to 16) with 100,000 chips each and a bank of 10,000,000.
    pub fn new(players: usize) -> Result<DemoTable, DemoError> {
        let seat_keys = test_keys(players);
        let registry = Registry::new();
        let seats = seat_keys
            .iter()
            .map(|k| SeatConfig {
                peer: k.peer_id(),
                stack: 100_000,
            })
            .collect();
        let config = TableConfig::new(
            TableId::from_name("bitcraps-journal-demo"),
            1_700_000_000_000,
            seats,
            10_000_000,
            &registry,
        );
        let state = TableState::genesis(config, Arc::new(registry))?;
        Ok(DemoTable {
            seat_keys,
            state,
            signed: BTreeMap::new(),
        })
    }

    /// The table config.
    pub fn config(&self) -> &TableConfig {
        self.state.config()
    }

    /// The latest decided state.
    pub fn state(&self) -> &TableState {
        &self.state
    }

    /// The seats' keys, in seat order.
    pub fn keys(&self) -> &[Keypair] {
        &self.seat_keys
    }

    /// Signs `op` as the next operation of the player of seat `seat` (seat order of the config).
    pub fn sign(&mut self, seat: usize, op: Operation) -> Result<SignedOp, DemoError> {
        let key = &self.seat_keys[seat % self.seat_keys.len()];
        let peer = key.peer_id();
        let nonce = self
            .state
            .next_nonce(&peer)
            .max(self.signed.get(&peer).map_or(0, |n| n.saturating_add(1)));
        let op = SignedOp::sign(key, &self.config().table_id, nonce, op)?;
        self.signed.insert(peer, nonce);
        Ok(op)
    }

    /// Decides the next height with `ops`, certified by a quorum of the seats.
    pub fn decide(&mut self, ops: Vec<SignedOp>) -> Result<DemoHeight, DemoError> {
        let timestamp_ms = self.state.timestamp_ms().saturating_add(DEMO_BLOCK_MS);
        let block = Block {
            height: self.state.height().saturating_add(1),
            timestamp_ms,
            prev_state_hash: self.state.hash(),
            ops: ops
                .into_iter()
                .map(bitcraps_game::BlockEntry::from)
                .collect(),
        };
        let (state, events) = self.state.apply_block(&block)?;
        let value = block.to_value()?;
        let certificate = self.certify(block.height, value.id());
        self.state = state.clone();
        Ok(DemoHeight {
            value,
            certificate,
            state,
            events,
        })
    }

    /// A certificate for `value` at `height` with the precommits of the first 2f+1 seats (what
    /// a real decision needs at least), sorted by signer.
    pub fn certify(&self, height: u64, value: ValueId) -> CommitCertificate {
        let n = self.seat_keys.len();
        let quorum = n - (n - 1) / 3;
        let mut precommits: Vec<CommitSignature> = self.seat_keys[..quorum]
            .iter()
            .map(|key| {
                let vote = Vote {
                    table: self.config().table_id,
                    height: Height(height),
                    round: Round(0),
                    kind: VoteKind::Precommit,
                    value: Some(value),
                    signer: key.peer_id(),
                }
                .sign(key);
                CommitSignature {
                    signer: key.peer_id(),
                    signature: vote.signature,
                }
            })
            .collect();
        precommits.sort_by_key(|c| c.signer);
        CommitCertificate {
            table: self.config().table_id,
            height: Height(height),
            round: Round(0),
            value_id: value,
            precommits,
        }
    }

    /// The nonce seat `seat` reveals for roll `roll`.
    fn nonce(&self, roll: u64, seat: u16) -> Nonce {
        let mut h = Sha256::new();
        h.update(b"bitcraps/journal-demo-nonce/v1");
        h.update(roll.to_be_bytes());
        h.update(seat.to_be_bytes());
        Nonce(h.finalize().into())
    }

    /// Plays one roll in as few heights as the rules allow: (with `bets`, every seated player
    /// puts 10 on the field,) the shooter closes betting and everyone commits in one height,
    /// everyone reveals in the next, and the roll is paid there.
    pub fn play_roll(&mut self, bets: bool) -> Result<Vec<DemoHeight>, DemoError> {
        let roll = self.state.roll_number();
        let seated = self.state.seated();
        let mut ops = Vec::new();
        if bets {
            for seat in &seated {
                ops.push(self.sign(
                    usize::from(seat.0),
                    Operation::PlaceBet {
                        kind: BetKind::Field,
                        amount: 10,
                        working: Working::TableRule,
                    },
                )?);
            }
        }
        let shooter = self.state.shooter().map_or(0, |s| usize::from(s.0));
        ops.push(self.sign(shooter, Operation::CloseBetting { roll })?);
        let table = self.config().table_id.0;
        for seat in &seated {
            let nonce = self.nonce(roll, seat.0);
            ops.push(self.sign(
                usize::from(seat.0),
                Operation::Commit {
                    roll,
                    seat: *seat,
                    commitment: commit(&table, roll, *seat, &nonce),
                },
            )?);
        }
        let mut heights = vec![self.decide(ops)?];
        while matches!(self.state.stage(), Stage::Committing { .. }) {
            heights.push(self.decide(Vec::new())?);
            if heights.len() > MAX_WAIT {
                return Err(DemoError::Stuck(roll));
            }
        }
        let Stage::Revealing { commitments, .. } = self.state.stage().clone() else {
            return Err(DemoError::Stuck(roll));
        };
        let mut reveals = Vec::new();
        for seat in commitments.keys() {
            let nonce = self.nonce(roll, seat.0);
            reveals.push(self.sign(
                usize::from(seat.0),
                Operation::Reveal {
                    roll,
                    seat: *seat,
                    nonce,
                },
            )?);
        }
        heights.push(self.decide(reveals)?);
        while !self.state.stage().is_betting() {
            heights.push(self.decide(Vec::new())?);
            if heights.len() > MAX_WAIT {
                return Err(DemoError::Stuck(roll));
            }
        }
        Ok(heights)
    }
}
