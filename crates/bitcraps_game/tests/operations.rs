//! One test (or a few) per operation: what it does when accepted, and each typed rejection.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bitcraps_consensus::{Keypair, TableId};
use bitcraps_game::driver::{test_keys, LocalTable, RollPlan};
use bitcraps_game::*;
use common::*;

#[test]
fn genesis_is_the_same_everywhere_and_balances() {
    let a = table();
    let b = table();
    assert_eq!(a.state().hash(), b.state().hash());
    let s = a.state();
    assert_eq!(s.height(), 0);
    assert_eq!(s.seated(), vec![Seat(0), Seat(1), Seat(2), Seat(3)]);
    assert_eq!(s.shooter(), Some(Seat(0)));
    assert_eq!(s.bank(), BANK);
    assert_eq!(balance(&a, Seat(2)), STACK - 100);
    assert_eq!(bond(&a, Seat(2)), 100);
    assert_eq!(s.supply().genesis, 4 * STACK + BANK);
    s.check_accounting().unwrap();
}

#[test]
fn forged_replayed_reordered_and_foreign_operations_are_refused() {
    let mut t = table();
    let peer = t.state().seat(Seat(1)).unwrap().peer;
    // Forged: signed by someone else under seat 1's name.
    let mallory = Keypair::from_seed([99; 32]);
    let mut forged = SignedOp::sign(&mallory, &t.table_id(), 1, place(BetKind::Field, 10)).unwrap();
    forged.author = peer;
    assert_eq!(
        rejected_signed(&mut t, forged),
        OpError::BadSignature { peer }
    );
    // Signed for another table.
    let key = t.key(Seat(1)).unwrap().clone();
    let foreign = SignedOp::sign(
        &key,
        &TableId::from_name("elsewhere"),
        1,
        place(BetKind::Field, 10),
    )
    .unwrap();
    assert_eq!(
        rejected_signed(&mut t, foreign),
        OpError::BadSignature { peer }
    );
    // Accepted once, then replayed.
    let first = SignedOp::sign(&key, &t.table_id(), 1, place(BetKind::Field, 10)).unwrap();
    t.apply(vec![first.clone()]).unwrap();
    assert_eq!(
        rejected_signed(&mut t, first),
        OpError::WrongNonce {
            peer,
            expected: 2,
            got: 1
        }
    );
    // Reordered: nonce 3 before nonce 2, in one block.
    let op2 = SignedOp::sign(&key, &t.table_id(), 2, place(BetKind::Field, 10)).unwrap();
    let op3 = SignedOp::sign(&key, &t.table_id(), 3, place(BetKind::Field, 10)).unwrap();
    let before = t.state().clone();
    let err = t.apply(vec![op3.clone(), op2.clone()]).unwrap_err();
    assert!(matches!(
        err,
        BlockError::Op { index: 0, ref error, .. }
            if **error == OpError::WrongNonce { peer, expected: 2, got: 3 }
    ));
    assert_eq!(t.state(), &before);
    // In order they pass.
    t.apply(vec![op2, op3]).unwrap();
    assert_eq!(t.state().next_nonce(&peer), 4);
}

#[test]
fn a_proposer_cannot_alter_a_signed_operation() {
    let mut t = table();
    let mut signed = t.sign_seat(Seat(1), place(BetKind::Field, 10)).unwrap();
    signed.op = place(BetKind::Field, 10_000);
    let peer = signed.author;
    assert_eq!(
        rejected_signed(&mut t, signed),
        OpError::BadSignature { peer }
    );
}

#[test]
fn join_and_its_rejections() {
    let mut t = table();
    let newcomer = Keypair::from_seed([42; 32]);
    t.add_key(newcomer.clone());
    let peer = newcomer.peer_id();
    let low = t.sign(&peer, Operation::Join { buy_in: 99 }).unwrap();
    assert_eq!(
        rejected_signed(&mut t, low),
        OpError::BuyInBelowBond {
            peer,
            buy_in: 99,
            minimum: 100
        }
    );
    let join = t.sign(&peer, Operation::Join { buy_in: 5_000 }).unwrap();
    let events = t.apply(vec![join]).unwrap();
    // A request only: the newcomer sits down once the table admits it.
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::JoinRequested { buy_in: 5_000, .. })));
    assert_eq!(t.state().seat_of(&peer), None);
    assert_eq!(t.state().supply().buy_ins, 0);
    let again = t.sign(&peer, Operation::Join { buy_in: 5_000 }).unwrap();
    assert_eq!(
        rejected_signed(&mut t, again),
        OpError::AlreadyRequested { peer }
    );
    let events = t.answer_join(&peer, true).unwrap();
    assert!(events.contains(&Event::SeatJoined {
        seat: Seat(4),
        peer,
        buy_in: 5_000,
        bond: 100
    }));
    assert_eq!(t.state().seat_of(&peer), Some(Seat(4)));
    assert_eq!(t.state().supply().buy_ins, 5_000);
    let again = t.sign(&peer, Operation::Join { buy_in: 5_000 }).unwrap();
    assert_eq!(
        rejected_signed(&mut t, again),
        OpError::AlreadySeated {
            peer,
            seat: Seat(4)
        }
    );
    // Fill the table to 16, then one more.
    let mut t = table_of(16);
    let late = Keypair::from_seed([43; 32]);
    t.add_key(late.clone());
    let join = t
        .sign(&late.peer_id(), Operation::Join { buy_in: 500 })
        .unwrap();
    assert_eq!(
        rejected_signed(&mut t, join),
        OpError::TableFull {
            peer: late.peer_id()
        }
    );
}

#[test]
fn leave_cashes_out_and_its_rejections() {
    let mut t = table_of(5);
    let bet = ok(&mut t, Seat(2), place(BetKind::PassLine, 10));
    assert_eq!(
        rejected(&mut t, Seat(2), Operation::Leave),
        OpError::HasOpenBets { seat: Seat(2) }
    );
    ok(
        &mut t,
        Seat(2),
        Operation::RemoveBet {
            bet: placed_id(&bet),
        },
    );
    let events = ok(&mut t, Seat(2), Operation::Leave);
    assert!(events.contains(&Event::SeatLeft {
        seat: Seat(2),
        cashed_out: STACK
    }));
    assert_eq!(t.state().supply().cash_outs, STACK);
    assert_eq!(t.state().seated(), vec![Seat(0), Seat(1), Seat(3), Seat(4)]);
    t.state().check_accounting().unwrap();
    let peer = t.state().seat(Seat(2)).unwrap().peer;
    let op = t.sign(&peer, Operation::Leave).unwrap();
    assert_eq!(rejected_signed(&mut t, op), OpError::NotSeated { peer });
    // The shooter leaving hands the dice on.
    let events = ok(&mut t, Seat(0), Operation::Leave);
    assert!(events.contains(&Event::ShooterChanged {
        from: Some(Seat(0)),
        to: Some(Seat(1))
    }));
}

#[test]
fn fund_bank_adds_supply() {
    let mut t = table();
    assert_eq!(
        rejected(&mut t, Seat(3), Operation::FundBank { amount: 0 }),
        OpError::ZeroAmount { seat: Seat(3) }
    );
    let events = ok(&mut t, Seat(3), Operation::FundBank { amount: 777 });
    assert_eq!(
        events,
        vec![Event::BankFunded {
            seat: Seat(3),
            amount: 777
        }]
    );
    assert_eq!(t.state().bank(), BANK + 777);
    assert_eq!(t.state().supply().bank_funding, 777);
    assert_eq!(t.state().supply().buy_ins, 777);
}

#[test]
fn place_bet_and_its_rejections() {
    let mut t = table();
    let events = ok(&mut t, Seat(1), place(BetKind::PassLine, 50));
    assert_eq!(balance(&t, Seat(1)), STACK - 100 - 50);
    assert_eq!(t.state().bets().len(), 1);
    assert!(matches!(events[0], Event::BetPlaced { amount: 50, .. }));
    assert_eq!(
        rejected(&mut t, Seat(1), place(BetKind::Field, 5)),
        OpError::Bet {
            seat: Seat(1),
            rejection: BetRejection::BelowMinimum { min: 10, amount: 5 }
        }
    );
    assert!(matches!(
        rejected(&mut t, Seat(1), place(BetKind::Come, 10)),
        OpError::Bet {
            rejection: BetRejection::WrongPhase { .. },
            ..
        }
    ));
    assert_eq!(
        rejected(&mut t, Seat(1), place(BetKind::Field, 10_000)),
        OpError::InsufficientBalance {
            seat: Seat(1),
            balance: STACK - 150,
            needed: 10_000
        }
    );
    // Aces pays 30:1: 9,000 on it could win 270,000, and the bond must cover that.
    assert!(matches!(
        rejected(&mut t, Seat(1), place(BetKind::Aces, 9_000)),
        OpError::BondTooSmall {
            seat: Seat(1),
            required: 270_000,
            ..
        }
    ));
    // During the dice flow betting is closed.
    let close = t_close(&mut t);
    t.apply(vec![close]).unwrap();
    assert_eq!(
        rejected(&mut t, Seat(1), place(BetKind::Field, 10)),
        OpError::BettingClosed { seat: Seat(1) }
    );
}

fn t_close(t: &mut LocalTable) -> SignedOp {
    let roll = t.state().roll_number();
    t.sign_seat(Seat(0), Operation::CloseBetting { roll })
        .unwrap()
}

#[test]
fn the_bank_must_cover_every_open_bet_together() {
    let mut t = LocalTable::new(4, STACK, 1_000, Arc::new(Registry::new())).unwrap();
    // Boxcars 30:1: 20 on it risks 600 of the bank's 1,000.
    ok(&mut t, Seat(1), place(BetKind::Boxcars, 20));
    // Another 20 on 12 from someone else: 1,200 > 1,000.
    assert_eq!(
        rejected(&mut t, Seat(2), place(BetKind::Boxcars, 20)),
        OpError::BankCannotCover {
            seat: Seat(2),
            needed: 1_200,
            bank: 1_000
        }
    );
    // On a different number it is fine: the worst case is per roll.
    ok(&mut t, Seat(2), place(BetKind::Aces, 20));
}

#[test]
fn too_many_bets() {
    let mut t = LocalTable::new(4, 1_000_000, BANK, Arc::new(Registry::new())).unwrap();
    let ops: Vec<SignedOp> = (0..MAX_BETS_PER_SEAT)
        .map(|_| t.sign_seat(Seat(1), place(BetKind::DontPass, 10)).unwrap())
        .collect();
    t.apply(ops).unwrap();
    assert_eq!(
        rejected(&mut t, Seat(1), place(BetKind::DontPass, 10)),
        OpError::TooManyBets {
            seat: Seat(1),
            max: MAX_BETS_PER_SEAT
        }
    );
}

#[test]
fn remove_bet_and_its_rejections() {
    let mut t = table();
    let pass = placed_id(&ok(&mut t, Seat(1), place(BetKind::PassLine, 10)));
    let field = placed_id(&ok(&mut t, Seat(1), place(BetKind::Field, 10)));
    assert_eq!(
        rejected(&mut t, Seat(2), Operation::RemoveBet { bet: field }),
        OpError::NotYourBet {
            seat: Seat(2),
            bet: field,
            owner: Seat(1)
        }
    );
    assert_eq!(
        rejected(&mut t, Seat(1), Operation::RemoveBet { bet: BetId(999) }),
        OpError::NoSuchBet {
            seat: Seat(1),
            bet: BetId(999)
        }
    );
    let before = balance(&t, Seat(1));
    ok(&mut t, Seat(1), Operation::RemoveBet { bet: field });
    assert_eq!(balance(&t, Seat(1)), before + 10);
    // Set a point: the pass line becomes a contract bet.
    t.play_roll(&RollPlan::dice(2, 4)).unwrap();
    assert_eq!(t.state().phase(), Phase::Point(Point::Six));
    assert_eq!(
        rejected(&mut t, Seat(1), Operation::RemoveBet { bet: pass }),
        OpError::Removal {
            seat: Seat(1),
            bet: pass,
            rejection: RemovalRejection::ContractBet(BetKind::PassLine)
        }
    );
}

#[test]
fn call_bet_on_and_off() {
    let mut t = table();
    let place6 = placed_id(&ok(&mut t, Seat(1), place(BetKind::Place(Point::Six), 12)));
    let field = placed_id(&ok(&mut t, Seat(1), place(BetKind::Field, 10)));
    let events = ok(
        &mut t,
        Seat(1),
        Operation::CallBet {
            bet: place6,
            working: Working::On,
        },
    );
    assert_eq!(
        events,
        vec![Event::BetCalled {
            id: place6,
            seat: Seat(1),
            working: Working::On
        }]
    );
    assert_eq!(t.state().bet(place6).unwrap().bet.working, Working::On);
    assert_eq!(
        rejected(
            &mut t,
            Seat(1),
            Operation::CallBet {
                bet: field,
                working: Working::Off
            }
        ),
        OpError::Bet {
            seat: Seat(1),
            rejection: BetRejection::CannotBeCalledOff(BetKind::Field)
        }
    );
    // Called on, the place 6 wins on a come-out 6: 12 × 7/6 = 14.
    let events = t.play_roll(&RollPlan::dice(3, 3)).unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::BetResolved { id, paid: 26, .. } if *id == place6
    )));
}

#[test]
fn close_betting_and_its_rejections() {
    let mut t = table();
    assert_eq!(
        rejected(&mut t, Seat(1), Operation::CloseBetting { roll: 1 }),
        OpError::NotShooter {
            seat: Seat(1),
            shooter: Some(Seat(0))
        }
    );
    assert_eq!(
        rejected(&mut t, Seat(0), Operation::CloseBetting { roll: 2 }),
        OpError::WrongRoll {
            seat: Seat(0),
            expected: 1,
            got: 2
        }
    );
    let events = ok(&mut t, Seat(0), Operation::CloseBetting { roll: 1 });
    assert!(events.contains(&Event::BettingClosed {
        roll: 1,
        by: Some(Seat(0)),
        eligible: vec![Seat(0), Seat(1), Seat(2), Seat(3)]
    }));
    assert!(matches!(t.state().stage(), Stage::Committing { .. }));
    assert_eq!(
        rejected(&mut t, Seat(0), Operation::CloseBetting { roll: 1 }),
        OpError::BettingClosed { seat: Seat(0) }
    );
}

#[test]
fn betting_closes_itself_at_the_deadline_only_with_bets_on() {
    let mut t = table();
    for _ in 0..30 {
        t.apply(vec![]).unwrap();
    }
    assert!(t.state().stage().is_betting(), "no bet, no roll");
    ok(&mut t, Seat(1), place(BetKind::Field, 10));
    let since = t.state().height();
    let mut closed_at = None;
    for _ in 0..40 {
        let events = t.apply(vec![]).unwrap();
        if events
            .iter()
            .any(|e| matches!(e, Event::BettingClosed { by: None, .. }))
        {
            closed_at = Some(t.state().height());
            break;
        }
    }
    // At an empty table the 30 s deadline counts from the first bet (the driver's blocks are
    // 1 s apart).
    assert_eq!(closed_at, Some(since + 30));
}

#[test]
fn a_deadline_also_waits_for_its_floor_of_heights() {
    // Blocks 100 s apart: every time deadline has passed after one block, but a deadline also
    // waits `min_heights` heights (so f censoring proposers in a row cannot make it pass).
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::Field, 10));
    let since = t.state().height();
    let floor = t.state().config().deadlines.min_heights;
    let mut closed_at = None;
    for _ in 0..10 {
        t.advance_clock(99_000);
        let events = t.apply(vec![]).unwrap();
        if events
            .iter()
            .any(|e| matches!(e, Event::BettingClosed { by: None, .. }))
        {
            closed_at = Some(t.state().height());
            break;
        }
    }
    assert_eq!(closed_at, Some(since + floor));
}

#[test]
fn the_stage_deadline_tells_when_each_stage_closes() {
    let mut t = table();
    assert_eq!(t.state().stage_deadline(), None, "no bet: no betting clock");
    ok(&mut t, Seat(1), place(BetKind::Field, 10));
    let d = t.state().config().deadlines;
    let bet_at = t.state().timestamp_ms();
    let deadline = t.state().stage_deadline().unwrap();
    assert_eq!(deadline.stage, StageKind::Betting);
    assert_eq!(deadline.at_ms, bet_at + d.betting_ms);
    assert_eq!(deadline.seconds_left(bet_at + 1), d.betting_ms / 1_000);
    assert_eq!(deadline.seconds_left(bet_at + d.betting_ms + 5), 0);
    ok(&mut t, Seat(0), Operation::CloseBetting { roll: 1 });
    let closed_at = t.state().timestamp_ms();
    let deadline = t.state().stage_deadline().unwrap();
    assert_eq!(deadline.stage, StageKind::Committing);
    assert_eq!(deadline.at_ms, closed_at + d.commit_ms);
    assert_eq!(deadline.at_height, t.state().height() + d.min_heights);
}

#[test]
fn commitments_are_decided_before_any_reveal() {
    let mut t = table();
    ok(&mut t, Seat(0), Operation::CloseBetting { roll: 1 });
    let table_id = t.table_id().0;
    let nonce = dice::Nonce([7; 32]);
    let c = dice::commit(&table_id, 1, Seat(1), &nonce);
    // A commitment naming someone else's seat.
    let peer1 = t.state().seat(Seat(1)).unwrap().peer;
    assert_eq!(
        rejected(
            &mut t,
            Seat(1),
            Operation::Commit {
                roll: 1,
                seat: Seat(2),
                commitment: c
            }
        ),
        OpError::WrongSeat {
            peer: peer1,
            claimed: Seat(2),
            actual: Seat(1)
        }
    );
    // Commit and reveal in one block: the reveal is refused (commitments not decided).
    let commit_op = t
        .sign_seat(
            Seat(1),
            Operation::Commit {
                roll: 1,
                seat: Seat(1),
                commitment: c,
            },
        )
        .unwrap();
    let reveal_op = t
        .sign_seat(
            Seat(1),
            Operation::Reveal {
                roll: 1,
                seat: Seat(1),
                nonce,
            },
        )
        .unwrap();
    let err = t.apply(vec![commit_op.clone(), reveal_op]).unwrap_err();
    assert!(matches!(
        err,
        BlockError::Op { index: 1, ref error, .. }
            if **error == OpError::RevealsNotOpen { seat: Seat(1) }
    ));
    t.apply(vec![commit_op]).unwrap();
    assert_eq!(
        rejected(
            &mut t,
            Seat(1),
            Operation::Commit {
                roll: 1,
                seat: Seat(1),
                commitment: c
            }
        ),
        OpError::AlreadyCommitted { seat: Seat(1) }
    );
    // Still committing (others have not): a reveal is refused.
    assert_eq!(
        rejected(
            &mut t,
            Seat(1),
            Operation::Reveal {
                roll: 1,
                seat: Seat(1),
                nonce
            }
        ),
        OpError::RevealsNotOpen { seat: Seat(1) }
    );
}

#[test]
fn a_player_seated_after_the_close_is_not_eligible() {
    let mut t = table();
    ok(&mut t, Seat(0), Operation::CloseBetting { roll: 1 });
    let late = Keypair::from_seed([50; 32]);
    t.join_admitted(late.clone(), 1_000).unwrap();
    assert!(matches!(t.state().stage(), Stage::Committing { .. }));
    let c = dice::commit(&t.table_id().0, 1, Seat(4), &dice::Nonce([1; 32]));
    assert_eq!(
        rejected(
            &mut t,
            Seat(4),
            Operation::Commit {
                roll: 1,
                seat: Seat(4),
                commitment: c
            }
        ),
        OpError::NotEligible { seat: Seat(4) }
    );
}

#[test]
fn a_roll_resolves_and_pays_in_the_height_of_the_last_reveal() {
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::PassLine, 100));
    ok(&mut t, Seat(2), place(BetKind::DontPass, 100));
    let bank = t.state().bank();
    let events = t.play_roll(&RollPlan::dice(3, 4)).unwrap();
    let rolled_at = events
        .iter()
        .position(|e| matches!(e, Event::DiceRolled { .. }))
        .unwrap();
    let last_reveal = events
        .iter()
        .rposition(|e| matches!(e, Event::Revealed { .. }))
        .unwrap();
    assert!(rolled_at > last_reveal);
    assert_eq!(t.state().last_roll().unwrap().height, t.state().height());
    assert_eq!(balance(&t, Seat(1)), STACK - 100 + 100);
    assert_eq!(balance(&t, Seat(2)), STACK - 100 - 100);
    assert_eq!(t.state().bank(), bank);
    assert_eq!(t.state().roll_number(), 2);
    assert!(t.state().stage().is_betting());
}

#[test]
fn seven_out_passes_the_dice() {
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::PassLine, 10));
    t.play_roll(&RollPlan::dice(4, 4)).unwrap();
    assert_eq!(t.state().phase(), Phase::Point(Point::Eight));
    let events = t.play_roll(&RollPlan::dice(1, 6)).unwrap();
    assert!(events.contains(&Event::ShooterChanged {
        from: Some(Seat(0)),
        to: Some(Seat(1))
    }));
    assert_eq!(t.state().shooter(), Some(Seat(1)));
    assert_eq!(t.state().phase(), Phase::ComeOut);
}

#[test]
fn come_bets_move_to_their_number_keeping_their_id() {
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::PassLine, 10));
    t.play_roll(&RollPlan::dice(2, 2)).unwrap();
    let come = placed_id(&ok(&mut t, Seat(1), place(BetKind::Come, 10)));
    t.play_roll(&RollPlan::dice(4, 5)).unwrap();
    assert_eq!(
        t.state().bet(come).unwrap().bet.kind,
        BetKind::ComePoint(Point::Nine)
    );
}

#[test]
fn a_player_who_does_not_commit_sits_out_and_is_unseated_after_the_limit() {
    let mut t = table();
    ok(&mut t, Seat(3), place(BetKind::DontPass, 10));
    ok(&mut t, Seat(3), place(BetKind::Place(Point::Six), 12));
    let plan = RollPlan::dice(2, 4).without(Seat(3));
    let events = t.play_roll(&plan).unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::CommitmentsClosed { missed, .. } if missed == &vec![Seat(3)]
    )));
    // Its bets stayed and played: the don't pass stays with point 6 set.
    assert_eq!(t.state().bets_of(Seat(3)).count(), 2);
    let peer = t.state().seat(Seat(3)).unwrap().peer;
    assert_eq!(t.state().health(&peer).missed_rolls, 1);
    t.play_roll(&RollPlan::dice(5, 5).without(Seat(3))).unwrap();
    assert_eq!(t.state().health(&peer).missed_rolls, 2);
    t.play_roll(&RollPlan::dice(5, 5).without(Seat(3))).unwrap();
    // Three misses within a minute of block time: a stall or a restart, forgiven.
    assert_eq!(t.state().health(&peer).missed_rolls, 3);
    assert!(t.state().seat(Seat(3)).unwrap().is_seated());
    let first_miss = t.state().health(&peer).absent_since_ms.unwrap();
    let absence = t.state().config().deadlines.absence_ms;
    let mut events = Vec::new();
    for _ in 0..30 {
        events = t.play_roll(&RollPlan::dice(5, 5).without(Seat(3))).unwrap();
        if !t.state().seat(Seat(3)).unwrap().is_seated() {
            break;
        }
    }
    let missed = t.state().health(&peer).missed_rolls;
    assert!(missed > 3);
    assert!(t.state().timestamp_ms() >= first_miss + absence);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::SeatRemoved {
            seat: Seat(3),
            reason: RemovalReason::MissedRolls(m),
            ..
        } if *m == missed
    )));
    // Removable bets came back, its bond too: nothing slashed.
    let s = t.state().seat(Seat(3)).unwrap();
    assert_eq!((s.balance, s.bond), (0, 0));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::SeatRemoved {
            seat: Seat(3),
            cashed_out: STACK,
            ..
        }
    )));
    assert_eq!(
        t.state().health(&peer).missed_rolls_total,
        u64::from(missed)
    );
    t.state().check_accounting().unwrap();
}

#[test]
fn committing_resets_the_missed_roll_count() {
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::PassLine, 10));
    t.play_roll(&RollPlan::dice(5, 6).without(Seat(3))).unwrap();
    t.play_roll(&RollPlan::dice(5, 6).without(Seat(3))).unwrap();
    t.play_roll(&RollPlan::dice(5, 6)).unwrap();
    let peer = t.state().seat(Seat(3)).unwrap().peer;
    assert_eq!(t.state().health(&peer).missed_rolls, 0);
    assert_eq!(t.state().health(&peer).missed_rolls_total, 2);
}

#[test]
fn a_withholder_loses_its_bets_and_bond_and_seat_and_the_roll_goes_on() {
    // Five players: the four left after the penalty keep the table open.
    let mut t = table_of(5);
    ok(&mut t, Seat(2), place(BetKind::Field, 100));
    ok(&mut t, Seat(2), place(BetKind::PassLine, 50));
    ok(&mut t, Seat(1), place(BetKind::PassLine, 50));
    let bank = t.state().bank();
    let events = t
        .play_roll(&RollPlan::dice(3, 4).withholding(Seat(2)))
        .unwrap();
    // Field 100 could win 300 on a 12 (plus the pass line on 11... 7 or 11 pays 50 too, but not
    // with the 12): the bond was topped up to 300 when betting closed.
    assert!(events.contains(&Event::BondPosted {
        seat: Seat(2),
        amount: 200,
        bond: 300
    }));
    let penalty = events
        .iter()
        .find_map(|e| match e {
            Event::Penalty {
                seat: Seat(2),
                reason,
                bond_slashed,
                bets_forfeited,
                ..
            } => Some((reason.clone(), *bond_slashed, *bets_forfeited)),
            _ => None,
        })
        .unwrap();
    assert_eq!(penalty, (PenaltyReason::Withheld { roll: 1 }, 300, 150));
    // The roll happened from the others' reveals; seat 1's pass line won on the 7.
    assert!(events.iter().any(|e| matches!(
        e,
        Event::DiceRolled { revealed_by, .. } if !revealed_by.contains(&Seat(2))
    )));
    assert_eq!(balance(&t, Seat(1)), STACK - 100 + 50);
    assert!(!t.state().seated().contains(&Seat(2)));
    let peer = t.state().seat(Seat(2)).unwrap().peer;
    assert_eq!(t.state().health(&peer).late_reveals, 1);
    // Bank: +150 forfeited +300 slashed −50 paid.
    assert_eq!(t.state().bank(), bank + 150 + 300 - 50);
    t.state().check_accounting().unwrap();
}

#[test]
fn a_mismatched_reveal_in_a_block_is_punished_at_once() {
    let mut t = table_of(5);
    ok(&mut t, Seat(0), Operation::CloseBetting { roll: 1 });
    let table_id = t.table_id().0;
    let mut ops = Vec::new();
    for s in 0..5u16 {
        let c = dice::commit(&table_id, 1, Seat(s), &dice::Nonce([s as u8 + 1; 32]));
        ops.push(
            t.sign_seat(
                Seat(s),
                Operation::Commit {
                    roll: 1,
                    seat: Seat(s),
                    commitment: c,
                },
            )
            .unwrap(),
        );
    }
    t.apply(ops).unwrap();
    assert!(matches!(t.state().stage(), Stage::Revealing { .. }));
    let events = ok(
        &mut t,
        Seat(3),
        Operation::Reveal {
            roll: 1,
            seat: Seat(3),
            nonce: dice::Nonce([0xEE; 32]),
        },
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Penalty {
            seat: Seat(3),
            reason: PenaltyReason::MismatchedReveal { roll: 1 },
            ..
        }
    )));
    let peer = t.state().seat(Seat(3)).unwrap().peer;
    assert_eq!(t.state().health(&peer).evidence_count, 1);
    // A reveal from a seat that did not commit (the punished one is gone).
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            Operation::Reveal {
                roll: 2,
                seat: Seat(0),
                nonce: dice::Nonce([1; 32])
            }
        ),
        OpError::WrongRoll {
            seat: Seat(0),
            expected: 1,
            got: 2
        }
    );
}

#[test]
fn blocks_check_height_parent_time_and_encoding() {
    let t = table();
    let s = t.state();
    let good = Block {
        height: 1,
        timestamp_ms: s.timestamp_ms() + 1,
        prev_state_hash: s.hash(),
        ops: vec![],
    };
    let (next, _) = s.apply_block(&good).unwrap();
    assert_eq!(next.height(), 1);
    let bytes = good.encode().unwrap();
    assert_eq!(Block::decode(&bytes).unwrap(), good);
    assert!(Block::decode(&bytes[..bytes.len() - 1]).is_err());
    assert_eq!(
        s.apply_block(&Block {
            height: 2,
            ..good.clone()
        }),
        Err(BlockError::WrongHeight {
            expected: 1,
            got: 2
        })
        .map(|()| unreachable!())
    );
    assert!(matches!(
        s.apply_block(&Block {
            prev_state_hash: [0; 32],
            ..good.clone()
        }),
        Err(BlockError::WrongParent { height: 1 })
    ));
    assert!(matches!(
        s.apply_block(&Block {
            timestamp_ms: s.timestamp_ms(),
            ..good.clone()
        }),
        Err(BlockError::TimestampNotIncreasing { .. })
    ));
    let value = good.to_value().unwrap();
    let now = good.timestamp_ms;
    assert!(acceptable_now(&value, now));
    assert!(acceptable_now(&value, now + MAX_CLOCK_SKEW_MS));
    assert!(!acceptable_now(&value, now + MAX_CLOCK_SKEW_MS + 1));
    assert!(!acceptable_now(
        &value,
        now.saturating_sub(MAX_CLOCK_SKEW_MS + 1)
    ));
}

#[test]
fn the_chain_validates_applies_and_ignores_replayed_decisions() {
    use bitcraps_consensus::{Height, Value, ValueValidity};
    let mut t = table();
    let mut chain = Chain::new(t.state().clone());
    let op = t.sign_seat(Seat(1), place(BetKind::Field, 10)).unwrap();
    let built = chain
        .latest()
        .build_block(t.state().timestamp_ms() + 1_000, vec![op])
        .unwrap();
    let value = built.block.to_value().unwrap();
    let now = built.block.timestamp_ms;
    assert!(chain.validity(Some(now)).is_valid(Height(1), &value));
    assert!(!chain.validity(Some(now)).is_valid(Height(2), &value));
    assert!(!chain
        .validity(Some(now + 10 * MAX_CLOCK_SKEW_MS))
        .acceptable_now(Height(1), &value));
    assert!(!chain
        .validity(Some(now))
        .is_valid(Height(1), &Value::new(vec![1, 2, 3])));
    let Applied::New { state, events } = chain.apply_decided(1, &value).unwrap() else {
        panic!("expected a new state");
    };
    assert_eq!(state.hash(), built.state.hash());
    assert_eq!(events.len(), 1);
    assert!(matches!(
        chain.apply_decided(1, &value),
        Ok(Applied::Duplicate)
    ));
    let other = chain.latest().build_block(now + 1, vec![]).unwrap();
    assert_eq!(
        chain
            .apply_decided(
                1,
                &Block {
                    height: 1,
                    ..other.block.clone()
                }
                .to_value()
                .unwrap()
            )
            .unwrap_err(),
        ChainError::Conflict { height: 1 }
    );
    assert!(matches!(
        chain.apply_decided(3, &value),
        Err(ChainError::OutOfOrder { at: 1, got: 3 })
    ));
    // The state one height back stays readable.
    assert_eq!(chain.state_at(0).unwrap().height(), 0);
}

#[test]
fn build_block_restores_nonce_order_and_carries_the_refused_as_failed() {
    let mut t = table();
    let a = t.sign_seat(Seat(1), place(BetKind::Field, 10)).unwrap();
    let b = t.sign_seat(Seat(1), place(BetKind::Field, 10)).unwrap();
    let bad = t.sign_seat(Seat(2), place(BetKind::Field, 1)).unwrap();
    let close = t
        .sign_seat(Seat(0), Operation::CloseBetting { roll: 1 })
        .unwrap();
    let c = dice::commit(&t.table_id().0, 1, Seat(3), &dice::Nonce([3; 32]));
    let commit = t
        .sign_seat(
            Seat(3),
            Operation::Commit {
                roll: 1,
                seat: Seat(3),
                commitment: c,
            },
        )
        .unwrap();
    // Given in the worst order: commit before close, nonce 2 before nonce 1.
    let built = t
        .state()
        .build_block(0, vec![commit, b, bad.clone(), a, close])
        .unwrap();
    // The bet below the minimum is refused for good: it goes in as failed, spending its nonce.
    assert_eq!(built.block.ops.len(), 5);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    assert_eq!(built.failed.len(), 1);
    assert_eq!(built.failed[0].0, bad);
    assert!(built.block.timestamp_ms > t.state().timestamp_ms());
    let (state, _) = t.state().apply_block(&built.block).unwrap();
    assert_eq!(state.hash(), built.state.hash());
}

#[test]
fn every_node_computes_the_same_hashes() {
    let mut a = table();
    let mut b = LocalTable::new(4, STACK, BANK, Arc::new(Registry::new())).unwrap();
    for t in [&mut a, &mut b] {
        ok(t, Seat(1), place(BetKind::PassLine, 10));
        ok(t, Seat(2), place(BetKind::Field, 20));
        t.play_roll(&RollPlan::honest()).unwrap();
        t.play_roll(&RollPlan::honest()).unwrap();
    }
    assert_eq!(a.state().hash(), b.state().hash());
    // A different table (other keys) never shares a hash.
    let mut config = a.state().config().clone();
    config.seats[0].stack += 1;
    config.seal();
    let c = LocalTable::with_config(config, test_keys(4), Arc::new(Registry::new())).unwrap();
    assert_ne!(c.state().hash(), table().state().hash());
}

#[test]
fn a_block_replayed_as_already_checked_skips_only_the_signature_check() {
    let t = table();
    let state = t.state().clone();
    let peer = state.seat(Seat(1)).unwrap().peer;
    let mallory = Keypair::from_seed([99; 32]);
    let block_of = |op: SignedOp| Block {
        height: 1,
        timestamp_ms: state.timestamp_ms() + 1_000,
        prev_state_hash: state.hash(),
        ops: vec![op.into()],
    };
    let mut forged = SignedOp::sign(&mallory, &t.table_id(), 1, place(BetKind::Field, 10)).unwrap();
    forged.author = peer;
    let forged = block_of(forged);
    assert!(matches!(
        state.apply_block(&forged),
        Err(BlockError::Op { ref error, .. }) if **error == OpError::BadSignature { peer }
    ));
    assert!(matches!(
        state.apply_block_with(&forged, OpSignatures::Check),
        Err(BlockError::Op { ref error, .. }) if **error == OpError::BadSignature { peer }
    ));
    // Trusted (a node's own checksummed journal): the signature is not checked again ...
    let (trusted, _) = state
        .apply_block_with(&forged, OpSignatures::AlreadyChecked)
        .unwrap();
    assert_eq!(trusted.next_nonce(&peer), 2);
    // ... and a correctly signed block gives the same state either way.
    let key = t.key(Seat(1)).unwrap().clone();
    let honest =
        block_of(SignedOp::sign(&key, &t.table_id(), 1, place(BetKind::Field, 10)).unwrap());
    let (checked, events) = state.apply_block(&honest).unwrap();
    let (skipped, skipped_events) = state
        .apply_block_with(&honest, OpSignatures::AlreadyChecked)
        .unwrap();
    assert_eq!(checked.hash(), skipped.hash());
    assert_eq!(events, skipped_events);
    // Everything else is still checked: a wrong nonce is refused in both modes.
    let wrong_nonce =
        block_of(SignedOp::sign(&key, &t.table_id(), 5, place(BetKind::Field, 10)).unwrap());
    assert!(state
        .apply_block_with(&wrong_nonce, OpSignatures::AlreadyChecked)
        .is_err());
}
