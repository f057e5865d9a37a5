//! Consensus wire messages (`bitcraps_consensus::WireMessage::decode`), as a node decodes what a
//! peer sends: decode with the codec's limit; what decodes must round-trip, and verifying it
//! against the table's participants must not panic (a verified message goes back to the same
//! wire form).
#![no_main]

use bitcraps_consensus::codec::MAX_MESSAGE_BYTES;
use bitcraps_consensus::{SignatureCache, WireMessage};
use bitcraps_fuzz::{check_round_trip, fixture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = WireMessage::decode(data, MAX_MESSAGE_BYTES) else {
        return;
    };
    check_round_trip("wire message", data, &message, WireMessage::encode, |b| {
        WireMessage::decode(b, MAX_MESSAGE_BYTES)
    });
    let (height, _, author) = (message.height(), message.round(), message.author());
    let f = fixture();
    let mut cache = SignatureCache::new(16);
    if let Ok(verified) =
        message
            .clone()
            .verify_cached(&f.consensus_table, &f.participants, Some(&mut cache))
    {
        assert_eq!(verified.height(), height);
        assert_eq!(verified.author(), author);
        assert_eq!(verified.to_wire(), message);
    }
});
