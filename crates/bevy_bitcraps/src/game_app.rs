//! The craps table as the consensus application: `bitcraps_game`'s [`Chain`] of decided
//! [`TableState`]s, a pool of signed operations from every player, and the local player's
//! operation queue with automatic dice commit and reveal.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bitcraps_consensus::{
    codec, CommitCertificate, Evidence, Height, Keypair, ParticipantSet, PeerId, Round, TableId,
    Value, ValueValidity,
};
use bitcraps_game::dice::commit;
use bitcraps_game::{
    Applied, Block, BlockEntry, Chain, Dispute, Event, GameEvidence, Nonce, OpError, Operation,
    Seat, SignedOp, Stage, TableState,
};
use sha2::{Digest, Sha256};

use crate::application::TableApplication;
use crate::envelope::StateHash;
use crate::error::ApplyError;
use crate::node::PersistError;

/// Called with every operation the local player signs, before it can leave the node (broadcast,
/// or carried by a block this node proposes); it must return only once the operation is durable.
///
/// Contract: on `Ok` the operation is pooled and broadcast. On `Err` it is forgotten as if never
/// signed (it never left the node) and its intent is kept to be signed again, identically
/// (signatures are deterministic), at the next frame. After a restart the host hands the durable
/// operations back with [`GameApp::resume_signed`], so the player never signs a different
/// operation under a nonce it already used — the table punishes that as double-signing.
pub type OpPersistHook = Box<dyn FnMut(&SignedOp) -> Result<(), PersistError> + Send + Sync>;

/// Operations kept in the pool at most (oldest dropped first).
pub const MAX_POOL: usize = 4_096;
/// Heights an operation may wait in the pool before it is dropped as stale (its author
/// re-broadcasts it while it waits).
pub const POOL_TTL_HEIGHTS: u64 = 32;
/// Heights an *unseated* local player's oldest operation may wait for inclusion before the local
/// queue is dropped (a join the table refuses stays out of every block). A seated player never
/// drops a signed operation: it is decided, applied or carried as failed, because signing
/// something else under its nonce would be double-signing.
pub const STALE_HEIGHTS: u64 = 4;
/// Decided operations remembered to recognise a conflicting one under the same nonce.
pub const MAX_RECENT_DECIDED: usize = 4_096;

/// Why the pool refused another player's operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefusal {
    /// The signature does not verify for this table.
    #[error("operation of {author} under nonce {nonce} has a bad signature")]
    BadSignature {
        /// The claimed author.
        author: PeerId,
        /// Its nonce.
        nonce: u64,
    },
    /// The operation encodes in more than [`bitcraps_game::MAX_OP_BYTES`] (no block could carry
    /// it), or does not encode; the error names the author.
    #[error(transparent)]
    Size(OpError),
    /// The author has no seat, and the operation is not a request for one.
    #[error("{author} has no seat at this table")]
    NotSeated {
        /// The author.
        author: PeerId,
    },
    /// Too many join requests are waiting in the pool already.
    #[error("too many players are already waiting for a seat")]
    TooManyJoins,
    /// The author, who has no seat, already has a request for one waiting.
    #[error("{author} already asked for a seat")]
    AlreadyAsked {
        /// The author.
        author: PeerId,
    },
}

/// Join requests of players without a seat kept in the pool at most.
const MAX_POOLED_JOINS: usize = 16;

/// A decided operation, for game code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecidedOp {
    /// Height of the block that carried it.
    pub height: u64,
    /// The author's seat at that height, if seated.
    pub seat: Option<Seat>,
    /// The signed operation.
    pub op: SignedOp,
    /// `None` if the table applied it; why not if the block carried it as failed (its nonce is
    /// spent and nothing else changed).
    pub refused: Option<String>,
}

/// The craps table application (see the module documentation).
pub struct GameApp {
    chain: Chain,
    key: Keypair,
    table: TableId,
    now_ms: u64,
    /// Operations of every player that may go into a block, by (author, nonce).
    pool: BTreeMap<(PeerId, u64), (SignedOp, u64)>,
    intents: VecDeque<Operation>,
    in_flight: Vec<SignedOp>,
    oldest_in_flight_since: u64,
    to_broadcast: Vec<SignedOp>,
    events: Vec<(u64, Event)>,
    decided_ops: Vec<DecidedOp>,
    committed: BTreeSet<u64>,
    revealed: BTreeSet<u64>,
    /// Recently decided operations by (author, nonce), oldest first dropped.
    recent_decided: BTreeMap<(PeerId, u64), (u64, SignedOp)>,
    /// (author, nonce) pairs already reported as double-signed.
    reported: BTreeSet<(PeerId, u64)>,
    /// A cheat (`cheats` feature only): the local player never reveals its dice.
    #[cfg(feature = "cheats")]
    withhold_reveals: bool,
    accounting_errors: Vec<String>,
    persist_op: Option<OpPersistHook>,
    op_persist_failures: u64,
}

impl std::fmt::Debug for GameApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameApp")
            .field("height", &self.chain.latest().height())
            .field("pool", &self.pool.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl GameApp {
    /// The application for the local player `key` over a decided `genesis` state.
    pub fn new(genesis: TableState, key: Keypair) -> GameApp {
        let table = genesis.config().table_id;
        let now_ms = genesis.config().genesis_time_ms;
        GameApp {
            chain: Chain::new(genesis),
            key,
            table,
            now_ms,
            pool: BTreeMap::new(),
            intents: VecDeque::new(),
            in_flight: Vec::new(),
            oldest_in_flight_since: 0,
            to_broadcast: Vec::new(),
            events: Vec::new(),
            decided_ops: Vec::new(),
            committed: BTreeSet::new(),
            revealed: BTreeSet::new(),
            recent_decided: BTreeMap::new(),
            reported: BTreeSet::new(),
            #[cfg(feature = "cheats")]
            withhold_reveals: false,
            accounting_errors: Vec::new(),
            persist_op: None,
            op_persist_failures: 0,
        }
    }

    /// Installs the hook that makes each operation the local player signs durable before it
    /// can leave the node (see [`OpPersistHook`]).
    pub fn set_op_persist_hook(&mut self, hook: OpPersistHook) {
        self.persist_op = Some(hook);
    }

    /// Times the [`OpPersistHook`] failed since start (each failed operation is signed again
    /// later).
    pub fn op_persist_failures(&self) -> u64 {
        self.op_persist_failures
    }

    /// The local player's signed operations not yet decided, in nonce order.
    pub fn in_flight(&self) -> &[SignedOp] {
        &self.in_flight
    }

    /// After a restart: takes back the local player's operations signed before it and not yet
    /// decided (e.g. read back from a journal), so that they are sent again instead of other
    /// operations being signed under their nonces. Operations of other authors, and those whose
    /// nonce the state already spent, are ignored; the rest must follow the next nonce without
    /// a gap (anything after a gap is ignored and logged: it cannot have been sent, as it is
    /// made durable before it leaves, in order). Call before the first frame.
    pub fn resume_signed(&mut self, ops: impl IntoIterator<Item = SignedOp>) {
        let me = self.key.peer_id();
        let mut ops: Vec<SignedOp> = ops
            .into_iter()
            .filter(|op| op.author == me && op.verify(&self.table))
            .collect();
        ops.sort_by_key(|op| op.nonce);
        ops.dedup_by_key(|op| op.nonce);
        let height = self.state().height();
        for op in ops {
            let expected = self.next_local_nonce();
            if op.nonce < expected {
                continue;
            }
            if op.nonce > expected {
                log::error!(
                    "{me}: a signed operation under nonce {} follows a gap (next nonce {expected}); \
                     ignored",
                    op.nonce
                );
                break;
            }
            match &op.op {
                Operation::Commit { roll, .. } => {
                    self.committed.insert(*roll);
                }
                Operation::Reveal { roll, .. } => {
                    self.revealed.insert(*roll);
                }
                _ => {}
            }
            if self.in_flight.is_empty() {
                self.oldest_in_flight_since = height;
            }
            self.pool.insert((me, op.nonce), (op.clone(), height));
            self.in_flight.push(op.clone());
            self.to_broadcast.push(op);
        }
    }

    /// The nonce the local player's next operation is signed with: after the operations in
    /// flight, or the state's next one.
    fn next_local_nonce(&self) -> u64 {
        let next = self.state().next_nonce(&self.key.peer_id());
        self.in_flight
            .last()
            .map_or(next, |op| op.nonce.saturating_add(1))
            .max(next)
    }

    /// The latest decided state.
    pub fn state(&self) -> &TableState {
        self.chain.latest()
    }

    /// The local player's identity.
    pub fn peer(&self) -> PeerId {
        self.key.peer_id()
    }

    /// The local player's seat, if seated.
    pub fn seat(&self) -> Option<Seat> {
        self.state().seat_of(&self.key.peer_id())
    }

    /// The local clock (ms since the Unix epoch) used for block times and the clock check.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Sets the local clock (ms since the Unix epoch) used for block times and the clock check.
    pub fn set_now_ms(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// Queues an operation of the local player (signed with the next nonce, then broadcast).
    pub fn submit(&mut self, op: Operation) {
        self.intents.push_back(op);
        self.sign_intents();
    }

    /// Operations of the local player not yet decided.
    pub fn pending_local(&self) -> usize {
        self.intents.len() + self.in_flight.len()
    }

    /// Makes the local player withhold its dice reveals (a Byzantine bot's behaviour; `cheats`
    /// feature only).
    #[cfg(feature = "cheats")]
    pub fn set_withhold_reveals(&mut self, withhold: bool) {
        self.withhold_reveals = withhold;
    }

    /// True if the local player withholds its reveals: never, unless a cheat asked for it.
    fn withholds_reveals(&self) -> bool {
        #[cfg(feature = "cheats")]
        {
            self.withhold_reveals
        }
        #[cfg(not(feature = "cheats"))]
        {
            false
        }
    }

    /// Accounting-identity failures seen after applied blocks (empty on a sound table).
    pub fn accounting_errors(&self) -> &[String] {
        &self.accounting_errors
    }

    /// Adds another player's operation to the pool (see [`GameApp::admit_op`]); `false` if it
    /// was refused (logged).
    pub fn receive_op(&mut self, op: SignedOp) -> bool {
        match self.admit_op(op) {
            Ok(()) => true,
            Err(refusal) => {
                log::debug!("operation refused: {refusal}");
                false
            }
        }
    }

    /// Adds another player's operation to the pool: its encoded size must be within
    /// [`bitcraps_game::MAX_OP_BYTES`] and its signature must verify. A second, different
    /// operation of a seated player under a nonce already seen (pooled or recently decided) is
    /// evidence of double-signing: the local player submits it as a dispute.
    ///
    /// What costs nothing is checked before the signature: the size, an exact repeat of a pooled
    /// operation (already verified), and for an author without a seat — anyone can make a key —
    /// that it asks for a seat, has no other request pooled and that fewer than
    /// `MAX_POOLED_JOINS` requests wait.
    pub fn admit_op(&mut self, op: SignedOp) -> Result<(), PoolRefusal> {
        op.check_size().map_err(PoolRefusal::Size)?;
        let key = (op.author, op.nonce);
        if self.pool.get(&key).is_some_and(|(pooled, _)| *pooled == op) {
            return Ok(());
        }
        if self.state().seat_of(&op.author).is_none() {
            // Players without a seat can only ask for one, one request each, and only a few
            // at once wait here.
            if !matches!(op.op, Operation::Join { .. }) {
                return Err(PoolRefusal::NotSeated { author: op.author });
            }
            let mut joins = self
                .pool
                .values()
                .filter(|(o, _)| matches!(o.op, Operation::Join { .. }));
            if joins.clone().any(|(o, _)| o.author == op.author) {
                return Err(PoolRefusal::AlreadyAsked { author: op.author });
            }
            if joins.nth(MAX_POOLED_JOINS - 1).is_some() {
                return Err(PoolRefusal::TooManyJoins);
            }
        }
        if !op.verify(&self.table) {
            return Err(PoolRefusal::BadSignature {
                author: op.author,
                nonce: op.nonce,
            });
        }
        let key = (op.author, op.nonce);
        let known = if op.nonce < self.state().next_nonce(&op.author) {
            self.recent_decided.get(&key).map(|(_, o)| o.clone())
        } else {
            self.pool.get(&key).map(|(o, _)| o.clone())
        };
        if let Some(known) = known {
            if known != op {
                self.report_double_signed(known, op);
            }
            return Ok(());
        }
        if op.nonce < self.state().next_nonce(&op.author) {
            return Ok(());
        }
        let height = self.state().height();
        self.pool.entry(key).or_insert((op, height));
        while self.pool.len() > MAX_POOL {
            self.pool.pop_first();
        }
        Ok(())
    }

    /// Signed operations to broadcast (drained). Intents held back by a failed
    /// [`OpPersistHook`] are signed again first.
    pub fn take_broadcast(&mut self) -> Vec<SignedOp> {
        if !self.intents.is_empty() {
            self.sign_intents();
        }
        std::mem::take(&mut self.to_broadcast)
    }

    /// Events of applied blocks since the last call, with their heights (drained).
    pub fn take_events(&mut self) -> Vec<(u64, Event)> {
        std::mem::take(&mut self.events)
    }

    /// Operations of applied blocks since the last call (drained).
    pub fn take_decided_ops(&mut self) -> Vec<DecidedOp> {
        std::mem::take(&mut self.decided_ops)
    }

    /// Submits double-signing evidence against the author of `first` and `second` (two
    /// different operations under one nonce), once per (author, nonce), if the local player is
    /// seated and the author was seated when it signed that nonce.
    fn report_double_signed(&mut self, first: SignedOp, second: SignedOp) {
        let author = first.author;
        let nonce = first.nonce;
        let binding = self
            .state()
            .seat_of(&author)
            .and_then(|s| self.state().seat(s))
            .is_some_and(|s| nonce >= s.first_seated_nonce);
        if !binding || self.seat().is_none() || !self.reported.insert((author, nonce)) {
            return;
        }
        let (Ok(first), Ok(second)) = (first.to_raw(), second.to_raw()) else {
            return;
        };
        log::warn!("{author} signed two different operations under nonce {nonce}: disputing");
        self.submit(Operation::Dispute(Dispute::Evidence(Box::new(
            GameEvidence::DoubleSigned { first, second },
        ))));
    }

    /// The secret dice nonce of the local player for a roll: derived from its key, the table and
    /// the roll number, so it is secret until revealed, the same for every commitment the player
    /// signs for that roll, and recomputed after a restart. Each roll number has one commit
    /// phase (an abandoned roll advances the number), so a nonce is never committed twice.
    fn dice_nonce(&self, roll: u64) -> Nonce {
        let mut h = Sha256::new();
        h.update(b"bitcraps/bevy-dice-nonce/v2");
        h.update(self.key.seed());
        h.update(self.table.0);
        h.update(roll.to_be_bytes());
        Nonce(h.finalize().into())
    }

    fn sign_intents(&mut self) {
        let me = self.key.peer_id();
        while let Some(op) = self.intents.pop_front() {
            let nonce = self.next_local_nonce();
            let signed = match SignedOp::sign(&self.key, &self.table, nonce, op.clone()) {
                Ok(signed) => signed,
                Err(e) => {
                    log::error!("could not sign an operation: {e}");
                    continue;
                }
            };
            if let Some(hook) = self.persist_op.as_mut() {
                if let Err(error) = hook(&signed) {
                    // Never sent: forget it, sign it again (identically) next frame.
                    log::error!(
                        "{me}: could not make our {:?} under nonce {nonce} durable: {error}; \
                         holding it back",
                        signed.op.kind()
                    );
                    self.op_persist_failures += 1;
                    self.intents.push_front(op);
                    return;
                }
            }
            if self.in_flight.is_empty() {
                self.oldest_in_flight_since = self.state().height();
            }
            self.pool
                .insert((me, nonce), (signed.clone(), self.state().height()));
            self.in_flight.push(signed.clone());
            self.to_broadcast.push(signed);
        }
    }

    /// After a block: forget spent operations, drop stale local ones (only while unseated), run
    /// the dice flow.
    fn after_apply(&mut self) {
        let height = self.state().height();
        let me = self.key.peer_id();
        let next = self.state().next_nonce(&me);
        let before = self.in_flight.len();
        self.in_flight.retain(|op| op.nonce >= next);
        if self.in_flight.len() != before {
            self.oldest_in_flight_since = height;
        }
        let seated = self.seat().is_some();
        if !seated
            && !self.in_flight.is_empty()
            && height > self.oldest_in_flight_since + STALE_HEIGHTS
        {
            log::debug!(
                "{me}: dropping {} local operations the table did not take",
                self.in_flight.len()
            );
            for op in self.in_flight.drain(..) {
                self.pool.remove(&(op.author, op.nonce));
            }
        } else if !self.in_flight.is_empty() && height > self.oldest_in_flight_since {
            // Re-send what the proposers may have missed.
            self.to_broadcast.extend(self.in_flight.iter().cloned());
        }
        let state = self.chain.latest().clone();
        self.pool.retain(|(author, nonce), (_, since)| {
            *nonce >= state.next_nonce(author) && *since + POOL_TTL_HEIGHTS > height
        });
        self.dice_flow(&state);
        self.sign_intents();
    }

    fn dice_flow(&mut self, state: &TableState) {
        let Some(seat) = state.seat_of(&self.key.peer_id()) else {
            return;
        };
        let roll = state.roll_number();
        match state.stage() {
            Stage::Betting { .. } => {
                self.committed.clear();
                self.revealed.clear();
            }
            Stage::Committing {
                eligible,
                commitments,
                ..
            } => {
                if eligible.contains(&seat)
                    && !commitments.contains_key(&seat)
                    && self.committed.insert(roll)
                {
                    let nonce = self.dice_nonce(roll);
                    let table = self.table.0;
                    self.intents.push_back(Operation::Commit {
                        roll,
                        seat,
                        commitment: commit(&table, roll, seat, &nonce),
                    });
                }
            }
            Stage::Revealing {
                commitments,
                reveals,
                ..
            } => {
                let Some(commitment) = commitments.get(&seat) else {
                    return;
                };
                if !reveals.contains_key(&seat)
                    && !self.withholds_reveals()
                    && self.revealed.insert(roll)
                {
                    let nonce = self.dice_nonce(roll);
                    // Never sign a reveal that does not open the decided commitment: it would
                    // be evidence against the local player.
                    if commit(&self.table.0, roll, seat, &nonce) == *commitment {
                        self.intents
                            .push_back(Operation::Reveal { roll, seat, nonce });
                    } else {
                        log::error!(
                            "{}: the decided commitment of {seat} for roll {roll} is not ours; \
                             not revealing",
                            self.key.peer_id()
                        );
                    }
                }
            }
        }
    }

    /// Remembers the operations of an applied block (to recognise conflicting ones later) and
    /// hands them to game code.
    fn record_decided(
        &mut self,
        height: u64,
        block: Block,
        previous: &TableState,
        events: &[Event],
    ) {
        let refused: BTreeMap<(PeerId, u64), String> = events
            .iter()
            .filter_map(|e| match e {
                Event::OperationFailed {
                    peer,
                    nonce,
                    reason,
                    ..
                } => Some(((*peer, *nonce), reason.clone())),
                _ => None,
            })
            .collect();
        for entry in block.ops {
            let op = match entry {
                BlockEntry::Op(op) => op,
                // Carried as failed without its body: the full operation, if pooled here, for
                // game code and to recognise a conflicting one later.
                BlockEntry::Failed(failed) => {
                    let pooled = self
                        .pool
                        .get(&(failed.author, failed.nonce))
                        .map(|(op, _)| op.clone())
                        .filter(|op| op.to_failed().is_ok_and(|f| f == failed));
                    match pooled {
                        Some(op) => op,
                        None => {
                            if failed.author == self.key.peer_id() {
                                log::info!(
                                    "the table refused our {:?} under nonce {}",
                                    failed.kind,
                                    failed.nonce
                                );
                            }
                            continue;
                        }
                    }
                }
            };
            let key = (op.author, op.nonce);
            if let Some(reason) = refused.get(&key) {
                if op.author == self.key.peer_id() {
                    log::info!("the table refused our {:?}: {reason}", op.op.kind());
                }
            }
            self.recent_decided.insert(key, (height, op.clone()));
            self.decided_ops.push(DecidedOp {
                height,
                seat: previous.seat_of(&op.author),
                refused: refused.get(&key).cloned(),
                op,
            });
        }
        while self.recent_decided.len() > MAX_RECENT_DECIDED {
            let Some(oldest) = self
                .recent_decided
                .iter()
                .min_by_key(|(_, (h, _))| *h)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.recent_decided.remove(&oldest);
        }
        while self.reported.len() > MAX_POOL {
            self.reported.pop_first();
        }
    }
}

impl TableApplication for GameApp {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        self.chain.evaluate(height.0, value).is_ok()
    }

    fn acceptable_now(&self, height: Height, value: &Value) -> bool {
        // The clock check, plus the catch-up step after a table idle for over a year
        // (`bitcraps_game::acceptable_after`).
        self.chain
            .validity(Some(self.now_ms))
            .acceptable_now(height, value)
    }

    fn has_pending(&self) -> bool {
        !self.pool.is_empty()
    }

    fn participants_at(&self, height: Height) -> Option<Arc<ParticipantSet>> {
        match self.state().validator_set(height.0) {
            Some(Ok(set)) => Some(Arc::new(set)),
            // A closed table's sets may hold fewer than four keys: nothing to vote on any more.
            Some(Err(_)) | None => None,
        }
    }

    fn propose(&mut self, _height: Height, _round: Round) -> Option<Value> {
        if self.state().closed_at().is_some() {
            // The table closed: no block after its last height is valid, so nothing to propose.
            return None;
        }
        let candidates: Vec<SignedOp> = self.pool.values().map(|(op, _)| op.clone()).collect();
        match self
            .state()
            .build_block(self.now_ms, candidates)
            .and_then(|built| built.block.to_value())
        {
            Ok(value) => Some(value),
            Err(e) => {
                log::error!("could not build a block: {e}");
                None
            }
        }
    }

    fn apply(
        &mut self,
        height: Height,
        value: &Value,
        _certificate: &CommitCertificate,
    ) -> Result<StateHash, ApplyError> {
        match self.chain.apply_decided(height.0, value) {
            Ok(Applied::New { state, events }) => {
                if let Err(e) = state.check_accounting() {
                    log::error!("accounting identity broken: {e}");
                    self.accounting_errors.push(e.to_string());
                }
                if let Ok(block) = Block::from_value(value) {
                    let previous = self
                        .chain
                        .state_at(height.0.saturating_sub(1))
                        .cloned()
                        .unwrap_or_else(|| state.clone());
                    self.record_decided(height.0, block, &previous, &events);
                }
                self.events
                    .extend(events.into_iter().map(|e| (height.0, e)));
                self.after_apply();
                Ok(state.hash())
            }
            Ok(Applied::Duplicate) => Ok(self.state().hash()),
            Err(e) => Err(ApplyError {
                height: height.0,
                reason: e.to_string(),
            }),
        }
    }

    fn state_hash(&self) -> StateHash {
        self.state().hash()
    }

    fn on_evidence(&mut self, evidence: &Evidence) {
        // Any honest player may submit it; the table punishes an offence once.
        if self.seat().is_some() {
            self.submit(Operation::Dispute(Dispute::Evidence(Box::new(
                GameEvidence::Consensus(evidence.clone()),
            ))));
        }
    }

    fn snapshot(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        Some(Arc::new(self.state().clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Encodes a signed operation for [`crate::Envelope::Application`].
pub fn encode_op(op: &SignedOp) -> Option<Vec<u8>> {
    codec::encode(op).ok()
}

/// Decodes a signed operation from an application payload.
pub fn decode_op(bytes: &[u8]) -> Option<SignedOp> {
    codec::decode(bytes, codec::MAX_MESSAGE_BYTES).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use bitcraps_game::{ops, Registry, SeatConfig, TableConfig, MAX_OP_BYTES};

    fn app() -> (GameApp, Vec<Keypair>) {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
        let seats = keys
            .iter()
            .map(|k| SeatConfig {
                peer: k.peer_id(),
                stack: 1_000,
            })
            .collect();
        let registry = Arc::new(Registry::new());
        let config = TableConfig::new(
            TableId::from_name("pool-admission"),
            1_700_000_000_000,
            seats,
            1_000_000,
            &registry,
        );
        let genesis = TableState::genesis(config, registry).expect("genesis");
        (GameApp::new(genesis, keys[0].clone()), keys)
    }

    #[test]
    fn the_pool_refuses_an_oversize_operation_naming_its_author() {
        let (mut game, keys) = app();
        let table = game.table;
        let author = keys[1].peer_id();
        // Signed without `SignedOp::sign`'s size check, as a modified client could.
        let op = Operation::Custom {
            name: "big".into(),
            payload: vec![1; MAX_OP_BYTES],
        };
        let body = codec::encode(&op).unwrap();
        let bytes = ops::signing_bytes(&table, op.kind(), &author, 1, &body);
        let huge = SignedOp {
            author,
            nonce: 1,
            op,
            signature: keys[1].sign(&bytes),
        };
        assert!(huge.verify(&table));
        match game.admit_op(huge.clone()) {
            Err(PoolRefusal::Size(OpError::OpTooLarge { peer, len, max })) => {
                assert_eq!(peer, author);
                assert!(len > max && max == MAX_OP_BYTES);
            }
            other => panic!("expected an oversize refusal, got {other:?}"),
        }
        assert!(!game.receive_op(huge));
        assert!(!game.has_pending());
        // A normal operation is admitted.
        let bet = SignedOp::sign(&keys[1], &table, 1, Operation::FundBank { amount: 5 }).unwrap();
        assert_eq!(game.admit_op(bet), Ok(()));
        assert!(game.has_pending());
    }

    #[test]
    fn strangers_get_one_waiting_request_each_and_a_bounded_number_in_all() {
        let (mut game, _) = app();
        let table = game.table;
        let stranger = |i: u8| Keypair::from_seed([100 + i; 32]);
        let join = |key: &Keypair, nonce: u64| {
            SignedOp::sign(key, &table, nonce, Operation::Join { buy_in: 1_000 }).unwrap()
        };
        // Only a request for a seat.
        let bet =
            SignedOp::sign(&stranger(0), &table, 0, Operation::FundBank { amount: 5 }).unwrap();
        assert!(matches!(
            game.admit_op(bet),
            Err(PoolRefusal::NotSeated { .. })
        ));
        // One request each: a repeat is fine, a second request is refused.
        let first = join(&stranger(0), 1);
        assert_eq!(game.admit_op(first.clone()), Ok(()));
        assert_eq!(game.admit_op(first), Ok(()), "a repeat changes nothing");
        assert_eq!(
            game.admit_op(join(&stranger(0), 2)),
            Err(PoolRefusal::AlreadyAsked {
                author: stranger(0).peer_id()
            })
        );
        // A forged request is still refused (the cheap checks come first, not instead).
        let mut forged = join(&stranger(1), 1);
        forged.nonce = 7;
        assert!(matches!(
            game.admit_op(forged),
            Err(PoolRefusal::BadSignature { .. })
        ));
        // At most MAX_POOLED_JOINS requests wait in all.
        for i in 1..MAX_POOLED_JOINS as u8 {
            assert_eq!(game.admit_op(join(&stranger(i), 1)), Ok(()), "request {i}");
        }
        assert_eq!(
            game.admit_op(join(&stranger(120), 1)),
            Err(PoolRefusal::TooManyJoins)
        );
    }
}
