//! Messages for game code about the craps table (written in the apply set after each decided
//! height).

use bevy::prelude::Message;
use bitcraps_consensus::PeerId;
use bitcraps_game as game;
use bitcraps_game::{
    BetId, BetKind, DisputeId, Outcome, PenaltyReason, RemovalReason, Roll, Verdict,
};

/// Every event of every applied block (the typed messages below pick the common ones out).
#[derive(Message, Clone, Debug)]
pub struct GameEvent {
    /// The height of the block.
    pub height: u64,
    /// What happened.
    pub event: game::Event,
}

/// An operation was decided: carried by an applied block, and either applied or — `refused` —
/// carried as failed (its nonce spent, nothing else changed).
#[derive(Message, Clone, Debug)]
pub struct OperationDecided {
    /// The height of the block.
    pub height: u64,
    /// The author's seat, if seated.
    pub seat: Option<game::Seat>,
    /// The signed operation.
    pub op: game::SignedOp,
    /// Why the table refused it, if it did.
    pub refused: Option<String>,
}

/// The dice were rolled.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiceRolled {
    /// The height of the block.
    pub height: u64,
    /// The roll number.
    pub roll_number: u64,
    /// The dice.
    pub roll: Roll,
    /// Who threw them.
    pub shooter: Option<game::Seat>,
}

/// A bet was decided or moved by a roll.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BetResolved {
    /// The height of the block.
    pub height: u64,
    /// The bet.
    pub id: BetId,
    /// Its owner.
    pub seat: game::Seat,
    /// Its kind before the roll.
    pub kind: BetKind,
    /// Its stake.
    pub amount: u64,
    /// What happened.
    pub outcome: Outcome,
    /// Chips credited to the owner.
    pub paid: u64,
}

/// A dispute claim was opened.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeOpened {
    /// The height of the block.
    pub height: u64,
    /// The claim.
    pub id: DisputeId,
    /// Who opened it.
    pub by: game::Seat,
    /// Who is accused.
    pub accused: game::Seat,
}

/// A dispute claim ended.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeResolved {
    /// The height of the block.
    pub height: u64,
    /// The claim.
    pub id: DisputeId,
    /// How it ended.
    pub verdict: Verdict,
}

/// A player took a seat.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeatJoined {
    /// The height of the block.
    pub height: u64,
    /// The seat.
    pub seat: game::Seat,
    /// The player.
    pub peer: PeerId,
}

/// A player left its seat or was removed.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct SeatLeft {
    /// The height of the block.
    pub height: u64,
    /// The seat.
    pub seat: game::Seat,
    /// Chips cashed out.
    pub cashed_out: u64,
    /// Why it was removed (`None`: it left by itself).
    pub removed: Option<RemovalReason>,
}

/// A player was punished by the table (bond slashed, bets forfeited).
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct PenaltyApplied {
    /// The height of the block.
    pub height: u64,
    /// The seat.
    pub seat: game::Seat,
    /// The player.
    pub peer: PeerId,
    /// Why.
    pub reason: PenaltyReason,
    /// Bond moved to the bank.
    pub bond_slashed: u64,
    /// Stakes forfeited to the bank.
    pub bets_forfeited: u64,
    /// Free balance forfeited to the bank (the table's penalty rules).
    pub balance_forfeited: u64,
}
