//! Withholding a reveal never pays.
//!
//! A committed player sees every other reveal before its own is due, so it knows the roll its
//! reveal would produce. If it withholds, every one of its bets loses and its bond — sized when
//! betting closed to cover the biggest win its bets could bring on that roll — is slashed; the
//! roll then comes from the others' reveals, which no longer matters to it. So, for every state
//! (phase and open bets) and every outcome of the roll it would cause by revealing, we compare:
//!
//! - revealing: what its bets return on that roll, plus, for each bet that stays up, its stake
//!   plus its exact expected net from then on (the [`edge`] Markov chain over the crate's own
//!   resolution code);
//! - withholding: nothing back from the bets, minus the bond.
//!
//! Withholding is strictly worse in every case, hence in expectation too.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use bitcraps_game::driver::{LocalTable, RollPlan};
use bitcraps_game::edge::{evaluate, EdgeError};
use bitcraps_game::*;
use proptest::prelude::*;

const STAKE: u64 = 600;

fn phases() -> Vec<Phase> {
    let mut v = vec![Phase::ComeOut];
    v.extend(Point::ALL.map(Phase::Point));
    v
}

/// The value to its owner of a bet that stays up after a roll: its stake plus the exact
/// expected net from here (a bet that is off and never decided is worth its stake: it can be
/// taken down).
fn value_if_up(rules: &TableRules, phase: Phase, bet: &Bet) -> f64 {
    match evaluate(rules, phase, bet) {
        Ok(r) => bet.amount as f64 + r.expected_net,
        Err(EdgeError::NeverDecided) => bet.amount as f64,
        Err(e) => panic!("{bet:?} in {phase}: {e}"),
    }
}

/// What a player holding `bets` ends with, in chips and chip-equivalents, if it reveals and the
/// dice show `roll`.
fn reveal_value(rules: &TableRules, phase: Phase, bets: &[Bet], roll: Roll) -> f64 {
    let res = resolve_roll(rules, phase, bets, roll).unwrap();
    bets.iter()
        .zip(&res.outcomes)
        .map(|(bet, outcome)| match outcome {
            Outcome::Win { .. } | Outcome::Lose | Outcome::Push => {
                outcome.settle(bet.amount).unwrap().to_owner as f64
            }
            Outcome::Stay => value_if_up(rules, res.phase, bet),
            Outcome::Move(kind) => value_if_up(
                rules,
                res.phase,
                &Bet {
                    kind: *kind,
                    ..*bet
                },
            ),
        })
        .sum()
}

/// What it ends with if it withholds: its bets are lost and its bond slashed.
fn withhold_value(rules: &TableRules, bonds: &BondRules, phase: Phase, bets: &[Bet]) -> f64 {
    -(required_bond(rules, bonds, phase, bets).unwrap() as f64)
}

fn check(rules: &TableRules, bonds: &BondRules, phase: Phase, bets: &[Bet]) -> Result<(), String> {
    let withhold = withhold_value(rules, bonds, phase, bets);
    let mut expected = 0.0;
    for roll in Roll::all() {
        let reveal = reveal_value(rules, phase, bets, roll);
        if withhold >= reveal {
            return Err(format!(
                "withholding {bets:?} in {phase} on {roll} gives {withhold}, revealing {reveal}"
            ));
        }
        expected += reveal / 36.0;
    }
    if withhold >= expected {
        return Err(format!(
            "withholding beats revealing in expectation for {bets:?}"
        ));
    }
    Ok(())
}

/// One bet (with the flat bet it backs, for odds) that the table accepts in `phase`, or the
/// moved come bets that exist on the table without being placed.
fn single_bet_states(rules: &TableRules, phase: Phase) -> Vec<Vec<Bet>> {
    let seat = Seat(0);
    let mut states = Vec::new();
    for kind in BetKind::all() {
        for working in [Working::TableRule, Working::On, Working::Off] {
            let bet = Bet::new(seat, kind, STAKE).with_working(working);
            let mut bets: Vec<Bet> = kind
                .backs()
                .map(|flat| vec![Bet::new(seat, flat, STAKE)])
                .unwrap_or_default();
            let exists = matches!(kind, BetKind::ComePoint(_) | BetKind::DontComePoint(_))
                && working == Working::TableRule;
            if exists || validate_bet(rules, phase, &bets, &bet).is_ok() {
                bets.push(bet);
                states.push(bets);
            }
        }
    }
    states
}

#[test]
fn withholding_never_beats_revealing_for_any_single_bet() {
    let bonds = BondRules::default();
    for field_twelve in [FieldTwelve::Double, FieldTwelve::Triple] {
        for on in [false, true] {
            let rules = TableRules {
                field_twelve,
                place_bets_work_on_come_out: on,
                ..TableRules::default()
            };
            let mut states = 0;
            for phase in phases() {
                for bets in single_bet_states(&rules, phase) {
                    check(&rules, &bonds, phase, &bets).unwrap();
                    states += 1;
                }
            }
            assert!(states > 400, "only {states} states");
        }
    }
}

#[test]
fn withholding_never_pays_even_with_the_minimum_bond_only() {
    // A 1-chip minimum bond: the covering part alone must do the work.
    let bonds = BondRules {
        minimum: 1,
        cover_percent: 100,
    };
    let rules = TableRules::default();
    for phase in phases() {
        for bets in single_bet_states(&rules, phase) {
            check(&rules, &bonds, phase, &bets).unwrap();
        }
    }
}

fn any_bet() -> impl Strategy<Value = Bet> {
    let kinds = BetKind::all();
    (0..kinds.len(), 1u64..=40, 0u8..3).prop_map(move |(k, units, w)| {
        let working = [Working::TableRule, Working::On, Working::Off][usize::from(w)];
        Bet::new(Seat(0), kinds[k], units * 30).with_working(working)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Many bets at once, as the table would accept them one by one.
    #[test]
    fn withholding_never_beats_revealing_for_any_set_of_bets(
        p in 0usize..7,
        candidates in prop::collection::vec(any_bet(), 1..12),
    ) {
        let rules = TableRules::default();
        let phase = phases()[p];
        let mut bets: Vec<Bet> = Vec::new();
        for bet in candidates {
            let moved = matches!(bet.kind, BetKind::ComePoint(_) | BetKind::DontComePoint(_));
            if moved || validate_bet(&rules, phase, &bets, &bet).is_ok() {
                bets.push(if moved { Bet { working: Working::TableRule, ..bet } } else { bet });
            }
        }
        prop_assume!(!bets.is_empty());
        check(&rules, &BondRules::default(), phase, &bets).map_err(TestCaseError::fail)?;
    }
}

/// The same comparison on a real table: for every outcome, the seat that withholds ends with
/// less than the same seat revealing.
#[test]
fn on_the_table_a_withholder_ends_with_less_for_every_outcome() {
    let registry = Arc::new(Registry::new());
    let rules = TableRules::default();
    for a in 1..=6u8 {
        for b in a..=6u8 {
            let mut wealth = Vec::new();
            for withhold in [false, true] {
                let mut t = LocalTable::new(4, 100_000, 10_000_000, registry.clone()).unwrap();
                let mut ops = Vec::new();
                for (kind, amount) in [
                    (BetKind::PassLine, 600),
                    (BetKind::Field, 300),
                    (BetKind::Hardway(HardNumber::Eight), 100),
                    (
                        BetKind::Hop(Hop::new(Die::new(a).unwrap(), Die::new(b).unwrap())),
                        50,
                    ),
                ] {
                    ops.push(
                        t.sign_seat(
                            Seat(2),
                            Operation::PlaceBet {
                                kind,
                                amount,
                                working: if kind.can_be_called_off() {
                                    Working::On
                                } else {
                                    Working::TableRule
                                },
                            },
                        )
                        .unwrap(),
                    );
                }
                t.apply(ops).unwrap();
                let mut plan = RollPlan::dice(a, b);
                if withhold {
                    plan = plan.withholding(Seat(2));
                }
                let events = t.play_roll(&plan).unwrap();
                let s = t.state();
                let seat = s.seat(Seat(2)).unwrap();
                let value = if withhold {
                    events
                        .iter()
                        .find_map(|e| match e {
                            Event::SeatRemoved {
                                seat: Seat(2),
                                cashed_out,
                                ..
                            } => Some(*cashed_out as f64),
                            _ => None,
                        })
                        .unwrap()
                } else {
                    let up: f64 = s
                        .bets_of(Seat(2))
                        .map(|b| value_if_up(&rules, s.phase(), &b.bet))
                        .sum();
                    (seat.balance + seat.bond) as f64 + up
                };
                wealth.push(value);
            }
            assert!(
                wealth[1] < wealth[0],
                "dice {a}-{b}: withholding {} vs revealing {}",
                wealth[1],
                wealth[0]
            );
        }
    }
}
