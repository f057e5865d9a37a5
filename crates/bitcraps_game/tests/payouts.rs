//! Unit tests of every payout: each bet against the rolls that decide it, including the rounding
//! of fractional chips and the on/off rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcraps_game::*;

const COME_OUT: Phase = Phase::ComeOut;
const ON_SIX: Phase = Phase::Point(Point::Six);

fn win(payout: u64) -> Outcome {
    Outcome::Win {
        payout,
        commission: 0,
    }
}

fn win_less(payout: u64, commission: u64) -> Outcome {
    Outcome::Win { payout, commission }
}

const LOSE: Outcome = Outcome::Lose;
const PUSH: Outcome = Outcome::Push;
const STAY: Outcome = Outcome::Stay;

/// Checks `bet` (seat 0, table call) in `phase` against `(die, die) → outcome` cases.
fn check_with(rules: &TableRules, phase: Phase, bet: Bet, cases: &[((u8, u8), Outcome)]) {
    for &((a, b), expected) in cases {
        let roll = Roll::from_faces(a, b).unwrap();
        let got = resolve_bet(rules, phase, &bet, roll).unwrap();
        assert_eq!(
            got, expected,
            "{} of {} in {phase} on {roll}",
            bet.kind, bet.amount
        );
    }
}

fn check(phase: Phase, kind: BetKind, amount: u64, cases: &[((u8, u8), Outcome)]) {
    check_with(
        &TableRules::default(),
        phase,
        Bet::new(Seat(0), kind, amount),
        cases,
    );
}

#[test]
fn pass_line() {
    check(
        COME_OUT,
        BetKind::PassLine,
        10,
        &[
            ((3, 4), win(10)),
            ((5, 6), win(10)),
            ((1, 1), LOSE),
            ((1, 2), LOSE),
            ((6, 6), LOSE),
            ((2, 2), STAY),
            ((4, 6), STAY),
        ],
    );
    check(
        ON_SIX,
        BetKind::PassLine,
        10,
        &[
            ((2, 4), win(10)),
            ((3, 3), win(10)),
            ((1, 6), LOSE),
            ((4, 4), STAY),
            ((5, 6), STAY),
            ((1, 1), STAY),
        ],
    );
}

#[test]
fn dont_pass_bars_twelve() {
    check(
        COME_OUT,
        BetKind::DontPass,
        10,
        &[
            ((1, 1), win(10)),
            ((1, 2), win(10)),
            ((6, 6), PUSH),
            ((3, 4), LOSE),
            ((5, 6), LOSE),
            ((4, 5), STAY),
        ],
    );
    check(
        ON_SIX,
        BetKind::DontPass,
        10,
        &[
            ((2, 5), win(10)),
            ((1, 5), LOSE),
            ((6, 6), STAY),
            ((1, 2), STAY),
        ],
    );
}

#[test]
fn come_and_dont_come_move_to_their_number() {
    check(
        ON_SIX,
        BetKind::Come,
        10,
        &[
            ((3, 4), win(10)),
            ((5, 6), win(10)),
            ((1, 1), LOSE),
            ((1, 2), LOSE),
            ((6, 6), LOSE),
            ((2, 3), Outcome::Move(BetKind::ComePoint(Point::Five))),
            ((3, 3), Outcome::Move(BetKind::ComePoint(Point::Six))),
        ],
    );
    check(
        ON_SIX,
        BetKind::DontCome,
        10,
        &[
            ((1, 1), win(10)),
            ((2, 1), win(10)),
            ((6, 6), PUSH),
            ((3, 4), LOSE),
            ((6, 5), LOSE),
            ((4, 5), Outcome::Move(BetKind::DontComePoint(Point::Nine))),
        ],
    );
    // On their numbers, whatever the phase (a come bet works on the come-out).
    for phase in [COME_OUT, ON_SIX] {
        check(
            phase,
            BetKind::ComePoint(Point::Five),
            10,
            &[
                ((1, 4), win(10)),
                ((1, 6), LOSE),
                ((3, 3), STAY),
                ((5, 6), STAY),
            ],
        );
        check(
            phase,
            BetKind::DontComePoint(Point::Five),
            10,
            &[((1, 6), win(10)), ((2, 3), LOSE), ((1, 1), STAY)],
        );
    }
}

#[test]
fn odds_pay_true_odds() {
    for (p, roll, amount, payout) in [
        (Point::Four, (1, 3), 10, 20),
        (Point::Ten, (5, 5), 10, 20),
        (Point::Five, (1, 4), 10, 15),
        (Point::Nine, (3, 6), 10, 15),
        (Point::Six, (2, 4), 10, 12),
        (Point::Eight, (2, 6), 10, 12),
        // 15 × 3/2 = 22.5 → 22; 7 × 6/5 = 8.4 → 8.
        (Point::Five, (2, 3), 15, 22),
        (Point::Six, (1, 5), 7, 8),
    ] {
        check(
            Phase::Point(p),
            BetKind::PassOdds(p),
            amount,
            &[(roll, win(payout)), ((3, 4), LOSE), ((6, 6), STAY)],
        );
        check(
            Phase::Point(p),
            BetKind::ComeOdds(p),
            amount,
            &[(roll, win(payout)), ((3, 4), LOSE), ((1, 1), STAY)],
        );
    }
}

#[test]
fn lay_odds_pay_true_odds_against() {
    for (p, roll, amount, payout) in [
        (Point::Four, (2, 2), 20, 10),
        (Point::Ten, (4, 6), 20, 10),
        (Point::Five, (2, 3), 30, 20),
        (Point::Nine, (4, 5), 30, 20),
        (Point::Six, (1, 5), 30, 25),
        (Point::Eight, (3, 5), 30, 25),
        // 25 × 2/3 = 16.67 → 16.
        (Point::Five, (1, 4), 25, 16),
    ] {
        for kind in [BetKind::DontPassOdds(p), BetKind::DontComeOdds(p)] {
            check(
                Phase::Point(p),
                kind,
                amount,
                &[((1, 6), win(payout)), (roll, LOSE), ((5, 6), STAY)],
            );
        }
    }
    // Don't come odds work on the come-out.
    check(
        COME_OUT,
        BetKind::DontComeOdds(Point::Four),
        20,
        &[((2, 5), win(10)), ((3, 1), LOSE)],
    );
}

#[test]
fn come_odds_are_off_on_the_come_out_unless_called_on() {
    let odds = Bet::new(Seat(0), BetKind::ComeOdds(Point::Six), 10);
    let rules = TableRules::default();
    check_with(
        &rules,
        COME_OUT,
        odds,
        &[
            ((3, 3), PUSH),
            ((3, 4), PUSH),
            ((4, 4), STAY),
            ((1, 1), STAY),
        ],
    );
    check_with(
        &rules,
        COME_OUT,
        odds.with_working(Working::On),
        &[((3, 3), win(12)), ((3, 4), LOSE)],
    );
    // Odds called off with a point set come back when their bet is decided.
    check_with(
        &rules,
        ON_SIX,
        Bet::new(Seat(0), BetKind::PassOdds(Point::Six), 10).with_working(Working::Off),
        &[((3, 3), PUSH), ((3, 4), PUSH), ((4, 4), STAY)],
    );
}

#[test]
fn field() {
    let cases = |twelve: u64| {
        vec![
            ((1, 1), win(20)),
            ((6, 6), win(twelve)),
            ((1, 2), win(10)),
            ((2, 2), win(10)),
            ((4, 5), win(10)),
            ((4, 6), win(10)),
            ((5, 6), win(10)),
            ((2, 3), LOSE),
            ((3, 3), LOSE),
            ((3, 4), LOSE),
            ((4, 4), LOSE),
        ]
    };
    for phase in [COME_OUT, ON_SIX] {
        let triple = TableRules::default();
        let double = TableRules {
            field_twelve: FieldTwelve::Double,
            ..triple
        };
        let bet = Bet::new(Seat(0), BetKind::Field, 10);
        check_with(&triple, phase, bet, &cases(30));
        check_with(&double, phase, bet, &cases(20));
    }
}

#[test]
fn place_bets() {
    let on_four = Phase::Point(Point::Four);
    for (p, roll, amount, payout) in [
        (Point::Four, (1, 3), 10, 18),
        (Point::Ten, (4, 6), 10, 18),
        (Point::Five, (1, 4), 10, 14),
        (Point::Nine, (4, 5), 10, 14),
        (Point::Six, (2, 4), 12, 14),
        (Point::Eight, (4, 4), 12, 14),
        // 10 × 7/6 = 11.67 → 11: the remainder stays in the bank.
        (Point::Six, (1, 5), 10, 11),
        (Point::Four, (2, 2), 11, 19),
    ] {
        check(
            on_four,
            BetKind::Place(p),
            amount,
            &[(roll, win(payout)), ((2, 5), LOSE), ((6, 6), STAY)],
        );
        // Off on the come-out by default…
        check(
            COME_OUT,
            BetKind::Place(p),
            amount,
            &[(roll, STAY), ((2, 5), STAY)],
        );
        // …unless the table says they work.
        let working = TableRules {
            place_bets_work_on_come_out: true,
            ..TableRules::default()
        };
        check_with(
            &working,
            COME_OUT,
            Bet::new(Seat(0), BetKind::Place(p), amount),
            &[(roll, win(payout)), ((2, 5), LOSE)],
        );
    }
    // Called off with a point set: no action.
    check_with(
        &TableRules::default(),
        ON_SIX,
        Bet::new(Seat(0), BetKind::Place(Point::Eight), 12).with_working(Working::Off),
        &[((4, 4), STAY), ((3, 4), STAY)],
    );
}

#[test]
fn buy_bets_take_five_percent_of_the_bet_on_a_win() {
    let on_four = Phase::Point(Point::Four);
    for (p, roll, amount, payout, commission) in [
        (Point::Four, (1, 3), 20, 40, 1),
        (Point::Ten, (5, 5), 40, 80, 2),
        (Point::Five, (2, 3), 20, 30, 1),
        (Point::Nine, (3, 6), 20, 30, 1),
        (Point::Six, (1, 5), 20, 24, 1),
        (Point::Eight, (2, 6), 20, 24, 1),
        // 5 % of 10 is half a chip: rounded up to 1.
        (Point::Four, (2, 2), 10, 20, 1),
        (Point::Six, (2, 4), 25, 30, 2),
    ] {
        check(
            on_four,
            BetKind::Buy(p),
            amount,
            &[
                (roll, win_less(payout, commission)),
                ((1, 6), LOSE),
                ((1, 1), STAY),
            ],
        );
        check(
            COME_OUT,
            BetKind::Buy(p),
            amount,
            &[(roll, STAY), ((1, 6), STAY)],
        );
    }
}

#[test]
fn lay_bets_take_five_percent_of_the_win() {
    for (p, roll, amount, payout, commission) in [
        (Point::Four, (1, 3), 40, 20, 1),
        (Point::Ten, (5, 5), 40, 20, 1),
        (Point::Five, (2, 3), 30, 20, 1),
        (Point::Nine, (3, 6), 30, 20, 1),
        (Point::Six, (1, 5), 24, 20, 1),
        (Point::Eight, (2, 6), 24, 20, 1),
        // 10 laid against 4 wins 5; 5 % of 5 rounds up to 1.
        (Point::Four, (2, 2), 10, 5, 1),
        (Point::Six, (3, 3), 60, 50, 3),
    ] {
        // Lay bets work on the come-out too.
        for phase in [COME_OUT, ON_SIX] {
            check(
                phase,
                BetKind::Lay(p),
                amount,
                &[
                    ((1, 6), win_less(payout, commission)),
                    (roll, LOSE),
                    ((1, 1), STAY),
                ],
            );
        }
    }
}

#[test]
fn big_six_and_eight() {
    for phase in [COME_OUT, ON_SIX] {
        check(
            phase,
            BetKind::Big(BigNumber::Six),
            10,
            &[
                ((1, 5), win(10)),
                ((3, 3), win(10)),
                ((3, 4), LOSE),
                ((4, 4), STAY),
            ],
        );
        check(
            phase,
            BetKind::Big(BigNumber::Eight),
            10,
            &[
                ((2, 6), win(10)),
                ((4, 4), win(10)),
                ((6, 1), LOSE),
                ((3, 3), STAY),
            ],
        );
    }
}

#[test]
fn hardways() {
    for (h, hard, easy, payout) in [
        (HardNumber::Four, (2, 2), (1, 3), 70),
        (HardNumber::Six, (3, 3), (2, 4), 90),
        (HardNumber::Eight, (4, 4), (2, 6), 90),
        (HardNumber::Ten, (5, 5), (4, 6), 70),
    ] {
        check(
            ON_SIX,
            BetKind::Hardway(h),
            10,
            &[
                (hard, win(payout)),
                (easy, LOSE),
                ((3, 4), LOSE),
                ((1, 1), STAY),
                ((6, 5), STAY),
            ],
        );
        // Off on the come-out unless called on.
        check(
            COME_OUT,
            BetKind::Hardway(h),
            10,
            &[(hard, STAY), ((3, 4), STAY)],
        );
        check_with(
            &TableRules::default(),
            COME_OUT,
            Bet::new(Seat(0), BetKind::Hardway(h), 10).with_working(Working::On),
            &[(hard, win(payout)), (easy, LOSE)],
        );
    }
    // Hard 6 also loses to the other easy 6.
    check(
        ON_SIX,
        BetKind::Hardway(HardNumber::Six),
        10,
        &[((1, 5), LOSE), ((5, 1), LOSE)],
    );
}

#[test]
fn one_roll_propositions() {
    for phase in [COME_OUT, ON_SIX] {
        check(
            phase,
            BetKind::AnySeven,
            10,
            &[
                ((1, 6), win(40)),
                ((3, 4), win(40)),
                ((5, 6), LOSE),
                ((3, 3), LOSE),
            ],
        );
        check(
            phase,
            BetKind::AnyCraps,
            10,
            &[
                ((1, 1), win(70)),
                ((2, 1), win(70)),
                ((6, 6), win(70)),
                ((3, 4), LOSE),
            ],
        );
        check(
            phase,
            BetKind::Aces,
            10,
            &[((1, 1), win(300)), ((1, 2), LOSE)],
        );
        check(
            phase,
            BetKind::AceDeuce,
            10,
            &[((1, 2), win(150)), ((2, 1), win(150)), ((1, 1), LOSE)],
        );
        check(
            phase,
            BetKind::Yo,
            10,
            &[((5, 6), win(150)), ((6, 5), win(150)), ((6, 6), LOSE)],
        );
        check(
            phase,
            BetKind::Boxcars,
            10,
            &[((6, 6), win(300)), ((5, 6), LOSE)],
        );
    }
}

#[test]
fn horn_and_craps_eleven() {
    // Horn: a quarter each on 2, 3, 11, 12. 40 on 2: 10 × 30 won, 30 lost → 270 net.
    check(
        ON_SIX,
        BetKind::Horn,
        40,
        &[
            ((1, 1), win(270)),
            ((6, 6), win(270)),
            ((1, 2), win(120)),
            ((5, 6), win(120)),
            ((3, 4), LOSE),
            ((3, 3), LOSE),
        ],
    );
    // 10 on the horn: 27 × 10 / 4 = 67.5 → 67.
    check(
        ON_SIX,
        BetKind::Horn,
        10,
        &[((1, 1), win(67)), ((2, 1), win(30))],
    );
    // C & E: half on craps (7:1), half on 11 (15:1). 10 on 2: 5 × 7 won, 5 lost → 30 net.
    check(
        COME_OUT,
        BetKind::CrapsEleven,
        10,
        &[
            ((1, 1), win(30)),
            ((1, 2), win(30)),
            ((6, 6), win(30)),
            ((5, 6), win(70)),
            ((3, 4), LOSE),
        ],
    );
}

#[test]
fn hop_bets() {
    let die = |f| Die::new(f).unwrap();
    check(
        ON_SIX,
        BetKind::Hop(Hop::new(die(2), die(4))),
        10,
        &[
            ((2, 4), win(150)),
            ((4, 2), win(150)),
            ((3, 3), LOSE),
            ((1, 5), LOSE),
        ],
    );
    check(
        ON_SIX,
        BetKind::Hop(Hop::new(die(3), die(3))),
        10,
        &[((3, 3), win(300)), ((2, 4), LOSE)],
    );
}

#[test]
fn a_full_hand() {
    let rules = TableRules::default();
    let mut phase = Phase::ComeOut;
    let mut bets = vec![
        Bet::new(Seat(0), BetKind::PassLine, 10),
        Bet::new(Seat(1), BetKind::DontPass, 10),
    ];
    let roll = |a, b| Roll::from_faces(a, b).unwrap();

    // Come-out 5: point set.
    let r = resolve_roll(&rules, phase, &bets, roll(2, 3)).unwrap();
    assert_eq!(r.event, PhaseEvent::PointEstablished(Point::Five));
    phase = r.phase;
    for (bet, kind) in [
        (Bet::new(Seat(0), BetKind::PassOdds(Point::Five), 40), None),
        (
            Bet::new(Seat(1), BetKind::DontPassOdds(Point::Five), 60),
            None,
        ),
        (Bet::new(Seat(2), BetKind::Come, 10), None),
        (
            Bet::new(Seat(2), BetKind::PassOdds(Point::Five), 10),
            Some(()),
        ),
    ] {
        let v = validate_bet(&rules, phase, &bets, &bet);
        assert_eq!(v.is_err(), kind.is_some(), "{bet:?}: {v:?}");
        if v.is_ok() {
            bets.push(bet);
        }
    }
    // 8: the come bet moves to 8; nothing else happens.
    let r = resolve_roll(&rules, phase, &bets, roll(4, 4)).unwrap();
    assert_eq!(
        r.outcomes[4],
        Outcome::Move(BetKind::ComePoint(Point::Eight))
    );
    assert!(r.outcomes[..4].iter().all(|o| *o == Outcome::Stay));
    assert_eq!(r.event, PhaseEvent::NoDecision);
    bets[4].kind = BetKind::ComePoint(Point::Eight);
    assert!(validate_removal(&rules, phase, &bets, 4).is_err());
    assert!(validate_removal(&rules, phase, &bets, 0).is_err());

    // Seven-out: the right side loses, the don't side wins, the dice pass.
    let r = resolve_roll(&rules, phase, &bets, roll(6, 1)).unwrap();
    assert_eq!(r.outcomes, vec![LOSE, win(10), LOSE, win(40), LOSE]);
    assert!(r.event.passes_dice());
    assert_eq!(r.phase, Phase::ComeOut);
    let t = r.totals(&bets).unwrap();
    assert_eq!(
        (t.to_bank, t.from_bank, t.to_owner, t.stays),
        (60, 50, 120, 0)
    );
    assert_eq!(
        next_shooter(Seat(0), &[Seat(0), Seat(1), Seat(2)]),
        Some(Seat(1))
    );
}
