//! Typed errors. Every error about a connection names the renet client and, once known, the
//! seat it speaks for.

use std::net::SocketAddr;

use bevy_bitcraps::bitcraps_consensus::{short_hex, PeerId, TableId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why the relay refuses or closes a connection. The relay sends it to the player (who reports
/// it on its side) and logs it, then disconnects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Error)]
pub enum Refusal {
    /// The player speaks another version of the signed-message format.
    #[error("protocol version mismatch: the relay speaks v{expected}, the player v{got}")]
    WrongProtocol {
        /// The relay's version.
        expected: u16,
        /// The player's version.
        got: u16,
    },
    /// The player wants another table.
    #[error("wrong table: the relay hosts table {expected}, the player wants table {got}")]
    WrongTable {
        /// The relay's table.
        expected: TableId,
        /// The player's table.
        got: TableId,
    },
    /// The player's build has other custom operations.
    #[error(
        "operation registry mismatch: the table's registry hashes to {}, the player's to {} \
         (different custom operations or versions)",
        short_hex(expected),
        short_hex(got)
    )]
    WrongRegistry {
        /// The table's registry hash.
        expected: [u8; 32],
        /// The player's.
        got: [u8; 32],
    },
    /// The key is not one of the table's seats. (Relays of this version let such keys in as
    /// newcomers, within their guest limits, and no longer send it; kept so that the other
    /// refusals keep their encoding.)
    #[error("seat key {peer} is not seated at this table")]
    NotSeated {
        /// The key claimed.
        peer: PeerId,
    },
    /// The signature does not prove the claimed seat key (someone claiming another seat).
    #[error("the handshake signature does not prove seat key {peer}")]
    BadProof {
        /// The seat claimed.
        peer: PeerId,
    },
    /// No valid proof arrived in time.
    #[error("no seat proof within {seconds} s of connecting")]
    HandshakeTimeout {
        /// The handshake time limit.
        seconds: u64,
    },
    /// A frame that makes no sense at this point of the connection (data before the
    /// handshake, a second hello...).
    #[error("unexpected {frame} frame")]
    UnexpectedFrame {
        /// What arrived.
        frame: String,
    },
    /// Bytes that do not decode as a frame or an envelope.
    #[error("malformed data: {reason}")]
    Malformed {
        /// The decoder's complaint.
        reason: String,
    },
    /// A message larger than the table allows.
    #[error("message of {len} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A message for another table.
    #[error("message for table {got} sent to table {expected}")]
    OtherTable {
        /// This table.
        expected: TableId,
        /// The message's table.
        got: TableId,
    },
    /// A state-hash announcement signed by another seat than the sender's.
    #[error("announces a state hash as seat {signer}, but the connection speaks for {sender}")]
    NotYourAnnouncement {
        /// The seat of the connection.
        sender: PeerId,
        /// The seat inside the announcement.
        signer: PeerId,
    },
    /// A message addressed to a key that is not seated (or to the sender itself).
    #[error("message addressed to {to}, who is not another seat of this table")]
    BadRecipient {
        /// The recipient named.
        to: PeerId,
    },
    /// More messages or bytes per second than the relay's limits allow.
    #[error("flooding: {what} over the limit of {limit} per second")]
    RateLimited {
        /// Messages or bytes.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// Another connection proved the same seat key (the player reconnected); this one is stale.
    #[error("replaced by a newer connection of the same seat")]
    Replaced,
    /// Every seat's slot is taken by connections still completing their handshakes.
    #[error("the relay is full")]
    Full,
    /// The lobby's seats are all taken: the table has started without this player.
    #[error("the table is full: its {players} seats are taken and play has started")]
    TableFull {
        /// Seats at the table.
        players: u16,
    },
    /// Another connection in the lobby already proved this key.
    #[error("key {peer} is already in the lobby (each player needs its own identity key)")]
    DuplicateKey {
        /// The key.
        peer: PeerId,
    },
    /// The relay has as many newcomers (keys that are not genesis seats) as it takes.
    #[error("the relay already has {limit} newcomers waiting or playing; try again later")]
    TooManyGuests {
        /// The limit.
        limit: usize,
    },
    /// The relay has as many newcomers from this address as it takes from one address.
    #[error("the relay already has {limit} newcomers from {ip}")]
    TooManyGuestsFrom {
        /// The address.
        ip: String,
        /// The limit.
        limit: usize,
    },
    /// Too many connections from one address that have not finished their handshakes.
    #[error("too many unfinished handshakes from {ip} (limit {limit})")]
    TooManyPending {
        /// The address.
        ip: String,
        /// The limit.
        limit: usize,
    },
    /// A restarted relay resumes only the table it served before; this is another.
    #[error(
        "this relay resumes only the table it served before it restarted ({serves}), not table \
         {got} (its operator can start it with --forget-table)"
    )]
    ResumesAnotherTable {
        /// The table the relay served.
        serves: TableId,
        /// The table the player asked to resume.
        got: TableId,
    },
}

impl Refusal {
    /// True if reconnecting cannot help (wrong table, registry, protocol or key).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Refusal::WrongProtocol { .. }
                | Refusal::WrongTable { .. }
                | Refusal::WrongRegistry { .. }
                | Refusal::NotSeated { .. }
                | Refusal::BadProof { .. }
                | Refusal::TableFull { .. }
                | Refusal::DuplicateKey { .. }
                | Refusal::ResumesAnotherTable { .. }
        )
    }
}

/// A connection the relay closed: who, which seat (once known), and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("relay closed client {client}{}: {refusal}", seat.map(|p| format!(" (seat {p})")).unwrap_or_default())]
pub struct Offence {
    /// The renet client id.
    pub client: u64,
    /// The seat the connection spoke for, if its handshake had succeeded.
    pub seat: Option<PeerId>,
    /// Why.
    pub refusal: Refusal,
}

/// Why a relay or a player connection could not be set up.
#[derive(Debug, Error)]
pub enum SetupError {
    /// The UDP socket could not be bound.
    #[error("cannot bind a UDP socket to {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The socket's local address could not be read.
    #[error("cannot read the local address of the UDP socket: {0}")]
    LocalAddr(std::io::Error),
    /// The system clock is before the Unix epoch (netcode needs the time).
    #[error("the system clock is before the Unix epoch")]
    Clock,
    /// netcode refused the client's configuration.
    #[error("netcode client for {server}: {reason}")]
    Netcode {
        /// The relay's address.
        server: SocketAddr,
        /// netcode's error.
        reason: String,
    },
    /// The table's seats are not a valid table.
    #[error("invalid table: {0}")]
    Table(#[from] bevy_bitcraps::ConfigError),
    /// An address did not parse.
    #[error("invalid address {0:?}: expected IP:PORT")]
    Address(String),
    /// The largest message does not fit the send window of a reliable lane.
    #[error(
        "inconsistent channel budget: messages of {max_message_bytes} bytes do not fit half of \
         the smallest reliable channel"
    )]
    Budget {
        /// The configured largest message.
        max_message_bytes: usize,
    },
    /// The relay thread could not be started.
    #[error("cannot start the relay thread: {0}")]
    Thread(std::io::Error),
}

/// A player connection's problem, as shown to the player.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ClientError {
    /// The relay refused the connection.
    #[error("the relay at {relay} refused seat {seat}: {refusal}")]
    Refused {
        /// The relay's address.
        relay: SocketAddr,
        /// The local seat.
        seat: PeerId,
        /// Why.
        refusal: Refusal,
    },
    /// The relay is for another table (detected by the player from the relay's challenge).
    #[error("the relay at {relay} cannot seat {seat}: {mismatch}")]
    RelayMismatch {
        /// The relay's address.
        relay: SocketAddr,
        /// The local seat.
        seat: PeerId,
        /// What differs.
        mismatch: Refusal,
    },
    /// The relay sent bytes that do not decode.
    #[error("the relay at {relay} sent malformed data: {reason}")]
    MalformedRelay {
        /// The relay's address.
        relay: SocketAddr,
        /// The decoder's complaint.
        reason: String,
    },
    /// The connection was lost (timeout, transport error, relay gone).
    #[error("connection to the relay at {relay} lost: {reason}")]
    Lost {
        /// The relay's address.
        relay: SocketAddr,
        /// What renet or netcode said.
        reason: String,
    },
}

/// What netcode said when a connection ended, in plain words.
pub fn netcode_reason(reason: bevy_renet::netcode::NetcodeDisconnectReason) -> &'static str {
    use bevy_renet::netcode::NetcodeDisconnectReason as Reason;
    match reason {
        Reason::ConnectTokenExpired => "the connection token expired before the relay answered",
        Reason::ConnectionTimedOut => "the relay stopped answering",
        Reason::ConnectionResponseTimedOut => {
            "the relay answered but the connection did not complete in time"
        }
        Reason::ConnectionRequestTimedOut => "no answer",
        Reason::ConnectionDenied => "the relay refused the connection: it is full or busy",
        Reason::DisconnectedByClient => "this player closed the connection",
        Reason::DisconnectedByServer => "the relay closed the connection",
    }
}

/// True if netcode's `reason` shows that a relay did answer at the address.
pub fn relay_answered(reason: bevy_renet::netcode::NetcodeDisconnectReason) -> bool {
    use bevy_renet::netcode::NetcodeDisconnectReason as Reason;
    !matches!(
        reason,
        Reason::ConnectionRequestTimedOut | Reason::ConnectTokenExpired
    )
}
