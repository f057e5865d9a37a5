//! The house edge of every bet, computed exactly by the Markov-chain evaluator (`edge`) running
//! the crate's own `resolve_roll`, against the published figures (to 0.001 percentage points)
//! and against the exact fractions they round. Negative controls show that the evaluator does
//! notice a wrong payout or rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcraps_game::edge::{evaluate, evaluate_with, EdgeReport};
use bitcraps_game::*;

/// A stake every payout and commission divides exactly.
const STAKE: u64 = 600;

fn rules() -> TableRules {
    TableRules::default()
}

fn edge_in(rules: &TableRules, phase: Phase, kind: BetKind) -> EdgeReport {
    evaluate(rules, phase, &Bet::new(Seat(0), kind, STAKE))
        .unwrap_or_else(|e| panic!("{kind} in {phase}: {e}"))
}

/// Asserts the edge (in %) of `kind` placed in `phase` is the `published` figure to 0.001
/// percentage points and the `exact` fraction to 1e-9.
fn check(rules: &TableRules, phase: Phase, kind: BetKind, published: f64, exact: f64) {
    let r = edge_in(rules, phase, kind);
    let pct = r.house_edge_percent();
    assert!(
        (pct - published).abs() <= 0.001,
        "{kind} in {phase}: {pct:.6} % vs published {published} %"
    );
    assert!(
        (r.house_edge - exact).abs() <= 1e-9,
        "{kind} in {phase}: {} vs exact {exact}",
        r.house_edge
    );
}

fn all_phases() -> Vec<Phase> {
    std::iter::once(Phase::ComeOut)
        .chain(Point::ALL.map(Phase::Point))
        .collect()
}

fn point_phases() -> impl Iterator<Item = Phase> {
    Point::ALL.into_iter().map(Phase::Point)
}

#[test]
fn line_bets() {
    let r = rules();
    check(&r, Phase::ComeOut, BetKind::PassLine, 1.414, 7.0 / 495.0);
    check(&r, Phase::ComeOut, BetKind::DontPass, 1.364, 3.0 / 220.0);
    // Come = pass and don't come = don't pass, whatever the shooter's point.
    for phase in point_phases() {
        check(&r, phase, BetKind::Come, 1.414, 7.0 / 495.0);
        check(&r, phase, BetKind::DontCome, 1.364, 3.0 / 220.0);
    }
}

#[test]
fn odds_are_fair() {
    let r = rules();
    for p in Point::ALL {
        check(&r, Phase::Point(p), BetKind::PassOdds(p), 0.0, 0.0);
        check(&r, Phase::Point(p), BetKind::DontPassOdds(p), 0.0, 0.0);
        // Come odds are off on the come-out (returned when decided) and fair otherwise.
        for phase in all_phases() {
            check(&r, phase, BetKind::ComeOdds(p), 0.0, 0.0);
            check(&r, phase, BetKind::DontComeOdds(p), 0.0, 0.0);
        }
    }
}

#[test]
fn place_bets() {
    let on = TableRules {
        place_bets_work_on_come_out: true,
        ..rules()
    };
    for r in [rules(), on] {
        for phase in all_phases() {
            for (p, published, exact) in [
                (Point::Six, 1.515, 1.0 / 66.0),
                (Point::Eight, 1.515, 1.0 / 66.0),
                (Point::Five, 4.000, 1.0 / 25.0),
                (Point::Nine, 4.000, 1.0 / 25.0),
                (Point::Four, 6.667, 1.0 / 15.0),
                (Point::Ten, 6.667, 1.0 / 15.0),
            ] {
                check(&r, phase, BetKind::Place(p), published, exact);
            }
        }
    }
}

#[test]
fn buy_and_lay_with_commission_on_the_win() {
    let r = rules();
    for phase in all_phases() {
        for p in [Point::Four, Point::Ten] {
            check(&r, phase, BetKind::Buy(p), 1.667, 1.0 / 60.0);
            check(&r, phase, BetKind::Lay(p), 1.667, 1.0 / 60.0);
        }
        for p in [Point::Five, Point::Nine] {
            check(&r, phase, BetKind::Buy(p), 2.000, 1.0 / 50.0);
            check(&r, phase, BetKind::Lay(p), 2.000, 1.0 / 50.0);
        }
        for p in [Point::Six, Point::Eight] {
            check(&r, phase, BetKind::Buy(p), 2.273, 1.0 / 44.0);
            check(&r, phase, BetKind::Lay(p), 2.273, 1.0 / 44.0);
        }
    }
}

#[test]
fn field() {
    let triple = TableRules {
        field_twelve: FieldTwelve::Triple,
        ..rules()
    };
    let double = TableRules {
        field_twelve: FieldTwelve::Double,
        ..rules()
    };
    for phase in all_phases() {
        check(&triple, phase, BetKind::Field, 2.778, 1.0 / 36.0);
        check(&double, phase, BetKind::Field, 5.556, 1.0 / 18.0);
    }
}

#[test]
fn big_six_eight_and_hardways() {
    let r = rules();
    for phase in all_phases() {
        check(&r, phase, BetKind::Big(BigNumber::Six), 9.091, 1.0 / 11.0);
        check(&r, phase, BetKind::Big(BigNumber::Eight), 9.091, 1.0 / 11.0);
        check(
            &r,
            phase,
            BetKind::Hardway(HardNumber::Six),
            9.091,
            1.0 / 11.0,
        );
        check(
            &r,
            phase,
            BetKind::Hardway(HardNumber::Eight),
            9.091,
            1.0 / 11.0,
        );
        check(
            &r,
            phase,
            BetKind::Hardway(HardNumber::Four),
            11.111,
            1.0 / 9.0,
        );
        check(
            &r,
            phase,
            BetKind::Hardway(HardNumber::Ten),
            11.111,
            1.0 / 9.0,
        );
    }
}

#[test]
fn one_roll_propositions() {
    let r = rules();
    for phase in all_phases() {
        check(&r, phase, BetKind::AnySeven, 16.667, 1.0 / 6.0);
        check(&r, phase, BetKind::AnyCraps, 11.111, 1.0 / 9.0);
        check(&r, phase, BetKind::Aces, 13.889, 5.0 / 36.0);
        check(&r, phase, BetKind::Boxcars, 13.889, 5.0 / 36.0);
        check(&r, phase, BetKind::AceDeuce, 11.111, 1.0 / 9.0);
        check(&r, phase, BetKind::Yo, 11.111, 1.0 / 9.0);
        check(&r, phase, BetKind::Horn, 12.5, 1.0 / 8.0);
        check(&r, phase, BetKind::CrapsEleven, 11.111, 1.0 / 9.0);
        for hop in Hop::all() {
            if hop.is_hard() {
                check(&r, phase, BetKind::Hop(hop), 13.889, 5.0 / 36.0);
            } else {
                check(&r, phase, BetKind::Hop(hop), 11.111, 1.0 / 9.0);
            }
        }
    }
}

/// Every bet that can be placed, in every phase where it can: the house never has a negative
/// edge, and one-roll bets are decided in exactly one roll.
#[test]
fn no_placeable_bet_favours_the_player() {
    let r = rules();
    let mut evaluated = 0;
    for phase in all_phases() {
        for kind in BetKind::all() {
            // Odds need the flat bet they back.
            let open: Vec<Bet> = kind
                .backs()
                .map(|flat| Bet::new(Seat(0), flat, STAKE))
                .into_iter()
                .collect();
            let bet = Bet::new(Seat(0), kind, STAKE);
            if validate_bet(&r, phase, &open, &bet).is_err() {
                continue;
            }
            let e = edge_in(&r, phase, kind);
            assert!(e.house_edge >= -1e-12, "{kind} in {phase}: {e:?}");
            if kind.is_one_roll() {
                assert!((e.expected_rolls - 1.0).abs() < 1e-12, "{kind}: {e:?}");
            }
            evaluated += 1;
        }
    }
    // Every kind but the moved come bets is placeable somewhere.
    assert!(
        evaluated > 300,
        "only {evaluated} (phase, bet) pairs evaluated"
    );
}

/// The moved come bets are not placeable for a reason: a don't come bet on its number is the
/// player's edge, a come bet on its number the house's. The evaluator sees it.
#[test]
fn moved_come_bets_have_lopsided_edges() {
    let r = rules();
    let dont = edge_in(&r, Phase::ComeOut, BetKind::DontComePoint(Point::Four));
    assert!((dont.house_edge + 1.0 / 3.0).abs() < 1e-12, "{dont:?}");
    let come = edge_in(&r, Phase::ComeOut, BetKind::ComePoint(Point::Four));
    assert!((come.house_edge - 1.0 / 3.0).abs() < 1e-12, "{come:?}");
}

// ----- negative controls -------------------------------------------------------------------

/// The pass line paying one chip too many on every win (601 for 600) is caught: the edge moves
/// by ~0.08 percentage points, far more than the 0.001 tolerance.
#[test]
fn a_slightly_wrong_payout_is_detected() {
    let r = rules();
    let bet = Bet::new(Seat(0), BetKind::PassLine, STAKE);
    let generous = |rules: &TableRules, phase: Phase, bets: &[Bet], roll: Roll| {
        let mut res = resolve_roll(rules, phase, bets, roll)?;
        for o in &mut res.outcomes {
            if let Outcome::Win { payout, .. } = o {
                *payout += 1;
            }
        }
        Ok(res)
    };
    let wrong = evaluate_with(&r, Phase::ComeOut, &bet, generous).unwrap();
    let pct = wrong.house_edge_percent();
    assert!(
        (pct - 1.414).abs() > 0.05,
        "a wrong payout went unnoticed: {pct}"
    );
    // …and the honest resolver through the same entry point matches.
    let right = evaluate_with(&r, Phase::ComeOut, &bet, resolve_roll).unwrap();
    assert!((right.house_edge_percent() - 1.414).abs() <= 0.001);
}

/// A place 6 paid 7:5 instead of 7:6, and a don't pass that pays on 12 instead of barring it,
/// are detected.
#[test]
fn wrong_payout_tables_are_detected() {
    let r = rules();
    let place6 = Bet::new(Seat(0), BetKind::Place(Point::Six), STAKE);
    let overpaid = |rules: &TableRules, phase: Phase, bets: &[Bet], roll: Roll| {
        let mut res = resolve_roll(rules, phase, bets, roll)?;
        for (o, b) in res.outcomes.iter_mut().zip(bets) {
            if let Outcome::Win { payout, .. } = o {
                *payout = Odds::new(7, 5).win_on(b.amount)?;
            }
        }
        Ok(res)
    };
    let e = evaluate_with(&r, Phase::Point(Point::Four), &place6, overpaid).unwrap();
    assert!((e.house_edge_percent() - 1.515).abs() > 1.0, "{e:?}");

    let dont = Bet::new(Seat(0), BetKind::DontPass, STAKE);
    let no_bar = |rules: &TableRules, phase: Phase, bets: &[Bet], roll: Roll| {
        let mut res = resolve_roll(rules, phase, bets, roll)?;
        if phase.is_come_out() && roll.total() == 12 {
            for (o, b) in res.outcomes.iter_mut().zip(bets) {
                *o = Outcome::Win {
                    payout: b.amount,
                    commission: 0,
                };
            }
        }
        Ok(res)
    };
    let e = evaluate_with(&r, Phase::ComeOut, &dont, no_bar).unwrap();
    assert!(
        e.house_edge < 0.0,
        "without the bar the player has the edge: {e:?}"
    );
    assert!((e.house_edge_percent() - 1.364).abs() > 1.0, "{e:?}");
}

/// The field with a 2:1 twelve does not pass for the 3:1 figure.
#[test]
fn the_wrong_rule_is_detected() {
    let double = TableRules {
        field_twelve: FieldTwelve::Double,
        ..rules()
    };
    let e = edge_in(&double, Phase::ComeOut, BetKind::Field);
    assert!((e.house_edge_percent() - 2.778).abs() > 0.001);
}
