//! Property tests: random sequences of place / call / remove / roll — valid and invalid — never
//! panic and never create or lose a chip, and resolution itself conserves chips for any bets,
//! valid or not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcraps_game::*;
use proptest::prelude::*;

const SEATS: usize = 4;
const STACK: u64 = 1_000_000;
const BANK: u64 = 1_000_000_000_000;

/// A minimal test ledger over the crate's API (the real one, with signatures, lives above).
#[derive(Debug, Clone, PartialEq)]
struct Ledger {
    rules: TableRules,
    phase: Phase,
    shooter: Seat,
    balances: [u64; SEATS],
    bank: u64,
    bets: Vec<Bet>,
}

impl Ledger {
    fn new(rules: TableRules) -> Ledger {
        Ledger {
            rules,
            phase: Phase::ComeOut,
            shooter: Seat(0),
            balances: [STACK; SEATS],
            bank: BANK,
            bets: Vec::new(),
        }
    }

    fn total(&self) -> u128 {
        self.balances.iter().map(|&b| u128::from(b)).sum::<u128>()
            + self.bets.iter().map(|b| u128::from(b.amount)).sum::<u128>()
            + u128::from(self.bank)
    }

    fn place(&mut self, bet: Bet) -> Result<(), String> {
        validate_bet(&self.rules, self.phase, &self.bets, &bet).map_err(|e| e.to_string())?;
        let seat = usize::from(bet.seat.0);
        let balance = self.balances[seat]
            .checked_sub(bet.amount)
            .ok_or("insufficient balance")?;
        let mut with = self.bets.clone();
        with.push(bet);
        let cover = worst_case_payout(&self.rules, self.phase, &with).map_err(|e| e.to_string())?;
        if cover > self.bank {
            return Err("the bank cannot cover it".into());
        }
        self.balances[seat] = balance;
        self.bets = with;
        Ok(())
    }

    fn call(&mut self, index: usize, working: Working) -> Result<(), String> {
        let bet = self.bets.get(index).ok_or("no such bet")?;
        validate_call(bet.kind, working).map_err(|e| e.to_string())?;
        self.bets[index].working = working;
        Ok(())
    }

    fn remove(&mut self, index: usize) -> Result<(), String> {
        validate_removal(&self.rules, self.phase, &self.bets, index).map_err(|e| e.to_string())?;
        let bet = self.bets.remove(index);
        let seat = usize::from(bet.seat.0);
        self.balances[seat] = self.balances[seat]
            .checked_add(bet.amount)
            .ok_or("balance overflow")?;
        Ok(())
    }

    /// Resolves a roll; all or nothing.
    fn roll(&mut self, roll: Roll) -> Result<Resolution, String> {
        let mut next = self.clone();
        let res = next.apply_roll(roll)?;
        *self = next;
        Ok(res)
    }

    fn apply_roll(&mut self, roll: Roll) -> Result<Resolution, String> {
        let res =
            resolve_roll(&self.rules, self.phase, &self.bets, roll).map_err(|e| e.to_string())?;
        let mut kept = Vec::new();
        for (bet, outcome) in self.bets.iter().zip(&res.outcomes) {
            let s = outcome.settle(bet.amount).map_err(|e| e.to_string())?;
            let seat = usize::from(bet.seat.0);
            self.balances[seat] = self.balances[seat]
                .checked_add(s.to_owner)
                .ok_or("balance overflow")?;
            self.bank = self
                .bank
                .checked_add(s.to_bank)
                .and_then(|b| b.checked_sub(s.from_bank))
                .ok_or("bank overflow or shortfall")?;
            match outcome {
                Outcome::Move(kind) => kept.push(Bet {
                    kind: *kind,
                    ..*bet
                }),
                Outcome::Stay => kept.push(*bet),
                _ => {}
            }
        }
        self.bets = kept;
        self.phase = res.phase;
        if res.event.passes_dice() {
            let seated: Vec<Seat> = (0..SEATS as u16).map(Seat).collect();
            self.shooter = next_shooter(self.shooter, &seated).ok_or("nobody seated")?;
        }
        Ok(res)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Place(Bet),
    /// An index into the open bets (sometimes one past the end, to be rejected).
    Call(prop::sample::Index, Working),
    Remove(prop::sample::Index),
    Roll(Roll),
}

fn working() -> impl Strategy<Value = Working> {
    prop_oneof![
        6 => Just(Working::TableRule),
        1 => Just(Working::On),
        1 => Just(Working::Off)
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 10u64..=200,
        2 => (1u64..=20).prop_map(|k| k * 30),
        1 => 0u64..=12_000,
        1 => Just(0u64),
    ]
}

fn bet() -> impl Strategy<Value = Bet> {
    (
        0..SEATS as u16,
        prop::sample::select(BetKind::all()),
        amount(),
        working(),
    )
        .prop_map(|(seat, kind, amount, working)| Bet {
            seat: Seat(seat),
            kind,
            amount,
            working,
        })
}

fn roll() -> impl Strategy<Value = Roll> {
    (1u8..=6, 1u8..=6).prop_map(|(a, b)| Roll::from_faces(a, b).unwrap())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => bet().prop_map(Op::Place),
        1 => (any::<prop::sample::Index>(), working()).prop_map(|(i, w)| Op::Call(i, w)),
        2 => any::<prop::sample::Index>().prop_map(Op::Remove),
        3 => roll().prop_map(Op::Roll),
    ]
}

fn table_rules() -> impl Strategy<Value = TableRules> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(OddsMultiples::THREE_FOUR_FIVE),
            (0u32..=10).prop_map(OddsMultiples::flat)
        ],
    )
        .prop_map(|(triple, place_on, odds)| TableRules {
            field_twelve: if triple {
                FieldTwelve::Triple
            } else {
                FieldTwelve::Double
            },
            place_bets_work_on_come_out: place_on,
            odds,
            ..TableRules::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The accounting identity holds after every operation; rejected operations change nothing.
    #[test]
    fn random_play_conserves_chips(rules in table_rules(), ops in prop::collection::vec(op(), 1..150)) {
        let mut ledger = Ledger::new(rules);
        let genesis = ledger.total();
        for op in ops {
            let before = ledger.clone();
            let result = match op {
                Op::Place(b) => ledger.place(b).map(|_| ()),
                Op::Call(i, w) => ledger.call(i.index(ledger.bets.len() + 2), w),
                Op::Remove(i) => ledger.remove(i.index(ledger.bets.len() + 2)),
                Op::Roll(r) => ledger.roll(r).map(|res| {
                    assert_eq!(res.outcomes.len(), before.bets.len());
                }),
            };
            if let Err(reason) = &result {
                prop_assert_eq!(&ledger, &before, "rejected ({}) but changed state", reason);
            }
            prop_assert_eq!(ledger.total(), genesis);
            // The open bets always respect the odds limits and no contract bet vanished
            // except by resolution.
            for (i, b) in ledger.bets.iter().enumerate() {
                if b.kind.is_odds() {
                    let limit = odds_limit(&ledger.rules, ledger.phase, &ledger.bets, b.seat, b.kind).unwrap();
                    let total: u64 = ledger.bets.iter().filter(|o| o.seat == b.seat && o.kind == b.kind).map(|o| o.amount).sum();
                    prop_assert!(total <= limit, "bet #{} {:?}: odds {} above limit {}", i, b, total, limit);
                }
            }
        }
    }

    /// Resolution of arbitrary bets (unplaceable kinds, huge amounts, any call) in any phase never
    /// panics, and every outcome settles without creating or losing a chip.
    #[test]
    fn any_bets_resolve_and_settle_exactly(
        rules in table_rules(),
        phase in prop_oneof![Just(Phase::ComeOut), prop::sample::select(Point::ALL.to_vec()).prop_map(Phase::Point)],
        bets in prop::collection::vec(
            (bet(), prop_oneof![3 => 0u64..1_000_000, 1 => any::<u64>()]).prop_map(|(b, amount)| Bet { amount, ..b }),
            0..40,
        ),
        roll in roll(),
    ) {
        match resolve_roll(&rules, phase, &bets, roll) {
            Ok(res) => {
                prop_assert_eq!(res.outcomes.len(), bets.len());
                prop_assert_eq!((res.phase, res.event), phase.after(roll));
                for (b, o) in bets.iter().zip(&res.outcomes) {
                    if let Ok(s) = o.settle(b.amount) {
                        prop_assert_eq!(
                            u128::from(b.amount) + u128::from(s.from_bank),
                            u128::from(s.to_owner) + u128::from(s.to_bank) + u128::from(s.stays)
                        );
                        if let Outcome::Win { payout, commission } = o {
                            prop_assert!(commission <= payout);
                        }
                    }
                }
            }
            Err(ChipOverflow) => {
                // Only a payout beyond u64 can fail.
                prop_assert!(bets.iter().any(|b| b.amount > u64::MAX / 31));
            }
        }
        let _ = worst_case_payout(&rules, phase, &bets);
    }
}
