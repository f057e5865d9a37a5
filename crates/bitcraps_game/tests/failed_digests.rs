//! Failed operations carried without their bodies (issue 12), the checks every node makes on
//! them, and tables that resume after a long idle period.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bitcraps_consensus::{Height, Keypair, ValueValidity};
use bitcraps_game::ops::{digest_signing_bytes, MAX_CUSTOM_PAYLOAD_BYTES};
use bitcraps_game::*;
use common::*;

fn block_on(state: &TableState, entries: Vec<BlockEntry>) -> Block {
    Block {
        height: state.height() + 1,
        timestamp_ms: state.timestamp_ms() + 1_000,
        prev_state_hash: state.hash(),
        ops: entries,
    }
}

fn unknown_custom(len: usize) -> Operation {
    Operation::Custom {
        name: "nobody-registered-this".into(),
        payload: vec![0xCD; len],
    }
}

fn refusal(state: &TableState, entries: Vec<BlockEntry>) -> OpError {
    match state.apply_block(&block_on(state, entries)) {
        Err(BlockError::Op { error, .. }) => *error,
        other => panic!("expected an invalid block, got {other:?}"),
    }
}

#[test]
fn a_large_refused_operation_is_carried_without_its_body() {
    let mut t = table();
    let big = t
        .sign_seat(Seat(1), unknown_custom(MAX_CUSTOM_PAYLOAD_BYTES))
        .unwrap();
    let small = t.sign_seat(Seat(1), place(BetKind::Field, 1)).unwrap();
    let built = t
        .state()
        .build_block(0, vec![big.clone(), small.clone()])
        .unwrap();
    assert_eq!(
        built.block.ops,
        vec![
            BlockEntry::Failed(big.to_failed().unwrap()),
            BlockEntry::Op(small.clone()),
        ]
    );
    assert_eq!(built.failed.len(), 2);
    assert!(matches!(built.failed[0].1, OpError::UnknownCustom { .. }));
    let len = built.block.encode().unwrap().len();
    assert!(len < 600, "{len} bytes for two failed operations");
    // Every node agrees, and sees the same events.
    let (state, events) = t.state().apply_block(&built.block).unwrap();
    assert_eq!(state.hash(), built.state.hash());
    assert_eq!(events, built.events);
    let peer = big.author;
    assert_eq!(state.next_nonce(&peer), 3);
    let reasons: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::OperationFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0].contains("without its"), "{}", reasons[0]);
    assert!(reasons[1].contains("minimum"), "{}", reasons[1]);
    // The same operation carried in full is accepted too (and checked).
    let (full, _) = t
        .state()
        .apply_block(&Block {
            ops: vec![big.into(), small.into()],
            ..built.block.clone()
        })
        .unwrap();
    assert_eq!(full.hash(), state.hash());
}

#[test]
fn a_proposer_cannot_burn_a_small_operation_without_its_body() {
    let mut t = table();
    // A valid bet and a commitment before betting closed (it could pass later).
    let bet = t.sign_seat(Seat(2), place(BetKind::Field, 10)).unwrap();
    assert!(matches!(
        refusal(t.state(), vec![bet.to_failed().unwrap().into()]),
        OpError::FailedBodyWithheld { peer, .. } if peer == bet.author
    ));
    let c = dice::commit(&t.table_id().0, 1, Seat(3), &dice::Nonce([3; 32]));
    let commit = t
        .sign_seat(
            Seat(3),
            Operation::Commit {
                roll: 1,
                seat: Seat(3),
                commitment: c,
            },
        )
        .unwrap();
    assert!(matches!(
        refusal(t.state(), vec![commit.to_failed().unwrap().into()]),
        OpError::FailedBodyWithheld { .. }
    ));
}

#[test]
fn a_failed_entry_must_be_signed_seated_in_order_and_within_the_size_limit() {
    let mut t = table();
    let big = t
        .sign_seat(Seat(1), unknown_custom(MAX_CUSTOM_PAYLOAD_BYTES))
        .unwrap();
    let failed = big.to_failed().unwrap();
    let mut tampered = failed.clone();
    tampered.body.hash[0] ^= 1;
    assert!(matches!(
        refusal(t.state(), vec![tampered.into()]),
        OpError::BadSignature { .. }
    ));
    let mut later = failed.clone();
    later.nonce = 2;
    assert!(matches!(
        refusal(t.state(), vec![later.into()]),
        OpError::WrongNonce { .. }
    ));
    // An outsider's operation: no nonce of a seated player to spend.
    let outsider = Keypair::from_seed([77; 32]);
    let theirs = SignedOp::sign(
        &outsider,
        &t.table_id(),
        1,
        unknown_custom(MAX_CUSTOM_PAYLOAD_BYTES),
    )
    .unwrap();
    assert!(matches!(
        refusal(t.state(), vec![theirs.to_failed().unwrap().into()]),
        OpError::NotSeated { .. }
    ));
    // A signed body length no operation can have.
    let key = t.key(Seat(1)).unwrap().clone();
    let mut huge = failed.clone();
    huge.body.len = u32::try_from(MAX_OP_BYTES).unwrap() + 1;
    huge.signature = key.sign(&digest_signing_bytes(
        &t.table_id(),
        huge.kind,
        &huge.author,
        huge.nonce,
        &huge.body,
    ));
    assert!(huge.verify(&t.table_id()));
    assert!(matches!(
        refusal(t.state(), vec![huge.into()]),
        OpError::OpTooLarge { .. }
    ));
    // The genuine one is fine.
    t.state()
        .apply_block(&block_on(t.state(), vec![failed.into()]))
        .unwrap();
}

#[test]
fn a_flooding_player_does_not_crowd_out_the_others() {
    let mut t = table();
    let mut pool: Vec<SignedOp> = (0..1_100)
        .map(|_| t.sign_seat(Seat(0), place(BetKind::Field, 1)).unwrap())
        .collect();
    let bet = t.sign_seat(Seat(3), place(BetKind::Field, 10)).unwrap();
    pool.push(bet.clone());
    let built = t.state().build_block(0, pool).unwrap();
    assert_eq!(built.block.ops.len(), MAX_OPS_PER_BLOCK);
    assert!(built.block.ops.contains(&BlockEntry::Op(bet)));
}

#[test]
fn a_table_idle_for_years_resumes_one_step_at_a_time() {
    const YEAR_MS: u64 = 365 * 24 * 3_600 * 1_000;
    let t = table();
    let mut chain = Chain::new(t.state().clone());
    let now = t.state().timestamp_ms() + 2 * YEAR_MS + YEAR_MS / 2;
    let mut steps = 0;
    loop {
        let parent = chain.latest().clone();
        let built = parent.build_block(now, vec![]).unwrap();
        let value = built.block.to_value().unwrap();
        let height = Height(parent.height() + 1);
        let validity = chain.validity(Some(now));
        assert!(validity.is_valid(height, &value));
        assert!(validity.acceptable_now(height, &value));
        if built.block.timestamp_ms == now {
            break;
        }
        // A catch-up block: the largest step, behind the clock.
        assert_eq!(
            built.block.timestamp_ms,
            parent.timestamp_ms() + MAX_BLOCK_TIME_STEP_MS
        );
        assert!(!acceptable_now(&value, now));
        // Any other time that far behind the clock is refused.
        let mut early = built.block.clone();
        early.timestamp_ms -= 1;
        assert!(!validity.acceptable_now(height, &early.to_value().unwrap()));
        chain.apply_decided(height.0, &value).unwrap();
        steps += 1;
        assert!(steps <= 3);
    }
    assert_eq!(steps, 2);
}
