//! Typed errors of the table: why an operation, a block or a genesis was refused. Every
//! rejection names the seat or player concerned. A rejected operation changes nothing.

use bitcraps_consensus::{DecodeError, EncodeError, PeerId, SeatError, VerifyError};

use crate::bets::Seat;
use crate::chips::ChipOverflow;
use crate::config::ConfigError;
use crate::custom::CustomError;
use crate::ops::{BetId, DisputeId};
use crate::validation::{BetRejection, RemovalRejection};

/// Why a piece of evidence does not prove anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Consensus evidence that does not verify.
    #[error("consensus evidence does not verify: {0}")]
    Consensus(#[from] VerifyError),
    /// The seated players do not form a valid participant set (fewer than four).
    #[error("the seated players cannot verify consensus evidence: {0}")]
    Participants(#[from] SeatError),
    /// The offender holds no seat (never seated, left, or already punished).
    #[error("the offender {0} holds no seat")]
    OffenderNotSeated(PeerId),
    /// The two operations do not conflict.
    #[error("the operations do not conflict: {0}")]
    NotConflicting(&'static str),
    /// An operation inside the evidence is not validly signed for this table.
    #[error("an operation of {0} in the evidence is not validly signed")]
    BadSignature(PeerId),
    /// The offence was signed before the offender's current seat (an earlier tenure that
    /// was already punished or ended).
    #[error("{0} signed this before taking its current seat")]
    EarlierTenure(PeerId),
    /// An operation inside the evidence is not of the expected kind or does not decode.
    #[error("the evidence does not hold a commit and a reveal of one seat and roll")]
    NotCommitAndReveal,
    /// The reveal does open the commitment.
    #[error("the reveal of {0} matches its commitment")]
    RevealMatches(Seat),
}

/// Why an operation was rejected. The table is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// The signature does not verify.
    #[error("operation of {peer} has a bad signature")]
    BadSignature {
        /// The claimed author.
        peer: PeerId,
    },
    /// The nonce is not exactly the previous one plus one (replay, reorder or gap).
    #[error("operation of {peer} has nonce {got}, expected {expected}")]
    WrongNonce {
        /// The author.
        peer: PeerId,
        /// The nonce required.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// The author holds no seat.
    #[error("{peer} is not seated at this table")]
    NotSeated {
        /// The author.
        peer: PeerId,
    },
    /// The author is already seated.
    #[error("{peer} is already seated at {seat}")]
    AlreadySeated {
        /// The author.
        peer: PeerId,
        /// Its seat.
        seat: Seat,
    },
    /// Every seat is taken.
    #[error("{peer} cannot join: the table is full")]
    TableFull {
        /// The author.
        peer: PeerId,
    },
    /// A buy-in below the minimum bond.
    #[error("{peer} buys in with {buy_in} chips, below the minimum bond of {minimum}")]
    BuyInBelowBond {
        /// The author.
        peer: PeerId,
        /// Chips offered.
        buy_in: u64,
        /// The minimum bond.
        minimum: u64,
    },
    /// More chips than one buy-in or bank funding may bring.
    #[error("{peer} brings {amount} chips, above the table's limit of {max} per buy-in")]
    BuyInTooLarge {
        /// The author.
        peer: PeerId,
        /// Chips offered.
        amount: u64,
        /// The limit ([`ChipLimits::max_buy_in`](crate::ChipLimits)).
        max: u64,
    },
    /// The chips would take the table above its supply limit.
    #[error("{peer} cannot bring {amount} chips: the table would hold more than {max}")]
    SupplyLimit {
        /// The author.
        peer: PeerId,
        /// Chips offered.
        amount: u64,
        /// The limit ([`ChipLimits::max_supply`](crate::ChipLimits)).
        max: u64,
    },
    /// The newcomer already has a join request waiting.
    #[error("{peer} already asked to sit down")]
    AlreadyRequested {
        /// The author.
        peer: PeerId,
    },
    /// Too many join requests are waiting.
    #[error("{peer} cannot ask to sit down now: {max} requests are already waiting")]
    TooManyRequests {
        /// The author.
        peer: PeerId,
        /// The limit.
        max: u16,
    },
    /// No such join request is waiting.
    #[error("{seat} answered a join request of {newcomer} that is not waiting")]
    NoSuchRequest {
        /// The author.
        seat: Seat,
        /// The newcomer named.
        newcomer: PeerId,
    },
    /// The author was not a validator when the request was made.
    #[error("{seat} may not answer the join request of {newcomer}")]
    NotAdmitter {
        /// The author.
        seat: Seat,
        /// The newcomer.
        newcomer: PeerId,
    },
    /// The author already answered this request.
    #[error("{seat} already answered the join request of {newcomer}")]
    AlreadyAnswered {
        /// The author.
        seat: Seat,
        /// The newcomer.
        newcomer: PeerId,
    },
    /// The table has closed: nothing more happens at it.
    #[error("{peer}: the table has closed")]
    TableClosed {
        /// The author.
        peer: PeerId,
    },
    /// An amount of zero.
    #[error("{seat} offered zero chips")]
    ZeroAmount {
        /// The author's seat.
        seat: Seat,
    },
    /// Not enough chips.
    #[error("{seat} has {balance} chips, needs {needed}")]
    InsufficientBalance {
        /// The seat.
        seat: Seat,
        /// Its balance.
        balance: u64,
        /// What the operation needs.
        needed: u64,
    },
    /// The bet breaks a rule.
    #[error("{seat}: {rejection}")]
    Bet {
        /// The seat.
        seat: Seat,
        /// Why.
        rejection: BetRejection,
    },
    /// The bet cannot be taken down.
    #[error("{seat} cannot take {bet} down: {rejection}")]
    Removal {
        /// The seat.
        seat: Seat,
        /// The bet.
        bet: BetId,
        /// Why.
        rejection: RemovalRejection,
    },
    /// No such open bet.
    #[error("{seat}: there is no open {bet}")]
    NoSuchBet {
        /// The seat.
        seat: Seat,
        /// The bet.
        bet: BetId,
    },
    /// Someone else's bet.
    #[error("{seat} does not own {bet} ({owner} does)")]
    NotYourBet {
        /// The seat.
        seat: Seat,
        /// The bet.
        bet: BetId,
        /// Its owner.
        owner: Seat,
    },
    /// Betting is closed for the current roll.
    #[error("{seat}: betting is closed for this roll")]
    BettingClosed {
        /// The seat.
        seat: Seat,
    },
    /// The bank could not cover the worst case of every open bet with this one.
    #[error("{seat}: the bank holds {bank} chips but could have to pay {needed}")]
    BankCannotCover {
        /// The seat.
        seat: Seat,
        /// Worst-case payout with the new bet.
        needed: u64,
        /// The bank.
        bank: u64,
    },
    /// The bond (with the balance left) could not cover the player's worst-case win.
    #[error("{seat}: bond and balance {available} cannot cover the bond of {required}")]
    BondTooSmall {
        /// The seat.
        seat: Seat,
        /// Bond required with the new bet.
        required: u64,
        /// Bond plus balance after the bet.
        available: u64,
    },
    /// The seat has as many open bets as allowed.
    #[error("{seat} already has {max} open bets")]
    TooManyBets {
        /// The seat.
        seat: Seat,
        /// The limit.
        max: usize,
    },
    /// Leaving with open bets.
    #[error("{seat} cannot leave with open bets")]
    HasOpenBets {
        /// The seat.
        seat: Seat,
    },
    /// Leaving during a roll the seat takes part in.
    #[error("{seat} cannot leave during a roll it takes part in")]
    InActiveRoll {
        /// The seat.
        seat: Seat,
    },
    /// Leaving with an open claim against the seat.
    #[error("{seat} cannot leave while {dispute} against it is open")]
    UnderDispute {
        /// The seat.
        seat: Seat,
        /// The claim.
        dispute: DisputeId,
    },
    /// Only the shooter closes betting.
    #[error(
        "{seat} is not the shooter ({} is)",
        shooter.map_or_else(|| "nobody".to_string(), |s| s.to_string())
    )]
    NotShooter {
        /// The seat.
        seat: Seat,
        /// The shooter.
        shooter: Option<Seat>,
    },
    /// The operation names another roll.
    #[error("{seat} acted on roll {got}, the table is on roll {expected}")]
    WrongRoll {
        /// The seat.
        seat: Seat,
        /// The current roll.
        expected: u64,
        /// The roll named.
        got: u64,
    },
    /// A commit or reveal naming a seat that is not the author's.
    #[error("{peer} sits at {actual}, not {claimed}")]
    WrongSeat {
        /// The author.
        peer: PeerId,
        /// The seat named.
        claimed: Seat,
        /// Its seat.
        actual: Seat,
    },
    /// Commitments for the current roll are not collected yet (betting is still open).
    #[error("{seat}: commitments are not open yet")]
    CommitmentsNotOpen {
        /// The seat.
        seat: Seat,
    },
    /// Commitments for the current roll are closed (the reveals are being collected).
    #[error("{seat}: commitments are closed")]
    CommitmentsClosed {
        /// The seat.
        seat: Seat,
    },
    /// The seat is not expected to commit for this roll.
    #[error("{seat} is not eligible to commit for this roll")]
    NotEligible {
        /// The seat.
        seat: Seat,
    },
    /// A second commitment.
    #[error("{seat} already committed")]
    AlreadyCommitted {
        /// The seat.
        seat: Seat,
    },
    /// Reveals for the current roll are not accepted yet (commitments not decided).
    #[error("{seat}: reveals are not open yet")]
    RevealsNotOpen {
        /// The seat.
        seat: Seat,
    },
    /// A reveal without a commitment.
    #[error("{seat} did not commit for this roll")]
    NotCommitted {
        /// The seat.
        seat: Seat,
    },
    /// A second reveal.
    #[error("{seat} already revealed")]
    AlreadyRevealed {
        /// The seat.
        seat: Seat,
    },
    /// Evidence that proves nothing.
    #[error("evidence from {seat} rejected: {reason}")]
    Evidence {
        /// The submitter.
        seat: Seat,
        /// Why.
        reason: EvidenceError,
    },
    /// No such open claim.
    #[error("{seat}: there is no open {dispute}")]
    NoSuchDispute {
        /// The seat.
        seat: Seat,
        /// The claim.
        dispute: DisputeId,
    },
    /// The voter is not in the claim's electorate (not seated when it opened, or the accused).
    #[error("{seat} may not vote on {dispute}")]
    NotInElectorate {
        /// The seat.
        seat: Seat,
        /// The claim.
        dispute: DisputeId,
    },
    /// A second vote.
    #[error("{seat} already voted on {dispute}")]
    AlreadyVoted {
        /// The seat.
        seat: Seat,
        /// The claim.
        dispute: DisputeId,
    },
    /// A claim against oneself, or an accused who holds no seat.
    #[error("{seat} cannot accuse {accused}")]
    BadAccusation {
        /// The accuser.
        seat: Seat,
        /// The accused.
        accused: Seat,
    },
    /// Too many open claims.
    #[error("{seat}: {max} claims are already open")]
    TooManyDisputes {
        /// The seat.
        seat: Seat,
        /// The limit.
        max: usize,
    },
    /// A statement, name or payload over its size limit.
    #[error("{seat}: {what} is {len} bytes, the limit is {max}")]
    TooLong {
        /// The seat.
        seat: Seat,
        /// What is too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A custom operation this build does not know.
    #[error("{seat}: unknown custom operation {name:?}")]
    UnknownCustom {
        /// The seat.
        seat: Seat,
        /// The name.
        name: String,
    },
    /// A custom operation refused by its extension.
    #[error("{seat}: custom operation {name:?} refused: {error}")]
    Custom {
        /// The seat.
        seat: Seat,
        /// The extension.
        name: String,
        /// Why.
        error: CustomError,
    },
    /// Chip arithmetic overflowed.
    #[error("operation of {peer}: {overflow}")]
    Overflow {
        /// The author.
        peer: PeerId,
        /// The overflow.
        overflow: ChipOverflow,
    },
    /// The operation could not be encoded to check its signature.
    #[error("operation of {peer} cannot be encoded: {error}")]
    Encode {
        /// The author.
        peer: PeerId,
        /// Why.
        error: EncodeError,
    },
    /// The operation's encoding is over [`MAX_OP_BYTES`](crate::ops::MAX_OP_BYTES) (for a
    /// failed operation carried without its body: its body is).
    #[error("operation of {peer} is {len} bytes encoded, the limit is {max}")]
    OpTooLarge {
        /// The author.
        peer: PeerId,
        /// Its encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A failed operation carried without its body although its body is small enough to be
    /// carried, and checked, in full (see
    /// [`MAX_FULL_FAILED_BODY_BYTES`](crate::entry::MAX_FULL_FAILED_BODY_BYTES)).
    #[error(
        "operation of {peer} is carried as failed without its {len}-byte body; bodies up to {max} bytes must be carried"
    )]
    FailedBodyWithheld {
        /// The author.
        peer: PeerId,
        /// The body's length.
        len: usize,
        /// The largest body that must be carried in full.
        max: usize,
    },
}

impl OpError {
    /// Whether a block may carry the operation as *failed* (see
    /// [`Draft::push_or_fail`](crate::Draft::push_or_fail)): its envelope is sound (signature,
    /// exact nonce), its author is seated, and the refusal is final — the operation can never
    /// become valid later, so consuming its nonce loses nothing the author could still get.
    ///
    /// Refusals that are not final make a block invalid instead, so that no proposer can burn an
    /// operation that would be accepted a few heights later: a commitment before betting closed
    /// ([`OpError::CommitmentsNotOpen`]), a reveal before the commitments are decided
    /// ([`OpError::RevealsNotOpen`]). Operations of unseated authors are never carried as failed
    /// either: anyone can make keys, and each failed operation would grow the table's nonce
    /// records.
    pub fn is_final_refusal(&self) -> bool {
        !matches!(
            self,
            OpError::BadSignature { .. }
                | OpError::WrongNonce { .. }
                | OpError::Encode { .. }
                | OpError::OpTooLarge { .. }
                | OpError::FailedBodyWithheld { .. }
                | OpError::NotSeated { .. }
                | OpError::CommitmentsNotOpen { .. }
                | OpError::RevealsNotOpen { .. }
        )
    }
}

/// The chips do not add up: `balances + chips on the table + bonds + bank` differs from
/// `genesis supply + buy-ins − cash-outs`. Never expected; a block that causes it is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    /// A sum overflowed `u64`.
    #[error("a chip total overflowed u64 at height {height}")]
    Overflow {
        /// The height.
        height: u64,
    },
    /// The identity does not hold.
    #[error("at height {height} the table holds {held} chips but the supply is {supply}")]
    Mismatch {
        /// The height.
        height: u64,
        /// Balances, chips on the table, bonds and bank.
        held: u64,
        /// Genesis supply plus buy-ins minus cash-outs.
        supply: u64,
    },
}

/// Why a block is invalid. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The bytes are not a block.
    #[error("undecodable block: {0}")]
    Decode(#[from] DecodeError),
    /// The block could not be encoded.
    #[error("unencodable block: {0}")]
    Encode(#[from] EncodeError),
    /// Not the next height.
    #[error("block for height {got}, expected {expected}")]
    WrongHeight {
        /// The next height.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// Built on another state.
    #[error("block at height {height} builds on another state")]
    WrongParent {
        /// The block's height.
        height: u64,
    },
    /// The timestamp does not increase.
    #[error("block timestamp {got} ms is not after the previous {previous} ms")]
    TimestampNotIncreasing {
        /// The previous block's timestamp.
        previous: u64,
        /// This block's.
        got: u64,
    },
    /// A block after the table closed: the closing height is final.
    #[error("height {height}: the table closed at height {closed_at}")]
    TableClosed {
        /// The refused block's height.
        height: u64,
        /// The closing height.
        closed_at: u64,
    },
    /// The block's encoding is over [`MAX_BLOCK_BYTES`](crate::block::MAX_BLOCK_BYTES).
    #[error("block is {len} bytes encoded, the limit is {max}")]
    TooLarge {
        /// Its encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The block time jumps further past the previous one than
    /// [`MAX_BLOCK_TIME_STEP_MS`](crate::block::MAX_BLOCK_TIME_STEP_MS).
    #[error(
        "block timestamp {got} ms is more than {max_step} ms after the previous {previous} ms"
    )]
    TimestampTooFar {
        /// The previous block's timestamp.
        previous: u64,
        /// This block's.
        got: u64,
        /// The largest step.
        max_step: u64,
    },
    /// Too many operations.
    #[error("block has {count} operations, the limit is {max}")]
    TooManyOps {
        /// Operations in the block.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An operation was rejected.
    #[error("operation {index} by {author} rejected: {error}")]
    Op {
        /// Its position in the block.
        index: usize,
        /// Its author.
        author: PeerId,
        /// Why.
        error: Box<OpError>,
    },
    /// The accounting identity broke.
    #[error(transparent)]
    Accounting(#[from] AccountingError),
    /// Chip arithmetic overflowed while closing the height.
    #[error("chip overflow while closing height {height}")]
    Overflow {
        /// The height.
        height: u64,
    },
}

/// Why an operation could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The operation could not be encoded.
    #[error("operation of {author} cannot be encoded: {error}")]
    Encode {
        /// The signer.
        author: PeerId,
        /// Why.
        error: EncodeError,
    },
    /// The signed operation would encode in more than
    /// [`MAX_OP_BYTES`](crate::ops::MAX_OP_BYTES): no pool and no block would take it.
    #[error("operation of {author} would be {len} bytes encoded, the limit is {max}")]
    TooLarge {
        /// The signer.
        author: PeerId,
        /// The signed operation's encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a table could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// This build's custom-operation registry is not the table's.
    #[error(
        "custom-operation registry mismatch: the table expects registry {expected}, this build has {local} ({names}); builds with different custom operations cannot play together"
    )]
    RegistryMismatch {
        /// The table's registry hash (hex).
        expected: String,
        /// This build's (hex).
        local: String,
        /// This build's operations, `name vN`, comma-separated.
        names: String,
    },
    /// The genesis state could not be encoded for its hash.
    #[error("the genesis state cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
}
