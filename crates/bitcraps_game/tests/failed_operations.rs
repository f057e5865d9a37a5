//! Operations a block carries as *failed*: a seated player's operation that the table refuses for
//! good spends its nonce and nothing else, so it never blocks the player's later operations; an
//! operation that could still pass later can never be burnt that way.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bitcraps_consensus::Keypair;
use bitcraps_game::driver::{LocalTable, RollPlan};
use bitcraps_game::*;
use common::*;

/// A block of `ops` on top of the table's latest state.
fn block_of(t: &LocalTable, ops: Vec<SignedOp>) -> Block {
    Block {
        height: t.state().height() + 1,
        timestamp_ms: t.state().timestamp_ms() + 1_000,
        prev_state_hash: t.state().hash(),
        ops: ops.into_iter().map(Into::into).collect(),
    }
}

fn failures(events: &[Event]) -> Vec<(Seat, u64, OpKind)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::OperationFailed {
                seat, nonce, kind, ..
            } => Some((*seat, *nonce, *kind)),
            _ => None,
        })
        .collect()
}

fn refused_by_block(t: &LocalTable, ops: Vec<SignedOp>) -> OpError {
    match t.state().apply_block(&block_of(t, ops)) {
        Err(BlockError::Op { error, .. }) => *error,
        other => panic!("expected an invalid block, got {other:?}"),
    }
}

#[test]
fn a_refused_operation_spends_its_nonce_and_does_not_block_the_next() {
    let mut t = table();
    let peer = t.state().seat(Seat(2)).unwrap().peer;
    // Nonce 1: below the table minimum (refused for good). Nonce 2: a valid bet.
    let bad = t.sign_seat(Seat(2), place(BetKind::Field, 1)).unwrap();
    let good = t.sign_seat(Seat(2), place(BetKind::Field, 10)).unwrap();
    let before = balance(&t, Seat(2));
    let (state, events) = t
        .state()
        .apply_block(&block_of(&t, vec![bad, good]))
        .unwrap();
    assert_eq!(failures(&events), vec![(Seat(2), 1, OpKind::PlaceBet)]);
    assert_eq!(state.next_nonce(&peer), 3);
    assert_eq!(state.seat(Seat(2)).unwrap().balance, before - 10);
    assert_eq!(state.bets().len(), 1);
    state.check_accounting().unwrap();
    // The reason is there for the player.
    let reason = events
        .iter()
        .find_map(|e| match e {
            Event::OperationFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("minimum"), "{reason}");
}

#[test]
fn a_failed_operation_changes_nothing_but_its_nonce() {
    let mut t = table();
    // Taking down a bet that does not exist.
    let bad = t
        .sign_seat(Seat(1), Operation::RemoveBet { bet: BetId(42) })
        .unwrap();
    let before = t.state().clone();
    let (after, events) = t.state().apply_block(&block_of(&t, vec![bad])).unwrap();
    assert_eq!(failures(&events).len(), 1);
    assert_eq!(after.seats(), before.seats());
    assert_eq!(after.bets(), before.bets());
    assert_eq!(after.bank(), before.bank());
    assert_eq!(after.stage(), before.stage());
    assert_eq!(after.phase(), before.phase());
    assert_eq!(after.roll_number(), before.roll_number());
    assert_eq!(after.supply(), before.supply());
    let peer = before.seat(Seat(1)).unwrap().peer;
    assert_eq!(after.next_nonce(&peer), before.next_nonce(&peer) + 1);
    // Every other player's nonce is untouched.
    for s in [Seat(0), Seat(2), Seat(3)] {
        let p = before.seat(s).unwrap().peer;
        assert_eq!(after.next_nonce(&p), before.next_nonce(&p));
    }
}

#[test]
fn the_proposer_carries_final_refusals_and_holds_back_the_rest() {
    let mut t = table();
    let bad = t.sign_seat(Seat(1), place(BetKind::Field, 1)).unwrap();
    // A commitment while betting is still open may pass later: it must stay out.
    let c = dice::commit(&t.table_id().0, 1, Seat(3), &dice::Nonce([3; 32]));
    let early = t
        .sign_seat(
            Seat(3),
            Operation::Commit {
                roll: 1,
                seat: Seat(3),
                commitment: c,
            },
        )
        .unwrap();
    let built = t
        .state()
        .build_block(0, vec![bad.clone(), early.clone()])
        .unwrap();
    assert_eq!(built.block.ops, vec![BlockEntry::Op(bad.clone())]);
    assert_eq!(built.failed.len(), 1);
    assert_eq!(built.failed[0].0, bad);
    assert_eq!(built.rejected.len(), 1);
    assert_eq!(built.rejected[0].0, early);
    assert_eq!(
        built.rejected[0].1,
        OpError::CommitmentsNotOpen { seat: Seat(3) }
    );
    // Every node agrees with the proposer.
    let (state, _) = t.state().apply_block(&built.block).unwrap();
    assert_eq!(state.hash(), built.state.hash());
}

#[test]
fn a_block_cannot_burn_an_operation_that_could_still_pass() {
    let mut t = table();
    let table = t.table_id().0;
    let commit_op = |t: &mut LocalTable, seat: Seat| {
        let c = dice::commit(&table, 1, seat, &dice::Nonce([seat.0 as u8; 32]));
        t.sign_seat(
            seat,
            Operation::Commit {
                roll: 1,
                seat,
                commitment: c,
            },
        )
        .unwrap()
    };
    // A commitment before betting closed.
    let early = commit_op(&mut t, Seat(3));
    assert_eq!(
        refused_by_block(&t, vec![early]),
        OpError::CommitmentsNotOpen { seat: Seat(3) }
    );
    // A reveal before the commitments are decided.
    let close = t
        .sign_seat(Seat(0), Operation::CloseBetting { roll: 1 })
        .unwrap();
    t.apply(vec![close]).unwrap();
    let reveal = t
        .sign_seat(
            Seat(2),
            Operation::Reveal {
                roll: 1,
                seat: Seat(2),
                nonce: dice::Nonce([2; 32]),
            },
        )
        .unwrap();
    assert_eq!(
        refused_by_block(&t, vec![reveal]),
        OpError::RevealsNotOpen { seat: Seat(2) }
    );
    // Envelope errors keep a block invalid: a skipped nonce.
    let key = t.key(Seat(1)).unwrap().clone();
    let peer = key.peer_id();
    let skipped = SignedOp::sign(&key, &t.table_id(), 5, place(BetKind::Field, 1)).unwrap();
    assert_eq!(
        refused_by_block(&t, vec![skipped]),
        OpError::WrongNonce {
            peer,
            expected: 1,
            got: 5
        }
    );
    // An unseated author's refused operation is never carried (anyone can make keys).
    let stranger = Keypair::from_seed([77; 32]);
    let join = SignedOp::sign(&stranger, &t.table_id(), 1, Operation::Join { buy_in: 1 }).unwrap();
    assert!(matches!(
        refused_by_block(&t, vec![join]),
        OpError::BuyInBelowBond { .. }
    ));
    let bet = SignedOp::sign(&stranger, &t.table_id(), 1, place(BetKind::Field, 10)).unwrap();
    assert!(matches!(
        refused_by_block(&t, vec![bet]),
        OpError::NotSeated { .. }
    ));
}

#[test]
fn late_commitments_and_reveals_are_refused_for_good() {
    let mut t = table();
    t.play_roll(&RollPlan::honest()).unwrap();
    let table = t.table_id().0;
    // Roll 1 is over: a commitment or a reveal for it can never pass any more.
    let stale_commit = t
        .sign_seat(
            Seat(1),
            Operation::Commit {
                roll: 1,
                seat: Seat(1),
                commitment: dice::commit(&table, 1, Seat(1), &dice::Nonce([1; 32])),
            },
        )
        .unwrap();
    let stale_reveal = t
        .sign_seat(
            Seat(1),
            Operation::Reveal {
                roll: 1,
                seat: Seat(1),
                nonce: dice::Nonce([1; 32]),
            },
        )
        .unwrap();
    let (_, events) = t
        .state()
        .apply_block(&block_of(&t, vec![stale_commit, stale_reveal]))
        .unwrap();
    let f = failures(&events);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].2, OpKind::Commit);
    assert_eq!(f[1].2, OpKind::Reveal);
}

#[test]
fn commitments_after_the_deadline_are_refused_for_good() {
    let mut t = table();
    let close = t
        .sign_seat(Seat(0), Operation::CloseBetting { roll: 1 })
        .unwrap();
    t.apply(vec![close]).unwrap();
    let table = t.table_id().0;
    let ops: Vec<SignedOp> = [Seat(0), Seat(1), Seat(2)]
        .into_iter()
        .map(|seat| {
            t.sign_seat(
                seat,
                Operation::Commit {
                    roll: 1,
                    seat,
                    commitment: dice::commit(&table, 1, seat, &dice::Nonce([seat.0 as u8; 32])),
                },
            )
            .unwrap()
        })
        .collect();
    t.apply(ops).unwrap();
    while matches!(t.state().stage(), Stage::Committing { .. }) {
        t.apply(Vec::new()).unwrap();
    }
    assert!(matches!(t.state().stage(), Stage::Revealing { .. }));
    let late = t
        .sign_seat(
            Seat(3),
            Operation::Commit {
                roll: 1,
                seat: Seat(3),
                commitment: dice::commit(&table, 1, Seat(3), &dice::Nonce([3; 32])),
            },
        )
        .unwrap();
    let (_, events) = t.state().apply_block(&block_of(&t, vec![late])).unwrap();
    assert_eq!(failures(&events), vec![(Seat(3), 1, OpKind::Commit)]);
}

#[test]
fn an_abandoned_roll_never_reuses_its_number() {
    let mut t = table();
    let plan = [Seat(0), Seat(1), Seat(2), Seat(3)]
        .into_iter()
        .fold(RollPlan::honest(), RollPlan::without);
    let events = t.play_roll(&plan).unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::RollAbandoned {
            roll: 1,
            reason: AbandonReason::NoCommitments
        }
    )));
    // A commitment made for roll 1 can never be asked for again.
    assert_eq!(t.state().roll_number(), 2);
    assert!(t.state().stage().is_betting());
}

#[test]
fn double_signing_before_sitting_down_is_no_evidence() {
    let mut t = table();
    let joiner = Keypair::from_seed([55; 32]);
    let peer = joiner.peer_id();
    let table = t.table_id();
    t.add_key(joiner.clone());
    // Nonce 1 was signed twice while unseated (a refused join re-signed); one of them seated it.
    let join = SignedOp::sign(&joiner, &table, 1, Operation::Join { buy_in: 1_000 }).unwrap();
    let other = SignedOp::sign(&joiner, &table, 1, Operation::Join { buy_in: 2_000 }).unwrap();
    t.apply(vec![join.clone()]).unwrap();
    t.answer_join(&peer, true).unwrap();
    let seat = t.state().seat_of(&peer).unwrap();
    assert_eq!(t.state().seat(seat).unwrap().first_seated_nonce, 2);
    let dispute = |first: &SignedOp, second: &SignedOp| {
        Operation::Dispute(Dispute::Evidence(Box::new(GameEvidence::DoubleSigned {
            first: first.to_raw().unwrap(),
            second: second.to_raw().unwrap(),
        })))
    };
    assert_eq!(
        rejected(&mut t, Seat(0), dispute(&join, &other)),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::NotConflicting(
                "the nonce was signed before the player sat down"
            )
        }
    );
    // Once seated, two operations under one nonce are punished.
    let a = SignedOp::sign(&joiner, &table, 2, place(BetKind::Field, 10)).unwrap();
    let b = SignedOp::sign(&joiner, &table, 2, place(BetKind::Field, 20)).unwrap();
    let events = ok(&mut t, Seat(0), dispute(&a, &b));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Penalty { seat: s, reason: PenaltyReason::DoubleSigned { nonce: 2 }, .. } if *s == seat
    )));
}
