//! Who sits and who votes: admission, validator sets, leaving and closing, seat records, chip
//! limits, and the holes an attacker found through the public API (issue 12).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bitcraps_consensus::{Evidence, Height, Keypair, Round, ValueId, Vote, VoteKind};
use bitcraps_game::driver::LocalTable;
use bitcraps_game::*;
use common::*;

fn stranger(i: u8) -> Keypair {
    Keypair::from_seed([0x70 + i; 32])
}

fn claim(accused: Seat) -> Operation {
    Operation::Dispute(Dispute::Claim {
        accused,
        statement: "stalls every roll".into(),
    })
}

fn vote(dispute: DisputeId, uphold: bool) -> Operation {
    Operation::DisputeVote { dispute, uphold }
}

fn penalized(events: &[Event], seat: Seat) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Penalty { seat: s, .. } if *s == seat))
}

/// The Sybil claim: one player brings four throwaway keys at the minimum buy-in and accuses an
/// honest genesis seat. Before admission the four sat down at once, the claim's electorate was
/// every seated player and five yes votes against two no upheld it (the honest seat slashed and
/// unseated). Now the keys only ask; the attacker's own admissions are one vote of four, so none
/// sits down, and the claim is rejected by the honest majority.
#[test]
fn throwaway_keys_cannot_outvote_the_table() {
    let mut t = table();
    let attacker = Seat(3);
    let mut sybils = Vec::new();
    for i in 0..4 {
        let key = stranger(i);
        t.request_join(key.clone(), 100).unwrap();
        // The attacker admits its own keys.
        let requested_at = t.state().join_requests()[&key.peer_id()].requested_at;
        ok(
            &mut t,
            attacker,
            Operation::Admit {
                newcomer: key.peer_id(),
                requested_at,
                admit: true,
            },
        );
        sybils.push(key);
    }
    assert_eq!(t.state().seated().len(), 4, "no throwaway key sat down");
    for key in &sybils {
        assert!(t.state().seat_of(&key.peer_id()).is_none());
        // Nor can a seatless key vote on anything.
        let op = t.sign(&key.peer_id(), vote(DisputeId(1), true)).unwrap();
        assert!(matches!(
            rejected_signed(&mut t, op),
            OpError::NotSeated { .. }
        ));
    }
    let events = ok(&mut t, attacker, claim(Seat(0)));
    let id = events
        .iter()
        .find_map(|e| match e {
            Event::DisputeOpened { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    ok(&mut t, attacker, vote(id, true));
    ok(&mut t, Seat(1), vote(id, false));
    let events = ok(&mut t, Seat(2), vote(id, false));
    assert!(events.contains(&Event::DisputeResolved {
        id,
        verdict: Verdict::Rejected
    }));
    assert!(t.state().seated().contains(&Seat(0)));
}

/// The honest validators refusing ends a request at once (more than a third said no).
#[test]
fn a_refused_newcomer_does_not_sit_down() {
    let mut t = table();
    let key = stranger(9);
    let peer = key.peer_id();
    t.request_join(key, 500).unwrap();
    let events = t.answer_join(&peer, false).unwrap();
    assert!(events.contains(&Event::JoinDeclined {
        peer,
        reason: JoinDeclined::Refused
    }));
    assert!(t.state().join_requests().is_empty());
    assert_eq!(t.state().seat_of(&peer), None);
    assert_eq!(t.state().supply().circulating, 4 * STACK + BANK);
}

/// Admission needs more than 2/3 of the validators: 2 of 4 is not enough, 3 of 4 is.
#[test]
fn admission_needs_more_than_two_thirds() {
    let mut t = table();
    let key = stranger(1);
    let peer = key.peer_id();
    t.request_join(key, 500).unwrap();
    let requested_at = t.state().join_requests()[&peer].requested_at;
    let admit = Operation::Admit {
        newcomer: peer,
        requested_at,
        admit: true,
    };
    ok(&mut t, Seat(0), admit.clone());
    ok(&mut t, Seat(1), admit.clone());
    assert_eq!(t.state().seat_of(&peer), None);
    // Answering twice, or for another request height, does nothing.
    assert_eq!(
        rejected(&mut t, Seat(1), admit.clone()),
        OpError::AlreadyAnswered {
            seat: Seat(1),
            newcomer: peer
        }
    );
    let stale = Operation::Admit {
        newcomer: peer,
        requested_at: requested_at + 1,
        admit: true,
    };
    assert_eq!(
        rejected(&mut t, Seat(2), stale),
        OpError::NoSuchRequest {
            seat: Seat(2),
            newcomer: peer
        }
    );
    let events = ok(&mut t, Seat(2), admit);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::SeatJoined { peer: p, .. } if *p == peer)));
}

/// Requests are bounded (one per key, a few at once) and lapse at their deadline.
#[test]
fn join_requests_are_bounded_and_lapse() {
    let mut t = table();
    let max = t.state().config().admission.max_pending;
    for i in 0..u8::try_from(max).unwrap() {
        t.request_join(stranger(i), 100).unwrap();
    }
    let late = stranger(100);
    t.add_key(late.clone());
    let join = t
        .sign(&late.peer_id(), Operation::Join { buy_in: 100 })
        .unwrap();
    assert_eq!(
        rejected_signed(&mut t, join),
        OpError::TooManyRequests {
            peer: late.peer_id(),
            max
        }
    );
    t.advance_clock(t.state().config().admission.request_ms);
    let mut events = Vec::new();
    for _ in 0..t.state().config().deadlines.min_heights {
        events.extend(t.apply(vec![]).unwrap());
    }
    let lapsed = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::JoinDeclined {
                    reason: JoinDeclined::Expired,
                    ..
                }
            )
        })
        .count();
    assert_eq!(lapsed, usize::from(max));
    assert!(t.state().join_requests().is_empty());
}

/// A jump of block time right after a request (a table whose genesis time lies years before
/// its first blocks, or one resumed after everyone was away) does not lapse the request before
/// the admitters had the floor of heights to answer: it lapses at the first height that is past
/// both. The old rule (block time alone) lapsed it at the height after the jump.
#[test]
fn a_jump_of_block_time_leaves_the_admitters_the_floor_of_heights() {
    let mut t = table();
    let key = stranger(7);
    t.request_join(key.clone(), 100).unwrap();
    let requested_at = t.state().height();
    let min_heights = t.state().config().deadlines.min_heights;
    t.advance_clock(300 * 24 * 3_600 * 1_000);
    let mut lapsed_at = None;
    for _ in 0..=min_heights {
        let events = t.apply(vec![]).unwrap();
        if events.iter().any(|e| {
            matches!(
                e,
                Event::JoinDeclined {
                    reason: JoinDeclined::Expired,
                    ..
                }
            )
        }) {
            lapsed_at = Some(t.state().height());
            break;
        }
        assert!(t.state().join_requests().contains_key(&key.peer_id()));
    }
    assert_eq!(lapsed_at, Some(requested_at + min_heights));
}

/// The validator set of height h + 2 is the seated players after height h.
#[test]
fn validator_sets_follow_the_seats_two_heights_later() {
    let mut t = table_of(5);
    let genesis: Vec<_> = {
        let mut v: Vec<_> = (0..5)
            .map(|i| t.state().seat(Seat(i)).unwrap().peer)
            .collect();
        v.sort();
        v
    };
    assert_eq!(t.state().validators_next(), &genesis[..]);
    let key = stranger(3);
    t.join_admitted(key.clone(), 1_000).unwrap();
    let h = t.state().height();
    let newcomer = key.peer_id();
    // Seated at h: votes from h + 2 on.
    assert!(!t.state().validators_next().contains(&newcomer));
    assert!(t.state().validators_after_next().contains(&newcomer));
    assert!(t.state().validators_of(h + 2).unwrap().contains(&newcomer));
    assert!(t.state().validators_of(h + 3).is_none());
    assert_eq!(t.state().validator_set(h + 2).unwrap().unwrap().len(), 6);
    // A claim opened at h + 1 has the set of h + 1 as electorate: the newcomer is not in it.
    let events = ok(&mut t, Seat(0), claim(Seat(1)));
    let id = events
        .iter()
        .find_map(|e| match e {
            Event::DisputeOpened { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let seat = t.state().seat_of(&newcomer).unwrap();
    assert!(!t.state().disputes()[&id].electorate.contains(&seat));
    assert!(t.state().validators_next().contains(&newcomer));
    // Leaving: gone from the set two heights later.
    let leaver = t.state().seat(Seat(4)).unwrap().peer;
    ok(&mut t, Seat(4), Operation::Leave);
    assert!(t.state().validators_next().contains(&leaver));
    assert!(!t.state().validators_after_next().contains(&leaver));
    t.apply(vec![]).unwrap();
    assert!(!t.state().validators_next().contains(&leaver));
}

/// The supply lock: an outsider joined with every chip that fits in a u64 and left; from then
/// on every FundBank and Join failed with overflow, because the buy-ins total never went down.
/// Now a buy-in is bounded, and what leaves goes out of circulation.
#[test]
fn no_buy_in_can_lock_the_supply() {
    let mut t = table();
    let whale = stranger(7);
    t.add_key(whale.clone());
    let huge = u64::MAX - t.state().supply().circulating;
    let join = t
        .sign(&whale.peer_id(), Operation::Join { buy_in: huge })
        .unwrap();
    assert!(matches!(
        rejected_signed(&mut t, join),
        OpError::BuyInTooLarge { .. }
    ));
    let max = t.state().config().limits.max_buy_in;
    // The largest buy-in allowed, in and out many times: the room never runs out.
    let mut t = table_of(5);
    for _ in 0..20 {
        t.join_admitted(whale.clone(), max).unwrap();
        let seat = t.state().seat_of(&whale.peer_id()).unwrap();
        ok(&mut t, seat, Operation::Leave);
    }
    assert_eq!(t.state().supply().circulating, 5 * STACK + BANK);
    ok(&mut t, Seat(0), Operation::FundBank { amount: 1_000 });
    t.join_admitted(stranger(8), 1_000).unwrap();
    assert!(t.state().seat_of(&stranger(8).peer_id()).is_some());
    // The bank cannot be funded past the supply limit either.
    let limit = t.state().config().limits.max_supply;
    assert!(matches!(
        rejected(&mut t, Seat(0), Operation::FundBank { amount: limit }),
        OpError::BuyInTooLarge { .. } | OpError::SupplyLimit { .. }
    ));
    t.state().check_accounting().unwrap();
}

/// Seat records exhausted: 252 throwaway keys joining and leaving used up the 256 records and
/// every later join got "table full" forever. Records of departed players are now reused.
#[test]
fn churn_never_exhausts_the_seat_records() {
    let mut t = table_of(5);
    for i in 0..300u32 {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        seed[4] = 0xC4;
        let key = Keypair::from_seed(seed);
        t.join_admitted(key.clone(), 100).unwrap();
        let seat = t
            .state()
            .seat_of(&key.peer_id())
            .unwrap_or_else(|| panic!("join {i} was not seated"));
        ok(&mut t, seat, Operation::Leave);
    }
    assert!(t.state().seats().len() <= MAX_SEAT_RECORDS);
    let last = stranger(50);
    t.join_admitted(last.clone(), 100).unwrap();
    assert!(t.state().seat_of(&last.peer_id()).is_some());
    t.state().check_accounting().unwrap();
}

fn double_vote(key: &Keypair, table: bitcraps_consensus::TableId, height: u64) -> Evidence {
    let vote = |v: u8| {
        Vote {
            table,
            height: Height(height),
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

fn evidence(e: GameEvidence) -> Operation {
    Operation::Dispute(Dispute::Evidence(Box::new(e)))
}

/// Evidence that the player at `seat` signed two bank fundings under its first nonce.
fn double_signed(t: &LocalTable, seat: Seat) -> Operation {
    let cheat = t.key(seat).unwrap().clone();
    let table_id = t.table_id();
    let a = SignedOp::sign(&cheat, &table_id, 1, Operation::FundBank { amount: 1 }).unwrap();
    let b = SignedOp::sign(&cheat, &table_id, 1, Operation::FundBank { amount: 2 }).unwrap();
    evidence(GameEvidence::DoubleSigned {
        first: a.to_raw().unwrap(),
        second: b.to_raw().unwrap(),
    })
}

/// A player punished for a double vote, and admitted again, is not punished again for the old
/// offence (old double-vote evidence used to punish the new seat again); an offence in its new
/// tenure is.
#[test]
fn evidence_punishes_only_the_tenure_it_was_signed_in() {
    let mut t = table_of(5);
    let cheat = t.key(Seat(4)).unwrap().clone();
    // Consensus evidence is signed under the consensus's table id.
    let table_id = t.consensus_table_id();
    let old = double_vote(&cheat, table_id, 1);
    let events = ok(
        &mut t,
        Seat(0),
        evidence(GameEvidence::Consensus(old.clone())),
    );
    assert!(penalized(&events, Seat(4)));
    // Served: admitted again with fresh chips.
    for _ in 0..3 {
        t.apply(vec![]).unwrap();
    }
    t.join_admitted(cheat.clone(), 1_000).unwrap();
    let seat = t.state().seat_of(&cheat.peer_id()).unwrap();
    let events = ok(&mut t, Seat(1), evidence(GameEvidence::Consensus(old)));
    assert!(!penalized(&events, seat), "punished twice for one offence");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::EvidenceMoot { .. })));
    // A new offence, signed while it votes again (two heights after its admission), is
    // punished.
    let now = t.state().height() + 2;
    let fresh = double_vote(&cheat, table_id, now);
    let events = ok(&mut t, Seat(1), evidence(GameEvidence::Consensus(fresh)));
    assert!(penalized(&events, seat));
}

/// Penalties deter: by default a proven cheater loses its whole stack to the bank, and the
/// config states it (0 % restores a cash-out of the free balance).
#[test]
fn proven_cheating_costs_the_whole_stack_by_default() {
    let keys = bitcraps_game::driver::test_keys(5);
    for (percent, kept) in [(100u8, 0u64), (0, STACK - 100)] {
        let registry = Arc::new(Registry::new());
        let seats = keys
            .iter()
            .map(|k| SeatConfig {
                peer: k.peer_id(),
                stack: STACK,
            })
            .collect();
        let mut config = TableConfig::new(
            bitcraps_consensus::TableId::from_name("penalties"),
            1_000,
            seats,
            BANK,
            &registry,
        );
        config.penalties.cheat_balance_percent = percent;
        config.seal();
        let mut t = LocalTable::with_config(config, keys.clone(), registry).unwrap();
        let proof = double_signed(&t, Seat(2));
        let events = ok(&mut t, Seat(0), proof);
        let cashed = events
            .iter()
            .find_map(|e| match e {
                Event::SeatRemoved {
                    seat: Seat(2),
                    cashed_out,
                    ..
                } => Some(*cashed_out),
                _ => None,
            })
            .unwrap();
        assert_eq!(cashed, kept, "at {percent} %");
        t.state().check_accounting().unwrap();
    }
}

/// Below four players the table closes: bets back, everyone cashed out, the final balances
/// stated, and no block after it.
#[test]
fn the_table_closes_below_four_players() {
    let mut t = table();
    ok(&mut t, Seat(1), place(BetKind::PassLine, 50));
    ok(&mut t, Seat(2), place(BetKind::Field, 20));
    let bank = t.state().bank();
    let events = ok(&mut t, Seat(3), Operation::Leave);
    let Some(Event::TableClosed {
        final_balances,
        bank: closing_bank,
    }) = events
        .iter()
        .find(|e| matches!(e, Event::TableClosed { .. }))
    else {
        panic!("the table did not close: {events:?}");
    };
    assert_eq!(*closing_bank, bank);
    assert_eq!(final_balances.len(), 3);
    for f in final_balances {
        assert_eq!(f.cashed_out, STACK, "{f:?}");
    }
    assert!(t.state().bets().is_empty());
    assert!(t.state().seated().is_empty());
    assert_eq!(t.state().closed_at(), Some(t.state().height()));
    assert_eq!(t.state().supply().circulating, BANK);
    t.state().check_accounting().unwrap();
    assert!(matches!(
        t.apply(vec![]),
        Err(BlockError::TableClosed { .. })
    ));
    // The same through apply_block, as every other node checks it.
    let s = t.state();
    let block = Block {
        height: s.height() + 1,
        timestamp_ms: s.timestamp_ms() + 1,
        prev_state_hash: s.hash(),
        ops: vec![],
    };
    assert!(matches!(
        s.apply_block(&block),
        Err(BlockError::TableClosed { .. })
    ));
}

/// A penalty at a table of four closes it too (the cheater pays first).
#[test]
fn a_penalty_at_four_players_closes_the_table() {
    let mut t = table();
    let proof = double_signed(&t, Seat(3));
    let events = ok(&mut t, Seat(0), proof);
    assert!(penalized(&events, Seat(3)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::TableClosed { .. })));
    assert_eq!(t.state().bank(), BANK + STACK);
    t.state().check_accounting().unwrap();
}
