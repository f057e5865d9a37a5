//! Signed game operations, decoded as the game plugin decodes an application payload
//! (`bevy_bitcraps::game_app::decode_op`): what decodes must round-trip; its raw form (how
//! evidence carries it) must decode back to the same operation and verify exactly when it does;
//! and the pool's admission (`GameApp::admit_op`, at genesis and at a table in play) must
//! answer, never panic.
#![no_main]

use bevy_bitcraps::game_app::{decode_op, encode_op, GameApp};
use bitcraps_fuzz::{check_round_trip, fixture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(op) = decode_op(data) else {
        return;
    };
    check_round_trip(
        "signed operation",
        data,
        &op,
        |o| encode_op(o).ok_or("encode_op refused"),
        |b| decode_op(b).ok_or("decode_op refused"),
    );
    let f = fixture();
    let verifies = op.verify(&f.op_table);
    let _ = op.check_size();
    if let Ok(raw) = op.to_raw() {
        assert_eq!(
            raw.decode().as_ref(),
            Some(&op.op),
            "raw form decodes differently"
        );
        assert_eq!(
            raw.verify(&f.op_table),
            verifies,
            "raw form verifies differently"
        );
        let _ = op.to_failed();
    }
    for state in [&f.states[0], &f.states[f.states.len() - 1]] {
        let mut game = GameApp::new(state.clone(), f.keys[0].clone());
        let _ = game.admit_op(op.clone());
    }
});
