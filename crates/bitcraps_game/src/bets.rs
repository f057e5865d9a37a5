//! Every bet of standard casino craps: what it is, who owns it, and its fixed properties
//! (contract or not, one-roll or not, whether it can be called off, its exact-pay unit).
//!
//! Payouts ("to 1"; the stake is returned on a win):
//!
//! | bet | wins | pays | loses |
//! |---|---|---|---|
//! | pass line | come-out 7/11; point made | 1:1 | come-out 2/3/12; seven-out |
//! | don't pass (bar 12) | come-out 2/3; seven-out | 1:1 | come-out 7/11; point made (12 on the come-out pushes) |
//! | come / don't come | as pass / don't pass on their first roll, then move to their own number | 1:1 | |
//! | pass/come odds | the number before a 7 | 2:1 (4/10), 3:2 (5/9), 6:5 (6/8) | 7 |
//! | don't pass/don't come lay odds | 7 before the number | 1:2, 2:3, 5:6 | the number |
//! | field (one roll) | 3, 4, 9, 10, 11 / 2 / 12 | 1:1 / 2:1 / 2:1 or 3:1 | 5, 6, 7, 8 |
//! | place | the number before a 7 | 9:5 (4/10), 7:5 (5/9), 7:6 (6/8) | 7 |
//! | buy | the number before a 7 | true odds − 5 % of the bet | 7 |
//! | lay | 7 before the number | true odds − 5 % of the win | the number |
//! | big 6 / big 8 | the number before a 7 | 1:1 | 7 |
//! | hard 4/10, hard 6/8 | the pair before a 7 or the easy way | 7:1, 9:1 | 7, easy way |
//! | any 7, any craps (one roll) | 7 / 2, 3, 12 | 4:1, 7:1 | anything else |
//! | aces, ace-deuce, yo, boxcars (one roll) | 1-1, 1-2, 5-6, 6-6 | 30:1, 15:1, 15:1, 30:1 | anything else |
//! | horn (one roll, ¼ on each of 2, 3, 11, 12) | 2 or 12 / 3 or 11 | 27:4 / 3:1 net | anything else |
//! | C & E (one roll, ½ on any craps, ½ on 11) | 2, 3, 12 / 11 | 3:1 / 7:1 net | anything else |
//! | hop (one roll, one combination) | that combination | easy 15:1, hard 30:1 | anything else |
//!
//! A winning bet is paid and closed: its stake comes back to the owner, who may place it again
//! (a live casino leaves a winning place bet "up"; here that is a new placement, which keeps each
//! bet one decision and each win one ledger entry). Fractions of a chip: see [`crate::chips`].

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::chips::{gcd, lcm, Odds};
use crate::phase::Phase;
use crate::roll::{Die, InvalidDie, Point, Roll};
use crate::rules::TableRules;

/// A seat at the table (its index in the table's seat list).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Seat(pub u16);

impl fmt::Display for Seat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seat {}", self.0)
    }
}

/// The two hardway numbers' sides: hard 4 is 2-2, hard 6 is 3-3, hard 8 is 4-4, hard 10 is 5-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HardNumber {
    /// Hard 4 (2-2), pays 7:1.
    Four,
    /// Hard 6 (3-3), pays 9:1.
    Six,
    /// Hard 8 (4-4), pays 9:1.
    Eight,
    /// Hard 10 (5-5), pays 7:1.
    Ten,
}

impl HardNumber {
    /// All four hardways.
    pub const ALL: [HardNumber; 4] = [
        HardNumber::Four,
        HardNumber::Six,
        HardNumber::Eight,
        HardNumber::Ten,
    ];

    /// The total, 4/6/8/10.
    pub const fn total(self) -> u8 {
        match self {
            HardNumber::Four => 4,
            HardNumber::Six => 6,
            HardNumber::Eight => 8,
            HardNumber::Ten => 10,
        }
    }

    /// 7:1 on 4/10, 9:1 on 6/8.
    pub const fn odds(self) -> Odds {
        match self {
            HardNumber::Four | HardNumber::Ten => Odds::new(7, 1),
            HardNumber::Six | HardNumber::Eight => Odds::new(9, 1),
        }
    }
}

/// Big 6 or big 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BigNumber {
    /// Big 6.
    Six,
    /// Big 8.
    Eight,
}

impl BigNumber {
    /// The total, 6 or 8.
    pub const fn total(self) -> u8 {
        match self {
            BigNumber::Six => 6,
            BigNumber::Eight => 8,
        }
    }
}

/// A hop bet's combination, lower face first (so each combination has one encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "[u8; 2]", into = "[u8; 2]")]
pub struct Hop {
    low: Die,
    high: Die,
}

impl Hop {
    /// The combination of `a` and `b` in either order.
    pub fn new(a: Die, b: Die) -> Hop {
        Hop {
            low: a.min(b),
            high: a.max(b),
        }
    }

    /// The two faces, lower first.
    pub fn faces(self) -> (Die, Die) {
        (self.low, self.high)
    }

    /// A pair ("hard hop", 1 way in 36, pays 30:1) rather than two different faces ("easy hop",
    /// 2 ways, pays 15:1).
    pub fn is_hard(self) -> bool {
        self.low == self.high
    }

    /// 30:1 hard, 15:1 easy.
    pub fn odds(self) -> Odds {
        if self.is_hard() {
            Odds::new(30, 1)
        } else {
            Odds::new(15, 1)
        }
    }

    /// Whether `roll` is this combination.
    pub fn matches(self, roll: Roll) -> bool {
        Hop::new(roll.first, roll.second) == self
    }

    /// All 21 combinations.
    pub fn all() -> impl Iterator<Item = Hop> {
        Die::all().flat_map(|a| {
            Die::all()
                .filter(move |b| *b >= a)
                .map(move |b| Hop::new(a, b))
        })
    }
}

impl TryFrom<[u8; 2]> for Hop {
    type Error = InvalidDie;
    fn try_from(faces: [u8; 2]) -> Result<Hop, InvalidDie> {
        Ok(Hop::new(Die::new(faces[0])?, Die::new(faces[1])?))
    }
}

impl From<Hop> for [u8; 2] {
    fn from(h: Hop) -> [u8; 2] {
        [h.low.face(), h.high.face()]
    }
}

/// What a bet is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BetKind {
    /// Pass line (come-out only). A contract bet once the point is set.
    PassLine,
    /// Don't pass, bar 12 (come-out only).
    DontPass,
    /// A come bet on its first roll (placed only while a point is set).
    Come,
    /// A don't come bet on its first roll (placed only while a point is set).
    DontCome,
    /// A come bet that moved to its number: a contract bet. Created by resolution, never placed.
    ComePoint(Point),
    /// A don't come bet that moved to its number. Created by resolution, never placed.
    DontComePoint(Point),
    /// Odds behind the pass line on the current point (true odds).
    PassOdds(Point),
    /// Lay odds behind don't pass on the current point.
    DontPassOdds(Point),
    /// Odds on a come bet that moved to this number (true odds; off on the come-out unless called
    /// on).
    ComeOdds(Point),
    /// Lay odds on a don't come bet that moved to this number.
    DontComeOdds(Point),
    /// The field (one roll).
    Field,
    /// Place bet on a number.
    Place(Point),
    /// Buy bet: true odds, 5 % of the bet taken only on a win.
    Buy(Point),
    /// Lay bet against a number: true odds, 5 % of the win taken only on a win.
    Lay(Point),
    /// Big 6 or big 8, even money.
    Big(BigNumber),
    /// A hardway.
    Hardway(HardNumber),
    /// Any 7 (one roll), 4:1.
    AnySeven,
    /// Any craps: 2, 3 or 12 (one roll), 7:1.
    AnyCraps,
    /// Aces: 1-1 (one roll), 30:1.
    Aces,
    /// Ace-deuce: 1-2 (one roll), 15:1.
    AceDeuce,
    /// Yo: 11 (one roll), 15:1.
    Yo,
    /// Boxcars: 6-6 (one roll), 30:1.
    Boxcars,
    /// Horn: a quarter each on 2, 3, 11 and 12 (one roll).
    Horn,
    /// C & E: half on any craps, half on 11 (one roll).
    CrapsEleven,
    /// A hop bet on one combination (one roll).
    Hop(Hop),
}

impl BetKind {
    /// Every distinct bet kind (including the moved come/don't come bets and every hop).
    pub fn all() -> Vec<BetKind> {
        let mut v = vec![
            BetKind::PassLine,
            BetKind::DontPass,
            BetKind::Come,
            BetKind::DontCome,
        ];
        for p in Point::ALL {
            v.extend([
                BetKind::ComePoint(p),
                BetKind::DontComePoint(p),
                BetKind::PassOdds(p),
                BetKind::DontPassOdds(p),
                BetKind::ComeOdds(p),
                BetKind::DontComeOdds(p),
                BetKind::Place(p),
                BetKind::Buy(p),
                BetKind::Lay(p),
            ]);
        }
        v.push(BetKind::Field);
        v.extend([BetKind::Big(BigNumber::Six), BetKind::Big(BigNumber::Eight)]);
        v.extend(HardNumber::ALL.map(BetKind::Hardway));
        v.extend([
            BetKind::AnySeven,
            BetKind::AnyCraps,
            BetKind::Aces,
            BetKind::AceDeuce,
            BetKind::Yo,
            BetKind::Boxcars,
            BetKind::Horn,
            BetKind::CrapsEleven,
        ]);
        v.extend(Hop::all().map(BetKind::Hop));
        v
    }

    /// A contract bet cannot be taken down: the pass line once a point is set, and a come bet
    /// once it has moved to its number. (Don't bets can always be taken down — that only ever
    /// gives up the player's advantage.)
    pub fn is_contract(self, phase: Phase) -> bool {
        match self {
            BetKind::PassLine => !phase.is_come_out(),
            BetKind::ComePoint(_) => true,
            _ => false,
        }
    }

    /// Decided by the very next roll, whatever it is.
    pub fn is_one_roll(self) -> bool {
        matches!(
            self,
            BetKind::Field
                | BetKind::AnySeven
                | BetKind::AnyCraps
                | BetKind::Aces
                | BetKind::AceDeuce
                | BetKind::Yo
                | BetKind::Boxcars
                | BetKind::Horn
                | BetKind::CrapsEleven
                | BetKind::Hop(_)
        )
    }

    /// An odds bet backing a flat bet (pass, don't pass, come or don't come).
    pub fn is_odds(self) -> bool {
        self.backs().is_some()
    }

    /// For an odds bet, the flat bet it backs: `PassOdds(p)` backs [`BetKind::PassLine`] (with
    /// the point `p` set), `ComeOdds(p)` backs `ComePoint(p)`, and so on.
    pub fn backs(self) -> Option<BetKind> {
        match self {
            BetKind::PassOdds(_) => Some(BetKind::PassLine),
            BetKind::DontPassOdds(_) => Some(BetKind::DontPass),
            BetKind::ComeOdds(p) => Some(BetKind::ComePoint(p)),
            BetKind::DontComeOdds(p) => Some(BetKind::DontComePoint(p)),
            _ => None,
        }
    }

    /// Whether the player may call this bet on or off ([`Working::On`] / [`Working::Off`]):
    /// place, buy, lay, big 6/8, hardways and all odds. Flat line bets and one-roll bets always
    /// work.
    pub fn can_be_called_off(self) -> bool {
        matches!(
            self,
            BetKind::Place(_)
                | BetKind::Buy(_)
                | BetKind::Lay(_)
                | BetKind::Big(_)
                | BetKind::Hardway(_)
        ) || self.is_odds()
    }

    /// Whether the bet works on a come-out roll when the player made no call: place, buy and
    /// hardways follow [`TableRules::place_bets_work_on_come_out`]; come odds are off; every
    /// other bet works. With a point set every bet works unless called off.
    pub fn works_on_come_out_by_default(self, rules: &TableRules) -> bool {
        match self {
            BetKind::Place(_) | BetKind::Buy(_) | BetKind::Hardway(_) => {
                rules.place_bets_work_on_come_out
            }
            BetKind::ComeOdds(_) => false,
            _ => true,
        }
    }

    /// The smallest stake whose every payout and commission is a whole number of chips; stakes
    /// that are multiples of it are paid exactly (others are rounded, see [`crate::chips`]).
    /// E.g. 6 for place 6, 20 for buy bets, 40 for lay 4.
    pub fn exact_unit(self) -> u64 {
        match self {
            BetKind::PassOdds(p) | BetKind::ComeOdds(p) => p.true_odds().exact_unit(),
            BetKind::DontPassOdds(p) | BetKind::DontComeOdds(p) => p.lay_odds().exact_unit(),
            BetKind::Place(p) => p.place_odds().exact_unit(),
            // 5 % of the bet must be whole.
            BetKind::Buy(p) => lcm(20, p.true_odds().exact_unit()),
            // The win, stake × to / per with to and per coprime, must be a whole multiple of 20
            // chips: the stake is per × k and 20 divides k × to.
            BetKind::Lay(p) => {
                let o = p.lay_odds();
                u64::from(o.per) * 20 / gcd(20, u64::from(o.to))
            }
            BetKind::Horn => 4,
            _ => 1,
        }
    }
}

impl fmt::Display for BetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BetKind::PassLine => f.write_str("pass line"),
            BetKind::DontPass => f.write_str("don't pass"),
            BetKind::Come => f.write_str("come"),
            BetKind::DontCome => f.write_str("don't come"),
            BetKind::ComePoint(p) => write!(f, "come on {p}"),
            BetKind::DontComePoint(p) => write!(f, "don't come on {p}"),
            BetKind::PassOdds(p) => write!(f, "pass odds on {p}"),
            BetKind::DontPassOdds(p) => write!(f, "don't pass lay odds on {p}"),
            BetKind::ComeOdds(p) => write!(f, "come odds on {p}"),
            BetKind::DontComeOdds(p) => write!(f, "don't come lay odds on {p}"),
            BetKind::Field => f.write_str("field"),
            BetKind::Place(p) => write!(f, "place {p}"),
            BetKind::Buy(p) => write!(f, "buy {p}"),
            BetKind::Lay(p) => write!(f, "lay {p}"),
            BetKind::Big(b) => write!(f, "big {}", b.total()),
            BetKind::Hardway(h) => write!(f, "hard {}", h.total()),
            BetKind::AnySeven => f.write_str("any 7"),
            BetKind::AnyCraps => f.write_str("any craps"),
            BetKind::Aces => f.write_str("aces"),
            BetKind::AceDeuce => f.write_str("ace-deuce"),
            BetKind::Yo => f.write_str("yo"),
            BetKind::Boxcars => f.write_str("boxcars"),
            BetKind::Horn => f.write_str("horn"),
            BetKind::CrapsEleven => f.write_str("C & E"),
            BetKind::Hop(h) => {
                let (a, b) = h.faces();
                write!(f, "hop {a}-{b}")
            }
        }
    }
}

/// A player's call on a bet that can be called off ([`BetKind::can_be_called_off`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Working {
    /// Follow the table: working with a point set; on the come-out as
    /// [`BetKind::works_on_come_out_by_default`] says.
    #[default]
    TableRule,
    /// Called on: works on every roll, the come-out included.
    On,
    /// Called off: works on no roll until called back.
    Off,
}

/// An open bet on the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bet {
    /// Who owns it.
    pub seat: Seat,
    /// What it is on.
    pub kind: BetKind,
    /// The stake, in chips.
    pub amount: u64,
    /// The owner's on/off call (only [`Working::TableRule`] for bets that cannot be called off).
    pub working: Working,
}

impl Bet {
    /// A bet following the table's working rule.
    pub const fn new(seat: Seat, kind: BetKind, amount: u64) -> Bet {
        Bet {
            seat,
            kind,
            amount,
            working: Working::TableRule,
        }
    }

    /// The same bet with the owner's call.
    pub const fn with_working(self, working: Working) -> Bet {
        Bet { working, ..self }
    }

    /// Whether the bet is working on the next roll in `phase`.
    pub fn is_working(&self, phase: Phase, rules: &TableRules) -> bool {
        if !self.kind.can_be_called_off() {
            return true;
        }
        match self.working {
            Working::On => true,
            Working::Off => false,
            Working::TableRule => {
                !phase.is_come_out() || self.kind.works_on_come_out_by_default(rules)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_distinct() {
        let all = BetKind::all();
        let set: std::collections::BTreeSet<BetKind> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len());
        // 4 line bets, 9 per point, field, 2 big, 4 hard, 8 props, 21 hops.
        assert_eq!(all.len(), 4 + 9 * 6 + 1 + 2 + 4 + 8 + 21);
    }

    #[test]
    fn contracts() {
        let point = Phase::Point(Point::Six);
        assert!(!BetKind::PassLine.is_contract(Phase::ComeOut));
        assert!(BetKind::PassLine.is_contract(point));
        assert!(BetKind::ComePoint(Point::Four).is_contract(Phase::ComeOut));
        assert!(!BetKind::DontPass.is_contract(point));
        assert!(!BetKind::DontComePoint(Point::Four).is_contract(point));
        assert!(!BetKind::PassOdds(Point::Six).is_contract(point));
        assert!(!BetKind::Place(Point::Six).is_contract(point));
    }

    #[test]
    fn exact_units() {
        assert_eq!(BetKind::Place(Point::Six).exact_unit(), 6);
        assert_eq!(BetKind::Place(Point::Four).exact_unit(), 5);
        assert_eq!(BetKind::Buy(Point::Four).exact_unit(), 20);
        assert_eq!(BetKind::Buy(Point::Six).exact_unit(), 20);
        assert_eq!(BetKind::Buy(Point::Five).exact_unit(), 20);
        // Lay 4 wins half the bet: 40 → 20 → commission 1.
        assert_eq!(BetKind::Lay(Point::Four).exact_unit(), 40);
        // Lay 5 wins 2/3: 30 → 20.
        assert_eq!(BetKind::Lay(Point::Five).exact_unit(), 30);
        // Lay 6 wins 5/6: 24 → 20.
        assert_eq!(BetKind::Lay(Point::Six).exact_unit(), 24);
        assert_eq!(BetKind::PassOdds(Point::Eight).exact_unit(), 5);
        assert_eq!(BetKind::DontPassOdds(Point::Eight).exact_unit(), 6);
        assert_eq!(BetKind::Horn.exact_unit(), 4);
    }

    #[test]
    fn hops_are_canonical() {
        let a = Die::new(4).ok();
        let b = Die::new(2).ok();
        if let (Some(a), Some(b)) = (a, b) {
            assert_eq!(Hop::new(a, b), Hop::new(b, a));
            assert_eq!(<[u8; 2]>::from(Hop::new(a, b)), [2, 4]);
            assert_eq!(Hop::try_from([4u8, 2]), Ok(Hop::new(a, b)));
        }
        assert!(Hop::try_from([0u8, 2]).is_err());
        assert_eq!(Hop::all().count(), 21);
        assert_eq!(Hop::all().filter(|h| h.is_hard()).count(), 6);
    }

    #[test]
    fn working_defaults() {
        let rules = TableRules::default();
        let place = Bet::new(Seat(0), BetKind::Place(Point::Six), 12);
        assert!(!place.is_working(Phase::ComeOut, &rules));
        assert!(place.is_working(Phase::Point(Point::Four), &rules));
        assert!(place
            .with_working(Working::On)
            .is_working(Phase::ComeOut, &rules));
        assert!(!place
            .with_working(Working::Off)
            .is_working(Phase::Point(Point::Four), &rules));
        let come_odds = Bet::new(Seat(0), BetKind::ComeOdds(Point::Six), 10);
        assert!(!come_odds.is_working(Phase::ComeOut, &rules));
        let lay = Bet::new(Seat(0), BetKind::Lay(Point::Six), 10);
        assert!(lay.is_working(Phase::ComeOut, &rules));
        // Bets that cannot be called off ignore a stray call.
        let pass = Bet::new(Seat(0), BetKind::PassLine, 10).with_working(Working::Off);
        assert!(pass.is_working(Phase::ComeOut, &rules));
        let on = TableRules {
            place_bets_work_on_come_out: true,
            ..rules
        };
        assert!(place.is_working(Phase::ComeOut, &on));
    }
}
