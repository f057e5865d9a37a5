//! What travels between a player's renet client and the relay: channels, frames, the terms of a
//! table and the seat-key proof of the handshake.
//!
//! Every consensus and game message inside a frame is an encoded [`bevy_bitcraps::Envelope`],
//! signed end to end by its author; the relay only adds the sender's seat (which it learned
//! from the handshake), so it can delay or drop a message but never forge one.

use std::time::Duration;

use bevy_bitcraps::bitcraps_consensus::{
    codec, DecodeError, EncodeError, PeerId, TableId, PROTOCOL_VERSION,
};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_renet::renet::{ChannelConfig, ConnectionConfig, SendType};
use serde::{Deserialize, Serialize};

use crate::error::Refusal;
use crate::lobby::{Genesis, LobbyProof, LobbyStatus, LobbyTerms};
use crate::proof::{ChallengeProof, ProofTerms};

/// The netcode protocol id of BitCraps (the same for every table: tables are told apart by the
/// handshake, which can then say clearly what does not match).
pub const NETCODE_PROTOCOL_ID: u64 = 0xB17C_4A95_0000_0001;

/// Domain tag of a seat proof signature.
const SEAT_PROOF_DOMAIN: &[u8] = b"bitcraps/renet/seat-proof/v1";

/// The channels, the same on both sides of every connection (renet requires the server's and
/// the client's channel lists to mirror each other; the relay and every player use
/// [`connection_config`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Reliable ordered: handshake, proposals, votes, state-hash announcements, game operations.
    Consensus,
    /// Reliable unordered: catch-up (decisions with their certificates, status requests).
    CatchUp,
    /// Unreliable: heartbeats and round-trip time.
    Heartbeat,
}

impl Lane {
    /// Every lane, in send-priority order.
    pub const ALL: [Lane; 3] = [Lane::Consensus, Lane::CatchUp, Lane::Heartbeat];

    /// The renet channel id.
    pub fn channel(self) -> u8 {
        match self {
            Lane::Consensus => 0,
            Lane::CatchUp => 1,
            Lane::Heartbeat => 2,
        }
    }

    /// True for the reliable lanes (whose send memory must never overflow).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Lane::Heartbeat)
    }

    /// The lane an encoded envelope travels on, read from its first two bytes: decisions and
    /// status requests (catch-up) on [`Lane::CatchUp`], everything else on [`Lane::Consensus`].
    ///
    /// The peek relies on bincode's encoding of enum variants as a varint index
    /// (`Envelope::Consensus` = 0; `WireMessage::Decision` = 2, `WireMessage::Status` = 3); a
    /// unit test pins it. A wrong guess only changes the lane, never what is delivered.
    pub fn of_envelope(bytes: &[u8]) -> Lane {
        match bytes {
            [0, 2 | 3, ..] => Lane::CatchUp,
            _ => Lane::Consensus,
        }
    }
}

/// Memory and size budgets of a connection, shared by the relay and the players.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelBudget {
    /// Largest envelope relayed, bytes. Larger ones are refused before they are queued.
    pub max_message_bytes: usize,
    /// Send and receive memory of the consensus channel, bytes.
    pub consensus_bytes: usize,
    /// Send and receive memory of the catch-up channel, bytes.
    pub catch_up_bytes: usize,
    /// Send and receive memory of the heartbeat channel, bytes.
    pub heartbeat_bytes: usize,
    /// Resend time of the reliable channels.
    pub resend_time: Duration,
    /// Bytes renet may put on the wire per connection and update.
    pub bytes_per_tick: u64,
}

impl Default for ChannelBudget {
    /// Sized on purpose:
    ///
    /// - a message is at most 256 KiB (a craps block with its operations is a few KiB; a
    ///   decision adds at most 16 precommits of about 140 bytes);
    /// - the consensus channel holds 4 MiB of unacknowledged messages: 16 messages of the
    ///   largest size, or about 20 000 votes — far more than one frame of a 16-seat table
    ///   (every seat's proposal, prevotes and precommits, re-broadcast by gossip);
    /// - the catch-up channel holds 4 MiB: every other seat of a 16-seat table answering one
    ///   status request with a batch of 8 decisions of about 30 KiB;
    /// - heartbeats are tiny: 64 KiB.
    ///
    /// Renet disconnects a connection whose reliable channel overflows; senders here never let
    /// that happen (see [`crate::queue::LaneQueues`]): what does not fit waits in a bounded
    /// queue, and what does not fit there is dropped oldest-first, which consensus survives
    /// through gossip and catch-up.
    fn default() -> Self {
        ChannelBudget {
            max_message_bytes: 256 * 1024,
            consensus_bytes: 4 * 1024 * 1024,
            catch_up_bytes: 4 * 1024 * 1024,
            heartbeat_bytes: 64 * 1024,
            resend_time: Duration::from_millis(100),
            bytes_per_tick: 256 * 1024,
        }
    }
}

impl ChannelBudget {
    /// The memory of one lane's channel, bytes.
    pub fn lane_bytes(&self, lane: Lane) -> usize {
        match lane {
            Lane::Consensus => self.consensus_bytes,
            Lane::CatchUp => self.catch_up_bytes,
            Lane::Heartbeat => self.heartbeat_bytes,
        }
    }

    /// How much of a lane's channel memory a sender fills: half. The receiver accounts for
    /// more than the sender does — a message being reassembled from slices counts as whole
    /// 1200-byte slices, and a reliable ordered channel keeps acknowledged messages that wait
    /// behind a lost one — so a sender that filled the whole channel could overflow the
    /// receiver's side, and renet would disconnect the connection. Half leaves the receiver
    /// room for the rounding of every sliced message in flight (each is over 1200 bytes, so
    /// their rounding adds less than their own size).
    pub fn send_window(&self, lane: Lane) -> usize {
        self.lane_bytes(lane) / 2
    }

    /// True if a frame of the largest message fits in every reliable lane's send window.
    pub fn is_consistent(&self) -> bool {
        Lane::ALL
            .iter()
            .filter(|l| l.is_reliable())
            .all(|l| self.max_frame_bytes() <= self.send_window(*l))
    }

    /// The largest encoded frame (an envelope plus the frame's own few bytes).
    pub fn max_frame_bytes(&self) -> usize {
        self.max_message_bytes + 128
    }
}

/// The renet configuration of a player's end of its connection: the same channels in both
/// directions; it sends within the budget's lane windows and receives with headroom (see
/// [`receive_headroom`]).
pub fn connection_config(budget: &ChannelBudget) -> ConnectionConfig {
    ConnectionConfig {
        available_bytes_per_tick: budget.bytes_per_tick,
        server_channels_config: channels(budget, receive_headroom),
        client_channels_config: channels(budget, ChannelBudget::lane_bytes),
    }
}

/// The renet configuration of the relay's end of every connection: the budget's lane windows
/// in both directions. It sends within them (its queues fill them, see [`crate::queue`]); it
/// receives within them too, without the players' headroom, because the relay's receive
/// memory is what any connection, a hostile one included, can make it hold: that bound (and
/// the memory measured under floods in BENCHMARKS.md) stays as it was.
pub fn relay_connection_config(budget: &ChannelBudget) -> ConnectionConfig {
    ConnectionConfig {
        available_bytes_per_tick: budget.bytes_per_tick,
        server_channels_config: channels(budget, ChannelBudget::lane_bytes),
        client_channels_config: channels(budget, ChannelBudget::lane_bytes),
    }
}

/// The memory a player's end allows a lane it receives: twice the relay's window and a frame.
/// renet counts a message that arrives in slices at a whole number of slices until it is
/// assembled, more than the sender counted for it, so a full window of sliced messages (a
/// player that froze while the table played on, then reads its backlog at once) would
/// otherwise overflow the receiver and cost the connection. The sender's window still bounds
/// what is in flight.
pub fn receive_headroom(budget: &ChannelBudget, lane: Lane) -> usize {
    budget
        .lane_bytes(lane)
        .saturating_mul(2)
        .saturating_add(budget.max_frame_bytes())
}

/// The lanes as renet channels, each with the memory `memory` gives it.
fn channels(
    budget: &ChannelBudget,
    memory: fn(&ChannelBudget, Lane) -> usize,
) -> Vec<ChannelConfig> {
    Lane::ALL
        .iter()
        .map(|lane| ChannelConfig {
            channel_id: lane.channel(),
            max_memory_usage_bytes: memory(budget, *lane),
            send_type: match lane {
                Lane::Consensus => SendType::ReliableOrdered {
                    resend_time: budget.resend_time,
                },
                Lane::CatchUp => SendType::ReliableUnordered {
                    resend_time: budget.resend_time,
                },
                Lane::Heartbeat => SendType::Unreliable,
            },
        })
        .collect()
}

/// What a table is, for the handshake: a player and a relay must agree on all of it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableTerms {
    /// The table id (inside every signature).
    pub table: TableId,
    /// The signed-message format version ([`PROTOCOL_VERSION`]).
    pub protocol_version: u16,
    /// The hash of the custom-operation registry ([`Registry::hash`]).
    pub registry_hash: [u8; 32],
}

impl TableTerms {
    /// The terms of `table` for a build with `registry` and this protocol version.
    pub fn new(table: TableId, registry: &Registry) -> TableTerms {
        TableTerms {
            table,
            protocol_version: PROTOCOL_VERSION,
            registry_hash: registry.hash(),
        }
    }

    /// Why `theirs` (a peer's terms) cannot play with `self` (the local terms), if it cannot.
    pub fn mismatch(&self, theirs: &TableTerms) -> Option<Refusal> {
        if theirs.protocol_version != self.protocol_version {
            Some(Refusal::WrongProtocol {
                expected: self.protocol_version,
                got: theirs.protocol_version,
            })
        } else if theirs.table != self.table {
            Some(Refusal::WrongTable {
                expected: self.table,
                got: theirs.table,
            })
        } else if theirs.registry_hash != self.registry_hash {
            Some(Refusal::WrongRegistry {
                expected: self.registry_hash,
                got: theirs.registry_hash,
            })
        } else {
            None
        }
    }
}

/// A player's proof that it holds a seat key: a signature over the relay's challenge, bound to
/// the table's terms and to the renet client id of this connection (so it proves nothing on any
/// other connection, table, registry or protocol version).
pub type SeatProof = ChallengeProof<TableTerms>;

impl ProofTerms for TableTerms {
    const DOMAIN: &'static [u8] = SEAT_PROOF_DOMAIN;

    fn write_signed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.table.0);
        out.extend_from_slice(&self.protocol_version.to_be_bytes());
        out.extend_from_slice(&self.registry_hash);
    }
}

/// From a player to the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// The answer to the relay's challenge.
    Hello(SeatProof),
    /// An encoded envelope for one seat (`Some`) or every other seat (`None`).
    Packet {
        /// Recipient, or everyone else.
        to: Option<PeerId>,
        /// The encoded envelope.
        bytes: Vec<u8>,
    },
    /// A heartbeat (answered with [`RelayFrame::Pong`]).
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// The answer to a lobby's challenge (see [`crate::lobby`]).
    Join(LobbyProof),
    /// The answer of a seated player to a lobby's challenge when its relay came back empty (a
    /// restarted relay): the genesis it holds and its seat proof, bound to that table and the
    /// lobby's challenge. An empty lobby then serves that table again.
    Resume {
        /// The table's genesis.
        genesis: Genesis,
        /// The seat proof, signed over the lobby's challenge with the table's terms.
        proof: SeatProof,
    },
}

/// From the relay to a player.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayFrame {
    /// Prove your seat: sign this with the table's terms.
    Challenge {
        /// Fresh random bytes.
        nonce: [u8; 32],
        /// The relay's table.
        terms: TableTerms,
        /// The renet client id the relay sees for this connection.
        client_id: u64,
    },
    /// The proof was accepted: the connection now speaks for this seat.
    Welcome {
        /// The seat.
        peer: PeerId,
        /// Seats currently online (the new one included).
        online: Vec<PeerId>,
    },
    /// The connection is refused or closed, and why (the relay disconnects it right after).
    Refused(Refusal),
    /// An envelope from a seat, as authenticated by the handshake of its connection.
    Packet {
        /// The sender's seat.
        from: PeerId,
        /// The encoded envelope, as its author sent it.
        bytes: Vec<u8>,
    },
    /// The answer to a [`ClientFrame::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// Prove your key to the lobby: sign this with [`LobbyProof::sign`].
    LobbyChallenge {
        /// Fresh random bytes.
        nonce: [u8; 32],
        /// The lobby's terms.
        terms: LobbyTerms,
        /// The renet client id the relay sees for this connection.
        client_id: u64,
    },
    /// Who is in the lobby so far (sent to every member at each change).
    Lobby(LobbyStatus),
    /// The seats are fixed: the table's genesis terms.
    Genesis(Genesis),
    /// The table this relay serves already plays: its genesis (the answer to a lobby join
    /// that came too late). The latecomer may ask the table to seat it
    /// ([`crate::LobbyOutcome::Running`]).
    Running(Genesis),
}

/// Encodes a frame.
pub fn encode<T: Serialize>(frame: &T) -> Result<Vec<u8>, EncodeError> {
    codec::encode(frame)
}

/// Decodes a frame of at most `limit` bytes.
pub fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, DecodeError> {
    codec::decode(bytes, limit)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use bevy_bitcraps::bitcraps_consensus::{Height, Round, SignedStatus, Status, Vote, VoteKind};
    use bevy_bitcraps::bitcraps_consensus::{Keypair, WireMessage};
    use bevy_bitcraps::Envelope;

    /// The bytes a seat proof and a lobby proof sign, laid out by hand: they must not change (a
    /// relay and a player of different builds would refuse each other).
    #[test]
    fn proofs_sign_the_same_bytes_as_before() {
        let key = Keypair::from_seed([3; 32]);
        let peer = key.peer_id();
        let challenge = [9u8; 32];
        let table = TableTerms {
            table: TableId([5; 32]),
            protocol_version: 7,
            registry_hash: [6; 32],
        };
        let mut seat = b"bitcraps/renet/seat-proof/v1".to_vec();
        seat.extend_from_slice(&challenge);
        seat.extend_from_slice(&[5; 32]);
        seat.extend_from_slice(&7u16.to_be_bytes());
        seat.extend_from_slice(&[6; 32]);
        seat.extend_from_slice(&42u64.to_be_bytes());
        seat.extend_from_slice(&peer.0);
        assert_eq!(
            SeatProof::signing_bytes(&challenge, &table, 42, &peer),
            seat
        );
        let proof = SeatProof::sign(&key, &challenge, table, 42);
        assert!(proof.verify(&challenge, 42));
        assert!(!proof.verify(&challenge, 43));

        let lobby = LobbyTerms {
            lobby: [1; 32],
            protocol_version: 7,
            registry_hash: [6; 32],
            players: 4,
        };
        let mut bytes = b"bitcraps/renet/lobby-proof/v1".to_vec();
        bytes.extend_from_slice(&challenge);
        bytes.extend_from_slice(&[1; 32]);
        bytes.extend_from_slice(&7u16.to_be_bytes());
        bytes.extend_from_slice(&[6; 32]);
        bytes.extend_from_slice(&4u16.to_be_bytes());
        bytes.extend_from_slice(&42u64.to_be_bytes());
        bytes.extend_from_slice(&peer.0);
        assert_eq!(
            LobbyProof::signing_bytes(&challenge, &lobby, 42, &peer),
            bytes
        );
        let proof = LobbyProof::sign(&key, &challenge, lobby, 42);
        assert!(proof.verify(&challenge, 42));
        let mut other = proof.clone();
        other.terms.players = 5;
        assert!(!other.verify(&challenge, 42), "the terms are signed");
    }

    fn key(i: u8) -> Keypair {
        Keypair::from_seed([i; 32])
    }

    #[test]
    fn lane_peek_matches_the_real_encoding() {
        let table = TableId::from_name("lanes");
        let status: SignedStatus = Status {
            table,
            height: Height(3),
            signer: key(1).peer_id(),
        }
        .sign(&key(1));
        let bytes = Envelope::Consensus(WireMessage::Status(status))
            .encode()
            .unwrap();
        assert_eq!(Lane::of_envelope(&bytes), Lane::CatchUp);
        let vote = Vote {
            table,
            height: Height(3),
            round: Round(0),
            kind: VoteKind::Prevote,
            value: None,
            signer: key(1).peer_id(),
        }
        .sign(&key(1));
        let bytes = Envelope::Consensus(WireMessage::Vote(vote))
            .encode()
            .unwrap();
        assert_eq!(Lane::of_envelope(&bytes), Lane::Consensus);
        let bytes = Envelope::Application(vec![2, 3]).encode().unwrap();
        assert_eq!(Lane::of_envelope(&bytes), Lane::Consensus);
        assert_eq!(Lane::of_envelope(&[]), Lane::Consensus);
    }

    #[test]
    fn a_seat_proof_binds_challenge_terms_connection_and_seat() {
        let terms = TableTerms::new(TableId::from_name("t"), &Registry::new());
        let challenge = [7u8; 32];
        let proof = SeatProof::sign(&key(1), &challenge, terms, 42);
        assert!(proof.verify(&challenge, 42));
        assert!(!proof.verify(&[8u8; 32], 42), "another challenge");
        assert!(!proof.verify(&challenge, 43), "another connection");
        let mut other = proof.clone();
        other.peer = key(2).peer_id();
        assert!(!other.verify(&challenge, 42), "another seat");
        let mut other = proof.clone();
        other.terms.table = TableId::from_name("u");
        assert!(!other.verify(&challenge, 42), "another table");
        let mut other = proof;
        other.terms.registry_hash = [1; 32];
        assert!(!other.verify(&challenge, 42), "another registry");
    }

    #[test]
    fn terms_mismatches_are_named() {
        let ours = TableTerms::new(TableId::from_name("t"), &Registry::new());
        assert_eq!(ours.mismatch(&ours), None);
        let mut theirs = ours;
        theirs.table = TableId::from_name("u");
        assert!(matches!(
            ours.mismatch(&theirs),
            Some(Refusal::WrongTable { .. })
        ));
        let mut theirs = ours;
        theirs.registry_hash = [9; 32];
        assert!(matches!(
            ours.mismatch(&theirs),
            Some(Refusal::WrongRegistry { .. })
        ));
        let mut theirs = ours;
        theirs.protocol_version += 1;
        assert!(matches!(
            ours.mismatch(&theirs),
            Some(Refusal::WrongProtocol { .. })
        ));
    }
}
