//! Messages on the wire: round trips, and malformed bytes that must never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::codec::MAX_MESSAGE_BYTES;
use bitcraps_consensus::*;
use common::*;
use proptest::prelude::*;

/// One message of each kind, validly signed: a proposal, a vote, a decision.
fn samples() -> (Net, Vec<WireMessage>) {
    let mut net = Net::new(4);
    let log = net.run_height(&[0, 1, 2, 3], H);
    let d = decisions(&by(&log, 0)).remove(0);
    let decision = WireMessage::Decision(Decision {
        certificate: d.certificate,
        value: d.value,
    });
    let messages = vec![
        net.proposal_at(Round(0), &val("a proposed value"), None),
        net.proposal_at(Round(2), &Value::new(vec![7u8; 300]), Some(Round(1))),
        net.vote(2, H, Round(3), VoteKind::Prevote, Some(&val("v"))),
        net.vote(
            3,
            Height(u64::MAX),
            Round(u32::MAX),
            VoteKind::Precommit,
            None,
        ),
        decision,
    ];
    (net, messages)
}

#[test]
fn every_message_kind_round_trips_and_still_verifies() {
    let (net, messages) = samples();
    for m in messages {
        let bytes = m.encode().unwrap();
        let back = WireMessage::decode(&bytes, MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(back, m);
        back.verify(&net.table, &net.seats).unwrap();
    }
}

#[test]
fn truncated_inputs_are_malformed() {
    let (_, messages) = samples();
    for m in messages {
        let bytes = m.encode().unwrap();
        for len in 0..bytes.len() {
            assert!(
                matches!(
                    WireMessage::decode(&bytes[..len], MAX_MESSAGE_BYTES),
                    Err(DecodeError::Malformed(_))
                ),
                "prefix of {len} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let (_, messages) = samples();
    for m in messages {
        let mut bytes = m.encode().unwrap();
        bytes.extend_from_slice(&[0, 1, 2]);
        assert_eq!(
            WireMessage::decode(&bytes, MAX_MESSAGE_BYTES),
            Err(DecodeError::TrailingBytes(3))
        );
    }
}

#[test]
fn oversized_inputs_are_refused_before_decoding() {
    let (_, messages) = samples();
    let bytes = messages[1].encode().unwrap();
    assert!(bytes.len() > 300);
    assert_eq!(
        WireMessage::decode(&bytes, 100),
        Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit: 100
        })
    );
    assert!(WireMessage::decode(&bytes, bytes.len()).is_ok());
    // The hard cap applies whatever limit the caller passes.
    let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        WireMessage::decode(&huge, usize::MAX),
        Err(DecodeError::TooLarge {
            len: MAX_MESSAGE_BYTES + 1,
            limit: MAX_MESSAGE_BYTES
        })
    );
}

#[test]
fn a_value_too_large_to_send_is_an_encode_error() {
    let net = Net::new(4);
    let big = net.proposal_at(Round(0), &Value::new(vec![0u8; MAX_MESSAGE_BYTES]), None);
    assert!(big.encode().is_err());
}

#[test]
fn lying_length_prefixes_do_not_allocate_or_panic() {
    // Variant 0 (proposal) with a header, then a value length claiming 2^56 bytes.
    let (_, messages) = samples();
    let bytes = messages[0].encode().unwrap();
    let value_len = val("a proposed value").bytes().len();
    let header_len = bytes.len() - value_len - 1;
    let mut lying = bytes[..header_len].to_vec();
    lying.extend_from_slice(&[253, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert!(matches!(
        WireMessage::decode(&lying, MAX_MESSAGE_BYTES),
        Err(DecodeError::Malformed(_))
    ));
}

/// Decoding arbitrary bytes never panics, honours the limit, and whatever decodes re-encodes to
/// a message that decodes to itself.
fn check_decode(bytes: &[u8], limit: usize) -> Result<(), TestCaseError> {
    match WireMessage::decode(bytes, limit) {
        Err(DecodeError::TooLarge { len, limit: l }) => {
            prop_assert_eq!(len, bytes.len());
            prop_assert!(len > l && l == limit.min(MAX_MESSAGE_BYTES));
        }
        Err(_) => prop_assert!(bytes.len() <= limit),
        Ok(message) => {
            prop_assert!(bytes.len() <= limit);
            let again = message
                .encode()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(WireMessage::decode(&again, MAX_MESSAGE_BYTES), Ok(message));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        limit in 0usize..2048,
    ) {
        check_decode(&bytes, limit)?;
    }

    #[test]
    fn random_bytes_after_a_valid_tag_never_panic(
        tag in 0u8..4,
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut input = vec![tag];
        input.extend(bytes);
        check_decode(&input, MAX_MESSAGE_BYTES)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Flipping bits of a valid message never yields a different message that verifies: it fails
    /// to decode, fails to verify, or is the same message.
    #[test]
    fn corrupted_messages_never_verify_as_something_else(
        which in 0usize..5,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let (net, messages) = SAMPLES.with(|s| s.clone());
        let original = &messages[which];
        let mut bytes = original.encode().unwrap();
        for (index, bit) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Ok(decoded) = WireMessage::decode(&bytes, MAX_MESSAGE_BYTES) {
            if decoded.clone().verify(&net.table, &net.seats).is_ok() {
                prop_assert_eq!(&decoded, original);
            }
        }
    }
}

thread_local! {
    static SAMPLES: (SharedNet, Vec<WireMessage>) = {
        let (net, messages) = samples();
        (SharedNet { table: net.table, seats: net.seats.clone() }, messages)
    };
}

/// What verification needs of a [`Net`], cheap to clone.
#[derive(Clone)]
struct SharedNet {
    table: TableId,
    seats: std::sync::Arc<ParticipantSet>,
}
