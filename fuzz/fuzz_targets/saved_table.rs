//! The saved table file (`tables/<id>.genesis`: `bitcraps_renet::SavedTable::decode`), as a
//! `--join` after a crash reads it from the data directory: what decodes must round-trip; its
//! genesis is checked as the binary checks it, and a well-formed one must yield a player
//! configuration or a typed refusal, never a panic.
#![no_main]

use bitcraps_fuzz::{check_round_trip, fixture};
use bitcraps_renet::SavedTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(saved) = SavedTable::decode(data) else {
        return;
    };
    check_round_trip(
        "saved table",
        data,
        &saved,
        SavedTable::encode,
        SavedTable::decode,
    );
    let genesis = &saved.genesis;
    let _ = genesis.describe_seats();
    if genesis.check_running(&genesis.terms.registry_hash).is_ok() {
        let key = fixture().keys[0].clone();
        let _ = genesis.newcomer_config(key).map_err(|e| e.to_string());
    }
});
