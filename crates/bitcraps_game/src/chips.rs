//! Chip arithmetic: payout ratios, commissions and the rounding rule.
//!
//! Chips are whole `u64` units. Every sum, product and difference goes through checked
//! arithmetic and fails with [`ChipOverflow`] rather than wrapping or panicking.
//!
//! # Rounding
//!
//! Some payouts are fractions of a chip (a place 6 bet of 10 chips wins 10 × 7/6 = 11.67). The
//! rule is deterministic and always in the bank's favour:
//!
//! - a **payout** is rounded **down** ([`Odds::win_on`]): the bet above wins 11 chips;
//! - a **commission** is rounded **up** ([`commission_on`]): 5 % of a 10-chip buy bet is 1 chip.
//!
//! The fractional remainder is simply never paid: it stays in the bank, which still holds the
//! whole losing stakes it collected and the whole chips it did not pay. Nothing is created or
//! destroyed: every resolved bet moves whole chips between its owner and the bank, see
//! [`Settlement`](crate::resolution::Settlement). Bets in the exact multiples of
//! [`BetKind::exact_unit`](crate::bets::BetKind::exact_unit) are paid exactly.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A chip computation would not fit in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("chip arithmetic overflowed u64")]
pub struct ChipOverflow;

/// Checked `a + b` in chips.
pub fn add(a: u64, b: u64) -> Result<u64, ChipOverflow> {
    a.checked_add(b).ok_or(ChipOverflow)
}

/// Checked `a − b` in chips (an underflow is reported as [`ChipOverflow`] too).
pub fn sub(a: u64, b: u64) -> Result<u64, ChipOverflow> {
    a.checked_sub(b).ok_or(ChipOverflow)
}

/// Checked sum of many chip amounts.
pub fn sum(amounts: impl IntoIterator<Item = u64>) -> Result<u64, ChipOverflow> {
    amounts.into_iter().try_fold(0u64, add)
}

/// A payout ratio "to 1": a winning bet of `a` chips wins `a × to / per` chips on top of its
/// stake, which is returned. `Odds::new(7, 6)` is "7 to 6", the place 6 payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Odds {
    /// Chips won…
    pub to: u32,
    /// …per this many chips bet (never zero for the ratios this crate builds).
    pub per: u32,
}

impl Odds {
    /// `to : per`. A zero `per` is treated as a zero payout by [`Odds::win_on`].
    pub const fn new(to: u32, per: u32) -> Odds {
        Odds { to, per }
    }

    /// Even money, 1:1.
    pub const EVEN: Odds = Odds::new(1, 1);

    /// The ratio as a float, for display and the house-edge evaluator.
    pub fn as_f64(self) -> f64 {
        if self.per == 0 {
            0.0
        } else {
            f64::from(self.to) / f64::from(self.per)
        }
    }

    /// The chips a winning bet of `amount` wins at these odds, rounded down (the remainder stays
    /// in the bank; see the module docs).
    pub fn win_on(self, amount: u64) -> Result<u64, ChipOverflow> {
        if self.per == 0 {
            return Ok(0);
        }
        let exact = u128::from(amount) * u128::from(self.to) / u128::from(self.per);
        u64::try_from(exact).map_err(|_| ChipOverflow)
    }

    /// The smallest bet that these odds pay without a fractional chip: `per / gcd(to, per)`.
    pub fn exact_unit(self) -> u64 {
        let g = gcd(u64::from(self.to), u64::from(self.per));
        u64::from(self.per).checked_div(g).unwrap_or(1)
    }
}

impl fmt::Display for Odds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.to, self.per)
    }
}

/// The commission rate on buy and lay bets, in percent.
pub const COMMISSION_PERCENT: u64 = 5;

/// 5 % of `base`, rounded up to a whole chip (see the module docs).
pub fn commission_on(base: u64) -> u64 {
    // ceil(base * 5 / 100) == ceil(base / 20), computed without overflow.
    base / 20 + u64::from(!base.is_multiple_of(20))
}

/// Greatest common divisor (Euclid); `gcd(0, 0) == 0`.
pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// Least common multiple, saturating at `u64::MAX` (only used for small bet units).
pub(crate) fn lcm(a: u64, b: u64) -> u64 {
    a.checked_div(gcd(a, b))
        .map_or(0, |reduced| reduced.saturating_mul(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payouts_round_down() {
        assert_eq!(Odds::new(7, 6).win_on(10), Ok(11));
        assert_eq!(Odds::new(7, 6).win_on(12), Ok(14));
        assert_eq!(Odds::new(9, 5).win_on(9), Ok(16));
        assert_eq!(Odds::new(1, 2).win_on(1), Ok(0));
        assert_eq!(Odds::new(30, 1).win_on(u64::MAX), Err(ChipOverflow));
        assert_eq!(Odds::new(1, 2).win_on(u64::MAX), Ok(u64::MAX / 2));
        assert_eq!(Odds::new(1, 0).win_on(5), Ok(0));
    }

    #[test]
    fn commissions_round_up() {
        assert_eq!(commission_on(0), 0);
        assert_eq!(commission_on(1), 1);
        assert_eq!(commission_on(10), 1);
        assert_eq!(commission_on(20), 1);
        assert_eq!(commission_on(21), 2);
        assert_eq!(commission_on(40), 2);
        assert_eq!(commission_on(u64::MAX), u64::MAX / 20 + 1);
    }

    #[test]
    fn exact_units() {
        assert_eq!(Odds::new(7, 6).exact_unit(), 6);
        assert_eq!(Odds::new(6, 5).exact_unit(), 5);
        assert_eq!(Odds::new(2, 1).exact_unit(), 1);
        assert_eq!(Odds::new(27, 4).exact_unit(), 4);
        assert_eq!(lcm(4, 6), 12);
    }

    #[test]
    fn checked_helpers() {
        assert_eq!(add(u64::MAX, 1), Err(ChipOverflow));
        assert_eq!(sub(0, 1), Err(ChipOverflow));
        assert_eq!(sum([1, 2, 3]), Ok(6));
        assert_eq!(sum([u64::MAX, 1]), Err(ChipOverflow));
    }
}
