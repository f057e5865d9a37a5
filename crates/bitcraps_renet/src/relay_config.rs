//! What a relay serves and how it limits connections: [`RelayConfig`], [`RelayLimits`], and
//! its counters, [`RelayStats`].

use std::sync::Arc;
use std::time::Duration;

use bevy_bitcraps::bitcraps_consensus::ParticipantSet;

use crate::faults::RelayFaults;
use crate::gate::GateLimits;
use crate::lobby_terms::Genesis;
use crate::protocol::{ChannelBudget, TableTerms};

/// Per-connection limits of the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// Frames a connection may send per second, sustained.
    pub messages_per_second: u64,
    /// Frames a connection may send at once.
    pub message_burst: u64,
    /// Bytes a connection may send per second, sustained.
    pub bytes_per_second: u64,
    /// Bytes a connection may send at once.
    pub byte_burst: u64,
    /// Time a new connection has to prove its seat.
    pub handshake_timeout: Duration,
    /// Time between refusing a connection and disconnecting it (so the refusal gets out).
    pub close_grace: Duration,
    /// Offences remembered (for operators and tests).
    pub offences_kept: usize,
    /// Connections from one IP address that may be connected without having finished their
    /// handshake (so one address cannot take every slot of the relay with idle connections).
    pub max_pending_per_ip: usize,
    /// Connected keys that are not genesis seats (newcomers asking to sit down, or admitted
    /// since), at most: the game seats at most 16 and lets at most 8 requests wait.
    pub max_guests: usize,
    /// Guests from one IP address, at most (so one address cannot take every guest slot).
    pub max_guests_per_ip: usize,
    /// What reaches netcode at all: connection requests, handshakes and datagrams per address
    /// and in all, before any connection exists ([`crate::gate`]).
    pub gate: GateLimits,
}

impl Default for RelayLimits {
    /// An honest seat sends a few votes per height, gossip every few hundred milliseconds and
    /// catch-up batches; 2 000 frames and 4 MiB per second (bursts of 4 000 frames and 8 MiB)
    /// leave it an order of magnitude of room. At most 8 unfinished handshakes per address; at
    /// most 24 guests, 4 per address; the gate's defaults ([`GateLimits::default`]).
    fn default() -> Self {
        RelayLimits {
            messages_per_second: 2_000,
            message_burst: 4_000,
            bytes_per_second: 4 * 1024 * 1024,
            byte_burst: 8 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(5),
            close_grace: Duration::from_millis(250),
            offences_kept: 256,
            max_pending_per_ip: 8,
            max_guests: 24,
            max_guests_per_ip: 4,
            gate: GateLimits::default(),
        }
    }
}

/// What a relay serves: one table's terms and seats, budgets, limits, and the test hook.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// The table's terms (id, protocol version, registry hash).
    pub terms: TableTerms,
    /// The genesis seats.
    pub seats: Arc<ParticipantSet>,
    /// The table's genesis, when a lobby formed it: sent to latecomers who ask the lobby for
    /// a seat, so that they can ask the table to sit down.
    pub genesis: Option<Genesis>,
    /// Channel memory and message sizes (the players must use the same).
    pub budget: ChannelBudget,
    /// Per-connection limits.
    pub limits: RelayLimits,
    /// Test hook: drop and delay forwarded messages.
    pub faults: Option<RelayFaults>,
}

impl RelayConfig {
    /// A relay for `terms` and these seats, with default budgets and limits.
    pub fn new(terms: TableTerms, seats: Arc<ParticipantSet>) -> RelayConfig {
        RelayConfig {
            terms,
            seats,
            genesis: None,
            budget: ChannelBudget::default(),
            limits: RelayLimits::default(),
            faults: None,
        }
    }

    /// The same relay with the fault hook.
    pub fn with_faults(mut self, faults: RelayFaults) -> RelayConfig {
        self.faults = Some(faults);
        self
    }
}

/// Counters of a relay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Connections open.
    pub connected: usize,
    /// Seats with a connection.
    pub seated: usize,
    /// Messages queued for recipients.
    pub forwarded: u64,
    /// Messages addressed to a key with no connection (dropped).
    pub unroutable: u64,
    /// Messages dropped because a recipient's queue was full (back-pressure).
    pub backpressure_drops: u64,
    /// Messages dropped by the fault hook.
    pub fault_drops: u64,
    /// Messages delayed by the fault hook.
    pub fault_delays: u64,
    /// Connections refused at the handshake.
    pub refused: u64,
    /// Seated connections closed for misbehaving.
    pub kicked: u64,
}
