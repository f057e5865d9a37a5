//! Inputs the fuzz targets (`fuzz/`, see README.md "Fuzzing") found wrongly handled, kept as
//! regression tests.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bitcraps_renet::netcode_wire::{kind, open, seal, Kind, WireError, MIN_PACKET_BYTES};
use bitcraps_renet::NETCODE_PROTOCOL_ID;

/// fuzz target `netcode_wire`: sequence 0 is written in no byte, so a packet sealed at sequence 0
/// with an empty body (a denial) was 17 bytes — a packet `open` and renetcode refuse as too short
/// (the minimum is 18). `seal` refuses it now; at sequence 1 the same packet seals and opens.
#[test]
fn seal_never_makes_a_packet_open_refuses() {
    let key = [5; 32];
    assert_eq!(
        seal(Kind::Denied, 0, &[], &key, NETCODE_PROTOCOL_ID),
        Err(WireError::Length)
    );
    let packet = seal(Kind::Denied, 1, &[], &key, NETCODE_PROTOCOL_ID).expect("seals");
    assert_eq!(packet.len(), MIN_PACKET_BYTES);
    assert_eq!(kind(&packet), Some(Kind::Denied));
    assert_eq!(
        open(&packet, &key, NETCODE_PROTOCOL_ID),
        Ok((Kind::Denied, 1, Vec::new()))
    );
    // A body of one byte makes sequence 0 long enough.
    let packet = seal(Kind::Payload, 0, &[7], &key, NETCODE_PROTOCOL_ID).expect("seals");
    assert_eq!(
        open(&packet, &key, NETCODE_PROTOCOL_ID),
        Ok((Kind::Payload, 0, vec![7]))
    );
}
