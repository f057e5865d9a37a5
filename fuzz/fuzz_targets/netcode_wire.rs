//! The netcode packets the relay's gate reads itself, before netcode, from any UDP source
//! (`bitcraps_renet::netcode_wire`). The first byte picks what the rest is:
//!
//! - 0: a raw datagram — its kind, a connection request's header and token, any other packet
//!   opened with the all-zero key; nothing may panic;
//! - 1: the plaintext of a connect token, sealed with the zero key as an unsecure client would
//!   (anybody can), so the fuzzer reaches the token's parser: a token that parses must come back
//!   the same from `connection_request` (a round trip);
//! - 2: a packet kind, sequence and body: `open(seal(x)) == x`, and the packet's kind peeks
//!   right; a challenge body reads back as written.
//!
//! Its seeds (`fuzz/seeds/netcode_wire/`) are made by hand, one or two of each kind: connect
//! token plaintexts laid out as the module documents, packets to seal, raw datagrams.
#![no_main]

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};

use bitcraps_renet::netcode_wire::{
    challenge_body, connection_request, kind, open, open_token, read_challenge, request_header,
    seal, Kind, CHALLENGE_TOKEN_BYTES, KEY_BYTES, MAC_BYTES, PRIVATE_TOKEN_BYTES, REQUEST_BYTES,
    VERSION_INFO,
};
use bitcraps_renet::NETCODE_PROTOCOL_ID;
use libfuzzer_sys::fuzz_target;

const EXPIRE: u64 = 2_000_000_000;
const NOW: u64 = 1_000_000_000;
const ZERO_KEY: [u8; KEY_BYTES] = [0; KEY_BYTES];
const KINDS: [Kind; 6] = [
    Kind::Denied,
    Kind::Challenge,
    Kind::Response,
    Kind::KeepAlive,
    Kind::Payload,
    Kind::Disconnect,
];

fn raw(datagram: &[u8]) {
    match kind(datagram) {
        Some(Kind::Request) => {
            if let Ok(header) = request_header(datagram, NETCODE_PROTOCOL_ID, NOW) {
                let _ = open_token(datagram, &header);
            }
        }
        Some(_) => {
            let _ = open(datagram, &ZERO_KEY, NETCODE_PROTOCOL_ID);
        }
        None => {}
    }
}

/// A connection request whose token plaintext is `plain` (cut or zero-padded), sealed with the
/// zero key.
fn request_with_token(plain: &[u8]) -> [u8; REQUEST_BYTES] {
    let mut packet = [0u8; REQUEST_BYTES];
    packet[1..14].copy_from_slice(VERSION_INFO);
    packet[14..22].copy_from_slice(&NETCODE_PROTOCOL_ID.to_le_bytes());
    packet[22..30].copy_from_slice(&EXPIRE.to_le_bytes());
    packet[30..54].copy_from_slice(&[9; 24]);
    let data = &mut packet[54..];
    let (text, tag_out) = data.split_at_mut(PRIVATE_TOKEN_BYTES - MAC_BYTES);
    let n = plain.len().min(text.len());
    text[..n].copy_from_slice(&plain[..n]);
    let mut aad = [0u8; 29];
    aad[..13].copy_from_slice(VERSION_INFO);
    aad[13..21].copy_from_slice(&NETCODE_PROTOCOL_ID.to_le_bytes());
    aad[21..29].copy_from_slice(&EXPIRE.to_le_bytes());
    match XChaCha20Poly1305::new(Key::from_slice(&ZERO_KEY)).encrypt_in_place_detached(
        XNonce::from_slice(&[9; 24]),
        &aad,
        text,
    ) {
        Ok(tag) => tag_out.copy_from_slice(&tag),
        Err(e) => panic!("sealing a token: {e:?}"),
    }
    packet
}

fn token(plain: &[u8]) {
    let packet = request_with_token(plain);
    assert_eq!(kind(&packet), Some(Kind::Request));
    let header = match request_header(&packet, NETCODE_PROTOCOL_ID, NOW) {
        Ok(header) => header,
        Err(e) => panic!("a well-formed request header refused: {e:?}"),
    };
    let Ok(token) = open_token(&packet, &header) else {
        return;
    };
    let server = "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
    let again = connection_request(NETCODE_PROTOCOL_ID, EXPIRE, &[3; 24], &token, server)
        .unwrap_or_else(|e| panic!("a parsed token does not make a request: {e:?}"));
    let header = request_header(&again, NETCODE_PROTOCOL_ID, NOW)
        .unwrap_or_else(|e| panic!("our own request's header refused: {e:?}"));
    assert_eq!(open_token(&again, &header).ok(), Some(token));
}

fn sealed(data: &[u8]) {
    let [pick, rest @ ..] = data else {
        return;
    };
    let packet_kind = KINDS[usize::from(*pick) % KINDS.len()];
    let mut sequence = [0u8; 8];
    let n = rest.len().min(8);
    sequence[..n].copy_from_slice(&rest[..n]);
    let sequence = u64::from_le_bytes(sequence);
    let body = &rest[n..];
    let key = [5; KEY_BYTES];
    if let Ok(packet) = seal(packet_kind, sequence, body, &key, NETCODE_PROTOCOL_ID) {
        assert_eq!(kind(&packet), Some(packet_kind));
        let opened = open(&packet, &key, NETCODE_PROTOCOL_ID)
            .unwrap_or_else(|e| panic!("a packet we sealed does not open: {e:?}"));
        assert_eq!(opened, (packet_kind, sequence, body.to_vec()));
        assert!(open(&packet, &ZERO_KEY, NETCODE_PROTOCOL_ID).is_err());
    }
    if body.len() >= CHALLENGE_TOKEN_BYTES {
        let mut challenge = [0u8; CHALLENGE_TOKEN_BYTES];
        challenge.copy_from_slice(&body[..CHALLENGE_TOKEN_BYTES]);
        let read = read_challenge(&challenge_body(sequence, &challenge));
        assert_eq!(read.ok(), Some((sequence, challenge)));
    }
    let _ = read_challenge(body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => raw(rest),
        1 => token(rest),
        _ => sealed(rest),
    }
});
