//! Whether a bet may be placed, called on/off, or taken down, given the phase, the table rules
//! and the bets already on the table. Every refusal says why.
//!
//! Limits:
//! - every bet except odds: each placement is at least [`TableRules::min_bet`], and a seat's total
//!   on one bet kind is at most [`TableRules::max_bet`];
//! - odds: any positive amount, as long as the seat's total odds on that bet stay within
//!   [`odds_limit`] (the configured multiple of the flat bet they back; on the don't side the
//!   multiple limits the win, see [`OddsMultiples`](crate::rules::OddsMultiples)).
//!
//! The bank's ability to cover the bet is the ledger's check (see
//! [`worst_case_payout`](crate::resolution::worst_case_payout)).

use crate::bets::{Bet, BetKind, Seat, Working};
use crate::chips::{self, ChipOverflow};
use crate::phase::Phase;
use crate::rules::TableRules;

/// Why a bet cannot be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BetRejection {
    /// A bet of zero chips.
    #[error("a bet must be at least one chip")]
    ZeroAmount,
    /// The bet is not offered in this phase (pass line with a point set, come on the come-out,
    /// odds on a point that is not the current one, …).
    #[error("{kind} cannot be placed during the {phase}")]
    WrongPhase {
        /// The bet.
        kind: BetKind,
        /// The current phase.
        phase: Phase,
    },
    /// Moved come and don't come bets are created by rolls, not placed.
    #[error("{0} is made by moving a come or don't come bet, not placed")]
    NotPlaceable(BetKind),
    /// Odds without the flat bet they back.
    #[error("{kind} needs a flat bet to back")]
    NoFlatBet {
        /// The odds bet.
        kind: BetKind,
    },
    /// The seat's odds on this bet would exceed the table's multiple.
    #[error("odds limited to {limit} chips, this would make {total}")]
    OddsAboveLimit {
        /// The most this seat may have on these odds.
        limit: u64,
        /// What the seat would have with this bet.
        total: u64,
    },
    /// Below the table minimum.
    #[error("the table minimum is {min}, got {amount}")]
    BelowMinimum {
        /// The table minimum.
        min: u64,
        /// The stake offered.
        amount: u64,
    },
    /// The seat's total on this bet kind would exceed the table maximum.
    #[error("the table maximum is {max}, this would make {total}")]
    AboveMaximum {
        /// The table maximum.
        max: u64,
        /// What the seat would have on this kind with this bet.
        total: u64,
    },
    /// An on/off call on a bet that always works (line bets, one-roll bets).
    #[error("{0} always works and cannot be called on or off")]
    CannotBeCalledOff(BetKind),
    /// The amounts do not fit in a `u64`.
    #[error(transparent)]
    Overflow(#[from] ChipOverflow),
}

/// Why a bet cannot be taken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RemovalRejection {
    /// No open bet at this index.
    #[error("there is no open bet #{0}")]
    NoSuchBet(usize),
    /// A contract bet (pass line with a point set, come bet on its number).
    #[error("{0} is a contract bet and cannot be taken down")]
    ContractBet(BetKind),
    /// Taking the flat bet down would leave its odds above the limit: take the odds down first.
    #[error("take the odds on {0} down first")]
    OddsAttached(BetKind),
    /// The amounts do not fit in a `u64`.
    #[error(transparent)]
    Overflow(#[from] ChipOverflow),
}

/// Checks that `bet` may be placed now. `open` is every open bet on the table (any seat; only
/// the bettor's own count towards limits).
pub fn validate_bet(
    rules: &TableRules,
    phase: Phase,
    open: &[Bet],
    bet: &Bet,
) -> Result<(), BetRejection> {
    if bet.amount == 0 {
        return Err(BetRejection::ZeroAmount);
    }
    validate_call(bet.kind, bet.working)?;
    let wrong_phase = BetRejection::WrongPhase {
        kind: bet.kind,
        phase,
    };
    match bet.kind {
        BetKind::PassLine | BetKind::DontPass if !phase.is_come_out() => return Err(wrong_phase),
        BetKind::Come | BetKind::DontCome if phase.is_come_out() => return Err(wrong_phase),
        BetKind::PassOdds(p) | BetKind::DontPassOdds(p) if phase.point() != Some(p) => {
            return Err(wrong_phase)
        }
        BetKind::ComePoint(_) | BetKind::DontComePoint(_) => {
            return Err(BetRejection::NotPlaceable(bet.kind))
        }
        _ => {}
    }
    let same_kind = chips::sum(own(open, bet.seat, bet.kind))?;
    let total = chips::add(same_kind, bet.amount)?;
    if bet.kind.is_odds() {
        let limit = odds_limit(rules, phase, open, bet.seat, bet.kind)?;
        if limit == 0 && has_no_flat(open, bet.seat, bet.kind) {
            return Err(BetRejection::NoFlatBet { kind: bet.kind });
        }
        if total > limit {
            return Err(BetRejection::OddsAboveLimit { limit, total });
        }
        return Ok(());
    }
    if bet.amount < rules.min_bet {
        return Err(BetRejection::BelowMinimum {
            min: rules.min_bet,
            amount: bet.amount,
        });
    }
    if total > rules.max_bet {
        return Err(BetRejection::AboveMaximum {
            max: rules.max_bet,
            total,
        });
    }
    Ok(())
}

/// Checks an on/off call on a bet of `kind`: only bets that [can be called
/// off](BetKind::can_be_called_off) accept anything but [`Working::TableRule`].
pub fn validate_call(kind: BetKind, working: Working) -> Result<(), BetRejection> {
    if working != Working::TableRule && !kind.can_be_called_off() {
        return Err(BetRejection::CannotBeCalledOff(kind));
    }
    Ok(())
}

/// The most a seat may have in total on the odds bet `odds` (0 for a kind that is not odds, or
/// with no flat bet to back): the seat's flat bets it backs × the point's multiple, and on the
/// don't side the amount that would *win* that much (`multiple × flat × true odds`, rounded
/// down). Pass and don't pass odds count only on the current point.
pub fn odds_limit(
    rules: &TableRules,
    phase: Phase,
    open: &[Bet],
    seat: Seat,
    odds: BetKind,
) -> Result<u64, ChipOverflow> {
    let (flat_kind, point, lay) = match odds {
        BetKind::PassOdds(p) => (BetKind::PassLine, p, false),
        BetKind::ComeOdds(p) => (BetKind::ComePoint(p), p, false),
        BetKind::DontPassOdds(p) => (BetKind::DontPass, p, true),
        BetKind::DontComeOdds(p) => (BetKind::DontComePoint(p), p, true),
        _ => return Ok(0),
    };
    if matches!(odds, BetKind::PassOdds(_) | BetKind::DontPassOdds(_))
        && phase.point() != Some(point)
    {
        return Ok(0);
    }
    let flat = chips::sum(own(open, seat, flat_kind))?;
    let multiple = u64::from(rules.odds.for_point(point));
    let backed = flat.checked_mul(multiple).ok_or(ChipOverflow)?;
    if lay {
        point.true_odds().win_on(backed)
    } else {
        Ok(backed)
    }
}

/// Checks that the bet at `index` of `open` may be taken down now (its stake returns to its
/// owner). Contract bets stay; a flat bet whose odds would exceed the limit without it needs its
/// odds taken down first. Everything else, one-roll bets and don't bets included, may come down
/// before the next roll.
pub fn validate_removal(
    rules: &TableRules,
    phase: Phase,
    open: &[Bet],
    index: usize,
) -> Result<(), RemovalRejection> {
    let bet = open.get(index).ok_or(RemovalRejection::NoSuchBet(index))?;
    if bet.kind.is_contract(phase) {
        return Err(RemovalRejection::ContractBet(bet.kind));
    }
    let backed_by: Vec<BetKind> = open
        .iter()
        .filter(|b| b.seat == bet.seat && b.kind.backs() == Some(bet.kind))
        .map(|b| b.kind)
        .collect();
    if backed_by.is_empty() {
        return Ok(());
    }
    let rest: Vec<Bet> = open
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, b)| *b)
        .collect();
    for odds in backed_by {
        let limit = odds_limit(rules, phase, &rest, bet.seat, odds)?;
        let total = chips::sum(own(&rest, bet.seat, odds))?;
        if total > limit {
            return Err(RemovalRejection::OddsAttached(bet.kind));
        }
    }
    Ok(())
}

fn own(open: &[Bet], seat: Seat, kind: BetKind) -> impl Iterator<Item = u64> + '_ {
    open.iter()
        .filter(move |b| b.seat == seat && b.kind == kind)
        .map(|b| b.amount)
}

fn has_no_flat(open: &[Bet], seat: Seat, odds: BetKind) -> bool {
    match odds.backs() {
        Some(flat) => !open.iter().any(|b| b.seat == seat && b.kind == flat),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bets::HardNumber;
    use crate::roll::Point;

    const S: Seat = Seat(1);
    const POINT6: Phase = Phase::Point(Point::Six);

    fn bet(kind: BetKind, amount: u64) -> Bet {
        Bet::new(S, kind, amount)
    }

    #[test]
    fn line_bets_by_phase() {
        let r = TableRules::default();
        assert_eq!(
            validate_bet(&r, Phase::ComeOut, &[], &bet(BetKind::PassLine, 10)),
            Ok(())
        );
        assert!(matches!(
            validate_bet(&r, POINT6, &[], &bet(BetKind::PassLine, 10)),
            Err(BetRejection::WrongPhase { .. })
        ));
        assert!(matches!(
            validate_bet(&r, Phase::ComeOut, &[], &bet(BetKind::Come, 10)),
            Err(BetRejection::WrongPhase { .. })
        ));
        assert_eq!(
            validate_bet(&r, POINT6, &[], &bet(BetKind::DontCome, 10)),
            Ok(())
        );
        assert_eq!(
            validate_bet(&r, POINT6, &[], &bet(BetKind::ComePoint(Point::Four), 10)),
            Err(BetRejection::NotPlaceable(BetKind::ComePoint(Point::Four)))
        );
    }

    #[test]
    fn limits() {
        let r = TableRules::default();
        assert_eq!(
            validate_bet(&r, POINT6, &[], &bet(BetKind::Field, 0)),
            Err(BetRejection::ZeroAmount)
        );
        assert_eq!(
            validate_bet(&r, POINT6, &[], &bet(BetKind::Field, 9)),
            Err(BetRejection::BelowMinimum { min: 10, amount: 9 })
        );
        let open = [
            bet(BetKind::Field, 9_000),
            Bet::new(Seat(2), BetKind::Field, 9_000),
        ];
        assert_eq!(
            validate_bet(&r, POINT6, &open, &bet(BetKind::Field, 1_000)),
            Ok(())
        );
        assert_eq!(
            validate_bet(&r, POINT6, &open, &bet(BetKind::Field, 1_001)),
            Err(BetRejection::AboveMaximum {
                max: 10_000,
                total: 10_001
            })
        );
        let huge = [bet(BetKind::Field, u64::MAX)];
        assert_eq!(
            validate_bet(&r, POINT6, &huge, &bet(BetKind::Field, 10)),
            Err(BetRejection::Overflow(ChipOverflow))
        );
    }

    #[test]
    fn pass_odds_follow_the_multiples() {
        let r = TableRules::default();
        let open = [bet(BetKind::PassLine, 10)];
        let odds = |p, a| bet(BetKind::PassOdds(p), a);
        assert_eq!(
            validate_bet(&r, POINT6, &open, &odds(Point::Six, 50)),
            Ok(())
        );
        assert_eq!(
            validate_bet(&r, POINT6, &open, &odds(Point::Six, 51)),
            Err(BetRejection::OddsAboveLimit {
                limit: 50,
                total: 51
            })
        );
        // Odds have no minimum.
        assert_eq!(
            validate_bet(&r, POINT6, &open, &odds(Point::Six, 1)),
            Ok(())
        );
        assert!(matches!(
            validate_bet(&r, POINT6, &open, &odds(Point::Four, 10)),
            Err(BetRejection::WrongPhase { .. })
        ));
        assert_eq!(
            validate_bet(&r, POINT6, &[], &odds(Point::Six, 10)),
            Err(BetRejection::NoFlatBet {
                kind: BetKind::PassOdds(Point::Six)
            })
        );
        let four = Phase::Point(Point::Four);
        assert_eq!(
            validate_bet(&r, four, &open, &odds(Point::Four, 30)),
            Ok(())
        );
        let with_odds = [open[0], odds(Point::Four, 30)];
        assert!(matches!(
            validate_bet(&r, four, &with_odds, &odds(Point::Four, 1)),
            Err(BetRejection::OddsAboveLimit { limit: 30, .. })
        ));
    }

    #[test]
    fn lay_odds_limit_the_win() {
        let r = TableRules::default();
        let open = [bet(BetKind::DontPass, 10)];
        for p in Point::ALL {
            // 3-4-5x on the win is 6x the flat bet laid on every point.
            let phase = Phase::Point(p);
            assert_eq!(
                odds_limit(&r, phase, &open, S, BetKind::DontPassOdds(p)),
                Ok(60),
                "{p}"
            );
        }
        let come = [bet(BetKind::DontComePoint(Point::Five), 20)];
        assert_eq!(
            odds_limit(
                &r,
                Phase::ComeOut,
                &come,
                S,
                BetKind::DontComeOdds(Point::Five)
            ),
            Ok(120)
        );
        assert_eq!(
            odds_limit(
                &r,
                Phase::ComeOut,
                &come,
                Seat(9),
                BetKind::DontComeOdds(Point::Five)
            ),
            Ok(0)
        );
    }

    #[test]
    fn calls() {
        let r = TableRules::default();
        let off = bet(BetKind::Hardway(HardNumber::Six), 10).with_working(Working::Off);
        assert_eq!(validate_bet(&r, POINT6, &[], &off), Ok(()));
        let field_off = bet(BetKind::Field, 10).with_working(Working::Off);
        assert_eq!(
            validate_bet(&r, POINT6, &[], &field_off),
            Err(BetRejection::CannotBeCalledOff(BetKind::Field))
        );
    }

    #[test]
    fn removals() {
        let r = TableRules::default();
        let open = [
            bet(BetKind::PassLine, 10),
            bet(BetKind::PassOdds(Point::Six), 50),
            bet(BetKind::DontPass, 10),
            bet(BetKind::DontPassOdds(Point::Six), 12),
            bet(BetKind::ComePoint(Point::Five), 10),
            bet(BetKind::Place(Point::Eight), 12),
        ];
        assert_eq!(
            validate_removal(&r, POINT6, &open, 0),
            Err(RemovalRejection::ContractBet(BetKind::PassLine))
        );
        assert_eq!(validate_removal(&r, POINT6, &open, 1), Ok(()));
        assert_eq!(
            validate_removal(&r, POINT6, &open, 2),
            Err(RemovalRejection::OddsAttached(BetKind::DontPass))
        );
        assert_eq!(validate_removal(&r, POINT6, &open, 3), Ok(()));
        assert_eq!(
            validate_removal(&r, Phase::ComeOut, &open, 4),
            Err(RemovalRejection::ContractBet(BetKind::ComePoint(
                Point::Five
            )))
        );
        assert_eq!(validate_removal(&r, POINT6, &open, 5), Ok(()));
        assert_eq!(
            validate_removal(&r, POINT6, &open, 6),
            Err(RemovalRejection::NoSuchBet(6))
        );
        // A pass line on the come-out (before any point) may come down.
        let come_out = [bet(BetKind::PassLine, 10)];
        assert_eq!(validate_removal(&r, Phase::ComeOut, &come_out, 0), Ok(()));
        // A second don't pass bet covers the odds: one of the two may come down.
        let two = [
            bet(BetKind::DontPass, 10),
            bet(BetKind::DontPass, 10),
            bet(BetKind::DontPassOdds(Point::Six), 60),
        ];
        assert_eq!(validate_removal(&r, POINT6, &two, 0), Ok(()));
    }
}
