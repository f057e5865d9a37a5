use std::sync::Arc;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::VerifyingKey;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

use super::settle::{less_than, r_is_batch_safe, GROUP_ORDER, SMALL_ORDER_ENCODINGS};
use super::*;
use crate::certificate::CommitSignature;
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::io::{Input, Output};
use crate::keys::Keypair;
use crate::message::{SignedProposal, SignedVote, Status, Vote};
use crate::types::{Height, Round, Value, VoteKind};

const N: usize = 7;

struct Table {
    keys: Vec<Keypair>,
    seats: ParticipantSet,
    table: TableId,
}

fn table() -> Table {
    let mut keys: Vec<Keypair> = (1..=N as u8).map(|i| Keypair::from_seed([i; 32])).collect();
    keys.sort_by_key(Keypair::peer_id);
    let seats = ParticipantSet::new(keys.iter().map(Keypair::peer_id)).expect("seats");
    Table {
        keys,
        seats,
        table: TableId::from_name("batch"),
    }
}

fn vote(t: &TableId, signer: PeerId, height: u64, kind: VoteKind, value: u8) -> Vote {
    Vote {
        table: *t,
        height: Height(height),
        round: Round(0),
        kind,
        value: Some(Value::new(vec![value]).id()),
        signer,
    }
}

/// What the one-by-one path says about each message.
fn one_by_one(
    messages: &[WireMessage],
    t: &TableId,
    seats: &ParticipantSet,
) -> Vec<Result<VerifiedMessage, VerifyError>> {
    messages
        .iter()
        .map(|m| m.clone().verify(t, seats))
        .collect()
}

/// Checks that the batch results equal the one-by-one results, with and without a cache.
fn assert_same_as_one_by_one(messages: &[WireMessage], t: &Table) {
    let expected = one_by_one(messages, &t.table, &t.seats);
    let got = verify_batch(messages.to_vec(), &t.table, &t.seats, None);
    assert_eq!(got, expected, "without a cache");
    let mut cache = SignatureCache::default();
    let got = verify_batch(messages.to_vec(), &t.table, &t.seats, Some(&mut cache));
    assert_eq!(got, expected, "with a cold cache");
    let got = verify_batch(messages.to_vec(), &t.table, &t.seats, Some(&mut cache));
    assert_eq!(got, expected, "with a warm cache");
}

fn live_messages(t: &Table, height: u64) -> Vec<WireMessage> {
    let mut out = Vec::new();
    for key in &t.keys {
        let v = vote(&t.table, key.peer_id(), height, VoteKind::Prevote, 1).sign(key);
        out.push(WireMessage::Vote(v));
    }
    out.push(WireMessage::Proposal(SignedProposal::sign(
        &t.keys[0],
        t.table,
        Height(height),
        Round(0),
        Value::new(vec![1]),
        None,
    )));
    out.push(WireMessage::Status(
        Status {
            table: t.table,
            height: Height(height),
            signer: t.keys[1].peer_id(),
        }
        .sign(&t.keys[1]),
    ));
    out.push(WireMessage::Decision(decision(t, height - 1, 5)));
    out
}

/// A decision at `height` with `signers` precommits (the first `signers` keys).
fn decision(t: &Table, height: u64, signers: usize) -> Decision {
    let value = Value::new(vec![height as u8]);
    let mut certificate = crate::CommitCertificate {
        table: t.table,
        height: Height(height),
        round: Round(0),
        value_id: value.id(),
        precommits: Vec::new(),
    };
    for key in t.keys.iter().take(signers) {
        let bytes = certificate.precommit_of(key.peer_id()).signing_bytes();
        certificate.precommits.push(CommitSignature {
            signer: key.peer_id(),
            signature: key.sign(&bytes),
        });
    }
    Decision { certificate, value }
}

#[test]
fn a_forged_signature_among_valid_ones_rejects_exactly_that_one() {
    let t = table();
    let mut messages = live_messages(&t, 5);
    messages.extend(live_messages(&t, 6));
    // Key 0 signs a vote claiming to be key 3's.
    let claimed = vote(&t.table, t.keys[3].peer_id(), 5, VoteKind::Precommit, 1);
    let forged = SignedVote {
        signature: t.keys[0].sign(&claimed.signing_bytes()),
        vote: claimed,
    };
    let forged_at = 4;
    messages.insert(forged_at, WireMessage::Vote(forged));
    let results = verify_batch(messages.clone(), &t.table, &t.seats, None);
    assert_eq!(results.len(), messages.len());
    for (i, result) in results.iter().enumerate() {
        if i == forged_at {
            assert_eq!(result, &Err(VerifyError::BadSignature(t.keys[3].peer_id())));
        } else {
            assert!(result.is_ok(), "message {i} refused: {result:?}");
        }
    }
    assert_same_as_one_by_one(&messages, &t);
}

#[test]
fn several_forgeries_are_found_by_bisection() {
    let t = table();
    let mut messages: Vec<WireMessage> = (0..6).flat_map(|h| live_messages(&t, 10 + h)).collect();
    // Votes are at positions 0..7 of each group of ten, the decision at 9.
    let spoilt = [0, 3, 11, 25, 29, 52];
    for i in spoilt {
        match &mut messages[i] {
            WireMessage::Vote(v) => v.vote.height = Height(99),
            WireMessage::Decision(d) => {
                d.certificate.precommits[2].signer = d.certificate.precommits[3].signer;
                d.certificate.precommits[3].signer = t.keys[6].peer_id();
            }
            _ => panic!("position {i}"),
        }
    }
    assert_same_as_one_by_one(&messages, &t);
    let refused: Vec<usize> = verify_batch(messages.clone(), &t.table, &t.seats, None)
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(refused, spoilt);
    // Every signature of the batch bad.
    let all_bad: Vec<WireMessage> = messages
        .into_iter()
        .map(|mut m| {
            match &mut m {
                WireMessage::Vote(v) => v.vote.round = Round(7),
                WireMessage::Proposal(p) => p.signed.header.round = Round(7),
                WireMessage::Status(s) => s.status.height = Height(1),
                WireMessage::Decision(d) => d.certificate.round = Round(7),
            }
            m
        })
        .collect();
    assert_same_as_one_by_one(&all_bad, &t);
    assert!(verify_batch(all_bad, &t.table, &t.seats, None)
        .iter()
        .all(Result::is_err));
}

#[test]
fn an_empty_batch_is_empty() {
    let t = table();
    let mut cache = SignatureCache::default();
    assert!(verify_batch(Vec::new(), &t.table, &t.seats, Some(&mut cache)).is_empty());
    let batch = BatchVerifier::new(t.table, &t.seats);
    assert!(batch.is_empty());
    assert_eq!((batch.len(), batch.signatures()), (0, 0));
    assert!(batch.verify(Some(&mut cache)).is_empty());
    assert_eq!((cache.hits, cache.misses), (0, 0));
}

#[test]
fn statements_and_messages_share_a_batch() {
    let t = table();
    let mut batch = BatchVerifier::new(t.table, &t.seats);
    let messages = live_messages(&t, 3);
    for m in messages.clone() {
        batch.push_message(m);
    }
    let good = t.keys[2].sign(b"app/statement");
    batch.push_statement(t.keys[2].peer_id(), b"app/statement".to_vec(), good);
    batch.push_statement(t.keys[3].peer_id(), b"app/statement".to_vec(), good);
    let outsider = Keypair::from_seed([200; 32]);
    batch.push_statement(
        outsider.peer_id(),
        b"app/statement".to_vec(),
        outsider.sign(b"app/statement"),
    );
    let outcomes = batch.verify(None);
    let n = messages.len();
    assert_eq!(outcomes.len(), n + 3);
    assert!(outcomes[..n]
        .iter()
        .all(|o| matches!(o, BatchOutcome::Message(Ok(_)))));
    assert_eq!(outcomes[n], BatchOutcome::Statement(Ok(())));
    assert_eq!(
        outcomes[n + 1],
        BatchOutcome::Statement(Err(VerifyError::BadSignature(t.keys[3].peer_id())))
    );
    assert_eq!(
        outcomes[n + 2],
        BatchOutcome::Statement(Err(VerifyError::UnknownSigner(outsider.peer_id())))
    );
}

#[test]
fn the_cache_keeps_its_tiers() {
    let t = table();
    let messages = live_messages(&t, 4);
    let mut cache = SignatureCache::default();
    let first = verify_batch(messages.clone(), &t.table, &t.seats, Some(&mut cache));
    assert!(first.iter().all(Result::is_ok));
    let signatures = 7 + 1 + 1 + 5;
    assert_eq!((cache.hits, cache.misses), (0, signatures));
    // A repeat is answered by the cache.
    let again = verify_batch(messages.clone(), &t.table, &t.seats, Some(&mut cache));
    assert_eq!(again, first);
    assert_eq!((cache.hits, cache.misses), (signatures, signatures));
    // The one-by-one path does not trust batch acceptances: it checks strictly again.
    let WireMessage::Vote(v) = messages[0].clone() else {
        panic!("a vote")
    };
    assert!(v
        .verify_cached(&t.table, &t.seats, Some(&mut cache))
        .is_ok());
    assert_eq!(cache.misses, signatures + 1);
    // A strict success is trusted by both paths.
    let WireMessage::Vote(v) = messages[0].clone() else {
        panic!("a vote")
    };
    assert!(v
        .verify_cached(&t.table, &t.seats, Some(&mut cache))
        .is_ok());
    assert_eq!(cache.hits, signatures + 1);
    // A failed signature is never cached.
    let mut bad = messages[1].clone();
    if let WireMessage::Vote(v) = &mut bad {
        v.vote.height = Height(77);
    }
    let misses = cache.misses;
    for _ in 0..2 {
        let r = verify_batch(vec![bad.clone()], &t.table, &t.seats, Some(&mut cache));
        assert!(matches!(r[0], Err(VerifyError::BadSignature(_))));
    }
    assert_eq!(cache.misses, misses + 2);
}

mod torsion;
