//! Evidence of equivocation, signature checks of single messages, and commit certificates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;

const R0: Round = Round(0);
const ME: usize = 0;

fn started() -> Net {
    let mut net = Net::new(4);
    net.start(ME, H);
    net
}

// ---------------------------------------------------------------------------------------------
// Evidence produced by the engine

#[test]
fn a_double_vote_yields_exactly_one_verifiable_evidence() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    let first = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, Some(&v)))
        .unwrap();
    assert!(evidence(&first).is_empty());
    let out = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, Some(&w)))
        .unwrap();
    let found = evidence(&out);
    assert_eq!(found.len(), 1, "{out:?}");
    let Evidence::DoubleVote { first, second } = &found[0] else {
        panic!("expected a double vote, got {:?}", found[0]);
    };
    assert_eq!(
        (first.vote.value, second.vote.value),
        (Some(v.id()), Some(w.id()))
    );
    assert_eq!(found[0].offender(), net.id(1));
    assert_eq!((found[0].height(), found[0].round()), (H, R0));
    assert_eq!(found[0].verify(&net.table, &net.seats), Ok(net.id(1)));

    // A third conflicting vote, and a repeat of the second, add no evidence; only the first
    // vote is counted.
    let mut later = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, None))
        .unwrap();
    later.extend(
        net.deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, Some(&w)))
            .unwrap(),
    );
    assert!(evidence(&later).is_empty(), "{later:?}");
    assert_eq!(net.engines[ME].votes_seen(R0, VoteKind::Prevote), 1);

    // A prevote and a precommit of different values are not a double vote.
    let out = net
        .deliver(ME, net.vote(2, H, R0, VoteKind::Prevote, Some(&v)))
        .unwrap();
    let out2 = net
        .deliver(ME, net.vote(2, H, R0, VoteKind::Precommit, Some(&w)))
        .unwrap();
    assert!(evidence(&out).is_empty() && evidence(&out2).is_empty());
}

#[test]
fn a_double_proposal_yields_exactly_one_verifiable_evidence() {
    let mut net = started();
    let (v, w, x) = (val("v"), val("w"), val("x"));
    let out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    assert!(evidence(&out).is_empty());
    let out = net.deliver(ME, net.proposal_at(R0, &w, None)).unwrap();
    let found = evidence(&out);
    assert_eq!(found.len(), 1, "{out:?}");
    assert!(matches!(found[0], Evidence::DoubleProposal { .. }));
    assert_eq!(found[0].verify(&net.table, &net.seats), Ok(net.id(1)));

    let mut later = net.deliver(ME, net.proposal_at(R0, &x, None)).unwrap();
    later.extend(net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap());
    later.extend(net.deliver(ME, net.proposal_at(R0, &w, None)).unwrap());
    assert!(evidence(&later).is_empty(), "{later:?}");
    // Same value, different valid round: still two proposals for one round.
    let mut net = started();
    let a = net
        .deliver(ME, net.proposal_at(Round(2), &v, None))
        .unwrap();
    let b = net
        .deliver(ME, net.proposal_at(Round(2), &v, Some(Round(1))))
        .unwrap();
    assert!(evidence(&a).is_empty());
    assert_eq!(evidence(&b).len(), 1);
    assert_eq!(
        evidence(&b)[0].verify(&net.table, &net.seats),
        Ok(net.id(3))
    );
}

// ---------------------------------------------------------------------------------------------
// Evidence checked by anyone

fn vote(net: &Net, signer: usize, round: u32, value: Option<&Value>) -> SignedVote {
    net.signed_vote(signer, H, Round(round), VoteKind::Prevote, value)
}

#[test]
fn evidence_that_shows_no_conflict_fails_verification() {
    let net = Net::new(4);
    let (v, w) = (val("v"), val("w"));
    let check = |first: SignedVote, second: SignedVote| {
        Evidence::DoubleVote { first, second }.verify(&net.table, &net.seats)
    };
    assert!(check(vote(&net, 1, 0, Some(&v)), vote(&net, 1, 0, Some(&w))).is_ok());
    // Two identical votes.
    assert!(matches!(
        check(vote(&net, 1, 0, Some(&v)), vote(&net, 1, 0, Some(&v))),
        Err(VerifyError::NotConflicting(_))
    ));
    // Votes of different signers.
    assert!(matches!(
        check(vote(&net, 1, 0, Some(&v)), vote(&net, 2, 0, Some(&w))),
        Err(VerifyError::NotConflicting(_))
    ));
    // Different rounds, or kinds.
    assert!(matches!(
        check(vote(&net, 1, 0, Some(&v)), vote(&net, 1, 1, Some(&w))),
        Err(VerifyError::NotConflicting(_))
    ));
    let precommit = net.signed_vote(1, H, R0, VoteKind::Precommit, Some(&w));
    assert!(matches!(
        check(vote(&net, 1, 0, Some(&v)), precommit),
        Err(VerifyError::NotConflicting(_))
    ));

    // Identical proposals, or proposals of different signers.
    let p = |signer: usize, value: &Value| {
        let WireMessage::Proposal(p) = net.proposal(signer, H, R0, value, None) else {
            unreachable!()
        };
        p.signed
    };
    let check_p =
        |first, second| Evidence::DoubleProposal { first, second }.verify(&net.table, &net.seats);
    assert!(check_p(p(1, &v), p(1, &w)).is_ok());
    assert!(matches!(
        check_p(p(1, &v), p(1, &v)),
        Err(VerifyError::NotConflicting(_))
    ));
    assert!(matches!(
        check_p(p(1, &v), p(2, &w)),
        Err(VerifyError::NotConflicting(_))
    ));
}

#[test]
fn evidence_with_a_forged_or_foreign_signature_fails_verification() {
    let net = Net::new(4);
    let (v, w) = (val("v"), val("w"));
    // The "second" vote claims signer 1 but is signed by signer 2: it frames an honest node.
    let mut framed = vote(&net, 1, 0, Some(&w));
    framed.signature = net.keys[2].sign(&framed.vote.signing_bytes());
    let e = Evidence::DoubleVote {
        first: vote(&net, 1, 0, Some(&v)),
        second: framed,
    };
    assert_eq!(
        e.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );
    // Genuine double vote, but at another table: not evidence here.
    let other = TableId::from_name("another table");
    let mut a = vote(&net, 1, 0, Some(&v)).vote;
    let mut b = vote(&net, 1, 0, Some(&w)).vote;
    a.table = other;
    b.table = other;
    let e = Evidence::DoubleVote {
        first: a.sign(&net.keys[1]),
        second: b.sign(&net.keys[1]),
    };
    assert!(e.verify(&other, &net.seats).is_ok());
    assert!(matches!(
        e.verify(&net.table, &net.seats),
        Err(VerifyError::WrongTable { .. })
    ));
    // An outsider's double vote accuses no one seated.
    let outsider = Keypair::from_seed([200; 32]);
    let mut c = vote(&net, 1, 0, Some(&v)).vote;
    let mut d = vote(&net, 1, 0, Some(&w)).vote;
    c.signer = outsider.peer_id();
    d.signer = outsider.peer_id();
    let e = Evidence::DoubleVote {
        first: c.sign(&outsider),
        second: d.sign(&outsider),
    };
    assert_eq!(
        e.verify(&net.table, &net.seats),
        Err(VerifyError::UnknownSigner(outsider.peer_id()))
    );
}

// ---------------------------------------------------------------------------------------------
// Single messages

#[test]
fn forged_and_cross_table_votes_are_refused() {
    let net = Net::new(4);
    let v = val("v");
    let genuine = vote(&net, 1, 0, Some(&v));
    assert!(genuine.clone().verify(&net.table, &net.seats).is_ok());

    // Signed by another participant's key.
    let mut forged = genuine.clone();
    forged.signature = net.keys[2].sign(&forged.vote.signing_bytes());
    assert_eq!(
        forged.clone().verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );
    assert_eq!(
        WireMessage::Vote(forged).verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );
    // A field changed after signing.
    let mut changed = genuine.clone();
    changed.vote.value = None;
    assert_eq!(
        WireMessage::Vote(changed).verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );

    // A vote of another table, as is and relabelled.
    let other = TableId::from_name("another table");
    let mut foreign = genuine.vote.clone();
    foreign.table = other;
    let foreign = foreign.sign(&net.keys[1]);
    assert_eq!(
        WireMessage::Vote(foreign.clone()).verify(&net.table, &net.seats),
        Err(VerifyError::WrongTable {
            expected: net.table,
            got: other
        })
    );
    let mut relabelled = foreign;
    relabelled.vote.table = net.table;
    assert_eq!(
        relabelled.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );
}

#[test]
fn forged_proposals_are_refused() {
    let net = Net::new(4);
    let v = val("v");
    let WireMessage::Proposal(genuine) = net.proposal(1, H, R0, &v, None) else {
        unreachable!()
    };
    assert!(WireMessage::Proposal(genuine.clone())
        .verify(&net.table, &net.seats)
        .is_ok());
    let mut swapped = genuine.clone();
    swapped.value = val("w");
    assert_eq!(
        WireMessage::Proposal(swapped).verify(&net.table, &net.seats),
        Err(VerifyError::ValueMismatch(net.id(1)))
    );
    let mut rerounded = genuine.clone();
    rerounded.signed.header.valid_round = Some(R0);
    assert_eq!(
        WireMessage::Proposal(rerounded).verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(net.id(1)))
    );
    let other = TableId::from_name("another table");
    let foreign = SignedProposal::sign(&net.keys[1], other, H, R0, v, None);
    assert!(matches!(
        WireMessage::Proposal(foreign).verify(&net.table, &net.seats),
        Err(VerifyError::WrongTable { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Commit certificates

/// A certificate taken from a real `Output::Decided` of four engines, cut to exactly 2f+1.
fn decided_certificate() -> (Net, Value, CommitCertificate) {
    let mut net = Net::new(4);
    let log = net.run_height(&[0, 1, 2, 3], H);
    let decided = decisions(&by(&log, 0));
    assert_eq!(decided.len(), 1);
    let d = &decided[0];
    let mut certificate = d.certificate.clone();
    assert_eq!(certificate.height, H);
    assert_eq!(certificate.value_id, d.value.id());
    certificate.verify(&net.table, &net.seats).unwrap();
    let signers: Vec<PeerId> = certificate.signers().collect();
    let mut sorted = signers.clone();
    sorted.sort();
    assert_eq!(signers, sorted, "precommits sorted by signer");
    certificate.precommits.truncate(net.seats.quorum());
    certificate.verify(&net.table, &net.seats).unwrap();
    (net, d.value.clone(), certificate)
}

#[test]
fn a_certificate_from_a_decision_verifies_and_every_engine_agrees() {
    let mut net = Net::new(4);
    let log = net.run_height(&[0, 1, 2, 3], H);
    let mut values = Vec::new();
    for i in 0..4 {
        let decided = decisions(&by(&log, i));
        assert_eq!(decided.len(), 1, "participant {i}");
        decided[0]
            .certificate
            .verify(&net.table, &net.seats)
            .unwrap();
        let decision = Decision {
            certificate: decided[0].certificate.clone(),
            value: decided[0].value.clone(),
        };
        assert!(decision.verify(&net.table, &net.seats).is_ok());
        values.push(decided[0].value.clone());
    }
    assert!(values.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn a_certificate_below_quorum_is_refused() {
    let (net, _, mut certificate) = decided_certificate();
    certificate.precommits.pop();
    assert_eq!(
        certificate.verify(&net.table, &net.seats),
        Err(VerifyError::NoQuorum {
            height: H,
            got: 2,
            needed: 3
        })
    );
}

#[test]
fn a_certificate_with_a_duplicated_signer_is_refused() {
    let (net, _, mut certificate) = decided_certificate();
    let first = certificate.precommits[0].clone();
    certificate.precommits[2] = first.clone();
    assert_eq!(
        certificate.verify(&net.table, &net.seats),
        Err(VerifyError::DuplicateSigner(first.signer))
    );
    // Padding a short certificate with a duplicate does not reach quorum either.
    certificate.precommits.truncate(2);
    certificate.precommits.push(first.clone());
    assert_eq!(
        certificate.verify(&net.table, &net.seats),
        Err(VerifyError::DuplicateSigner(first.signer))
    );
}

#[test]
fn a_certificate_with_a_signature_from_another_table_is_refused() {
    let (net, _, mut certificate) = decided_certificate();
    let signer = certificate.precommits[1].signer;
    let mut foreign = certificate.precommit_of(signer);
    foreign.table = TableId::from_name("another table");
    certificate.precommits[1].signature =
        net.keys[net.index(signer)].sign(&foreign.signing_bytes());
    assert_eq!(
        certificate.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(signer))
    );
    // The whole certificate relabelled to another table is checked against ours.
    let (net, _, mut relabelled) = decided_certificate();
    relabelled.table = TableId::from_name("another table");
    assert!(matches!(
        relabelled.verify(&net.table, &net.seats),
        Err(VerifyError::WrongTable { .. })
    ));
}

#[test]
fn a_tampered_certificate_is_refused() {
    let (net, value, certificate) = decided_certificate();
    let mut tampered = certificate.clone();
    tampered.value_id = val("something else").id();
    assert!(matches!(
        tampered.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(_))
    ));
    let mut other_round = certificate.clone();
    other_round.round = Round(1);
    assert!(matches!(
        other_round.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(_))
    ));
    let mut other_height = certificate.clone();
    other_height.height = Height(2);
    assert!(matches!(
        other_height.verify(&net.table, &net.seats),
        Err(VerifyError::BadSignature(_))
    ));
    // An outsider's precommit does not count.
    let outsider = Keypair::from_seed([201; 32]);
    let mut padded = certificate.clone();
    padded.precommits[0] = CommitSignature {
        signer: outsider.peer_id(),
        signature: outsider.sign(&certificate.precommit_of(outsider.peer_id()).signing_bytes()),
    };
    assert_eq!(
        padded.verify(&net.table, &net.seats),
        Err(VerifyError::UnknownSigner(outsider.peer_id()))
    );
    // A decision whose value is not the certified one.
    let decision = Decision {
        certificate: certificate.clone(),
        value: val("not the decided value"),
    };
    assert_eq!(
        decision.verify(&net.table, &net.seats),
        Err(VerifyError::DecisionValueMismatch(H))
    );
    let decision = Decision { certificate, value };
    assert!(decision.verify(&net.table, &net.seats).is_ok());
}
