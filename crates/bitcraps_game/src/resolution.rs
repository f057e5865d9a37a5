//! Resolving a roll: what happens to every open bet, and to the hand.
//!
//! [`resolve_roll`] is a pure function of the rules, the phase, the open bets and the dice: every
//! honest node computes the same outcomes in the same order. Each [`Outcome`] turns into chip
//! movements with [`Outcome::settle`], which conserves chips exactly:
//! `stake + from_bank = to_owner + to_bank + stays`.

use serde::{Deserialize, Serialize};

use crate::bets::{Bet, BetKind};
use crate::chips::{self, commission_on, ChipOverflow, Odds};
use crate::phase::{Phase, PhaseEvent};
use crate::roll::Roll;
use crate::rules::TableRules;

/// What a roll does to one bet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// The bet wins and closes: the owner gets the stake back plus `payout − commission`, which
    /// the bank pays. `payout` is rounded down and `commission` (buy and lay bets only) rounded
    /// up, and never more than `payout`.
    Win {
        /// Chips won at the bet's odds, before commission.
        payout: u64,
        /// Commission kept by the bank out of `payout`.
        commission: u64,
    },
    /// The bet loses and closes: the stake goes to the bank.
    Lose,
    /// The bet closes with no decision and the stake returns to the owner: don't pass / don't
    /// come on a 12 ("bar 12"), or odds that were off when their number or a 7 came.
    Push,
    /// The bet moves and stays on the table as another kind (a come bet to its number).
    Move(BetKind),
    /// No action; the bet stays as it is.
    Stay,
}

impl Outcome {
    /// Whether the bet leaves the table.
    pub fn closes(self) -> bool {
        matches!(self, Outcome::Win { .. } | Outcome::Lose | Outcome::Push)
    }

    /// The chip movements for a bet of `stake` chips with this outcome.
    pub fn settle(self, stake: u64) -> Result<Settlement, ChipOverflow> {
        let mut s = Settlement::default();
        match self {
            Outcome::Win { payout, commission } => {
                let net = chips::sub(payout, commission)?;
                s.to_owner = chips::add(stake, net)?;
                s.from_bank = net;
            }
            Outcome::Lose => s.to_bank = stake,
            Outcome::Push => s.to_owner = stake,
            Outcome::Move(_) | Outcome::Stay => s.stays = stake,
        }
        Ok(s)
    }
}

/// Chip movements of resolved bets. For one bet: `stake + from_bank = to_owner + to_bank + stays`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Settlement {
    /// Returned stakes plus net winnings, credited to the owner.
    pub to_owner: u64,
    /// Losing stakes, collected by the bank.
    pub to_bank: u64,
    /// Net winnings the bank pays.
    pub from_bank: u64,
    /// Stakes that remain on the table.
    pub stays: u64,
}

impl Settlement {
    /// The component-wise sum.
    pub fn plus(self, other: Settlement) -> Result<Settlement, ChipOverflow> {
        Ok(Settlement {
            to_owner: chips::add(self.to_owner, other.to_owner)?,
            to_bank: chips::add(self.to_bank, other.to_bank)?,
            from_bank: chips::add(self.from_bank, other.from_bank)?,
            stays: chips::add(self.stays, other.stays)?,
        })
    }
}

/// The result of one roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// One outcome per input bet, in the input order.
    pub outcomes: Vec<Outcome>,
    /// The phase for the next roll.
    pub phase: Phase,
    /// What the roll did to the hand ([`PhaseEvent::passes_dice`] after a seven-out).
    pub event: PhaseEvent,
}

impl Resolution {
    /// The summed chip movements of all `bets` (the same slice given to [`resolve_roll`]).
    pub fn totals(&self, bets: &[Bet]) -> Result<Settlement, ChipOverflow> {
        self.outcomes
            .iter()
            .zip(bets)
            .try_fold(Settlement::default(), |acc, (o, b)| {
                acc.plus(o.settle(b.amount)?)
            })
    }
}

/// Resolves `roll` against every open bet. Deterministic; fails only if a payout does not fit in
/// a `u64` (impossible for bets within any sane [`TableRules::max_bet`]).
pub fn resolve_roll(
    rules: &TableRules,
    phase: Phase,
    bets: &[Bet],
    roll: Roll,
) -> Result<Resolution, ChipOverflow> {
    let outcomes = bets
        .iter()
        .map(|b| resolve_bet(rules, phase, b, roll))
        .collect::<Result<Vec<_>, _>>()?;
    let (phase, event) = phase.after(roll);
    Ok(Resolution {
        outcomes,
        phase,
        event,
    })
}

/// What `roll` does to one bet in `phase`.
///
/// A bet that is off ([`Bet::is_working`]) takes no action — except odds whose flat bet is
/// decided by the roll: they come back ([`Outcome::Push`]) with it.
pub fn resolve_bet(
    rules: &TableRules,
    phase: Phase,
    bet: &Bet,
    roll: Roll,
) -> Result<Outcome, ChipOverflow> {
    let decision = decide(bet.kind, phase, rules, roll);
    if !bet.is_working(phase, rules) {
        return Ok(match decision {
            Decision::Win(..) | Decision::Lose if bet.kind.is_odds() => Outcome::Push,
            _ => Outcome::Stay,
        });
    }
    Ok(match decision {
        Decision::Win(odds, commission) => {
            let payout = odds.win_on(bet.amount)?;
            let commission = match commission {
                Commission::None => 0,
                Commission::OfBet => commission_on(bet.amount),
                Commission::OfWin => commission_on(payout),
            }
            .min(payout);
            Outcome::Win { payout, commission }
        }
        Decision::Lose => Outcome::Lose,
        Decision::Push => Outcome::Push,
        Decision::Move(kind) => Outcome::Move(kind),
        Decision::Stay => Outcome::Stay,
    })
}

/// The most the bank could have to pay out (net winnings, losing stakes not counted) on the next
/// roll in `phase` for `bets` together: the maximum over the 36 outcomes. For the bank's cover
/// check and for sizing a player's bond (pass only that player's bets).
///
/// It bounds one roll only: bets that stay up can win again on later rolls, and bets that were
/// off can start working when the phase changes, so a ledger re-checks it whenever betting
/// closes for a roll.
pub fn worst_case_payout(
    rules: &TableRules,
    phase: Phase,
    bets: &[Bet],
) -> Result<u64, ChipOverflow> {
    let mut worst = 0;
    for roll in Roll::all() {
        let mut paid = 0u64;
        for bet in bets {
            paid = chips::add(
                paid,
                resolve_bet(rules, phase, bet, roll)?
                    .settle(bet.amount)?
                    .from_bank,
            )?;
        }
        worst = worst.max(paid);
    }
    Ok(worst)
}

/// Who keeps a commission on a win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commission {
    None,
    /// 5 % of the stake (buy bets).
    OfBet,
    /// 5 % of the payout (lay bets).
    OfWin,
}

/// A bet's fate on a roll if it is working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Win(Odds, Commission),
    Lose,
    Push,
    Move(BetKind),
    Stay,
}

fn win(odds: Odds) -> Decision {
    Decision::Win(odds, Commission::None)
}

/// `on` wins at `odds`, 7 loses, anything else stays (place, odds, big 6/8, moved come bets).
fn number_before_seven(total: u8, on: u8, odds: Odds, commission: Commission) -> Decision {
    if total == on {
        Decision::Win(odds, commission)
    } else if total == 7 {
        Decision::Lose
    } else {
        Decision::Stay
    }
}

/// 7 wins at `odds`, `against` loses, anything else stays (don't odds, lay, moved don't come).
fn seven_before_number(total: u8, against: u8, odds: Odds, commission: Commission) -> Decision {
    if total == 7 {
        Decision::Win(odds, commission)
    } else if total == against {
        Decision::Lose
    } else {
        Decision::Stay
    }
}

/// One-roll: wins at `odds` if `hit`, loses otherwise.
fn one_roll(hit: bool, odds: Odds) -> Decision {
    if hit {
        win(odds)
    } else {
        Decision::Lose
    }
}

/// The payout table: the fate of a working bet of `kind` on `roll` in `phase`.
fn decide(kind: BetKind, phase: Phase, rules: &TableRules, roll: Roll) -> Decision {
    use Commission::{None as NoFee, OfBet, OfWin};
    let total = roll.total();
    let even = Odds::EVEN;
    match kind {
        BetKind::PassLine => match phase {
            Phase::ComeOut => match total {
                7 | 11 => win(even),
                2 | 3 | 12 => Decision::Lose,
                _ => Decision::Stay,
            },
            Phase::Point(p) => number_before_seven(total, p.total(), even, NoFee),
        },
        BetKind::DontPass => match phase {
            Phase::ComeOut => match total {
                2 | 3 => win(even),
                12 => Decision::Push,
                7 | 11 => Decision::Lose,
                _ => Decision::Stay,
            },
            Phase::Point(p) => seven_before_number(total, p.total(), even, NoFee),
        },
        BetKind::Come => match (total, roll.point()) {
            (7 | 11, _) => win(even),
            (_, Some(p)) => Decision::Move(BetKind::ComePoint(p)),
            _ => Decision::Lose,
        },
        BetKind::DontCome => match (total, roll.point()) {
            (2 | 3, _) => win(even),
            (12, _) => Decision::Push,
            (_, Some(p)) => Decision::Move(BetKind::DontComePoint(p)),
            _ => Decision::Lose,
        },
        BetKind::ComePoint(p) => number_before_seven(total, p.total(), even, NoFee),
        BetKind::DontComePoint(p) => seven_before_number(total, p.total(), even, NoFee),
        BetKind::PassOdds(p) | BetKind::ComeOdds(p) => {
            number_before_seven(total, p.total(), p.true_odds(), NoFee)
        }
        BetKind::DontPassOdds(p) | BetKind::DontComeOdds(p) => {
            seven_before_number(total, p.total(), p.lay_odds(), NoFee)
        }
        BetKind::Field => match total {
            2 => win(Odds::new(2, 1)),
            12 => win(rules.field_twelve.odds()),
            3 | 4 | 9 | 10 | 11 => win(even),
            _ => Decision::Lose,
        },
        BetKind::Place(p) => number_before_seven(total, p.total(), p.place_odds(), NoFee),
        BetKind::Buy(p) => number_before_seven(total, p.total(), p.true_odds(), OfBet),
        BetKind::Lay(p) => seven_before_number(total, p.total(), p.lay_odds(), OfWin),
        BetKind::Big(b) => number_before_seven(total, b.total(), even, NoFee),
        BetKind::Hardway(h) => {
            if total == h.total() && roll.is_pair() {
                win(h.odds())
            } else if total == 7 || total == h.total() {
                Decision::Lose
            } else {
                Decision::Stay
            }
        }
        BetKind::AnySeven => one_roll(total == 7, Odds::new(4, 1)),
        BetKind::AnyCraps => one_roll(roll.is_craps(), Odds::new(7, 1)),
        BetKind::Aces => one_roll(total == 2, Odds::new(30, 1)),
        BetKind::AceDeuce => one_roll(total == 3, Odds::new(15, 1)),
        BetKind::Yo => one_roll(total == 11, Odds::new(15, 1)),
        BetKind::Boxcars => one_roll(total == 12, Odds::new(30, 1)),
        // A quarter on each of 2, 3, 11, 12: the winning quarter's payout minus the three losing
        // quarters, as one net ratio on the whole bet.
        BetKind::Horn => match total {
            // 30/4 − 3/4
            2 | 12 => win(Odds::new(27, 4)),
            // 15/4 − 3/4
            3 | 11 => win(Odds::new(3, 1)),
            _ => Decision::Lose,
        },
        // Half on any craps (7:1), half on 11 (15:1), net on the whole bet.
        BetKind::CrapsEleven => match total {
            // 7/2 − 1/2
            2 | 3 | 12 => win(Odds::new(3, 1)),
            // 15/2 − 1/2
            11 => win(Odds::new(7, 1)),
            _ => Decision::Lose,
        },
        BetKind::Hop(h) => one_roll(h.matches(roll), h.odds()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::bets::{Seat, Working};
    use crate::roll::Point;

    fn roll(a: u8, b: u8) -> Roll {
        Roll::from_faces(a, b).unwrap()
    }

    #[test]
    fn settlement_conserves() {
        let outcomes = [
            Outcome::Win {
                payout: 70,
                commission: 3,
            },
            Outcome::Lose,
            Outcome::Push,
            Outcome::Stay,
            Outcome::Move(BetKind::ComePoint(Point::Four)),
        ];
        for o in outcomes {
            let s = o.settle(60).unwrap();
            assert_eq!(60 + s.from_bank, s.to_owner + s.to_bank + s.stays, "{o:?}");
        }
        let bad = Outcome::Win {
            payout: 1,
            commission: 2,
        };
        assert_eq!(bad.settle(10), Err(ChipOverflow));
    }

    #[test]
    fn resolution_keeps_order_and_moves_the_phase() {
        let rules = TableRules::default();
        let bets = [
            Bet::new(Seat(0), BetKind::PassLine, 10),
            Bet::new(Seat(1), BetKind::DontPass, 10),
            Bet::new(Seat(2), BetKind::Field, 10),
        ];
        let r = resolve_roll(&rules, Phase::ComeOut, &bets, roll(2, 4)).unwrap();
        assert_eq!(
            r.outcomes,
            vec![Outcome::Stay, Outcome::Stay, Outcome::Lose]
        );
        assert_eq!(r.phase, Phase::Point(Point::Six));
        assert_eq!(r.event, PhaseEvent::PointEstablished(Point::Six));
        let t = r.totals(&bets).unwrap();
        assert_eq!(
            (t.to_bank, t.stays, t.to_owner, t.from_bank),
            (10, 20, 0, 0)
        );
    }

    #[test]
    fn worst_case() {
        let rules = TableRules::default();
        let bets = [
            Bet::new(Seat(0), BetKind::AnySeven, 10),
            Bet::new(Seat(0), BetKind::Aces, 10),
            Bet::new(Seat(1), BetKind::Field, 10),
        ];
        // Aces + field on 2: 300 + 20; any 7 alone: 40.
        assert_eq!(worst_case_payout(&rules, Phase::ComeOut, &bets), Ok(320));
        assert_eq!(worst_case_payout(&rules, Phase::ComeOut, &[]), Ok(0));
        // A bet that is off on the come-out risks nothing then.
        let place = [Bet::new(Seat(0), BetKind::Place(Point::Six), 12)];
        assert_eq!(worst_case_payout(&rules, Phase::ComeOut, &place), Ok(0));
        let on = [place[0].with_working(Working::On)];
        assert_eq!(worst_case_payout(&rules, Phase::ComeOut, &on), Ok(14));
    }
}
