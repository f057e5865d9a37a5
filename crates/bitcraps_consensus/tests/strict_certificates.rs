//! Whatever enters a certificate passes `verify_strict`, even when the host verified the
//! precommits with a batch equation ([`verify_batch`]), which accepts about half the time a
//! precommit whose nonce point `R` carries a small-order component (see `src/batch/mod.rs`).
//!
//! The attack: a Byzantine participant signs its precommit with `R = [r]B + T`, `T` of order 2,
//! and resends it until a batch accepts it. Before the fix, the honest node counted it towards
//! its decision and put it in the certificate, which then failed `CommitCertificate::verify`
//! (so lagging nodes refused its catch-up and its journal failed the offline verifier).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

const ME: usize = 0;
const BYZANTINE: usize = 3;
const R0: Round = Round(0);

fn wide(h: Sha512) -> Scalar {
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&bytes)
}

/// The secret scalar of a keypair (RFC 8032: the clamped first half of SHA-512(seed)).
fn secret_scalar(key: &Keypair) -> Scalar {
    let mut h = Sha512::new();
    h.update(key.seed());
    let digest = h.finalize();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&digest[..32]);
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(bytes);
    assert_eq!(
        EdwardsPoint::mul_base(&a).compress().to_bytes(),
        key.peer_id().0
    );
    a
}

/// The signer's own signature of `message` with nonce point `R = [r]B + T` (`T` the order-2
/// point): correct but for the torsion in `R`, so `verify_strict` always refuses it while a
/// batch equation accepts it whenever its random coefficient is even.
fn torsioned_signature(key: &Keypair, message: &[u8], nonce: u64) -> Signature {
    let mut h = Sha512::new();
    h.update(b"nonce");
    h.update(nonce.to_le_bytes());
    let r = wide(h);
    let point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[4];
    let encoded = point.compress().to_bytes();
    let mut h = Sha512::new();
    h.update(encoded);
    h.update(key.peer_id().as_bytes());
    h.update(message);
    let k = wide(h);
    let s = r + k * secret_scalar(key);
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&encoded);
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::from_bytes(&bytes)
}

/// The Byzantine precommit for `value`, resent (with fresh nonces, in batches with honest
/// messages, as a host's verify step would see it) until a batch accepts it.
fn smuggled_precommit(net: &Net, value: &Value) -> VerifiedMessage {
    let vote = Vote {
        table: net.table,
        height: H,
        round: R0,
        kind: VoteKind::Precommit,
        value: Some(value.id()),
        signer: net.id(BYZANTINE),
    };
    let bytes = vote.signing_bytes();
    for nonce in 0..64 {
        let signature = torsioned_signature(&net.keys[BYZANTINE], &bytes, nonce);
        let forged = SignedVote {
            vote: vote.clone(),
            signature,
        };
        assert!(
            forged.clone().verify(&net.table, &net.seats).is_err(),
            "verify_strict refuses it"
        );
        // Honest traffic of the same frame shares the batch.
        let mut frame: Vec<WireMessage> = (0..3)
            .map(|i| net.vote(i, Height(7), Round(nonce as u32), VoteKind::Prevote, None))
            .collect();
        frame.push(net.vote(1, Height(8), R0, VoteKind::Prevote, None));
        frame.push(WireMessage::Vote(forged));
        let results = verify_batch(frame, &net.table, &net.seats, None);
        if let Some(Ok(verified)) = results.last() {
            return verified.clone();
        }
    }
    panic!("no batch accepted the torsioned precommit in 64 tries");
}

#[test]
fn a_batch_accepted_non_strict_precommit_never_enters_a_certificate() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let v = val("v");
    // The proposal and a polka: ME precommits v.
    let mut out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    out.extend(net.deliver_all(ME, net.prevotes(&[1, 2, 3], R0, Some(&v))));
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, Some(v.id())));

    // An honest precommit and the Byzantine's smuggled one: with ME's own, three signers.
    let mut outputs = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Precommit, Some(&v)))
        .unwrap();
    let smuggled = smuggled_precommit(&net, &v);
    outputs.extend(net.handle(ME, Input::Message(smuggled)).unwrap());
    // Whether or not the engine decided on these, the last honest precommit arrives.
    if decisions(&outputs).is_empty() {
        outputs.extend(
            net.deliver(ME, net.vote(2, H, R0, VoteKind::Precommit, Some(&v)))
                .unwrap(),
        );
    }
    let decided = decisions(&outputs);
    assert_eq!(decided.len(), 1, "{outputs:?}");
    let certificate = &decided[0].certificate;
    assert_eq!(certificate.value_id, v.id());
    assert_eq!(
        certificate.verify(&net.table, &net.seats),
        Ok(()),
        "the honest node's certificate must verify strictly"
    );
    assert!(
        !certificate.signers().any(|s| s == net.id(BYZANTINE)),
        "the non-strict precommit is not in the certificate"
    );
    // A lagging node accepts the decision as catch-up.
    let decision = Decision {
        certificate: certificate.clone(),
        value: v.clone(),
    };
    assert!(decision.verify(&net.table, &net.seats).is_ok());
}

#[test]
fn a_batch_accepted_catch_up_decision_is_rechecked_strictly() {
    // A Byzantine relays a decision whose certificate carries its non-strict precommit beside
    // 2f+1 honest ones; a batch may accept the whole decision. The engine keeps only strictly
    // valid precommits in what it outputs.
    let mut net = Net::new(4);
    net.start(ME, H);
    let v = val("v");
    let vote = Vote {
        table: net.table,
        height: H,
        round: R0,
        kind: VoteKind::Precommit,
        value: Some(v.id()),
        signer: net.id(BYZANTINE),
    };
    let mut accepted = None;
    for nonce in 0..64 {
        let signature = torsioned_signature(&net.keys[BYZANTINE], &vote.signing_bytes(), nonce);
        let mut precommits: Vec<CommitSignature> = [0usize, 1, 2]
            .iter()
            .map(
                |&i| match net.vote(i, H, R0, VoteKind::Precommit, Some(&v)) {
                    WireMessage::Vote(s) => CommitSignature {
                        signer: s.vote.signer,
                        signature: s.signature,
                    },
                    _ => unreachable!(),
                },
            )
            .collect();
        precommits.push(CommitSignature {
            signer: net.id(BYZANTINE),
            signature,
        });
        precommits.sort_by_key(|c| c.signer);
        let decision = Decision {
            certificate: CommitCertificate {
                table: net.table,
                height: H,
                round: R0,
                value_id: v.id(),
                precommits,
            },
            value: v.clone(),
        };
        assert!(decision.clone().verify(&net.table, &net.seats).is_err());
        let results = verify_batch(
            [WireMessage::Decision(decision)],
            &net.table,
            &net.seats,
            None,
        );
        if let Some(Ok(verified)) = results.last() {
            accepted = Some(verified.clone());
            break;
        }
    }
    let verified = accepted.expect("a batch accepted the decision");
    let out = net.handle(ME, Input::Message(verified)).unwrap();
    let decided = decisions(&out);
    assert_eq!(decided.len(), 1, "{out:?}");
    assert_eq!(
        decided[0].certificate.verify(&net.table, &net.seats),
        Ok(())
    );
}
