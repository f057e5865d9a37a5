//! The dice: one die, a roll of two, and the six point numbers.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::chips::Odds;

/// A value that is not a face of a six-sided die (1–6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a face of a die (1-6)")]
pub struct InvalidDie(pub u8);

/// One six-sided die showing 1–6. Construct with [`Die::new`]; deserialisation checks the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Die(u8);

impl Die {
    /// The die showing `face`, if `face` is 1–6.
    pub const fn new(face: u8) -> Result<Die, InvalidDie> {
        if face >= 1 && face <= 6 {
            Ok(Die(face))
        } else {
            Err(InvalidDie(face))
        }
    }

    /// The face value, 1–6.
    pub const fn face(self) -> u8 {
        self.0
    }

    /// All six faces in order.
    pub fn all() -> impl Iterator<Item = Die> {
        (1..=6).map(Die)
    }
}

impl TryFrom<u8> for Die {
    type Error = InvalidDie;
    fn try_from(face: u8) -> Result<Die, InvalidDie> {
        Die::new(face)
    }
}

impl From<Die> for u8 {
    fn from(d: Die) -> u8 {
        d.0
    }
}

impl fmt::Display for Die {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A roll of two dice, in the order they were drawn (the order matters for nothing but display
/// and the derivation test vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Roll {
    /// The first die.
    pub first: Die,
    /// The second die.
    pub second: Die,
}

impl Roll {
    /// A roll of `first` and `second`.
    pub const fn new(first: Die, second: Die) -> Roll {
        Roll { first, second }
    }

    /// A roll from two face values.
    pub fn from_faces(first: u8, second: u8) -> Result<Roll, InvalidDie> {
        Ok(Roll::new(Die::new(first)?, Die::new(second)?))
    }

    /// The total, 2–12.
    pub const fn total(self) -> u8 {
        self.first.0 + self.second.0
    }

    /// Both dice show the same face ("the hard way" for 4, 6, 8 and 10).
    pub const fn is_pair(self) -> bool {
        self.first.0 == self.second.0
    }

    /// The two faces, lower first.
    pub fn sorted_faces(self) -> (u8, u8) {
        let (a, b) = (self.first.0, self.second.0);
        (a.min(b), a.max(b))
    }

    /// The point number this roll totals, if it totals 4, 5, 6, 8, 9 or 10.
    pub fn point(self) -> Option<Point> {
        Point::from_total(self.total())
    }

    /// A total of 2, 3 or 12.
    pub const fn is_craps(self) -> bool {
        matches!(self.total(), 2 | 3 | 12)
    }

    /// All 36 equally likely ordered rolls, first die major.
    pub fn all() -> impl Iterator<Item = Roll> {
        Die::all().flat_map(|a| Die::all().map(move |b| Roll::new(a, b)))
    }

    /// The outcome's index in `0..36` (`6 × (first − 1) + (second − 1)`), matching [`Roll::all`].
    pub fn index(self) -> usize {
        6 * usize::from(self.first.0 - 1) + usize::from(self.second.0 - 1)
    }
}

impl fmt::Display for Roll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} ({})", self.first, self.second, self.total())
    }
}

/// A point number: 4, 5, 6, 8, 9 or 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Point {
    /// 4 (3 ways in 36).
    Four,
    /// 5 (4 ways).
    Five,
    /// 6 (5 ways).
    Six,
    /// 8 (5 ways).
    Eight,
    /// 9 (4 ways).
    Nine,
    /// 10 (3 ways).
    Ten,
}

impl Point {
    /// All six points in increasing order.
    pub const ALL: [Point; 6] = [
        Point::Four,
        Point::Five,
        Point::Six,
        Point::Eight,
        Point::Nine,
        Point::Ten,
    ];

    /// The point a total makes, if any.
    pub const fn from_total(total: u8) -> Option<Point> {
        match total {
            4 => Some(Point::Four),
            5 => Some(Point::Five),
            6 => Some(Point::Six),
            8 => Some(Point::Eight),
            9 => Some(Point::Nine),
            10 => Some(Point::Ten),
            _ => None,
        }
    }

    /// The total, 4–10.
    pub const fn total(self) -> u8 {
        match self {
            Point::Four => 4,
            Point::Five => 5,
            Point::Six => 6,
            Point::Eight => 8,
            Point::Nine => 9,
            Point::Ten => 10,
        }
    }

    /// True odds of making this point before a 7: 2:1 (4, 10), 3:2 (5, 9), 6:5 (6, 8). Paid on
    /// pass/come odds and buy bets.
    pub const fn true_odds(self) -> Odds {
        match self {
            Point::Four | Point::Ten => Odds::new(2, 1),
            Point::Five | Point::Nine => Odds::new(3, 2),
            Point::Six | Point::Eight => Odds::new(6, 5),
        }
    }

    /// True odds of a 7 before this point: 1:2 (4, 10), 2:3 (5, 9), 5:6 (6, 8). Paid on lay odds
    /// and lay bets.
    pub const fn lay_odds(self) -> Odds {
        let t = self.true_odds();
        Odds::new(t.per, t.to)
    }

    /// Place bet payout: 9:5 (4, 10), 7:5 (5, 9), 7:6 (6, 8).
    pub const fn place_odds(self) -> Odds {
        match self {
            Point::Four | Point::Ten => Odds::new(9, 5),
            Point::Five | Point::Nine => Odds::new(7, 5),
            Point::Six | Point::Eight => Odds::new(7, 6),
        }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.total())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dice_faces() {
        assert_eq!(Die::new(0), Err(InvalidDie(0)));
        assert_eq!(Die::new(7), Err(InvalidDie(7)));
        assert_eq!(Die::new(6).map(Die::face), Ok(6));
        assert_eq!(Die::all().count(), 6);
    }

    #[test]
    fn all_rolls_are_distinct_and_indexed() {
        let rolls: Vec<Roll> = Roll::all().collect();
        assert_eq!(rolls.len(), 36);
        for (i, r) in rolls.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let sevens = rolls.iter().filter(|r| r.total() == 7).count();
        assert_eq!(sevens, 6);
    }

    #[test]
    fn points() {
        for p in Point::ALL {
            assert_eq!(Point::from_total(p.total()), Some(p));
        }
        assert_eq!(Point::from_total(7), None);
        assert_eq!(Point::Five.lay_odds(), Odds::new(2, 3));
        let r = Roll::from_faces(3, 3).unwrap();
        assert!(r.is_pair());
        assert_eq!(r.point(), Some(Point::Six));
        assert!(Roll::from_faces(6, 6).unwrap().is_craps());
    }

    #[test]
    fn die_deserialisation_checks_range() {
        assert!(Die::try_from(9u8).is_err());
        assert_eq!(u8::from(Die::try_from(4u8).unwrap()), 4);
    }
}
