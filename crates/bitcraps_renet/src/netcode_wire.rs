//! The few netcode 1.02 packets the relay's gate ([`crate::gate`]) reads and writes itself, byte
//! for byte as renetcode 2 does (the standard: <https://github.com/networkprotocol/netcode>).
//!
//! The relay runs netcode with `ServerAuthentication::Unsecure`: a connect token is sealed with
//! the all-zero key, so anybody can make one — and the gate can open one. That is what lets it
//! answer a connection request itself (a challenge sealed with the token's server-to-client key)
//! and hand netcode only the players whose address answered (see [`crate::gate`]).
//!
//! Layouts (little endian):
//! - connection request (1078 bytes, not sealed): prefix 0, version info (13), protocol id (8),
//!   expire timestamp (8), nonce (24), private token (1024, XChaCha20-Poly1305 under the zero key,
//!   additional data version ‖ protocol ‖ expire): client id (8), timeout seconds (i32), server
//!   addresses (count u32, then type, IP, port each), client-to-server key (32),
//!   server-to-client key (32), user data (256), zero padding, tag (16);
//! - every other packet: prefix (type | sequence length << 4), sequence (that many bytes), body
//!   sealed with ChaCha20-Poly1305 (nonce 0000 ‖ sequence, additional data version ‖ protocol ‖
//!   prefix), tag (16). A challenge or a response carries a token sequence (8) and an opaque
//!   challenge token (300).

use std::net::{IpAddr, SocketAddr};

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag, XChaCha20Poly1305, XNonce};

/// netcode's version string, with its terminating zero.
pub const VERSION_INFO: &[u8; 13] = b"NETCODE 1.02\0";
/// Bytes of a connection request.
pub const REQUEST_BYTES: usize = 1 + 13 + 8 + 8 + 24 + PRIVATE_TOKEN_BYTES;
/// Bytes of a connect token's sealed part.
pub const PRIVATE_TOKEN_BYTES: usize = 1024;
/// Bytes of an authentication tag.
pub const MAC_BYTES: usize = 16;
/// Bytes of a key.
pub const KEY_BYTES: usize = 32;
/// Bytes of a challenge token.
pub const CHALLENGE_TOKEN_BYTES: usize = 300;
/// Largest datagram netcode sends or accepts.
pub const MAX_PACKET_BYTES: usize = 1400;
/// Smallest datagram netcode accepts.
pub const MIN_PACKET_BYTES: usize = 2 + MAC_BYTES;

/// netcode's packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A connection request (not sealed).
    Request,
    /// The server refuses to connect the client.
    Denied,
    /// The server's challenge.
    Challenge,
    /// The client's answer to the challenge.
    Response,
    /// A keep-alive.
    KeepAlive,
    /// Data.
    Payload,
    /// A disconnection.
    Disconnect,
}

impl Kind {
    fn id(self) -> u8 {
        match self {
            Kind::Request => 0,
            Kind::Denied => 1,
            Kind::Challenge => 2,
            Kind::Response => 3,
            Kind::KeepAlive => 4,
            Kind::Payload => 5,
            Kind::Disconnect => 6,
        }
    }

    fn from_id(id: u8) -> Option<Kind> {
        Some(match id {
            0 => Kind::Request,
            1 => Kind::Denied,
            2 => Kind::Challenge,
            3 => Kind::Response,
            4 => Kind::KeepAlive,
            5 => Kind::Payload,
            6 => Kind::Disconnect,
            _ => return None,
        })
    }
}

/// Why a datagram is not the netcode packet it claims to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Too short, too long, or the wrong length for its type.
    #[error("wrong length")]
    Length,
    /// An unknown packet type or sequence length.
    #[error("unknown packet type")]
    Kind,
    /// Another netcode version.
    #[error("another netcode version")]
    Version,
    /// Another game (protocol id).
    #[error("another protocol id")]
    Protocol,
    /// The connect token has expired.
    #[error("expired connect token")]
    Expired,
    /// The seal does not open (wrong key, or forged).
    #[error("the seal does not open")]
    Seal,
    /// The token's content does not parse.
    #[error("malformed connect token")]
    Token,
}

/// The packet type of a datagram, if it could be a netcode packet at all.
pub fn kind(packet: &[u8]) -> Option<Kind> {
    if packet.len() < MIN_PACKET_BYTES || packet.len() > MAX_PACKET_BYTES {
        return None;
    }
    let prefix = packet[0];
    let kind = Kind::from_id(prefix & 0x0F)?;
    let sequence_bytes = prefix >> 4;
    match kind {
        Kind::Request if sequence_bytes == 0 && packet.len() == REQUEST_BYTES => Some(kind),
        Kind::Request => None,
        _ if sequence_bytes <= 8 => Some(kind),
        _ => None,
    }
}

/// What a connect token holds that the gate needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The client id the client chose.
    pub client_id: u64,
    /// Seconds of silence after which either side drops the connection (the client's choice).
    pub timeout_seconds: i32,
    /// The key the client seals its packets with.
    pub client_to_server: [u8; KEY_BYTES],
    /// The key the server seals its packets with.
    pub server_to_client: [u8; KEY_BYTES],
}

/// The clear part of a connection request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// The game's protocol id.
    pub protocol_id: u64,
    /// When the token expires (seconds since the Unix epoch).
    pub expire_timestamp: u64,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(out)
}

fn token_additional_data(protocol_id: u64, expire_timestamp: u64) -> [u8; 29] {
    let mut aad = [0; 29];
    aad[..13].copy_from_slice(VERSION_INFO);
    aad[13..21].copy_from_slice(&protocol_id.to_le_bytes());
    aad[21..29].copy_from_slice(&expire_timestamp.to_le_bytes());
    aad
}

/// Reads the clear header of a connection request: right length, this netcode version, this
/// game (`protocol_id`) and not expired at `now_seconds`. Costs no cryptography.
pub fn request_header(
    packet: &[u8],
    protocol_id: u64,
    now_seconds: u64,
) -> Result<RequestHeader, WireError> {
    if packet.len() != REQUEST_BYTES || packet[0] != 0 {
        return Err(WireError::Length);
    }
    if &packet[1..14] != VERSION_INFO {
        return Err(WireError::Version);
    }
    let header = RequestHeader {
        protocol_id: u64_at(packet, 14),
        expire_timestamp: u64_at(packet, 22),
    };
    if header.protocol_id != protocol_id {
        return Err(WireError::Protocol);
    }
    if now_seconds >= header.expire_timestamp {
        return Err(WireError::Expired);
    }
    Ok(header)
}

/// Opens the connect token of a connection request sealed with the all-zero key (netcode's
/// unsecure mode). Call [`request_header`] first.
pub fn open_token(packet: &[u8], header: &RequestHeader) -> Result<Token, WireError> {
    if packet.len() != REQUEST_BYTES {
        return Err(WireError::Length);
    }
    let nonce = XNonce::from_slice(&packet[30..54]);
    let mut data = [0u8; PRIVATE_TOKEN_BYTES];
    data.copy_from_slice(&packet[54..]);
    let (plain, tag) = data.split_at_mut(PRIVATE_TOKEN_BYTES - MAC_BYTES);
    let aad = token_additional_data(header.protocol_id, header.expire_timestamp);
    XChaCha20Poly1305::new(Key::from_slice(&[0; KEY_BYTES]))
        .decrypt_in_place_detached(nonce, &aad, plain, Tag::from_slice(tag))
        .map_err(|_| WireError::Seal)?;
    parse_token(plain)
}

fn parse_token(plain: &[u8]) -> Result<Token, WireError> {
    let mut at = 0;
    let mut take = |n: usize| -> Result<&[u8], WireError> {
        let slice = plain.get(at..at + n).ok_or(WireError::Token)?;
        at += n;
        Ok(slice)
    };
    let client_id = u64_at(take(8)?, 0);
    let mut timeout = [0; 4];
    timeout.copy_from_slice(take(4)?);
    let mut count = [0; 4];
    count.copy_from_slice(take(4)?);
    let count = u32::from_le_bytes(count);
    if count == 0 || count > 32 {
        return Err(WireError::Token);
    }
    for _ in 0..count {
        let ip_bytes = match take(1)?[0] {
            1 => 4,
            2 => 16,
            _ => return Err(WireError::Token),
        };
        take(ip_bytes + 2)?;
    }
    let mut client_to_server = [0; KEY_BYTES];
    client_to_server.copy_from_slice(take(KEY_BYTES)?);
    let mut server_to_client = [0; KEY_BYTES];
    server_to_client.copy_from_slice(take(KEY_BYTES)?);
    take(256)?;
    Ok(Token {
        client_id,
        timeout_seconds: i32::from_le_bytes(timeout),
        client_to_server,
        server_to_client,
    })
}

/// A connection request for `token` to `server`, sealed with the all-zero key (what a netcode
/// client in unsecure mode sends), with zero user data and this `nonce`.
pub fn connection_request(
    protocol_id: u64,
    expire_timestamp: u64,
    nonce: &[u8; 24],
    token: &Token,
    server: SocketAddr,
) -> Result<[u8; REQUEST_BYTES], WireError> {
    let mut packet = [0u8; REQUEST_BYTES];
    packet[1..14].copy_from_slice(VERSION_INFO);
    packet[14..22].copy_from_slice(&protocol_id.to_le_bytes());
    packet[22..30].copy_from_slice(&expire_timestamp.to_le_bytes());
    packet[30..54].copy_from_slice(nonce);
    let data = &mut packet[54..];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        data[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&token.client_id.to_le_bytes());
    put(&token.timeout_seconds.to_le_bytes());
    put(&1u32.to_le_bytes());
    match server.ip() {
        IpAddr::V4(ip) => {
            put(&[1]);
            put(&ip.octets());
        }
        IpAddr::V6(ip) => {
            put(&[2]);
            put(&ip.octets());
        }
    }
    put(&server.port().to_le_bytes());
    put(&token.client_to_server);
    put(&token.server_to_client);
    // 256 bytes of zero user data follow, already zero.
    let (plain, tag_out) = data.split_at_mut(PRIVATE_TOKEN_BYTES - MAC_BYTES);
    let aad = token_additional_data(protocol_id, expire_timestamp);
    let tag = XChaCha20Poly1305::new(Key::from_slice(&[0; KEY_BYTES]))
        .encrypt_in_place_detached(XNonce::from_slice(nonce), &aad, plain)
        .map_err(|_| WireError::Seal)?;
    tag_out.copy_from_slice(&tag);
    Ok(packet)
}

fn packet_nonce(sequence: u64) -> Nonce {
    let mut nonce = [0; 12];
    nonce[4..].copy_from_slice(&sequence.to_le_bytes());
    Nonce::from(nonce)
}

fn packet_additional_data(prefix: u8, protocol_id: u64) -> [u8; 22] {
    let mut aad = [0; 22];
    aad[..13].copy_from_slice(VERSION_INFO);
    aad[13..21].copy_from_slice(&protocol_id.to_le_bytes());
    aad[21] = prefix;
    aad
}

fn sequence_bytes(sequence: u64) -> usize {
    8 - (sequence.leading_zeros() / 8) as usize
}

/// Seals a packet of `kind` with `body` under `key` at `sequence`; refuses one that [`open`]
/// would refuse for its length.
pub fn seal(
    kind: Kind,
    sequence: u64,
    body: &[u8],
    key: &[u8; KEY_BYTES],
    protocol_id: u64,
) -> Result<Vec<u8>, WireError> {
    let len = sequence_bytes(sequence);
    let prefix = kind.id() | ((len as u8) << 4);
    let mut packet = Vec::with_capacity(1 + len + body.len() + MAC_BYTES);
    packet.push(prefix);
    packet.extend_from_slice(&sequence.to_le_bytes()[..len]);
    let start = packet.len();
    packet.extend_from_slice(body);
    let aad = packet_additional_data(prefix, protocol_id);
    let tag = ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt_in_place_detached(&packet_nonce(sequence), &aad, &mut packet[start..])
        .map_err(|_| WireError::Seal)?;
    packet.extend_from_slice(&tag);
    // Never a packet that [`open`] (or renetcode) refuses for its length: sequence 0 takes no
    // byte, so an empty body under it would make 17 bytes, under the minimum of 18.
    if !(MIN_PACKET_BYTES..=MAX_PACKET_BYTES).contains(&packet.len()) {
        return Err(WireError::Length);
    }
    Ok(packet)
}

/// Opens a sealed packet with `key`: its kind, sequence and body.
pub fn open(
    packet: &[u8],
    key: &[u8; KEY_BYTES],
    protocol_id: u64,
) -> Result<(Kind, u64, Vec<u8>), WireError> {
    let kind = kind(packet).ok_or(WireError::Kind)?;
    if kind == Kind::Request {
        return Err(WireError::Kind);
    }
    let prefix = packet[0];
    let len = usize::from(prefix >> 4);
    if packet.len() < 1 + len + MAC_BYTES {
        return Err(WireError::Length);
    }
    let mut sequence = [0; 8];
    sequence[..len].copy_from_slice(&packet[1..1 + len]);
    let sequence = u64::from_le_bytes(sequence);
    let (sealed, tag) = packet[1 + len..].split_at(packet.len() - 1 - len - MAC_BYTES);
    let mut body = sealed.to_vec();
    let aad = packet_additional_data(prefix, protocol_id);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt_in_place_detached(
            &packet_nonce(sequence),
            &aad,
            &mut body,
            Tag::from_slice(tag),
        )
        .map_err(|_| WireError::Seal)?;
    Ok((kind, sequence, body))
}

/// The body of a challenge or a response: the token's sequence and the token.
pub fn challenge_body(token_sequence: u64, token: &[u8; CHALLENGE_TOKEN_BYTES]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + CHALLENGE_TOKEN_BYTES);
    body.extend_from_slice(&token_sequence.to_le_bytes());
    body.extend_from_slice(token);
    body
}

/// Reads the body of a challenge or a response.
pub fn read_challenge(body: &[u8]) -> Result<(u64, [u8; CHALLENGE_TOKEN_BYTES]), WireError> {
    if body.len() != 8 + CHALLENGE_TOKEN_BYTES {
        return Err(WireError::Length);
    }
    let mut token = [0; CHALLENGE_TOKEN_BYTES];
    token.copy_from_slice(&body[8..]);
    Ok((u64_at(body, 0), token))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use bevy_renet::netcode::{ClientAuthentication, NETCODE_USER_DATA_BYTES};
    use renetcode::ServerResult;
    use renetcode::{NetcodeClient, NetcodeServer, ServerAuthentication, ServerConfig};
    use std::time::Duration;

    const PROTOCOL: u64 = 77;

    fn token() -> Token {
        Token {
            client_id: 42,
            timeout_seconds: 15,
            client_to_server: [1; 32],
            server_to_client: [2; 32],
        }
    }

    #[test]
    fn our_request_opens_and_renetcode_accepts_it() {
        let server: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let packet = connection_request(PROTOCOL, 1_000, &[9; 24], &token(), server).unwrap();
        assert_eq!(kind(&packet), Some(Kind::Request));
        let header = request_header(&packet, PROTOCOL, 10).unwrap();
        assert_eq!(open_token(&packet, &header).unwrap(), token());
        assert_eq!(
            request_header(&packet, PROTOCOL + 1, 10),
            Err(WireError::Protocol)
        );
        assert_eq!(
            request_header(&packet, PROTOCOL, 1_000),
            Err(WireError::Expired)
        );
        let mut tampered = packet;
        tampered[100] ^= 1;
        assert_eq!(open_token(&tampered, &header), Err(WireError::Seal));
        // renetcode answers it with a challenge sealed with the token's server key.
        let mut netcode = NetcodeServer::new(ServerConfig {
            current_time: Duration::from_secs(10),
            max_clients: 4,
            protocol_id: PROTOCOL,
            public_addresses: vec![server],
            authentication: ServerAuthentication::Unsecure,
        });
        let from: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        let mut bytes = packet;
        let ServerResult::PacketToSend { payload, .. } = netcode.process_packet(from, &mut bytes)
        else {
            panic!("no challenge");
        };
        let (kind, _, body) = open(payload, &[2; 32], PROTOCOL).unwrap();
        assert_eq!(kind, Kind::Challenge);
        assert!(read_challenge(&body).is_ok());
    }

    #[test]
    fn renetcode_requests_open_and_our_challenge_is_accepted() {
        let server: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut client = NetcodeClient::new(
            Duration::from_secs(100),
            ClientAuthentication::Unsecure {
                protocol_id: PROTOCOL,
                client_id: 7,
                server_addr: server,
                user_data: Some([3; NETCODE_USER_DATA_BYTES]),
            },
        )
        .unwrap();
        let (request, _) = client.update(Duration::ZERO).unwrap();
        let request = request.to_vec();
        let header = request_header(&request, PROTOCOL, 100).unwrap();
        let opened = open_token(&request, &header).unwrap();
        assert_eq!(opened.client_id, 7);
        assert_eq!(opened.timeout_seconds, 15);
        let challenge = seal(
            Kind::Challenge,
            300,
            &challenge_body(5, &[8; CHALLENGE_TOKEN_BYTES]),
            &opened.server_to_client,
            PROTOCOL,
        )
        .unwrap();
        let mut challenge = challenge;
        client.process_packet(&mut challenge);
        let (response, _) = client.update(Duration::from_secs(1)).unwrap();
        let (kind, _, body) = open(response, &opened.client_to_server, PROTOCOL).unwrap();
        assert_eq!(kind, Kind::Response);
        assert_eq!(
            read_challenge(&body).unwrap(),
            (5, [8; CHALLENGE_TOKEN_BYTES])
        );
    }

    #[test]
    fn junk_is_no_packet() {
        assert_eq!(kind(&[0; 5]), None);
        assert_eq!(kind(&[0; 200]), None, "a request has one length");
        assert_eq!(kind(&[0x0F; 40]), None);
        assert_eq!(kind(&[0x95; 40]), None, "sequence of 9 bytes");
        assert_eq!(kind(&[0x15; 40]), Some(Kind::Payload));
        assert!(open(&[0x15; 40], &[0; 32], PROTOCOL).is_err());
    }
}
