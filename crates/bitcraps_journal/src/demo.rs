//! An honest table played in one process, height by height, with commit certificates signed by
//! the validators of each height (the genesis seats, then the players seated two heights before,
//! as `bitcraps_game::membership` defines them): decided heights to journal in tests, benchmarks
//! and demos (e.g. a journal to try `verify` on) without running the consensus engines. Players
//! may join ([`DemoTable::join`], admitted by the validators) and leave ([`DemoTable::leave`]);
//! below four players the table closes.
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
    BetKind, Block, BlockError, Event, GenesisError, Nonce, Operation, Registry, Seat, SeatConfig,
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
    /// No key of that player or seat (a seat nobody holds, or a stranger's key never added).
    #[error("no key for {0}")]
    NoKey(String),
    /// A join request is not waiting for an answer.
    #[error("no join request of {0} is waiting")]
    NoJoinRequest(String),
    /// The state names no validator set for the height (the table closed).
    #[error("no validator set for height {0}")]
    NoValidators(u64),
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
    /// Every player's key, newcomers' too.
    keys: BTreeMap<PeerId, Keypair>,
    state: TableState,
    signed: BTreeMap<PeerId, u64>,
    /// The validator set of each decided height, stored where it changes.
    validators: BTreeMap<u64, Vec<PeerId>>,
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
            keys: seat_keys.iter().map(|k| (k.peer_id(), k.clone())).collect(),
            seat_keys,
            state,
            signed: BTreeMap::new(),
            validators: BTreeMap::new(),
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

    /// The genesis seats' keys, in seat order.
    pub fn keys(&self) -> &[Keypair] {
        &self.seat_keys
    }

    /// The key of `peer`, if it is a genesis seat's or was added by [`DemoTable::join`].
    pub fn key_of(&self, peer: &PeerId) -> Option<&Keypair> {
        self.keys.get(peer)
    }

    /// The validator set of `height` (canonical order): the set that certified it if it is
    /// decided, or the set the latest state names for the next two heights.
    pub fn validators(&self, height: u64) -> Option<Vec<PeerId>> {
        if height > self.state.height() {
            return self.state.validators_of(height).map(<[PeerId]>::to_vec);
        }
        self.validators
            .range(..=height)
            .next_back()
            .map(|(_, set)| set.clone())
    }

    /// Signs `op` as the next operation of the player holding seat `seat`.
    pub fn sign(&mut self, seat: usize, op: Operation) -> Result<SignedOp, DemoError> {
        let peer = u16::try_from(seat)
            .ok()
            .and_then(|s| self.state.seat(Seat(s)))
            .map(|s| s.peer)
            .ok_or_else(|| DemoError::NoKey(format!("seat {seat}")))?;
        self.sign_as(&peer, op)
    }

    /// Signs `op` as `peer`'s next operation (a newcomer's key must have been added by
    /// [`DemoTable::join`]).
    pub fn sign_as(&mut self, peer: &PeerId, op: Operation) -> Result<SignedOp, DemoError> {
        let key = self
            .keys
            .get(peer)
            .ok_or_else(|| DemoError::NoKey(peer.to_string()))?;
        let nonce = self
            .state
            .next_nonce(peer)
            .max(self.signed.get(peer).map_or(0, |n| n.saturating_add(1)));
        let op = SignedOp::sign(key, &self.config().table_id, nonce, op)?;
        self.signed.insert(*peer, nonce);
        Ok(op)
    }

    /// `key`'s player asks to sit down with `buy_in` (one height), and just enough validators
    /// admit it to seat it (the next height); it votes from two heights later on. Returns both
    /// heights.
    pub fn join(&mut self, key: Keypair, buy_in: u64) -> Result<Vec<DemoHeight>, DemoError> {
        let newcomer = key.peer_id();
        self.keys.insert(newcomer, key);
        let ask = self.sign_as(&newcomer, Operation::Join { buy_in })?;
        let asked = self.decide(vec![ask])?;
        let request = self
            .state
            .join_requests()
            .get(&newcomer)
            .cloned()
            .ok_or_else(|| DemoError::NoJoinRequest(newcomer.to_string()))?;
        let needed = 2 * request.admitters.len() / 3 + 1;
        let admitters: Vec<PeerId> = request
            .admitters
            .iter()
            .filter(|p| self.state.seat_of(p).is_some() && self.keys.contains_key(p))
            .take(needed)
            .copied()
            .collect();
        let mut admits = Vec::new();
        for peer in admitters {
            admits.push(self.sign_as(
                &peer,
                Operation::Admit {
                    newcomer,
                    requested_at: request.requested_at,
                    admit: true,
                },
            )?);
        }
        let admitted = self.decide(admits)?;
        Ok(vec![asked, admitted])
    }

    /// The player of seat `seat` leaves (one height); below four players the table closes.
    pub fn leave(&mut self, seat: usize) -> Result<DemoHeight, DemoError> {
        let op = self.sign(seat, Operation::Leave)?;
        self.decide(vec![op])
    }

    /// Decides the next height with `ops`, certified by a quorum of its validator set.
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
        let set = self
            .state
            .validators_of(block.height)
            .ok_or(DemoError::NoValidators(block.height))?
            .to_vec();
        let certificate = self.certify_by(block.height, value.id(), quorum_of(&set))?;
        if self.validators.values().next_back() != Some(&set) {
            self.validators.insert(block.height, set);
        }
        self.state = state.clone();
        Ok(DemoHeight {
            value,
            certificate,
            state,
            events,
        })
    }

    /// A certificate for `value` at `height` with the precommits of the first 2f+1 validators of
    /// that height (what a real decision needs at least; [`DemoTable::validators`]), sorted by
    /// signer. Falls back to the genesis seats for a height the table cannot name a set for.
    pub fn certify(&self, height: u64, value: ValueId) -> CommitCertificate {
        let set = self
            .validators(height)
            .unwrap_or_else(|| self.seat_keys.iter().map(Keypair::peer_id).collect());
        let signers: Vec<&Keypair> = quorum_of(&set)
            .iter()
            .filter_map(|p| self.keys.get(p))
            .collect();
        certificate(self.config().consensus_table_id(), height, value, &signers)
    }

    /// A certificate for `value` at `height` with the precommits of `signers` (any keys this
    /// table knows, in or out of the height's set: for tests of the verifier).
    pub fn certify_by(
        &self,
        height: u64,
        value: ValueId,
        signers: &[PeerId],
    ) -> Result<CommitCertificate, DemoError> {
        let keys = signers
            .iter()
            .map(|p| {
                self.keys
                    .get(p)
                    .ok_or_else(|| DemoError::NoKey(p.to_string()))
            })
            .collect::<Result<Vec<&Keypair>, DemoError>>()?;
        Ok(certificate(
            self.config().consensus_table_id(),
            height,
            value,
            &keys,
        ))
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

/// The first 2f+1 keys of `set` (canonical order).
fn quorum_of(set: &[PeerId]) -> &[PeerId] {
    let n = set.len();
    let quorum = n.saturating_sub(n.saturating_sub(1) / 3);
    set.get(..quorum).unwrap_or(set)
}

/// A certificate for `value` at `height` of `table` with the precommits of `signers`, sorted by
/// signer.
fn certificate(
    table: TableId,
    height: u64,
    value: ValueId,
    signers: &[&Keypair],
) -> CommitCertificate {
    let mut precommits: Vec<CommitSignature> = signers
        .iter()
        .map(|key| {
            let vote = Vote {
                table,
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
        table,
        height: Height(height),
        round: Round(0),
        value_id: value,
        precommits,
    }
}
