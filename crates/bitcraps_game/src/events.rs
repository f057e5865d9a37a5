//! What applying a block did, for UIs, logs and game code: every chip movement and every change
//! of seat, roll, bet and dispute, in the order it happened.

use serde::{Deserialize, Serialize};

use bitcraps_consensus::PeerId;

use crate::bets::{BetKind, Seat, Working};
use crate::ops::{BetId, DisputeId, OpKind};
use crate::phase::{Phase, PhaseEvent};
use crate::resolution::Outcome;
use crate::roll::Roll;

/// Why a seat was taken away from its player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovalReason {
    /// Did not commit for this many rolls in a row.
    MissedRolls(u32),
    /// Punished (see the reason).
    Penalty(PenaltyReason),
}

/// Why a player was punished (bond slashed to the bank, bets forfeited, seat removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PenaltyReason {
    /// Committed for roll `roll` and did not reveal by the deadline.
    Withheld {
        /// The roll.
        roll: u64,
    },
    /// A reveal that does not open the player's commitment for roll `roll`.
    MismatchedReveal {
        /// The roll.
        roll: u64,
    },
    /// Two different operations signed under one nonce.
    DoubleSigned {
        /// The nonce.
        nonce: u64,
    },
    /// A consensus double vote.
    DoubleVote,
    /// A consensus double proposal.
    DoubleProposal,
    /// A claim upheld by the seated players' vote.
    ClaimUpheld(DisputeId),
}

/// Why a bet went back to its owner without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnReason {
    /// When betting closed the bank could not cover every open bet's worst case: the newest
    /// removable bets are returned until it can.
    BankCannotCover,
    /// The owner was unseated for missing rolls: removable bets are returned (contract bets are
    /// forfeited).
    OwnerUnseated,
    /// The table closed: every open bet went back to its owner.
    TableClosed,
}

/// Why a roll produced no dice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbandonReason {
    /// No eligible player committed by the deadline.
    NoCommitments,
    /// Nobody who committed revealed by the deadline (the withholders are punished).
    NoReveals,
}

/// How a dispute claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// More than two thirds of the electorate voted yes: the accused is punished.
    Upheld,
    /// More than one third voted no.
    Rejected,
    /// The deadline passed without either.
    Expired,
    /// The accused left the table by other means first.
    Moot,
}

/// One thing that happened at the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A player took a seat.
    SeatJoined {
        /// The seat.
        seat: Seat,
        /// The player.
        peer: PeerId,
        /// Chips brought.
        buy_in: u64,
        /// Of which posted as bond.
        bond: u64,
    },
    /// A player left and cashed out.
    SeatLeft {
        /// The seat.
        seat: Seat,
        /// Chips cashed out (balance and bond).
        cashed_out: u64,
    },
    /// A player lost its seat.
    SeatRemoved {
        /// The seat.
        seat: Seat,
        /// Why.
        reason: RemovalReason,
        /// Chips cashed out to the player (its balance; its bond too unless slashed).
        cashed_out: u64,
    },
    /// A player was punished.
    Penalty {
        /// The seat.
        seat: Seat,
        /// The player.
        peer: PeerId,
        /// Why.
        reason: PenaltyReason,
        /// Bond moved to the bank.
        bond_slashed: u64,
        /// Stakes of open bets (and custom bets) forfeited to the bank.
        bets_forfeited: u64,
        /// Free balance forfeited to the bank ([`PenaltyRules`](crate::PenaltyRules)).
        balance_forfeited: u64,
    },
    /// New chips in the bank.
    BankFunded {
        /// Who funded it.
        seat: Seat,
        /// How much.
        amount: u64,
    },
    /// A bet was placed.
    BetPlaced {
        /// Its id.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// Kind.
        kind: BetKind,
        /// Stake.
        amount: u64,
        /// The call.
        working: Working,
    },
    /// A bet was taken down by its owner.
    BetRemoved {
        /// Its id.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// Stake returned.
        amount: u64,
    },
    /// A bet was called on or off.
    BetCalled {
        /// Its id.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// The new call.
        working: Working,
    },
    /// A bet went back to its owner without a decision.
    BetReturned {
        /// Its id.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// Stake returned.
        amount: u64,
        /// Why.
        reason: ReturnReason,
    },
    /// Chips moved from a player's balance to its bond when betting closed.
    BondPosted {
        /// The seat.
        seat: Seat,
        /// Chips added.
        amount: u64,
        /// The bond now.
        bond: u64,
    },
    /// A player could not cover its bond and sits the roll out.
    BondShort {
        /// The seat.
        seat: Seat,
        /// Bond required.
        required: u64,
        /// Bond it has.
        bond: u64,
    },
    /// Betting closed for a roll.
    BettingClosed {
        /// The roll number.
        roll: u64,
        /// The shooter if it closed betting, `None` at the deadline.
        by: Option<Seat>,
        /// Seats expected to commit.
        eligible: Vec<Seat>,
    },
    /// A commitment was recorded.
    Committed {
        /// The roll number.
        roll: u64,
        /// The seat.
        seat: Seat,
    },
    /// Commitments are fixed; reveals are accepted from the next height.
    CommitmentsClosed {
        /// The roll number.
        roll: u64,
        /// Seats that committed.
        committed: Vec<Seat>,
        /// Eligible seats that did not (they sit this roll out).
        missed: Vec<Seat>,
    },
    /// A valid reveal was recorded.
    Revealed {
        /// The roll number.
        roll: u64,
        /// The seat.
        seat: Seat,
    },
    /// The dice were rolled.
    DiceRolled {
        /// The roll number.
        roll_number: u64,
        /// The dice.
        roll: Roll,
        /// Seats whose reveals seeded the dice, in seat order.
        revealed_by: Vec<Seat>,
        /// The shooter.
        shooter: Option<Seat>,
        /// Phase before the roll.
        phase_before: Phase,
        /// Phase after.
        phase_after: Phase,
        /// What the roll did to the hand.
        event: PhaseEvent,
    },
    /// A bet was decided or moved by a roll.
    BetResolved {
        /// Its id.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// Kind before the roll.
        kind: BetKind,
        /// Stake.
        amount: u64,
        /// What happened.
        outcome: Outcome,
        /// Chips credited to the owner (stake back plus net win), 0 on a loss or a stay.
        paid: u64,
    },
    /// The bank could not pay a winner in full.
    BankShort {
        /// The bet.
        id: BetId,
        /// Owner.
        seat: Seat,
        /// Chips owed and not paid.
        unpaid: u64,
    },
    /// A roll produced no dice.
    RollAbandoned {
        /// The roll number (never reused: every roll number has one commit phase, so a dice
        /// nonce committed for it can never be asked for again).
        roll: u64,
        /// Why.
        reason: AbandonReason,
    },
    /// The dice passed to another shooter.
    ShooterChanged {
        /// The previous shooter.
        from: Option<Seat>,
        /// The new one.
        to: Option<Seat>,
    },
    /// A dispute claim was opened.
    DisputeOpened {
        /// Its id.
        id: DisputeId,
        /// Who opened it.
        by: Seat,
        /// Who is accused.
        accused: Seat,
        /// Block time at which it expires.
        deadline_ms: u64,
    },
    /// A vote on a claim.
    DisputeVoted {
        /// The claim.
        id: DisputeId,
        /// The voter.
        seat: Seat,
        /// Yes or no.
        uphold: bool,
    },
    /// A claim ended.
    DisputeResolved {
        /// The claim.
        id: DisputeId,
        /// How.
        verdict: Verdict,
    },
    /// Verified evidence was accepted (the punishment follows as [`Event::Penalty`]).
    EvidenceAccepted {
        /// Who submitted it.
        by: Seat,
        /// The offender.
        offender: Seat,
        /// The offence.
        kind: String,
    },
    /// Verified evidence against a player no longer seated (already punished): accepted, with
    /// no further effect.
    EvidenceMoot {
        /// Who submitted it.
        by: Seat,
        /// The offender's key.
        offender: PeerId,
        /// The offence.
        kind: String,
    },
    /// A seated player's operation that the block carries as refused: its nonce is spent and
    /// nothing else changed (see [`OpError::is_final_refusal`](crate::OpError::is_final_refusal)).
    OperationFailed {
        /// The author's seat.
        seat: Seat,
        /// The author.
        peer: PeerId,
        /// The operation's nonce (spent).
        nonce: u64,
        /// The operation's kind.
        kind: OpKind,
        /// Why it was refused, for the player.
        reason: String,
    },
    /// An event of a custom extension.
    Custom {
        /// The extension.
        name: String,
        /// The seat concerned, if any.
        seat: Option<Seat>,
        /// The extension's own encoding.
        data: Vec<u8>,
    },
    /// A custom extension's roll hook failed; its changes for that roll were dropped.
    CustomHookFailed {
        /// The extension.
        name: String,
        /// Why.
        error: String,
    },
    /// A player who is not seated asked to sit down; the table's validators answer.
    JoinRequested {
        /// The newcomer.
        peer: PeerId,
        /// Chips it will bring.
        buy_in: u64,
        /// Block time at which the request lapses.
        deadline_ms: u64,
    },
    /// A validator answered a join request.
    JoinAnswered {
        /// The newcomer.
        newcomer: PeerId,
        /// The validator's seat.
        seat: Seat,
        /// Admitted or refused.
        admit: bool,
    },
    /// A join request ended without a seat (an admitted newcomer gets [`Event::SeatJoined`]).
    JoinDeclined {
        /// The newcomer.
        peer: PeerId,
        /// Why.
        reason: JoinDeclined,
    },
    /// Fewer than four players were left: the table closed. Every open bet went back to its
    /// owner and every player was cashed out; this height is the table's last.
    TableClosed {
        /// Each player seated at the close and the chips cashed out to it.
        final_balances: Vec<FinalBalance>,
        /// The bank's chips at the close.
        bank: u64,
    },
}

/// Why a join request ended without a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinDeclined {
    /// More than a third of the validators refused.
    Refused,
    /// The deadline passed without enough admissions.
    Expired,
    /// Admitted, but every seat was taken by then.
    TableFull,
    /// Admitted, but its chips would take the table above its supply limit.
    SupplyLimit,
    /// The table closed.
    TableClosed,
}

impl std::fmt::Display for JoinDeclined {
    /// In plain words, for the newcomer and the table.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JoinDeclined::Refused => "more than a third of the players refused",
            JoinDeclined::Expired => "not enough players answered in time",
            JoinDeclined::TableFull => "every seat was taken",
            JoinDeclined::SupplyLimit => "the chips would exceed the table's limit",
            JoinDeclined::TableClosed => "the table closed",
        })
    }
}

/// A player's final chips at a closing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalBalance {
    /// The seat.
    pub seat: Seat,
    /// The player.
    pub peer: PeerId,
    /// Chips cashed out (balance, bond and returned bets).
    pub cashed_out: u64,
}
