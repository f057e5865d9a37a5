//! Journal records (`bitcraps_journal::record_check`), as the journal reads them back from disk.
//! The first byte picks the record kind, the second its key (height, sequence or nonce), the
//! rest is the payload, sealed with a valid checksum so the fuzzer reaches the decoders (the raw
//! input is also checked as a stored record, which exercises the envelope checks). What decodes
//! must re-encode no longer and stably; a decoded table config must start a table or be refused,
//! never panic.
#![no_main]

use std::sync::Arc;

use bitcraps_consensus::codec;
use bitcraps_game::{Registry, TableConfig, TableState};
use bitcraps_journal::record_check::RecordKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [pick, key, payload @ ..] = data else {
        return;
    };
    let kind = RecordKind::ALL[usize::from(*pick) % RecordKind::ALL.len()];
    let key = u64::from(*key);
    let _ = kind.check(key, data);
    let Ok(canonical) = kind.check(key, &kind.seal(key, payload)) else {
        return;
    };
    assert!(
        canonical.len() <= payload.len(),
        "{kind:?}: re-encodes in {} bytes, longer than {}",
        canonical.len(),
        payload.len()
    );
    assert_eq!(
        kind.check(key, &kind.seal(key, &canonical)).as_ref(),
        Ok(&canonical),
        "{kind:?}: the canonical encoding is not stable"
    );
    if kind == RecordKind::Config {
        if let Ok(config) = codec::decode::<TableConfig>(&canonical, codec::MAX_MESSAGE_BYTES) {
            let _ =
                TableState::genesis(config, Arc::new(Registry::new())).map_err(|e| e.to_string());
        }
    }
});
