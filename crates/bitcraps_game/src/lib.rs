//! # bitcraps_game
//!
//! The rules of standard casino craps and the dice that drive them, as pure deterministic
//! functions: no Bevy, no clock, no I/O. Every honest node that feeds the same decided operations
//! through this crate computes the same outcomes, chip for chip.
//!
//! - [`rules`]: the table's house rules ([`TableRules`]) and their canonical hash.
//! - [`roll`]: a die, a roll of two, the point numbers.
//! - [`bets`]: every bet ([`BetKind`]), an open [`Bet`] with its owner [`Seat`], on/off calls.
//! - [`validation`]: may this bet be placed / called off / taken down now, and if not why.
//! - [`phase`]: the come-out / point state machine and shooter rotation.
//! - [`resolution`]: [`resolve_roll`] — every open bet's [`Outcome`] and the next phase.
//! - [`chips`]: overflow-checked chip arithmetic, payout ratios and the rounding rule (payouts
//!   round down, commissions up; the remainder stays in the bank).
//! - [`dice`]: commit-reveal randomness: commitments, reveal checks, the unbiased roll.
//! - [`edge`]: exact house edge of any bet by a Markov chain over [`resolve_roll`].
//!
//! On top of the rules, the table itself — what the consensus agrees on, height by height:
//!
//! - [`config`]: the [`TableConfig`] the initial seats agree on (seats, bank, rules, bonds,
//!   deadlines, custom-operation registry hash).
//! - [`ops`]: signed [`Operation`]s ([`SignedOp`]) with domain-separated signatures and
//!   per-player nonces, at most [`MAX_OP_BYTES`] each.
//! - [`entry`]: what a block carries ([`BlockEntry`]): operations in full, or large ones refused
//!   for good without their bodies ([`FailedOp`]).
//! - [`block`]: the consensus value of a height ([`Block`]), proposals ([`TableState::build_block`])
//!   and the clock check ([`acceptable_now`]).
//! - [`state`]: the copy-on-write [`TableState`], its hash and the accounting identity.
//! - [`apply`]: applying operations ([`Draft`]) and blocks ([`TableState::apply_block`]).
//! - [`ledger`], [`flow`], [`seats`], [`disputes`]: what each operation does, the dice flow over
//!   heights, penalties, evidence and claims.
//! - [`bond`]: bond sizing and exposure.
//! - [`policy`]: chip limits, penalties and admission ([`ChipLimits`], [`PenaltyRules`],
//!   [`AdmissionRules`]).
//! - [`custom`]: custom operations ([`CustomOperation`], [`Registry`]).
//! - [`chain`]: a host's recent states and the consensus application ([`Chain`]).
//! - [`events`]: what a block did ([`Event`]).
//! - [`driver`]: a whole table in one process ([`driver::LocalTable`]), for tests, bots and
//!   offline play.
//!
//! ```
//! use bitcraps_game::*;
//!
//! let rules = TableRules::default();
//! let mut phase = Phase::ComeOut;
//! let mut bets = vec![Bet::new(Seat(0), BetKind::PassLine, 10)];
//! validate_bet(&rules, phase, &[], &bets[0])?;
//!
//! // Come-out 4: the point is set, the pass line stays.
//! let r = resolve_roll(&rules, phase, &bets, Roll::from_faces(1, 3)?)?;
//! assert_eq!(r.outcomes, vec![Outcome::Stay]);
//! phase = r.phase;
//!
//! // Take 3x odds, then make the point: 10 at 1:1 and 30 at 2:1.
//! let odds = Bet::new(Seat(0), BetKind::PassOdds(Point::Four), 30);
//! validate_bet(&rules, phase, &bets, &odds)?;
//! bets.push(odds);
//! let r = resolve_roll(&rules, phase, &bets, Roll::from_faces(2, 2)?)?;
//! assert_eq!(r.outcomes[0], Outcome::Win { payout: 10, commission: 0 });
//! assert_eq!(r.outcomes[1], Outcome::Win { payout: 60, commission: 0 });
//! assert_eq!(r.phase, Phase::ComeOut);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod apply;
pub mod bets;
pub mod block;
pub mod bond;
pub mod chain;
pub mod chips;
pub mod config;
pub mod custom;
pub mod deadline;
pub mod dice;
pub mod disputes;
pub mod driver;
pub mod edge;
pub mod entry;
pub mod error;
pub mod events;
pub mod flow;
pub mod ledger;
pub mod membership;
pub mod ops;
pub mod phase;
pub mod policy;
pub mod resolution;
pub mod roll;
pub mod rules;
pub mod seats;
pub mod state;
pub mod validation;

pub use apply::{Draft, OpSignatures, MAX_BETS_PER_SEAT, MAX_OPEN_DISPUTES, MAX_SEAT_RECORDS};
pub use block::{
    acceptable_after, acceptable_now, Block, BuiltBlock, MAX_BLOCK_BYTES, MAX_BLOCK_TIME_STEP_MS,
    MAX_CLOCK_SKEW_MS, MAX_OPS_PER_BLOCK,
};
pub use bond::required_bond;
pub use chain::{Applied, Chain, ChainError, ChainValidity};
pub use config::{
    BondRules, ConfigError, Deadlines, GenesisNonce, SeatConfig, TableConfig, CATCH_UP_MARGIN_MS,
    MAX_SEATED, MIN_SEATS,
};
pub use custom::{
    CustomContext, CustomError, CustomOperation, Registry, RegistryError, RollReport,
};
pub use deadline::{StageDeadline, StageKind};
pub use entry::{BlockEntry, FailedOp, MAX_FULL_FAILED_BODY_BYTES};
pub use error::{AccountingError, BlockError, EvidenceError, GenesisError, OpError, SignError};
pub use events::{
    AbandonReason, Event, FinalBalance, JoinDeclined, PenaltyReason, RemovalReason, ReturnReason,
    Verdict,
};
pub use ops::{
    BetId, BodyDigest, Dispute, DisputeId, GameEvidence, OpKind, Operation, RawSignedOp, SignedOp,
    MAX_OP_BYTES,
};
pub use policy::{AdmissionRules, ChipLimits, PenaltyRules};
pub use state::{
    Claim, CustomSlot, Health, Holdings, OpenBet, RollRecord, SeatState, SeatStatus, Stage, Supply,
    TableData, TableState,
};

pub use bets::{Bet, BetKind, BigNumber, HardNumber, Hop, Seat, Working};
pub use chips::{ChipOverflow, Odds};
pub use dice::{BeaconError, Commitment, Nonce, RollBeacon};
pub use phase::{next_shooter, Phase, PhaseEvent};
pub use resolution::{
    resolve_bet, resolve_roll, worst_case_payout, Outcome, Resolution, Settlement,
};
pub use roll::{Die, InvalidDie, Point, Roll};
pub use rules::{FieldTwelve, OddsMultiples, RulesError, TableRules};
pub use validation::{
    odds_limit, validate_bet, validate_call, validate_removal, BetRejection, RemovalRejection,
};
