//! Hand-built signatures with torsion components, and a property test against one-by-one checks.

use super::*;

// --- Hand-built signatures with torsion components. ---

fn wide(h: Sha512) -> Scalar {
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&bytes)
}

fn scalar(label: &[u8], n: u64) -> Scalar {
    let mut h = Sha512::new();
    h.update(label);
    h.update(n.to_le_bytes());
    wide(h)
}

/// A key `A = [a]B + T`, with `T` the `torsion`-th 8-torsion point (0: none).
struct RawKey {
    a: Scalar,
    peer: PeerId,
}

fn raw_key(n: u64, torsion: usize) -> RawKey {
    let a = scalar(b"key", n);
    let point = EdwardsPoint::mul_base(&a) + EIGHT_TORSION[torsion];
    RawKey {
        a,
        peer: PeerId(point.compress().to_bytes()),
    }
}

/// Signs with nonce point `R = [r]B + R_torsion` (or `R = R_torsion` alone if `small`), and
/// `s = r + k·a` (`s = k·a` if `small`), `k = H(R ‖ A ‖ M)`.
fn raw_sign(key: &RawKey, message: &[u8], n: u64, r_torsion: usize, small: bool) -> Signature {
    let r = if small {
        Scalar::ZERO
    } else {
        scalar(b"nonce", n)
    };
    let point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[r_torsion];
    let encoded = point.compress().to_bytes();
    let mut h = Sha512::new();
    h.update(encoded);
    h.update(key.peer.as_bytes());
    h.update(message);
    let k = wide(h);
    let s = r + k * key.a;
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&encoded);
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::from_bytes(&bytes)
}

fn strict_ok(peer: &PeerId, message: &[u8], signature: &Signature) -> bool {
    peer.verifying_key()
        .is_ok_and(|key| key.verify_strict(message, signature).is_ok())
}

#[test]
fn the_small_order_list_is_complete_and_right() {
    for (i, point) in EIGHT_TORSION.iter().enumerate() {
        let mut encoded = point.compress().to_bytes();
        encoded[31] &= 0x7f;
        assert!(
            SMALL_ORDER_ENCODINGS.contains(&encoded),
            "torsion point {i}"
        );
    }
    for encoded in SMALL_ORDER_ENCODINGS {
        for sign in [0, 0x80] {
            let mut bytes = encoded;
            bytes[31] |= sign;
            assert!(!r_is_batch_safe(&bytes));
            if let Some(point) = CompressedEdwardsY(bytes).decompress() {
                assert!(point.is_small_order(), "{bytes:?}");
            }
        }
    }
    for n in 0..64 {
        let point = EdwardsPoint::mul_base(&scalar(b"point", n));
        assert!(r_is_batch_safe(&point.compress().to_bytes()));
    }
}

#[test]
fn canonical_scalars_are_recognised() {
    let l = GROUP_ORDER;
    assert!(bool::from(Scalar::from_canonical_bytes(l).is_none()));
    let mut below = l;
    below[0] -= 1;
    assert!(less_than(&below, &l));
    assert!(bool::from(Scalar::from_canonical_bytes(below).is_some()));
    for n in 0..256u64 {
        let mut bytes = scalar(b"bytes", n).to_bytes();
        bytes[31] = (n as u8) & 0x1f;
        assert_eq!(
            less_than(&bytes, &l),
            bool::from(Scalar::from_canonical_bytes(bytes).is_some()),
            "{bytes:?}"
        );
    }
}

/// A table of honest keys plus `extra`, and the votes of the honest keys.
fn with_raw_signer(extra: &RawKey) -> (Vec<Keypair>, ParticipantSet) {
    let keys: Vec<Keypair> = (1..=6u8).map(|i| Keypair::from_seed([i; 32])).collect();
    let seats = ParticipantSet::new(
        keys.iter()
            .map(Keypair::peer_id)
            .chain(std::iter::once(extra.peer)),
    )
    .expect("seats");
    (keys, seats)
}

fn honest_votes(keys: &[Keypair], t: &TableId, height: u64) -> Vec<WireMessage> {
    keys.iter()
        .map(|k| WireMessage::Vote(vote(t, k.peer_id(), height, VoteKind::Prevote, 1).sign(k)))
        .collect()
}

fn raw_vote(key: &RawKey, t: &TableId, height: u64, r_torsion: usize, small: bool) -> SignedVote {
    let v = vote(t, key.peer, height, VoteKind::Precommit, 2);
    let signature = raw_sign(key, &v.signing_bytes(), height, r_torsion, small);
    SignedVote { vote: v, signature }
}

#[test]
fn small_order_r_is_rejected_as_verify_strict_would() {
    let t = TableId::from_name("torsion");
    let byzantine = raw_key(1, 0);
    let (keys, seats) = with_raw_signer(&byzantine);
    let mut raw_batch_accepted = 0;
    for torsion in 0..8 {
        // R is the small-order point itself and s = k·a: the defect is −R, which the batch
        // equation kills whenever z·R = 0 (always for the identity).
        let forged = raw_vote(&byzantine, &t, 40 + torsion as u64, torsion, true);
        let bytes = forged.vote.signing_bytes();
        assert!(!strict_ok(&byzantine.peer, &bytes, &forged.signature));
        let mut messages = honest_votes(&keys, &t, 40);
        let raw_keys: Vec<VerifyingKey> = messages
            .iter()
            .filter_map(|m| m.author())
            .chain([byzantine.peer])
            .map(|p| p.verifying_key().expect("key"))
            .collect();
        let mut raw_messages: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| match m {
                WireMessage::Vote(v) => v.vote.signing_bytes(),
                _ => Vec::new(),
            })
            .collect();
        raw_messages.push(bytes.clone());
        let mut raw_signatures: Vec<Signature> = messages
            .iter()
            .filter_map(|m| match m {
                WireMessage::Vote(v) => Some(v.signature),
                _ => None,
            })
            .collect();
        raw_signatures.push(forged.signature);
        let refs: Vec<&[u8]> = raw_messages.iter().map(Vec::as_slice).collect();
        if ed25519_dalek::verify_batch(&refs, &raw_signatures, &raw_keys).is_ok() {
            raw_batch_accepted += 1;
        }
        messages.push(WireMessage::Vote(forged));
        let results = verify_batch(messages.clone(), &t, &seats, None);
        assert_eq!(results, one_by_one(&messages, &t, &seats));
        assert_eq!(
            results.last(),
            Some(&Err(VerifyError::BadSignature(byzantine.peer)))
        );
        assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    }
    // The raw batch equation does accept some of them: the pre-check is what refuses them.
    assert!(raw_batch_accepted >= 1, "{raw_batch_accepted}");
}

#[test]
fn a_mixed_order_key_is_verified_as_verify_strict_would() {
    let t = TableId::from_name("torsion");
    // An order-8 component on the key: strict accepts iff 8 | k, the batch iff 8 | z·k.
    let byzantine = raw_key(2, 1);
    let (keys, seats) = with_raw_signer(&byzantine);
    assert!(!seats.batchable(&byzantine.peer));
    assert!(keys.iter().all(|k| seats.batchable(&k.peer_id())));
    let mut disagreements = 0;
    for height in 0..48 {
        let signed = raw_vote(&byzantine, &t, height, 0, false);
        let bytes = signed.vote.signing_bytes();
        let strict = strict_ok(&byzantine.peer, &bytes, &signed.signature);
        let mut messages = honest_votes(&keys, &t, height);
        let mut refs: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| match m {
                WireMessage::Vote(v) => v.vote.signing_bytes(),
                _ => Vec::new(),
            })
            .collect();
        refs.push(bytes);
        let mut signatures: Vec<Signature> = messages
            .iter()
            .filter_map(|m| match m {
                WireMessage::Vote(v) => Some(v.signature),
                _ => None,
            })
            .collect();
        signatures.push(signed.signature);
        let raw_keys: Vec<VerifyingKey> = keys
            .iter()
            .map(|k| k.peer_id())
            .chain([byzantine.peer])
            .map(|p| p.verifying_key().expect("key"))
            .collect();
        let slices: Vec<&[u8]> = refs.iter().map(Vec::as_slice).collect();
        let raw = ed25519_dalek::verify_batch(&slices, &signatures, &raw_keys).is_ok();
        if raw != strict {
            disagreements += 1;
        }
        messages.push(WireMessage::Vote(signed));
        let results = verify_batch(messages.clone(), &t, &seats, None);
        assert_eq!(
            results,
            one_by_one(&messages, &t, &seats),
            "height {height}"
        );
        assert_eq!(results.last().map(Result::is_ok), Some(strict));
    }
    // The raw batch equation disagrees with verify_strict on such keys: routing them to
    // verify_strict is what keeps the results equal.
    assert!(disagreements >= 1, "{disagreements}");
}

#[test]
fn a_mixed_order_r_is_the_documented_residual() {
    let t = TableId::from_name("torsion");
    let byzantine = raw_key(3, 0);
    let (keys, seats) = with_raw_signer(&byzantine);
    let mut accepted = 0;
    for height in 0..32u64 {
        let torsion = 1 + (height as usize % 7);
        let signed = raw_vote(&byzantine, &t, height, torsion, false);
        let bytes = signed.vote.signing_bytes();
        assert!(!strict_ok(&byzantine.peer, &bytes, &signed.signature));
        let mut messages = honest_votes(&keys, &t, height);
        messages.push(WireMessage::Vote(signed.clone()));
        let mut cache = SignatureCache::default();
        let results = verify_batch(messages.clone(), &t, &seats, Some(&mut cache));
        // Honest messages are never refused because of it.
        assert!(results[..keys.len()].iter().all(Result::is_ok));
        // The ambiguous message is accepted or refused naming its own signer.
        match results.last() {
            Some(Ok(_)) => accepted += 1,
            Some(Err(e)) => assert_eq!(e, &VerifyError::BadSignature(byzantine.peer)),
            None => panic!("no result"),
        }
        // A batch acceptance never leaks into the strict paths.
        assert!(signed
            .clone()
            .verify_cached(&t, &seats, Some(&mut cache))
            .is_err());
    }
    // Not asserted either way (it depends on the transcript): printed for the record.
    eprintln!("mixed-order R accepted by the batch in {accepted} of 32 batches");
}

#[test]
fn the_engine_emits_only_strictly_valid_evidence() {
    let byzantine = raw_key(4, 0);
    let (keys, seats) = with_raw_signer(&byzantine);
    let seats = Arc::new(seats);
    let table = TableId::from_name("torsion");
    let valid = |_: Height, _: &Value| true;
    let conflicting = |ambiguous_first: bool| {
        let mut engine = Engine::new(EngineConfig::new(table), keys[0].clone(), seats.clone());
        engine
            .handle(Input::StartHeight(Height(1)), &valid)
            .expect("start");
        // Two prevotes of the Byzantine signer for different values at (1, 0).
        let first = vote(&table, byzantine.peer, 1, VoteKind::Prevote, 1);
        let torsion = if ambiguous_first { 4 } else { 0 };
        let first = SignedVote {
            signature: raw_sign(&byzantine, &first.signing_bytes(), 1, torsion, false),
            vote: first,
        };
        let second = vote(&table, byzantine.peer, 1, VoteKind::Prevote, 2);
        let second = SignedVote {
            signature: raw_sign(&byzantine, &second.signing_bytes(), 2, 0, false),
            vote: second,
        };
        let mut outputs = Vec::new();
        for v in [first, second] {
            // As a host that accepted both (a batch may accept the ambiguous one).
            let input = Input::Message(VerifiedMessage::Vote(Verified::batch(v)));
            outputs.extend(engine.handle(input, &valid).expect("handled"));
        }
        outputs
            .into_iter()
            .filter(|o| matches!(o, Output::Evidence(_)))
            .count()
    };
    assert_eq!(conflicting(false), 1);
    assert_eq!(conflicting(true), 0);
}

// --- Property: batch results equal one-by-one results over random mixes. ---

/// Ways to spoil a message (0 leaves it intact).
const SPOILERS: u8 = 13;

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

/// The signer's own signature with the small-order `R = T` and `s = k·a`: `verify_strict`
/// refuses it, the raw batch equation accepts it whenever `z·T = 0`.
fn small_order_forgery(key: &Keypair, message: &[u8], torsion: usize) -> Signature {
    let raw = RawKey {
        a: secret_scalar(key),
        peer: key.peer_id(),
    };
    raw_sign(&raw, message, 0, torsion, true)
}

fn spoil(t: &Table, message: WireMessage, how: u8, pick: usize) -> WireMessage {
    let other = t.keys[pick % N].clone();
    let flip_sig = |s: &Signature, byte: usize| {
        let mut b = s.to_bytes();
        b[byte % 64] ^= 1 << (pick % 8);
        Signature::from_bytes(&b)
    };
    let small_r = |s: &Signature| {
        let mut b = s.to_bytes();
        b[..32].copy_from_slice(&EIGHT_TORSION[pick % 8].compress().to_bytes());
        Signature::from_bytes(&b)
    };
    let big_s = |s: &Signature| {
        // s + ℓ: same residue, non-canonical.
        let mut b = s.to_bytes();
        let mut carry = 0u16;
        for (i, l) in GROUP_ORDER.iter().enumerate() {
            let sum = u16::from(b[32 + i]) + u16::from(*l) + carry;
            b[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        Signature::from_bytes(&b)
    };
    let non_canonical_r = |s: &Signature| {
        let mut b = s.to_bytes();
        b[..32].copy_from_slice(&SMALL_ORDER_ENCODINGS[5 + pick % 2]);
        b[0] = b[0].wrapping_add(2 + (pick % 16) as u8);
        Signature::from_bytes(&b)
    };
    let outsider = Keypair::from_seed([250; 32]);
    match message {
        WireMessage::Vote(mut v) => {
            match how {
                1 => v.signature = flip_sig(&v.signature, pick),
                2 => v.vote.height = Height(v.vote.height.0 + 1),
                3 => v.signature = other.sign(&v.vote.signing_bytes()),
                4 => {
                    v.vote.signer = outsider.peer_id();
                    v.signature = outsider.sign(&v.vote.signing_bytes());
                }
                5 => v.vote.table = TableId::from_name("elsewhere"),
                6 => v.signature = small_r(&v.signature),
                7 => v.signature = big_s(&v.signature),
                8 => v.signature = non_canonical_r(&v.signature),
                9 => v.signature = flip_sig(&v.signature, 32 + pick),
                12 => {
                    if let Some(key) = t.keys.iter().find(|k| k.peer_id() == v.vote.signer) {
                        v.signature = small_order_forgery(key, &v.vote.signing_bytes(), pick % 8);
                    }
                }
                _ => {}
            }
            WireMessage::Vote(v)
        }
        WireMessage::Proposal(mut p) => {
            match how {
                1 | 9 => p.signed.signature = flip_sig(&p.signed.signature, pick),
                2 | 10 => p.value = Value::new(vec![0xee]),
                5 => p.signed.header.table = TableId::from_name("elsewhere"),
                6 => p.signed.signature = small_r(&p.signed.signature),
                7 => p.signed.signature = big_s(&p.signed.signature),
                12 => {
                    let proposer = p.signed.header.proposer;
                    if let Some(key) = t.keys.iter().find(|k| k.peer_id() == proposer) {
                        p.signed.signature =
                            small_order_forgery(key, &p.signed.header.signing_bytes(), pick % 2);
                    }
                }
                _ => {}
            }
            WireMessage::Proposal(p)
        }
        WireMessage::Status(mut s) => {
            match how {
                1 => s.signature = flip_sig(&s.signature, pick),
                2 => s.status.height = Height(s.status.height.0 + 3),
                4 => s.status.signer = outsider.peer_id(),
                _ => {}
            }
            WireMessage::Status(s)
        }
        WireMessage::Decision(mut d) => {
            let c = &mut d.certificate;
            let i = pick % c.precommits.len().max(1);
            match how {
                1 => {
                    if let Some(p) = c.precommits.get_mut(i) {
                        p.signature = flip_sig(&p.signature, pick);
                    }
                }
                2 => d.value = Value::new(vec![0xdd]),
                3 => {
                    if let Some(p) = c.precommits.get(i).cloned() {
                        c.precommits.push(p);
                    }
                }
                4 => {
                    if let Some(p) = c.precommits.get_mut(i) {
                        p.signer = outsider.peer_id();
                    }
                }
                5 => c.table = TableId::from_name("elsewhere"),
                6 => c.precommits.truncate(i.min(4)),
                7 => {
                    if let Some(p) = c.precommits.get_mut(i) {
                        p.signature = small_r(&p.signature);
                    }
                }
                8 => c.precommits.clear(),
                11 => {
                    // A bad precommit after a duplicate: the duplicate is reported.
                    if let Some(p) = c.precommits.first().cloned() {
                        c.precommits.insert(1, p);
                    }
                    if let Some(p) = c.precommits.last_mut() {
                        p.signature = flip_sig(&p.signature, 3);
                    }
                }
                _ => {}
            }
            WireMessage::Decision(d)
        }
    }
}

fn message(t: &Table, kind: u8, pick: usize, height: u64) -> WireMessage {
    let key = &t.keys[pick % N];
    match kind {
        0 | 1 => WireMessage::Vote(
            vote(
                &t.table,
                key.peer_id(),
                height,
                if kind == 0 {
                    VoteKind::Prevote
                } else {
                    VoteKind::Precommit
                },
                (pick % 3) as u8,
            )
            .sign(key),
        ),
        2 => WireMessage::Proposal(SignedProposal::sign(
            key,
            t.table,
            Height(height),
            Round(0),
            Value::new(vec![pick as u8]),
            None,
        )),
        3 => WireMessage::Status(
            Status {
                table: t.table,
                height: Height(height),
                signer: key.peer_id(),
            }
            .sign(key),
        ),
        _ => WireMessage::Decision(decision(t, height, 4 + pick % 4)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn batch_results_equal_one_by_one_results(
        specs in proptest::collection::vec(
            (0u8..5, 0usize..1000, 0u64..4, prop_oneof![3 => Just(0u8), 2 => 1u8..SPOILERS]),
            0..40,
        ),
        repeat in proptest::option::of(0usize..40),
    ) {
        let t = table();
        let mut messages: Vec<WireMessage> = specs
            .iter()
            .map(|&(kind, pick, height, how)| {
                spoil(&t, message(&t, kind, pick, height + 1), how, pick)
            })
            .collect();
        if let Some(i) = repeat {
            if let Some(m) = messages.get(i % messages.len().max(1)).cloned() {
                messages.push(m);
            }
        }
        let expected = one_by_one(&messages, &t.table, &t.seats);
        let mut cache = SignatureCache::default();
        let got = verify_batch(messages.clone(), &t.table, &t.seats, Some(&mut cache));
        prop_assert_eq!(&got, &expected);
        let got = verify_batch(messages.clone(), &t.table, &t.seats, None);
        prop_assert_eq!(&got, &expected);
    }
}
