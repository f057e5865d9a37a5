//! The participant set of each height comes from the host: a 4 → 5 → 4 change across heights,
//! where after the change a departed key's votes and proposals count for nothing and a
//! newcomer's do, catch-up across the changes, and a negative control (a host that declares the
//! wrong height's set is caught).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bitcraps_consensus::*;
use common::churn::Churn;
use common::*;

/// Keys 0..=4: 0..=3 at genesis, 4 joins at height 3, 0 leaves at height 8.
fn keys() -> Vec<Keypair> {
    (0..5u8).map(|i| Keypair::from_seed([i + 41; 32])).collect()
}

fn set(keys: &[Keypair], members: &[usize]) -> Arc<ParticipantSet> {
    Arc::new(ParticipantSet::new(members.iter().map(|&i| keys[i].peer_id())).unwrap())
}

const JOIN: u64 = 3;
const LEAVE: u64 = 8;
const DEPARTED: usize = 0;
const NEWCOMER: usize = 4;

fn members(h: Height) -> &'static [usize] {
    if h.0 < JOIN {
        &[0, 1, 2, 3]
    } else if h.0 < LEAVE {
        &[0, 1, 2, 3, 4]
    } else {
        &[1, 2, 3, 4]
    }
}

fn truth(keys: &[Keypair]) -> impl Fn(Height) -> Arc<ParticipantSet> + 'static {
    let keys = keys.to_vec();
    move |h| set(&keys, members(h))
}

fn churn(last: u64, wrong: Option<usize>) -> Churn {
    let keys = keys();
    let declared: Vec<Box<common::churn::SetOf>> = (0..keys.len())
        .map(|i| {
            let right = truth(&keys);
            let stale = truth(&keys);
            let b: Box<common::churn::SetOf> = if Some(i) == wrong {
                // This host declares, from the departure on, the set of the height before it.
                Box::new(move |h: Height| {
                    if h.0 >= LEAVE {
                        stale(Height(LEAVE - 1))
                    } else {
                        right(h)
                    }
                })
            } else {
                Box::new(right)
            };
            b
        })
        .collect();
    Churn::new(keys, declared, Height(last), |c| {
        c.limits.max_future_heights = 24
    })
}

#[test]
fn a_table_of_four_takes_a_fifth_then_loses_its_first() {
    let last = 12;
    let mut net = churn(last, None);
    net.run(&[0, 1, 2, 3, 4], 40);
    let set_of = truth(&net.keys);
    for (i, decided) in net.decided.iter().enumerate() {
        // The departed key's engine still follows (as an observer) and so does the newcomer's
        // before it joins: every engine decides every height.
        assert_eq!(
            decided.len() as u64,
            last,
            "engine {i}: {:?}",
            decided.keys()
        );
    }
    for h in 1..=last {
        let h = Height(h);
        let (value, certificate) = &net.decided[1][&h];
        let set = set_of(h);
        for (i, decided) in net.decided.iter().enumerate() {
            assert_eq!(&decided[&h].0, value, "agreement at {h} (engine {i})");
            let c = &decided[&h].1;
            assert_eq!(
                c.verify_at(&net.table, |_| Some(&*set)),
                Ok(()),
                "{h} engine {i}"
            );
            let signers: Vec<PeerId> = c.signers().collect();
            assert!(signers.iter().all(|s| set.contains(s)), "{h}: {signers:?}");
        }
        // The proposer of the deciding round is a participant of that height, by its rotation.
        let proposer = set.proposer(h, certificate.round);
        let by = net
            .keys
            .iter()
            .position(|k| k.peer_id() == proposer)
            .unwrap();
        assert!(members(h).contains(&by));
        assert!(
            value.bytes().ends_with(format!("by {by}").as_bytes()),
            "{h}: {value:?}"
        );
        // Against the other sets, certificates of a changed membership do not hold.
        if (JOIN..LEAVE).contains(&h.0) {
            let before = set_of(Height(1));
            let has_newcomer = certificate
                .signers()
                .any(|s| s == net.keys[NEWCOMER].peer_id());
            if has_newcomer {
                assert!(certificate.verify(&net.table, &before).is_err());
            }
        }
        if h.0 >= LEAVE {
            assert!(!certificate
                .signers()
                .any(|s| s == net.keys[DEPARTED].peer_id()));
        }
    }
    // The newcomer proposed a decided value at one of the heights with five seats.
    let by_newcomer = (JOIN..LEAVE).any(|h| {
        net.decided[1][&Height(h)]
            .0
            .bytes()
            .ends_with(format!("by {NEWCOMER}").as_bytes())
    });
    assert!(by_newcomer);
    // Engines that are not participants of a height only observe it (they do not vote), so
    // an honest run has nothing to refuse; the departed key's forged traffic is refused in
    // `after_leaving_a_key_counts_for_nothing_and_the_newcomer_counts`.
    assert!(net.refusals.is_empty(), "{:?}", net.refusals);
}

/// An engine at height `LEAVE`, whose host declared `declared` for it.
fn at_leave(keys: &[Keypair], me: usize, declared: Arc<ParticipantSet>) -> Engine {
    let table = TableId::from_name("churn");
    let mut engine = Engine::new(
        EngineConfig::new(table),
        keys[me].clone(),
        set(keys, &[0, 1, 2, 3]),
    );
    engine.set_participants(Height(LEAVE), declared).unwrap();
    engine
        .handle(Input::StartHeight(Height(LEAVE)), &app)
        .unwrap();
    engine
}

fn precommit(keys: &[Keypair], signer: usize, value: &Value) -> WireMessage {
    WireMessage::Vote(
        Vote {
            table: TableId::from_name("churn"),
            height: Height(LEAVE),
            round: Round(0),
            kind: VoteKind::Precommit,
            value: Some(value.id()),
            signer: keys[signer].peer_id(),
        }
        .sign(&keys[signer]),
    )
}

#[test]
fn after_leaving_a_key_counts_for_nothing_and_the_newcomer_counts() {
    let keys = keys();
    let old = set(&keys, members(Height(LEAVE - 1)));
    let new = set(&keys, members(Height(LEAVE)));
    let me = 1;
    let mut engine = at_leave(&keys, me, new.clone());
    assert_eq!(engine.participants().len(), 4);
    let v = val("v");
    // The departed key's vote does not verify at this height...
    let departed = precommit(&keys, DEPARTED, &v);
    assert_eq!(
        engine.verify(departed.clone()),
        Err(VerifyError::UnknownSigner(keys[DEPARTED].peer_id()))
    );
    // ...and verified by a host against the old set, the engine still refuses it.
    let smuggled = departed
        .clone()
        .verify(&engine.config().table, &old)
        .unwrap();
    assert!(matches!(
        engine.handle(Input::Message(smuggled), &app),
        Err(InputError::NotParticipant { .. })
    ));
    assert_eq!(engine.votes_seen(Round(0), VoteKind::Precommit), 0);
    // Nor can it propose, in any round (it is nobody's proposer any more).
    for round in 0..4 {
        let p = WireMessage::Proposal(SignedProposal::sign(
            &keys[DEPARTED],
            engine.config().table,
            Height(LEAVE),
            Round(round),
            v.clone(),
            None,
        ));
        let verified = p.verify(&engine.config().table, &old).unwrap();
        assert!(engine.handle(Input::Message(verified), &app).is_err());
    }
    // The newcomer's precommit counts: with 2 and 3 it completes 2f+1 of the new set.
    let proposer = keys
        .iter()
        .position(|k| k.peer_id() == new.proposer(Height(LEAVE), Round(0)))
        .unwrap();
    let proposal = WireMessage::Proposal(SignedProposal::sign(
        &keys[proposer],
        engine.config().table,
        Height(LEAVE),
        Round(0),
        v.clone(),
        None,
    ));
    let mut out = Vec::new();
    for m in [proposal, precommit(&keys, 2, &v), precommit(&keys, 3, &v)] {
        let verified = engine.verify(m).unwrap();
        out.extend(engine.handle(Input::Message(verified), &app).unwrap());
    }
    assert!(decisions(&out).is_empty(), "two precommits are not 2f+1");
    let verified = engine.verify(precommit(&keys, NEWCOMER, &v)).unwrap();
    let out = engine.handle(Input::Message(verified), &app).unwrap();
    let decided = decisions(&out);
    assert_eq!(decided.len(), 1, "{out:?}");
    let certificate = &decided[0].certificate;
    assert!(certificate.signers().any(|s| s == keys[NEWCOMER].peer_id()));
    assert_eq!(engine.verify_certificate(certificate), Ok(()));
    assert!(certificate.verify(&engine.config().table, &old).is_err());
}

#[test]
fn negative_control_a_host_declaring_the_wrong_heights_set_is_caught() {
    let keys = keys();
    let old = set(&keys, members(Height(LEAVE - 1)));
    let new = set(&keys, members(Height(LEAVE)));
    let v = val("v");
    // This host declares height LEAVE's set as the one before the departure.
    let mut wrong = at_leave(&keys, 1, old.clone());
    let departed = wrong.verify(precommit(&keys, DEPARTED, &v));
    assert!(departed.is_ok(), "the wrong set accepts the departed key");
    wrong
        .handle(Input::Message(departed.unwrap()), &app)
        .unwrap();
    assert_eq!(wrong.votes_seen(Round(0), VoteKind::Precommit), 1);
    // And it counts thresholds of five: a valid 2f+1 of the real set is no quorum to it.
    assert_eq!(wrong.participants().len(), 5);
    // A valid certificate of the height (by the new set) is refused by the wrong engine.
    let certificate = CommitCertificate {
        table: wrong.config().table,
        height: Height(LEAVE),
        round: Round(0),
        value_id: v.id(),
        precommits: [2, 3, NEWCOMER]
            .iter()
            .map(|&i| match precommit(&keys, i, &v) {
                WireMessage::Vote(s) => CommitSignature {
                    signer: s.vote.signer,
                    signature: s.signature,
                },
                _ => unreachable!(),
            })
            .collect(),
    };
    assert_eq!(certificate.verify(&wrong.config().table, &new), Ok(()));
    assert!(wrong.verify_certificate(&certificate).is_err());

    // In the multi-engine run, the engine with the wrong set is the one whose certificates or
    // refusals betray it.
    let mut net = churn(LEAVE + 2, Some(1));
    net.run(&[0, 1, 2, 3, 4], 40);
    let set_of = truth(&net.keys);
    let caught = (LEAVE..=LEAVE + 2).any(|h| {
        let h = Height(h);
        let set = set_of(h);
        match net.decided[1].get(&h) {
            None => true,
            Some((_, c)) => c.verify(&net.table, &set).is_err(),
        }
    }) || net
        .refusals
        .iter()
        .any(|&(from, to, h, _)| to == 1 && from == NEWCOMER && h.0 >= LEAVE);
    assert!(caught, "the wrong set went unnoticed");
    // The honest engines are not affected.
    for i in [2, 3, 4] {
        for h in LEAVE..=LEAVE + 2 {
            let (_, c) = &net.decided[i][&Height(h)];
            assert_eq!(c.verify(&net.table, &set_of(Height(h))), Ok(()));
        }
    }
}

#[test]
fn a_lagging_node_decides_twenty_heights_across_set_changes_as_its_host_declares_them() {
    let last = 22;
    let mut net = churn(last, None);
    net.run(&[0, 1, 2, 3, 4], 60);
    let set_of = truth(&net.keys);
    let decided: Vec<Decision> = (1..=last)
        .map(|h| {
            let (value, certificate) = net.decided[2][&Height(h)].clone();
            Decision { certificate, value }
        })
        .collect();
    // A fresh engine of participant 3 that knows only the genesis sets.
    let mut config = EngineConfig::new(net.table);
    config.limits.max_future_heights = 24;
    let mut laggard = Engine::new(config, net.keys[3].clone(), set_of(Height(1)));
    for h in [1, 2] {
        laggard
            .set_participants(Height(h), set_of(Height(h)))
            .unwrap();
    }
    let mut out = laggard.handle(Input::StartHeight(Height(1)), &app).unwrap();
    // Heights 1..=21 arrive at once (a catch-up burst); beyond the known sets they cannot be
    // verified yet and are kept raw.
    for d in &decided[..21] {
        let input = match laggard.verify(WireMessage::Decision(d.clone())) {
            Ok(verified) => Input::Message(verified),
            Err(VerifyError::UnknownParticipants(h)) => {
                assert!(h.0 > 2);
                Input::UnverifiedDecision(d.clone())
            }
            Err(e) => panic!("{e}"),
        };
        out.extend(laggard.handle(input, &app).unwrap());
    }
    // A bogus decision for a height whose set is unknown is kept too, and dropped later.
    let mut bogus = decided[15].clone();
    bogus.value = val("bogus");
    bogus.certificate.value_id = bogus.value.id();
    laggard
        .handle(Input::UnverifiedDecision(bogus), &app)
        .unwrap();
    let mut got = Vec::new();
    loop {
        let mut next = Vec::new();
        for d in decisions(&out) {
            got.push(d.height);
            assert_eq!(d.value, decided[d.height.0 as usize - 1].value);
            assert_eq!(d.certificate.verify(&net.table, &set_of(d.height)), Ok(()));
            // The host applies the decision: it now knows the set of height + 2.
            laggard
                .set_participants(Height(d.height.0 + 2), set_of(Height(d.height.0 + 2)))
                .unwrap();
            next.extend(
                laggard
                    .handle(Input::StartHeight(d.height.next()), &app)
                    .unwrap(),
            );
        }
        if next.is_empty() {
            break;
        }
        out = next;
    }
    assert_eq!(got, (1..=21).map(Height).collect::<Vec<_>>());
    assert_eq!(laggard.height(), Height(22));
    assert_eq!(laggard.participants().ids(), set_of(Height(22)).ids());
}

#[test]
fn heights_beyond_the_declared_sets_are_refused_with_typed_errors() {
    let keys = keys();
    let genesis = set(&keys, &[0, 1, 2, 3]);
    let mut engine = Engine::new(
        EngineConfig::new(TableId::from_name("churn")),
        keys[1].clone(),
        genesis.clone(),
    );
    // A host that never declares anything: every height uses the genesis set.
    assert!(engine.participants_at(Height(1_000)).is_some());
    engine.set_participants(Height(1), genesis.clone()).unwrap();
    engine.set_participants(Height(2), genesis.clone()).unwrap();
    assert!(engine.participants_at(Height(3)).is_none());
    let vote = WireMessage::Vote(
        Vote {
            table: TableId::from_name("churn"),
            height: Height(3),
            round: Round(0),
            kind: VoteKind::Prevote,
            value: None,
            signer: keys[2].peer_id(),
        }
        .sign(&keys[2]),
    );
    assert_eq!(
        engine.verify(vote),
        Err(VerifyError::UnknownParticipants(Height(3)))
    );
    engine.handle(Input::StartHeight(Height(1)), &app).unwrap();
    assert!(matches!(
        engine.set_participants(Height(1), set(&keys, &[1, 2, 3, 4])),
        Err(InputError::ParticipantsOfStartedHeight { .. })
    ));
    assert_eq!(
        engine.set_participants(Height(2), set(&keys, &[1, 2, 3, 4])),
        Err(InputError::ParticipantsConflict(Height(2)))
    );
    // The same set again is fine.
    engine.set_participants(Height(2), genesis).unwrap();
}
