//! The relay: a renet server (netcode over UDP) that every player — the host's own included —
//! joins as a client. It seats a connection only once it proves a seat key, forwards each
//! seat's envelopes to the others with the sender's seat attached, and never speaks for anyone:
//! every consensus and game message is signed by its author, so the relay can delay or drop
//! but never forge.
//!
//! It checks what it can without keys of its own (frame and envelope decoding, sizes, the
//! table id inside consensus messages, the signer of state-hash announcements, recipients) and
//! rate-limits every connection; an offender is disconnected with a logged [`Offence`], and
//! the other seats keep playing.
//!
//! **Newcomers.** Who votes changes with the decided seats (players join and leave a running
//! table), and the relay, which holds no game state, cannot follow that. So besides the
//! genesis seats it lets in **guests**: any key that proves itself, at most
//! [`RelayLimits::max_guests`] at once and [`RelayLimits::max_guests_per_ip`] per address,
//! under the same rate limits as a seat. A guest is a newcomer asking to sit down (or one the
//! table has since admitted): its messages are forwarded like anyone's, and the players — who
//! know each height's validator set — decide what they count for (a stranger's votes count for
//! nothing; only its join request and its signed status reach the game). A lobby join sent to
//! a relay whose table already plays is answered with that table's genesis
//! ([`RelayFrame::Running`]), so that a latecomer can ask to sit down.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{PeerId, TableId, WireMessage};
use bevy_bitcraps::Envelope;
use bevy_renet::netcode::generate_random_bytes;
use bevy_renet::renet::{Bytes, ClientId, ServerEvent};
use bevy_renet::{RenetReceive, RenetServer, RenetServerEvent, RenetServerPlugin};

use crate::error::{Offence, Refusal};
use crate::faults::{FaultState, Verdict};
use crate::gate::{GatePlugin, RelayTransport};
use crate::protocol::{self, ChannelBudget, ClientFrame, Lane, RelayFrame};
use crate::queue::{fits_window, LaneQueues, LaneSink, TokenBucket};
pub use crate::relay_config::{RelayConfig, RelayLimits, RelayStats};

#[derive(Debug)]
enum Stage {
    Challenged { nonce: [u8; 32], since: Duration },
    Seated(PeerId),
    Closing { until: Duration },
}

#[derive(Debug)]
struct Connection {
    stage: Stage,
    /// A key that is not a genesis seat (a newcomer), once it proved it.
    guest: bool,
    ip: Option<IpAddr>,
    queues: LaneQueues,
    messages: TokenBucket,
    bytes: TokenBucket,
}

/// The relay's state (a resource of the relay's App).
#[derive(Resource, Debug)]
pub struct Relay {
    config: RelayConfig,
    clients: BTreeMap<ClientId, Connection>,
    seats: BTreeMap<PeerId, ClientId>,
    offences: VecDeque<Offence>,
    stats: RelayStats,
    faults: Option<FaultState>,
    log: RefusalLog,
}

/// Refusals logged one by one: a few a second; beyond that (a flood of connections that never
/// prove a key), counted and summed up every few seconds, so that the log does not become the
/// flood.
#[derive(Debug)]
struct RefusalLog {
    budget: TokenBucket,
    unlogged: u64,
    last: Option<Offence>,
    since: Duration,
}

impl RefusalLog {
    /// Refusals logged one by one per second, sustained (and at once).
    const RATE: (u64, u64) = (5, 20);
    /// How often the ones not logged are summed up.
    const SUMMARY_EVERY: Duration = Duration::from_secs(5);

    fn new() -> RefusalLog {
        RefusalLog {
            budget: TokenBucket::new(Self::RATE.0, Self::RATE.1, Duration::ZERO),
            unlogged: 0,
            last: None,
            since: Duration::ZERO,
        }
    }

    fn log(&mut self, offence: &Offence, now: Duration) {
        if self.budget.take(1, now) {
            log::warn!("{offence}");
        } else {
            self.unlogged += 1;
            self.last = Some(offence.clone());
        }
    }

    fn summary(&mut self, now: Duration) {
        if now < self.since + Self::SUMMARY_EVERY {
            return;
        }
        if let Some(last) = self.last.take() {
            log::warn!(
                "relay: {} more connections refused or closed in the last {:.0} s, not logged \
                 one by one (the last: {last})",
                self.unlogged,
                (now - self.since).as_secs_f64()
            );
        }
        self.unlogged = 0;
        self.since = now;
    }
}

impl Relay {
    /// A relay with no connections.
    pub fn new(config: RelayConfig) -> Relay {
        Relay {
            faults: config.faults.clone().map(FaultState::new),
            log: RefusalLog::new(),
            config,
            clients: BTreeMap::new(),
            seats: BTreeMap::new(),
            offences: VecDeque::new(),
            stats: RelayStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Seats with a connection, and their renet client ids (guests included).
    pub fn seated(&self) -> impl Iterator<Item = (PeerId, ClientId)> + '_ {
        self.seats.iter().map(|(p, c)| (*p, *c))
    }

    /// Connected keys that are not genesis seats (newcomers), and their renet client ids.
    pub fn guests(&self) -> impl Iterator<Item = (PeerId, ClientId)> + '_ {
        self.seats
            .iter()
            .filter(|(p, _)| !self.config.seats.contains(p))
            .map(|(p, c)| (*p, *c))
    }

    /// The connection speaking for `peer`, if any.
    pub fn client_of(&self, peer: &PeerId) -> Option<ClientId> {
        self.seats.get(peer).copied()
    }

    /// Connections closed or refused, most recent last.
    pub fn offences(&self) -> impl Iterator<Item = &Offence> {
        self.offences.iter()
    }

    /// Counters.
    pub fn stats(&self) -> RelayStats {
        let mut stats = self.stats.clone();
        stats.connected = self.clients.len();
        stats.seated = self.seats.len();
        if let Some(f) = &self.faults {
            stats.fault_drops = f.dropped;
            stats.fault_delays = f.delayed;
        }
        stats
    }

    fn open(&mut self, client: ClientId, ip: Option<IpAddr>, now: Duration, real: Duration) {
        let limits = &self.config.limits;
        let nonce: [u8; 32] = generate_random_bytes();
        let pending_here = self
            .clients
            .values()
            .filter(|c| c.ip == ip && matches!(c.stage, Stage::Challenged { .. }))
            .count();
        let mut connection = Connection {
            stage: Stage::Challenged { nonce, since: now },
            guest: false,
            ip,
            queues: LaneQueues::new(&self.config.budget),
            messages: TokenBucket::new(limits.messages_per_second, limits.message_burst, real),
            bytes: TokenBucket::new(limits.bytes_per_second, limits.byte_burst, real),
        };
        push_frame(
            &mut connection.queues,
            Lane::Consensus,
            &RelayFrame::Challenge {
                nonce,
                terms: self.config.terms,
                client_id: client,
            },
        );
        log::info!("relay: client {client} connected, challenge sent");
        self.clients.insert(client, connection);
        if let Some(ip) = ip.filter(|_| pending_here >= limits.max_pending_per_ip) {
            let refusal = Refusal::TooManyPending {
                ip: ip.to_string(),
                limit: limits.max_pending_per_ip,
            };
            self.refuse(client, refusal, now);
        }
    }

    fn close(&mut self, client: ClientId, reason: &str) {
        if let Some(connection) = self.clients.remove(&client) {
            if let Stage::Seated(peer) = connection.stage {
                self.unseat(peer, client);
                log::info!("relay: seat {peer} (client {client}) left: {reason}");
            } else {
                log::debug!("relay: client {client} disconnected: {reason}");
            }
        }
    }

    fn unseat(&mut self, peer: PeerId, client: ClientId) {
        if self.seats.get(&peer) == Some(&client) {
            self.seats.remove(&peer);
        }
    }

    /// Refuses or closes `client`: logs the offence, tells the player why, and disconnects it
    /// once the grace period is over.
    fn refuse(&mut self, client: ClientId, refusal: Refusal, now: Duration) {
        let grace = self.config.limits.close_grace;
        let Some(connection) = self.clients.get_mut(&client) else {
            return;
        };
        let seat = match connection.stage {
            Stage::Closing { .. } => return,
            Stage::Seated(peer) => Some(peer),
            Stage::Challenged { .. } => None,
        };
        connection.queues.clear();
        push_frame(
            &mut connection.queues,
            Lane::Consensus,
            &RelayFrame::Refused(refusal.clone()),
        );
        connection.stage = Stage::Closing { until: now + grace };
        if let Some(peer) = seat {
            self.unseat(peer, client);
            self.stats.kicked += 1;
        } else {
            self.stats.refused += 1;
        }
        let offence = Offence {
            client,
            seat,
            refusal,
        };
        self.log.log(&offence, now);
        self.offences.push_back(offence);
        while self.offences.len() > self.config.limits.offences_kept {
            self.offences.pop_front();
        }
    }

    fn handle(&mut self, client: ClientId, raw: &[u8], now: Duration, real: Duration) {
        let Some(connection) = self.clients.get_mut(&client) else {
            return;
        };
        if matches!(connection.stage, Stage::Closing { .. }) {
            return;
        }
        let limits = &self.config.limits;
        if !connection.messages.take(1, real) {
            let limit = limits.messages_per_second;
            return self.refuse(client, rate_limited("messages", limit), now);
        }
        if !connection.bytes.take(raw.len() as u64, real) {
            let limit = limits.bytes_per_second;
            return self.refuse(client, rate_limited("bytes", limit), now);
        }
        let limit = self.config.budget.max_frame_bytes();
        if raw.len() > limit {
            let refusal = Refusal::Oversized {
                len: raw.len(),
                limit: self.config.budget.max_message_bytes,
            };
            return self.refuse(client, refusal, now);
        }
        let frame: ClientFrame = match protocol::decode(raw, limit) {
            Ok(frame) => frame,
            Err(e) => {
                let refusal = Refusal::Malformed {
                    reason: format!("frame: {e}"),
                };
                return self.refuse(client, refusal, now);
            }
        };
        match (&connection.stage, frame) {
            (Stage::Challenged { nonce, .. }, ClientFrame::Hello(proof)) => {
                let nonce = *nonce;
                self.seat(client, nonce, proof, now);
            }
            (Stage::Seated(_), ClientFrame::Ping { nonce }) => {
                push_frame(
                    &mut connection.queues,
                    Lane::Heartbeat,
                    &RelayFrame::Pong { nonce },
                );
            }
            (Stage::Seated(peer), ClientFrame::Packet { to, bytes }) => {
                let from = *peer;
                match self.check(from, to, &bytes) {
                    Ok(lane) => self.forward(client, from, to, lane, bytes, now),
                    Err(refusal) => self.refuse(client, refusal, now),
                }
            }
            (Stage::Challenged { .. }, ClientFrame::Join(_)) if self.config.genesis.is_some() => {
                // A lobby player arriving after the lobby formed its table: the table is public
                // (every player holds its genesis), so tell it which one plays here; it may
                // ask to sit down with a seat proof on a new connection.
                self.dismiss_with_genesis(client, now);
            }
            (_, ClientFrame::Join(_)) => {
                // A lobby player at a relay that was given its seats without a lobby.
                let players = u16::try_from(self.config.seats.len()).unwrap_or(u16::MAX);
                self.refuse(client, Refusal::TableFull { players }, now);
            }
            (_, frame) => {
                let frame = match frame {
                    ClientFrame::Hello(_) => "hello",
                    ClientFrame::Packet { .. } => "data-before-handshake",
                    ClientFrame::Ping { .. } => "ping-before-handshake",
                    ClientFrame::Join(_) => "lobby-join",
                    ClientFrame::Resume { .. } => "resume (this relay already serves a table)",
                }
                .to_string();
                self.refuse(client, Refusal::UnexpectedFrame { frame }, now);
            }
        }
    }

    /// Sends a latecomer the genesis of the table that plays here and closes its lobby
    /// connection after the grace period (not an offence: it could not know).
    fn dismiss_with_genesis(&mut self, client: ClientId, now: Duration) {
        let grace = self.config.limits.close_grace;
        let Some(genesis) = self.config.genesis.clone() else {
            return;
        };
        let Some(connection) = self.clients.get_mut(&client) else {
            return;
        };
        connection.queues.clear();
        push_frame(
            &mut connection.queues,
            Lane::Consensus,
            &RelayFrame::Running(genesis),
        );
        connection.stage = Stage::Closing { until: now + grace };
        log::info!("relay: client {client} asked a lobby for a seat; sent it the running table");
    }

    /// Why `peer` (not a genesis seat) from `ip` cannot come in as a guest now, if it cannot.
    fn guest_refusal(&self, peer: &PeerId, ip: Option<IpAddr>) -> Option<Refusal> {
        let limits = &self.config.limits;
        let others: Vec<&Connection> = self
            .clients
            .values()
            .filter(|c| c.guest && matches!(c.stage, Stage::Seated(p) if p != *peer))
            .collect();
        if others.len() >= limits.max_guests {
            return Some(Refusal::TooManyGuests {
                limit: limits.max_guests,
            });
        }
        let here = others.iter().filter(|c| c.ip == ip).count();
        match ip {
            Some(ip) if here >= limits.max_guests_per_ip => Some(Refusal::TooManyGuestsFrom {
                ip: ip.to_string(),
                limit: limits.max_guests_per_ip,
            }),
            _ => None,
        }
    }

    fn seat(
        &mut self,
        client: ClientId,
        nonce: [u8; 32],
        proof: crate::protocol::SeatProof,
        now: Duration,
    ) {
        if let Some(mismatch) = self.config.terms.mismatch(&proof.terms) {
            return self.refuse(client, mismatch, now);
        }
        let peer = proof.peer;
        if !proof.verify(&nonce, client) {
            return self.refuse(client, Refusal::BadProof { peer }, now);
        }
        let guest = !self.config.seats.contains(&peer);
        if guest {
            let ip = self.clients.get(&client).and_then(|c| c.ip);
            if let Some(refusal) = self.guest_refusal(&peer, ip) {
                return self.refuse(client, refusal, now);
            }
        }
        if let Some(old) = self.seats.insert(peer, client) {
            // The same key proved again on a new connection: the player reconnected (renet
            // cannot revive a disconnected client). The old connection is stale.
            if old != client {
                self.refuse(old, Refusal::Replaced, now);
            }
        }
        let online: Vec<PeerId> = self.seats.keys().copied().collect();
        if let Some(connection) = self.clients.get_mut(&client) {
            connection.stage = Stage::Seated(peer);
            connection.guest = guest;
            push_frame(
                &mut connection.queues,
                Lane::Consensus,
                &RelayFrame::Welcome { peer, online },
            );
        }
        if guest {
            log::info!("relay: client {client} proved key {peer} (a newcomer, not a genesis seat)");
        } else {
            log::info!("relay: client {client} proved seat {peer}");
        }
    }

    /// What the relay can check of an envelope without keys: size, encoding, table, the
    /// signer of an announcement, the recipient. Returns the lane it travels on.
    fn check(&self, from: PeerId, to: Option<PeerId>, bytes: &[u8]) -> Result<Lane, Refusal> {
        let limit = self.config.budget.max_message_bytes;
        if bytes.len() > limit {
            return Err(Refusal::Oversized {
                len: bytes.len(),
                limit,
            });
        }
        // A message to a key with no connection (a newcomer that left, a seat offline) is
        // dropped when it is forwarded; only a message to oneself is an offence.
        if to == Some(from) {
            return Err(Refusal::BadRecipient { to: from });
        }
        let envelope = Envelope::decode(bytes, limit).map_err(|e| Refusal::Malformed {
            reason: format!("envelope: {e}"),
        })?;
        let expected = self.config.terms.table;
        let other = |got: TableId| Refusal::OtherTable { expected, got };
        match envelope {
            Envelope::Consensus(message) => {
                let table = table_of(&message);
                if table != expected {
                    return Err(other(table));
                }
                Ok(match message {
                    WireMessage::Decision(_) | WireMessage::Status(_) => Lane::CatchUp,
                    WireMessage::Proposal(_) | WireMessage::Vote(_) => Lane::Consensus,
                })
            }
            Envelope::StateHash(statement) => {
                if statement.table != expected {
                    return Err(other(statement.table));
                }
                if statement.signer != from {
                    return Err(Refusal::NotYourAnnouncement {
                        sender: from,
                        signer: statement.signer,
                    });
                }
                Ok(Lane::Consensus)
            }
            Envelope::Application(_) => Ok(Lane::Consensus),
        }
    }

    fn forward(
        &mut self,
        sender: ClientId,
        from: PeerId,
        to: Option<PeerId>,
        lane: Lane,
        bytes: Vec<u8>,
        now: Duration,
    ) {
        let frame = match protocol::encode(&RelayFrame::Packet { from, bytes }) {
            Ok(frame) => Bytes::from(frame),
            Err(e) => {
                log::error!("relay: cannot encode a packet from {from}: {e}");
                return;
            }
        };
        let recipients: Vec<ClientId> = match to {
            Some(peer) => match self.seats.get(&peer) {
                Some(client) => vec![*client],
                None => {
                    self.stats.unroutable += 1;
                    return;
                }
            },
            None => self
                .seats
                .values()
                .copied()
                .filter(|c| *c != sender)
                .collect(),
        };
        for client in recipients {
            if let Some(faults) = self.faults.as_mut() {
                if let Verdict::Held = faults.judge(client, lane, &frame, now) {
                    continue;
                }
            }
            self.deliver(client, lane, frame.clone());
        }
    }

    fn deliver(&mut self, client: ClientId, lane: Lane, frame: Bytes) {
        let Some(connection) = self.clients.get_mut(&client) else {
            return;
        };
        if !matches!(connection.stage, Stage::Seated(_)) {
            return;
        }
        self.stats.forwarded += 1;
        let dropped = connection.queues.push(lane, frame);
        if dropped > 0 {
            self.stats.backpressure_drops += dropped as u64;
            if self.stats.backpressure_drops.is_power_of_two() {
                log::warn!(
                    "relay: client {client} is slow: {} messages dropped so far (its queue is full)",
                    self.stats.backpressure_drops
                );
            }
        }
    }

    /// Timeouts, delayed messages, disconnections after the grace period, and the flush of
    /// every queue into renet within each channel's free memory.
    fn tick(&mut self, server: &mut RenetServer, now: Duration) {
        self.log.summary(now);
        let timeout = self.config.limits.handshake_timeout;
        let late: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                matches!(c.stage, Stage::Challenged { since, .. } if now >= since + timeout)
            })
            .map(|(id, _)| *id)
            .collect();
        for client in late {
            let seconds = timeout.as_secs();
            self.refuse(client, Refusal::HandshakeTimeout { seconds }, now);
        }
        if let Some(faults) = self.faults.as_mut() {
            for (client, lane, frame) in faults.due(now) {
                self.deliver(client, lane, frame);
            }
        }
        for (id, connection) in &mut self.clients {
            if let Stage::Closing { until } = connection.stage {
                if now >= until {
                    server.disconnect(*id);
                    connection.queues.clear();
                    continue;
                }
            }
            connection.queues.flush(&mut ServerSink {
                server: &mut *server,
                client: *id,
                budget: &self.config.budget,
            });
        }
    }
}

fn rate_limited(what: &str, limit: u64) -> Refusal {
    Refusal::RateLimited {
        what: what.to_string(),
        limit,
    }
}

/// The table a consensus message is about.
pub fn table_of(message: &WireMessage) -> TableId {
    match message {
        WireMessage::Proposal(p) => p.header().table,
        WireMessage::Vote(v) => v.vote.table,
        WireMessage::Decision(d) => d.certificate.table,
        WireMessage::Status(s) => s.status.table,
    }
}

fn push_frame(queues: &mut LaneQueues, lane: Lane, frame: &RelayFrame) {
    match protocol::encode(frame) {
        Ok(bytes) => {
            queues.push(lane, Bytes::from(bytes));
        }
        Err(e) => log::error!("relay: cannot encode a frame: {e}"),
    }
}

/// One client's channels on the relay's server.
struct ServerSink<'a> {
    server: &'a mut RenetServer,
    client: ClientId,
    budget: &'a ChannelBudget,
}

impl LaneSink for ServerSink<'_> {
    fn can_send(&self, lane: Lane, len: usize) -> bool {
        let available = self
            .server
            .channel_available_memory(self.client, lane.channel());
        fits_window(self.budget, lane, available, len)
    }

    fn send(&mut self, lane: Lane, message: Bytes) {
        self.server
            .send_message(self.client, lane.channel(), message);
    }
}

/// Runs a [`Relay`] on the App's [`RenetServer`]: connection events (observers of
/// [`RenetServerEvent`]), handshakes, forwarding and limits, in `PreUpdate` right after renet
/// received (so forwarded messages leave in the same frame's `PostUpdate`). The socket and
/// netcode run behind the relay's gate ([`GatePlugin`], [`RelayTransport`]).
///
/// Insert the resources with [`crate::RelayAppExt::add_relay`] rather than by hand.
#[derive(Clone, Copy, Debug, Default)]
pub struct RelayPlugin;

impl Plugin for RelayPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<RenetServerPlugin>() {
            app.add_plugins(RenetServerPlugin);
        }
        if !app.is_plugin_added::<GatePlugin>() {
            app.add_plugins(GatePlugin);
        }
        app.add_observer(on_server_event).add_systems(
            PreUpdate,
            relay_messages
                .after(RenetReceive)
                .run_if(resource_exists::<Relay>)
                .run_if(resource_exists::<RenetServer>),
        );
    }
}

fn on_server_event(
    event: On<RenetServerEvent>,
    relay: Option<ResMut<Relay>>,
    transport: Option<Res<RelayTransport>>,
    time: Res<Time>,
    real: Res<Time<Real>>,
) {
    let Some(mut relay) = relay else {
        return;
    };
    match &event.0 {
        ServerEvent::ClientConnected { client_id } => {
            let ip = transport
                .as_ref()
                .and_then(|t| t.client_addr(*client_id))
                .map(|a| a.ip());
            relay.open(*client_id, ip, time.elapsed(), real.elapsed());
        }
        ServerEvent::ClientDisconnected { client_id, reason } => {
            relay.close(*client_id, &reason.to_string());
        }
    }
}

fn relay_messages(
    mut relay: ResMut<Relay>,
    mut server: ResMut<RenetServer>,
    time: Res<Time>,
    real: Res<Time<Real>>,
) {
    let (now, real) = (time.elapsed(), real.elapsed());
    let clients: Vec<ClientId> = relay.clients.keys().copied().collect();
    for client in clients {
        for lane in Lane::ALL {
            while let Some(message) = server.receive_message(client, lane.channel()) {
                relay.handle(client, &message, now, real);
            }
        }
    }
    relay.tick(&mut server, now);
}
