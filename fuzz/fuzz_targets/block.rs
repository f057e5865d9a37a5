//! Blocks (`bitcraps_game::Block::decode`), as a node decodes a proposed or caught-up value, and
//! applied to a table state. The first byte picks the state (genesis or one of the heights of an
//! honest two-roll game); the rest is the block, whose height and parent hash are set to fit that
//! state (what a Byzantine proposer would do). The block must round-trip; applying it must
//! answer, never panic, and be deterministic; the table's accounting identity must hold after
//! it; and a block applied with signature checks must give exactly what it gives without them.
//!
//! Operations are applied without their signature checks first
//! (`OpSignatures::AlreadyChecked`): a seated Byzantine player can sign any operation, so the
//! rules must hold for every operation, signed or not — the fuzzer cannot forge signatures.
#![no_main]

use bitcraps_fuzz::{check_round_trip, fixture};
use bitcraps_game::{Block, OpSignatures};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let Ok(mut block) = Block::decode(bytes) else {
        return;
    };
    check_round_trip("block", bytes, &block, Block::encode, Block::decode);
    let f = fixture();
    let state = &f.states[usize::from(pick) % f.states.len()];
    block.height = state.height().wrapping_add(1);
    block.prev_state_hash = state.hash();
    let unchecked = state.apply_block_with(&block, OpSignatures::AlreadyChecked);
    if let Ok((next, events)) = &unchecked {
        assert_eq!(next.height(), block.height);
        if let Err(e) = next.check_accounting() {
            panic!("accounting identity broken after a block: {e:?}");
        }
        let (again, again_events) = state
            .apply_block_with(&block, OpSignatures::AlreadyChecked)
            .unwrap_or_else(|e| panic!("the same block applied twice: once Ok, then {e:?}"));
        assert_eq!(
            again.hash(),
            next.hash(),
            "applying a block is not deterministic"
        );
        assert_eq!(&again_events, events);
    }
    if let Ok((checked, _)) = state.apply_block(&block) {
        match unchecked {
            Ok((next, _)) => assert_eq!(checked.hash(), next.hash()),
            Err(e) => panic!("valid with signature checks, refused without: {e:?}"),
        }
    }
});
