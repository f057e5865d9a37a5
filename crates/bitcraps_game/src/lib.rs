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

pub mod bets;
pub mod chips;
pub mod dice;
pub mod edge;
pub mod phase;
pub mod resolution;
pub mod roll;
pub mod rules;
pub mod validation;

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
