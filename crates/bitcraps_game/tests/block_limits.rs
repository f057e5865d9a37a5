//! Size and time limits of operations and blocks (issue 12): one player cannot stop every
//! proposer with large failing operations, every block a proposer builds encodes within the
//! relay's frame, and block time cannot be pushed to the end of time.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bitcraps_consensus::{codec, Keypair};
use bitcraps_game::*;
use common::*;

/// The relay's frame (crates/bitcraps_renet `max_message_bytes`), which every proposal must fit.
const RELAY_FRAME_BYTES: usize = 256 * 1024;

/// A block of `ops` on top of `state`, `step_ms` after it.
fn block_on(state: &TableState, step_ms: u64, ops: Vec<SignedOp>) -> Block {
    Block {
        height: state.height() + 1,
        timestamp_ms: state.timestamp_ms().saturating_add(step_ms),
        prev_state_hash: state.hash(),
        ops: ops.into_iter().map(Into::into).collect(),
    }
}

/// A custom operation of an extension nobody registered: refused for good, so carried as failed.
fn unknown_custom(len: usize) -> Operation {
    Operation::Custom {
        name: "nobody-registered-this".into(),
        payload: vec![0xAB; len],
    }
}

#[test]
fn a_flood_of_large_failing_operations_never_stops_the_proposer() {
    let mut t = table();
    let spammer = t.state().seat(Seat(1)).unwrap().peer;
    let flood: Vec<SignedOp> = (0..300)
        .map(|_| {
            t.sign_seat(Seat(1), unknown_custom(ops::MAX_CUSTOM_PAYLOAD_BYTES))
                .unwrap()
        })
        .collect();
    // An honest player's bet waits in the same pool.
    let bet = t.sign_seat(Seat(2), place(BetKind::Field, 10)).unwrap();
    let mut pool = flood.clone();
    pool.push(bet.clone());
    let mut state = t.state().clone();
    let mut blocks = 0;
    while !pool.is_empty() {
        blocks += 1;
        assert!(blocks <= 10, "the flood was not carried within 10 blocks");
        let built = state
            .build_block(state.timestamp_ms() + 1_000, pool.clone())
            .expect("a proposer can always build a block");
        let value = built
            .block
            .to_value()
            .expect("a proposer can always propose what it built");
        assert!(
            value.bytes().len() <= MAX_BLOCK_BYTES,
            "block of {} bytes",
            value.bytes().len()
        );
        assert!(value.bytes().len() < RELAY_FRAME_BYTES);
        assert!(
            !built.block.ops.is_empty(),
            "an empty block with a full pool"
        );
        if blocks == 1 {
            // The honest bet is not crowded out, and the flood goes in without its payloads.
            assert!(built.block.ops.contains(&BlockEntry::Op(bet.clone())));
            assert!(built.block.ops.iter().any(BlockEntry::is_without_body));
        }
        let (next, _) = state.apply_block(&built.block).expect("valid everywhere");
        assert_eq!(next.hash(), built.state.hash());
        state = next;
        pool.retain(|op| !state.is_stale(op));
    }
    // Every failing operation was carried (its nonce spent), and the bet was placed.
    assert_eq!(state.next_nonce(&spammer), 301);
    assert_eq!(state.bets().len(), 1);
    state.check_accounting().unwrap();
}

#[test]
fn an_oversize_operation_is_refused_at_signing() {
    let t = table();
    let key = t.key(Seat(1)).unwrap().clone();
    let op = unknown_custom(MAX_OP_BYTES);
    let error = SignedOp::sign(&key, &t.table_id(), 1, op).expect_err("oversize");
    match error {
        SignError::TooLarge { author, len, max } => {
            assert_eq!(author, key.peer_id());
            assert!(len > max && max == MAX_OP_BYTES, "{len} > {max}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Just under the limit signs.
    let fits = unknown_custom(MAX_OP_BYTES - 200);
    let signed = SignedOp::sign(&key, &t.table_id(), 1, fits).unwrap();
    assert!(signed.encoded_len().unwrap() <= MAX_OP_BYTES);
    assert!(signed.check_size().is_ok());
}

/// Signs `op` without the size check (what a modified client could do).
fn sign_unchecked(key: &Keypair, t: &driver::LocalTable, nonce: u64, op: Operation) -> SignedOp {
    let author = key.peer_id();
    let body = codec::encode(&op).unwrap();
    let bytes = ops::signing_bytes(&t.table_id(), op.kind(), &author, nonce, &body);
    SignedOp {
        author,
        nonce,
        op,
        signature: key.sign(&bytes),
    }
}

#[test]
fn an_oversize_operation_is_refused_at_admission_and_in_blocks() {
    let t = table();
    let key = t.key(Seat(1)).unwrap().clone();
    let huge = sign_unchecked(&key, &t, 1, unknown_custom(MAX_OP_BYTES + 1));
    assert!(huge.verify(&t.table_id()), "validly signed, only too large");
    match huge.check_size() {
        Err(OpError::OpTooLarge { peer, len, max }) => {
            assert_eq!(peer, key.peer_id());
            assert!(len > max);
        }
        other => panic!("expected OpTooLarge, got {other:?}"),
    }
    // A block carrying it is invalid (not even as failed), and a proposer leaves it out.
    let block = block_on(t.state(), 1_000, vec![huge.clone()]);
    match t.state().apply_block(&block) {
        Err(BlockError::Op { author, error, .. }) => {
            assert_eq!(author, key.peer_id());
            assert!(matches!(*error, OpError::OpTooLarge { .. }), "{error}");
        }
        other => panic!("expected an invalid block, got {other:?}"),
    }
    let built = t
        .state()
        .build_block(t.state().timestamp_ms() + 1_000, vec![huge])
        .unwrap();
    assert!(built.block.ops.is_empty());
    assert!(matches!(built.rejected[0].1, OpError::OpTooLarge { .. }));
}

#[test]
fn a_block_over_the_byte_limit_is_invalid() {
    let mut t = table();
    // Each operation is within its own limit, all of them together are not: 70 × ~4.2 kB.
    let ops: Vec<SignedOp> = (0..70)
        .map(|_| {
            t.sign_seat(Seat(1), unknown_custom(ops::MAX_CUSTOM_PAYLOAD_BYTES))
                .unwrap()
        })
        .collect();
    let block = block_on(t.state(), 1_000, ops.clone());
    let len = block.encode().unwrap().len();
    assert!(
        len > MAX_BLOCK_BYTES && len < codec::MAX_MESSAGE_BYTES,
        "{len}"
    );
    match t.state().apply_block(&block) {
        Err(BlockError::TooLarge { len: got, max }) => {
            assert_eq!((got, max), (len, MAX_BLOCK_BYTES));
        }
        other => panic!("expected a block too large, got {other:?}"),
    }
    // The first 50 of them fit.
    let block = block_on(t.state(), 1_000, ops[..50].to_vec());
    assert!(block.encode().unwrap().len() <= MAX_BLOCK_BYTES);
    t.state().apply_block(&block).unwrap();
}

#[test]
fn a_block_at_the_end_of_time_is_invalid() {
    let t = table();
    let state = t.state();
    let mut end = block_on(state, 0, vec![]);
    end.timestamp_ms = u64::MAX;
    assert!(matches!(
        state.apply_block(&end),
        Err(BlockError::TimestampTooFar { .. })
    ));
    let leap = block_on(state, MAX_BLOCK_TIME_STEP_MS + 1, vec![]);
    assert!(matches!(
        state.apply_block(&leap),
        Err(BlockError::TimestampTooFar { .. })
    ));
    // The largest step is fine.
    state
        .apply_block(&block_on(state, MAX_BLOCK_TIME_STEP_MS, vec![]))
        .unwrap();
}

#[test]
fn an_honest_block_after_a_long_idle_period_is_valid() {
    const DAY_MS: u64 = 24 * 3_600 * 1_000;
    let t = table();
    let state = t.state();
    // A table left alone for a weekend, then for a month: the next block is stamped with the
    // proposer's clock and every node accepts it.
    for idle in [2 * DAY_MS, 30 * DAY_MS] {
        let now = state.timestamp_ms() + idle;
        let built = state.build_block(now, vec![]).unwrap();
        assert_eq!(built.block.timestamp_ms, now);
        let value = built.block.to_value().unwrap();
        assert!(acceptable_now(&value, now));
        state.apply_block(&built.block).unwrap();
    }
}
