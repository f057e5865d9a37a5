//! Disputes: self-verifying evidence punished at once, claims voted on, health signals.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bitcraps_consensus::{
    Evidence, Height, ProposalHeader, Round, SignedProposalHeader, TableId, ValueId, Vote, VoteKind,
};
use bitcraps_game::driver::LocalTable;
use bitcraps_game::*;
use common::*;

fn evidence(e: GameEvidence) -> Operation {
    Operation::Dispute(Dispute::Evidence(Box::new(e)))
}

fn double_vote(t: &LocalTable, seat: Seat, table: TableId) -> Evidence {
    let key = t.key(seat).unwrap();
    let vote = |v: u8| {
        Vote {
            table,
            height: Height(3),
            round: Round(0),
            kind: VoteKind::Prevote,
            value: Some(ValueId([v; 32])),
            signer: key.peer_id(),
        }
        .sign(key)
    };
    Evidence::DoubleVote {
        first: vote(1),
        second: vote(2),
    }
}

fn penalty_of(events: &[Event], seat: Seat) -> Option<(PenaltyReason, u64, u64)> {
    events.iter().find_map(|e| match e {
        Event::Penalty {
            seat: s,
            reason,
            bond_slashed,
            bets_forfeited,
            ..
        } if *s == seat => Some((reason.clone(), *bond_slashed, *bets_forfeited)),
        _ => None,
    })
}

#[test]
fn a_consensus_double_vote_costs_the_bond_and_the_seat() {
    let mut t = table_of(5);
    ok(&mut t, Seat(2), place(BetKind::PassLine, 40));
    let e = double_vote(&t, Seat(2), t.consensus_table_id());
    let bank = t.state().bank();
    let events = ok(
        &mut t,
        Seat(0),
        evidence(GameEvidence::Consensus(e.clone())),
    );
    assert!(events.contains(&Event::EvidenceAccepted {
        by: Seat(0),
        offender: Seat(2),
        kind: "double vote".into()
    }));
    assert_eq!(
        penalty_of(&events, Seat(2)),
        Some((PenaltyReason::DoubleVote, 100, 40))
    );
    // Bond, bet and (by default) the whole free balance go to the bank: cheating never pays.
    assert_eq!(t.state().bank(), bank + STACK);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Penalty { seat: Seat(2), balance_forfeited, .. } if *balance_forfeited == STACK - 140
    )));
    assert!(!t.state().seated().contains(&Seat(2)));
    let peer = t.state().seat(Seat(2)).unwrap().peer;
    assert_eq!(t.state().health(&peer).evidence_count, 1);
    assert_eq!(t.state().supply().cash_outs, 0);
    t.state().check_accounting().unwrap();
    // The same evidence again: nobody left to punish. It is accepted as a no-op (refusing it
    // would leave the submitter's nonce unspent and stall its later operations).
    let before = t.state().clone();
    let again = t
        .sign_seat(Seat(1), evidence(GameEvidence::Consensus(e)))
        .unwrap();
    let events = t.apply(vec![again]).unwrap();
    assert!(events.contains(&Event::EvidenceMoot {
        by: Seat(1),
        offender: peer,
        kind: "double vote".into()
    }));
    assert!(penalty_of(&events, Seat(2)).is_none());
    assert_eq!(t.state().bank(), before.bank());
    assert_eq!(t.state().health(&peer).evidence_count, 1);
    assert_eq!(t.state().supply(), before.supply());
    let me = t.state().seat(Seat(1)).unwrap().peer;
    assert_eq!(t.state().next_nonce(&me), before.next_nonce(&me) + 1);
    t.state().check_accounting().unwrap();
}

#[test]
fn consensus_evidence_must_verify() {
    let mut t = table();
    // Signed for another table.
    let e = double_vote(&t, Seat(2), TableId::from_name("elsewhere"));
    assert!(matches!(
        rejected(&mut t, Seat(0), evidence(GameEvidence::Consensus(e))),
        OpError::Evidence {
            reason: EvidenceError::Consensus(_),
            ..
        }
    ));
    // Two identical votes are no conflict.
    let Evidence::DoubleVote { first, .. } = double_vote(&t, Seat(2), t.consensus_table_id())
    else {
        unreachable!()
    };
    let same = Evidence::DoubleVote {
        first: first.clone(),
        second: first,
    };
    assert!(matches!(
        rejected(&mut t, Seat(0), evidence(GameEvidence::Consensus(same))),
        OpError::Evidence {
            reason: EvidenceError::Consensus(_),
            ..
        }
    ));
}

#[test]
fn a_double_proposal_is_punished() {
    let mut t = table();
    let key = t.key(Seat(3)).unwrap().clone();
    let header = |v: u8| {
        let h = ProposalHeader {
            table: t.consensus_table_id(),
            height: Height(5),
            round: Round(1),
            value_id: ValueId([v; 32]),
            valid_round: None,
            proposer: key.peer_id(),
        };
        SignedProposalHeader {
            signature: key.sign(&h.signing_bytes()),
            header: h,
        }
    };
    let e = Evidence::DoubleProposal {
        first: header(1),
        second: header(2),
    };
    let events = ok(&mut t, Seat(1), evidence(GameEvidence::Consensus(e)));
    assert!(matches!(
        penalty_of(&events, Seat(3)),
        Some((PenaltyReason::DoubleProposal, 100, 0))
    ));
}

#[test]
fn two_operations_under_one_nonce_are_evidence() {
    let mut t = table();
    let key = t.key(Seat(1)).unwrap().clone();
    let table = t.table_id();
    let a = SignedOp::sign(&key, &table, 7, place(BetKind::Field, 10)).unwrap();
    let b = SignedOp::sign(&key, &table, 7, place(BetKind::Field, 20)).unwrap();
    let c = SignedOp::sign(&key, &table, 8, place(BetKind::Field, 20)).unwrap();
    let raw = |op: &SignedOp| op.to_raw().unwrap();
    // Different nonces: no conflict.
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            evidence(GameEvidence::DoubleSigned {
                first: raw(&a),
                second: raw(&c)
            })
        ),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::NotConflicting("different nonces")
        }
    );
    // The same operation twice: no conflict.
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            evidence(GameEvidence::DoubleSigned {
                first: raw(&a),
                second: raw(&a)
            })
        ),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::NotConflicting("the same operation")
        }
    );
    // A tampered body: the signature fails.
    let mut tampered = raw(&b);
    tampered.body.push(0);
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            evidence(GameEvidence::DoubleSigned {
                first: raw(&a),
                second: tampered
            })
        ),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::BadSignature(key.peer_id())
        }
    );
    let events = ok(
        &mut t,
        Seat(0),
        evidence(GameEvidence::DoubleSigned {
            first: raw(&a),
            second: raw(&b),
        }),
    );
    assert_eq!(
        penalty_of(&events, Seat(1)),
        Some((PenaltyReason::DoubleSigned { nonce: 7 }, 100, 0))
    );
}

#[test]
fn a_reveal_that_does_not_open_its_commitment_is_evidence() {
    let mut t = table();
    let key = t.key(Seat(2)).unwrap().clone();
    let table = t.table_id();
    let nonce = dice::Nonce([9; 32]);
    let commitment = dice::commit(&table.0, 4, Seat(2), &nonce);
    let commit = SignedOp::sign(
        &key,
        &table,
        30,
        Operation::Commit {
            roll: 4,
            seat: Seat(2),
            commitment,
        },
    )
    .unwrap()
    .to_raw()
    .unwrap();
    let reveal = |n: dice::Nonce, roll: u64| {
        SignedOp::sign(
            &key,
            &table,
            31,
            Operation::Reveal {
                roll,
                seat: Seat(2),
                nonce: n,
            },
        )
        .unwrap()
        .to_raw()
        .unwrap()
    };
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            evidence(GameEvidence::MismatchedReveal {
                commit: commit.clone(),
                reveal: reveal(nonce, 4)
            })
        ),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::RevealMatches(Seat(2))
        }
    );
    assert_eq!(
        rejected(
            &mut t,
            Seat(0),
            evidence(GameEvidence::MismatchedReveal {
                commit: commit.clone(),
                reveal: reveal(dice::Nonce([1; 32]), 5)
            })
        ),
        OpError::Evidence {
            seat: Seat(0),
            reason: EvidenceError::NotCommitAndReveal
        }
    );
    let events = ok(
        &mut t,
        Seat(0),
        evidence(GameEvidence::MismatchedReveal {
            commit,
            reveal: reveal(dice::Nonce([1; 32]), 4),
        }),
    );
    assert!(matches!(
        penalty_of(&events, Seat(2)),
        Some((PenaltyReason::MismatchedReveal { roll: 4 }, 100, 0))
    ));
}

fn claim(accused: Seat) -> Operation {
    Operation::Dispute(Dispute::Claim {
        accused,
        statement: "keeps stalling the reveals".into(),
    })
}

fn vote(dispute: DisputeId, uphold: bool) -> Operation {
    Operation::DisputeVote { dispute, uphold }
}

fn opened(events: &[Event]) -> DisputeId {
    events
        .iter()
        .find_map(|e| match e {
            Event::DisputeOpened { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_claim_is_upheld_by_more_than_two_thirds() {
    // 7 seats: the electorate is the 6 others; 5 yes > 2/3 × 6 = 4.
    let mut t = table_of(7);
    let id = opened(&ok(&mut t, Seat(0), claim(Seat(6))));
    assert_eq!(t.state().disputes()[&id].electorate.len(), 6);
    assert_eq!(
        rejected(&mut t, Seat(6), vote(id, false)),
        OpError::NotInElectorate {
            seat: Seat(6),
            dispute: id
        }
    );
    // Under dispute, the accused cannot slip away.
    assert_eq!(
        rejected(&mut t, Seat(6), Operation::Leave),
        OpError::UnderDispute {
            seat: Seat(6),
            dispute: id
        }
    );
    for s in 0..4u16 {
        ok(&mut t, Seat(s), vote(id, true));
    }
    assert_eq!(
        rejected(&mut t, Seat(3), vote(id, true)),
        OpError::AlreadyVoted {
            seat: Seat(3),
            dispute: id
        }
    );
    assert!(
        t.state().disputes().contains_key(&id),
        "4 of 6 is not > 2/3"
    );
    let events = ok(&mut t, Seat(4), vote(id, true));
    assert!(events.contains(&Event::DisputeResolved {
        id,
        verdict: Verdict::Upheld
    }));
    assert!(matches!(
        penalty_of(&events, Seat(6)),
        Some((PenaltyReason::ClaimUpheld(i), 100, 0)) if i == id
    ));
    let peer = t.state().seat(Seat(6)).unwrap().peer;
    assert_eq!(t.state().health(&peer).claims_upheld, 1);
    assert_eq!(
        rejected(&mut t, Seat(5), vote(id, true)),
        OpError::NoSuchDispute {
            seat: Seat(5),
            dispute: id
        }
    );
}

#[test]
fn a_claim_is_rejected_by_more_than_one_third() {
    // 4 seats: electorate 3; 2 no > 1/3 × 3 = 1.
    let mut t = table();
    let id = opened(&ok(&mut t, Seat(0), claim(Seat(1))));
    ok(&mut t, Seat(0), vote(id, true));
    ok(&mut t, Seat(2), vote(id, false));
    let events = ok(&mut t, Seat(3), vote(id, false));
    assert!(events.contains(&Event::DisputeResolved {
        id,
        verdict: Verdict::Rejected
    }));
    assert!(t.state().seated().contains(&Seat(1)));
}

#[test]
fn a_claim_expires_after_an_hour_of_block_time_counting_missed_votes() {
    let mut t = table();
    let events = ok(&mut t, Seat(0), claim(Seat(1)));
    let id = opened(&events);
    let deadline = t.state().disputes()[&id].deadline_ms;
    assert_eq!(deadline, t.state().timestamp_ms() + 3_600_000);
    ok(&mut t, Seat(2), vote(id, true));
    t.advance_clock(3_597_000);
    t.apply(vec![]).unwrap();
    assert!(t.state().disputes().contains_key(&id));
    let events = t.apply(vec![]).unwrap();
    assert!(events.contains(&Event::DisputeResolved {
        id,
        verdict: Verdict::Expired
    }));
    for (s, missed) in [(0u16, 1), (2, 0), (3, 1), (1, 0)] {
        let peer = t.state().seat(Seat(s)).unwrap().peer;
        assert_eq!(t.state().health(&peer).missed_votes, missed, "seat {s}");
    }
}

#[test]
fn claim_rejections() {
    let mut t = table();
    assert_eq!(
        rejected(&mut t, Seat(0), claim(Seat(0))),
        OpError::BadAccusation {
            seat: Seat(0),
            accused: Seat(0)
        }
    );
    assert_eq!(
        rejected(&mut t, Seat(0), claim(Seat(9))),
        OpError::BadAccusation {
            seat: Seat(0),
            accused: Seat(9)
        }
    );
    let long = Operation::Dispute(Dispute::Claim {
        accused: Seat(1),
        statement: "x".repeat(281),
    });
    assert!(matches!(
        rejected(&mut t, Seat(0), long),
        OpError::TooLong {
            len: 281,
            max: 280,
            ..
        }
    ));
    let ops: Vec<SignedOp> = (0..MAX_OPEN_DISPUTES)
        .map(|_| t.sign_seat(Seat(0), claim(Seat(1))).unwrap())
        .collect();
    t.apply(ops).unwrap();
    assert_eq!(
        rejected(&mut t, Seat(2), claim(Seat(1))),
        OpError::TooManyDisputes {
            seat: Seat(2),
            max: MAX_OPEN_DISPUTES
        }
    );
}

#[test]
fn a_claim_against_a_player_punished_otherwise_is_moot() {
    let mut t = table();
    let id = opened(&ok(&mut t, Seat(0), claim(Seat(2))));
    let e = double_vote(&t, Seat(2), t.consensus_table_id());
    let events = ok(&mut t, Seat(1), evidence(GameEvidence::Consensus(e)));
    assert!(events.contains(&Event::DisputeResolved {
        id,
        verdict: Verdict::Moot
    }));
    assert!(t.state().disputes().is_empty());
}
