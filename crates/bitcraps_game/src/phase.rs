//! The come-out / point state machine and shooter rotation.
//!
//! ```text
//!            7, 11 (natural) / 2, 3, 12 (craps)
//!              ┌────┐
//!              ▼    │
//!          ┌─────────┐  4 5 6 8 9 10   ┌──────────┐
//!   ──────►│ come-out├────────────────►│ point p  │◄─┐ any other total
//!          └─────────┘                 └──┬───┬───┘──┘
//!               ▲   ▲   p (point made)    │   │
//!               │   └─────────────────────┘   │ 7 (seven-out: the dice pass
//!               └─────────────────────────────┘    to the next shooter)
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::bets::Seat;
use crate::roll::{Point, Roll};

/// Where the shooter's hand stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Phase {
    /// No point: the next roll is a come-out roll.
    #[default]
    ComeOut,
    /// A point is established.
    Point(Point),
}

impl Phase {
    /// The established point, if any.
    pub const fn point(self) -> Option<Point> {
        match self {
            Phase::ComeOut => None,
            Phase::Point(p) => Some(p),
        }
    }

    /// Whether the next roll is a come-out roll.
    pub const fn is_come_out(self) -> bool {
        matches!(self, Phase::ComeOut)
    }

    /// The phase after `roll`, and what happened.
    pub fn after(self, roll: Roll) -> (Phase, PhaseEvent) {
        let total = roll.total();
        match self {
            Phase::ComeOut => match Point::from_total(total) {
                Some(p) => (Phase::Point(p), PhaseEvent::PointEstablished(p)),
                None if total == 7 || total == 11 => (Phase::ComeOut, PhaseEvent::Natural),
                None => (Phase::ComeOut, PhaseEvent::Craps),
            },
            Phase::Point(p) if total == p.total() => (Phase::ComeOut, PhaseEvent::PointMade(p)),
            Phase::Point(_) if total == 7 => (Phase::ComeOut, PhaseEvent::SevenOut),
            Phase::Point(_) => (self, PhaseEvent::NoDecision),
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::ComeOut => f.write_str("come-out"),
            Phase::Point(p) => write!(f, "point {p}"),
        }
    }
}

/// What a roll did to the hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PhaseEvent {
    /// Come-out 7 or 11: pass wins, a new come-out follows.
    Natural,
    /// Come-out 2, 3 or 12: pass loses, a new come-out follows.
    Craps,
    /// Come-out 4, 5, 6, 8, 9 or 10: the point is set.
    PointEstablished(Point),
    /// The point was rolled: pass wins, a new come-out follows with the same shooter.
    PointMade(Point),
    /// A 7 with a point set: pass loses and the dice pass to the next shooter.
    SevenOut,
    /// Any other roll with a point set.
    NoDecision,
}

impl PhaseEvent {
    /// Whether the shooter hands the dice on (only after a seven-out).
    pub const fn passes_dice(self) -> bool {
        matches!(self, PhaseEvent::SevenOut)
    }
}

/// The next shooter after `current`, clockwise: the lowest seated seat above `current`, wrapping
/// to the lowest seated seat. `current` need not be seated any more (it may just have left).
/// `None` when nobody is seated.
pub fn next_shooter(current: Seat, seated: &[Seat]) -> Option<Seat> {
    let after = seated.iter().copied().filter(|s| *s > current).min();
    after.or_else(|| seated.iter().copied().min())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roll(a: u8, b: u8) -> Roll {
        Roll::from_faces(a, b).unwrap()
    }

    #[test]
    fn come_out_transitions() {
        assert_eq!(
            Phase::ComeOut.after(roll(3, 4)),
            (Phase::ComeOut, PhaseEvent::Natural)
        );
        assert_eq!(
            Phase::ComeOut.after(roll(5, 6)),
            (Phase::ComeOut, PhaseEvent::Natural)
        );
        for (a, b) in [(1, 1), (1, 2), (6, 6)] {
            assert_eq!(
                Phase::ComeOut.after(roll(a, b)),
                (Phase::ComeOut, PhaseEvent::Craps)
            );
        }
        assert_eq!(
            Phase::ComeOut.after(roll(2, 2)),
            (
                Phase::Point(Point::Four),
                PhaseEvent::PointEstablished(Point::Four)
            )
        );
    }

    #[test]
    fn point_transitions() {
        let p = Phase::Point(Point::Nine);
        assert_eq!(
            p.after(roll(4, 5)),
            (Phase::ComeOut, PhaseEvent::PointMade(Point::Nine))
        );
        let (next, ev) = p.after(roll(1, 6));
        assert_eq!((next, ev), (Phase::ComeOut, PhaseEvent::SevenOut));
        assert!(ev.passes_dice());
        assert_eq!(p.after(roll(5, 6)), (p, PhaseEvent::NoDecision));
        assert_eq!(p.after(roll(6, 6)), (p, PhaseEvent::NoDecision));
        assert_eq!(p.after(roll(3, 3)), (p, PhaseEvent::NoDecision));
    }

    #[test]
    fn shooter_rotation() {
        let seated = [Seat(0), Seat(2), Seat(5)];
        assert_eq!(next_shooter(Seat(0), &seated), Some(Seat(2)));
        assert_eq!(next_shooter(Seat(2), &seated), Some(Seat(5)));
        assert_eq!(next_shooter(Seat(5), &seated), Some(Seat(0)));
        assert_eq!(next_shooter(Seat(3), &seated), Some(Seat(5)));
        assert_eq!(next_shooter(Seat(9), &seated), Some(Seat(0)));
        assert_eq!(next_shooter(Seat(2), &[Seat(2)]), Some(Seat(2)));
        assert_eq!(next_shooter(Seat(2), &[]), None);
    }
}
