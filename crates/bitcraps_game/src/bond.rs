//! Bond sizing and per-roll exposure.
//!
//! A committed player who withholds its reveal loses every open bet and its bond. For that to
//! never pay, the bond must be at least the biggest net win its open bets could bring on the
//! roll; [`required_bond`] is that amount (times the configured cover, and never below the
//! minimum bond). It is enforced when betting closes: the shortfall moves from the player's
//! balance to its bond, and a player who cannot cover it sits the roll out.

use crate::bets::Bet;
use crate::chips::{self, ChipOverflow};
use crate::config::BondRules;
use crate::phase::Phase;
use crate::resolution::{resolve_bet, worst_case_payout};
use crate::roll::Roll;
use crate::rules::TableRules;

/// The bond a player with open bets `bets` must hold when betting closes in `phase`:
/// `max(minimum, ⌈worst-case win × cover % / 100⌉)`.
pub fn required_bond(
    rules: &TableRules,
    bonds: &BondRules,
    phase: Phase,
    bets: &[Bet],
) -> Result<u64, ChipOverflow> {
    let worst = worst_case_payout(rules, phase, bets)?;
    let covered = (u128::from(worst) * u128::from(bonds.cover_percent)).div_ceil(100);
    let covered = u64::try_from(covered).map_err(|_| ChipOverflow)?;
    Ok(covered.max(bonds.minimum))
}

/// What the bank pays out (net winnings) on each of the 36 rolls for one bet, indexed by
/// [`Roll::index`].
pub fn payouts_per_roll(
    rules: &TableRules,
    phase: Phase,
    bet: &Bet,
) -> Result<[u64; 36], ChipOverflow> {
    let mut out = [0u64; 36];
    for roll in Roll::all() {
        out[roll.index()] = resolve_bet(rules, phase, bet, roll)?
            .settle(bet.amount)?
            .from_bank;
    }
    Ok(out)
}

/// The per-roll payouts of many bets together (their maximum is
/// [`worst_case_payout`]).
pub fn total_payouts_per_roll(
    rules: &TableRules,
    phase: Phase,
    bets: &[Bet],
) -> Result<[u64; 36], ChipOverflow> {
    let mut out = [0u64; 36];
    for bet in bets {
        add_payouts(&mut out, &payouts_per_roll(rules, phase, bet)?)?;
    }
    Ok(out)
}

/// `total += more`, roll by roll.
pub fn add_payouts(total: &mut [u64; 36], more: &[u64; 36]) -> Result<(), ChipOverflow> {
    for (t, m) in total.iter_mut().zip(more) {
        *t = chips::add(*t, *m)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bets::{BetKind, Seat};

    #[test]
    fn bond_covers_the_worst_case() {
        let rules = TableRules::default();
        let bonds = BondRules::default();
        let bets = [
            Bet::new(Seat(0), BetKind::Aces, 10),
            Bet::new(Seat(0), BetKind::Field, 10),
        ];
        // Aces 300 + field 20 on a 2.
        assert_eq!(
            required_bond(&rules, &bonds, Phase::ComeOut, &bets),
            Ok(320)
        );
        assert_eq!(required_bond(&rules, &bonds, Phase::ComeOut, &[]), Ok(100));
        let half_more = BondRules {
            minimum: 1,
            cover_percent: 150,
        };
        assert_eq!(
            required_bond(&rules, &half_more, Phase::ComeOut, &bets),
            Ok(480)
        );
        let totals = total_payouts_per_roll(&rules, Phase::ComeOut, &bets).unwrap_or([0; 36]);
        assert_eq!(
            totals.iter().max().copied(),
            worst_case_payout(&rules, Phase::ComeOut, &bets).ok()
        );
    }
}
