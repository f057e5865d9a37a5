//! The relay's UDP socket and netcode server, behind the gate ([`crate::gate`]):
//! [`RelayTransport`] and the systems that run it ([`GatePlugin`]), in place of bevy_renet's
//! `NetcodeServerTransport` and `NetcodeServerPlugin`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use bevy::prelude::*;
use bevy_renet::renet::ClientId;
use bevy_renet::{RenetReceive, RenetSend, RenetServer, RenetServerPlugin};
use rand_core::RngCore;
use renetcode::{NetcodeServer, ServerAuthentication, ServerConfig, ServerResult};

use crate::gate::{Answer, Gate, GateLimits, GateStats, Handshake};
use crate::netcode_wire::{self as wire, Kind, Token};
use crate::protocol::NETCODE_PROTOCOL_ID;
use crate::relay::Relay;

/// netcode's own bound on connected clients.
pub const NETCODE_MAX_CLIENTS: usize = 1024;

/// Shortest and longest silence (seconds) after which the relay drops a connected client,
/// whatever its connect token asks for (honest players ask for
/// [`LINK_TIMEOUT_SECONDS`](crate::client::LINK_TIMEOUT_SECONDS)).
const TIMEOUT_SECONDS: (i32, i32) = (2, 15);

/// The relay's UDP socket and netcode server behind the gate (a resource of the relay's App,
/// inserted by [`crate::RelayAppExt::add_relay`] and its siblings).
#[derive(Resource)]
pub struct RelayTransport {
    socket: UdpSocket,
    addr: SocketAddr,
    netcode: NetcodeServer,
    gate: Gate,
    buffer: Box<[u8; 2048]>,
}

impl std::fmt::Debug for RelayTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayTransport")
            .field("addr", &self.addr)
            .field("stats", &self.gate.stats())
            .finish_non_exhaustive()
    }
}

/// Sends `packet` to `addr`, or logs why not.
fn send(socket: &UdpSocket, addr: SocketAddr, packet: &[u8]) {
    if let Err(e) = socket.send_to(packet, addr) {
        log::debug!("relay: could not send to {addr}: {e}");
    }
}

/// Carries out what netcode asks for.
fn apply(
    result: ServerResult<'_, '_>,
    socket: &UdpSocket,
    server: &mut RenetServer,
    gate: &mut Gate,
    now: Duration,
) {
    match result {
        ServerResult::None => {}
        ServerResult::PacketToSend { addr, payload } => send(socket, addr, payload),
        ServerResult::Payload { client_id, payload } => {
            if let Err(e) = server.process_packet_from(payload, client_id) {
                log::debug!("relay: a packet for client {client_id}: {e}");
            }
        }
        ServerResult::ClientConnected {
            client_id,
            addr,
            payload,
            ..
        } => {
            server.add_connection(client_id);
            gate.on_connected(addr, now);
            send(socket, addr, payload);
        }
        ServerResult::ClientDisconnected {
            client_id,
            addr,
            payload,
        } => {
            server.remove_connection(client_id);
            gate.on_disconnected(addr, now);
            if let Some(payload) = payload {
                send(socket, addr, payload);
            }
        }
    }
}

impl RelayTransport {
    /// netcode (unsecure, this game's protocol id, at most `max_clients` connections, clamped
    /// to [`NETCODE_MAX_CLIENTS`]) on `socket` behind a gate with `limits`; `unix_time` is now
    /// since the Unix epoch (netcode checks connect tokens' expiry against it).
    pub fn new(
        socket: UdpSocket,
        max_clients: usize,
        limits: GateLimits,
        unix_time: Duration,
    ) -> io::Result<RelayTransport> {
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let netcode = NetcodeServer::new(ServerConfig {
            current_time: unix_time,
            max_clients: max_clients.clamp(1, NETCODE_MAX_CLIENTS),
            protocol_id: NETCODE_PROTOCOL_ID,
            public_addresses: vec![addr],
            authentication: ServerAuthentication::Unsecure,
        });
        Ok(RelayTransport {
            socket,
            addr,
            netcode,
            gate: Gate::new(limits, Duration::ZERO),
            buffer: Box::new([0; 2048]),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of a connected client.
    pub fn client_addr(&self, client: ClientId) -> Option<SocketAddr> {
        self.netcode.client_addr(client)
    }

    /// The limits.
    pub fn limits(&self) -> &GateLimits {
        &self.gate.limits
    }

    /// What the gate saw and did.
    pub fn stats(&self) -> GateStats {
        self.gate.stats()
    }

    /// Remembers that a seat of the table proved itself from `client`'s address: requests from
    /// that IP address get a budget and room strangers cannot take.
    pub fn note_seat(&mut self, client: ClientId, now: Duration) {
        if let Some(addr) = self.netcode.client_addr(client) {
            self.gate.note_known(addr.ip(), now);
        }
    }

    /// Advances netcode by `delta`, reads the socket (through the gate), and updates the
    /// connections; `now` is the relay's real time.
    pub fn update(&mut self, delta: Duration, now: Duration, server: &mut RenetServer) {
        self.netcode.update(delta);
        let mut read = 0;
        let mut replies = Vec::new();
        loop {
            if self.gate.limits.enabled && read >= self.gate.limits.datagrams_per_update {
                break;
            }
            let (len, from) = match self.socket.recv_from(&mut self.buffer[..]) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
                Err(e) => {
                    log::warn!("relay: reading the socket failed: {e}");
                    break;
                }
            };
            read += 1;
            self.gate.stats.datagrams += 1;
            self.gate.stats.bytes += len as u64;
            if !self.gate.limits.enabled {
                let result = self.netcode.process_packet(from, &mut self.buffer[..len]);
                apply(result, &self.socket, server, &mut self.gate, now);
                continue;
            }
            self.receive(from, len, now, server, &mut replies);
            for (to, reply) in replies.drain(..) {
                send(&self.socket, to, &reply);
            }
        }
        for client in self.netcode.clients_id() {
            let result = self.netcode.update_client(client);
            apply(result, &self.socket, server, &mut self.gate, now);
        }
        for client in server.disconnections_id() {
            let result = self.netcode.disconnect(client);
            apply(result, &self.socket, server, &mut self.gate, now);
        }
        self.gate.sweep(now);
        self.gate.report(now);
    }

    /// One datagram of `len` bytes in the buffer, from `from`, through the gate.
    fn receive(
        &mut self,
        from: SocketAddr,
        len: usize,
        now: Duration,
        server: &mut RenetServer,
        replies: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) {
        let kind = wire::kind(&self.buffer[..len]);
        if let Some(connection) = self.gate.connections.get_mut(&from) {
            if kind.is_none() || !connection.datagrams.take(1, now) {
                self.gate.stats.junk += 1;
                return;
            }
            let result = self.netcode.process_packet(from, &mut self.buffer[..len]);
            apply(result, &self.socket, server, &mut self.gate, now);
            return;
        }
        match kind {
            Some(Kind::Request) => {
                let unix_seconds = self.netcode.current_time().as_secs();
                self.gate
                    .on_request(from, &self.buffer[..len], now, unix_seconds, replies);
            }
            Some(Kind::Response) => match self.gate.on_response(from, &self.buffer[..len], now) {
                Answer::Drop => {}
                Answer::Reply(reply) => replies.push((from, reply)),
                Answer::Connect(handshake, sequence) => {
                    self.connect(from, &handshake, sequence, now, server);
                }
            },
            _ => self.gate.stats.junk += 1,
        }
    }

    /// Hands netcode a client whose address answered the gate's challenge: its handshake is
    /// replayed into netcode (a connection request, then a response to netcode's own
    /// challenge), and netcode's keep-alive goes back to the player, who is then connected.
    fn connect(
        &mut self,
        from: SocketAddr,
        handshake: &Handshake,
        sequence: u64,
        now: Duration,
        server: &mut RenetServer,
    ) {
        let (min, max) = TIMEOUT_SECONDS;
        let token = Token {
            timeout_seconds: handshake.token.timeout_seconds.clamp(min, max),
            ..handshake.token.clone()
        };
        let mut nonce = [0; 24];
        self.gate.rng.fill_bytes(&mut nonce);
        let expire = self.netcode.current_time().as_secs() + 60;
        let request =
            wire::connection_request(NETCODE_PROTOCOL_ID, expire, &nonce, &token, self.addr);
        let Ok(mut request) = request else {
            return;
        };
        let answer = match self.netcode.process_packet(from, &mut request) {
            ServerResult::PacketToSend { payload, .. } => {
                wire::open(payload, &token.server_to_client, NETCODE_PROTOCOL_ID)
                    .map(|(kind, _, body)| (kind, body, payload.to_vec()))
                    .ok()
            }
            other => {
                apply(other, &self.socket, server, &mut self.gate, now);
                None
            }
        };
        let challenge = match answer {
            Some((Kind::Challenge, body, _)) => wire::read_challenge(&body).ok(),
            Some((Kind::Denied, _, denial)) => {
                // netcode is full: the player hears it.
                self.gate.stats.denied += 1;
                send(&self.socket, from, &denial);
                None
            }
            _ => None,
        };
        let Some((token_sequence, netcode_token)) = challenge else {
            log::debug!("relay: netcode did not take the client at {from}");
            return;
        };
        let body = wire::challenge_body(token_sequence, &netcode_token);
        let response = wire::seal(
            Kind::Response,
            sequence,
            &body,
            &token.client_to_server,
            NETCODE_PROTOCOL_ID,
        );
        let Ok(mut response) = response else {
            return;
        };
        let result = self.netcode.process_packet(from, &mut response);
        apply(result, &self.socket, server, &mut self.gate, now);
    }

    /// Sends what renet has for every connected client.
    pub fn send_packets(&mut self, server: &mut RenetServer) {
        for client in server.clients_id() {
            let Ok(packets) = server.get_packets_to_send(client) else {
                continue;
            };
            for packet in packets {
                match self.netcode.generate_payload_packet(client, &packet) {
                    Ok((addr, payload)) => {
                        if let Err(e) = self.socket.send_to(payload, addr) {
                            log::debug!("relay: could not send to client {client} ({addr}): {e}");
                            break;
                        }
                    }
                    Err(e) => {
                        log::debug!("relay: could not seal a packet for client {client}: {e}");
                        break;
                    }
                }
            }
        }
    }

    /// Disconnects every client at once (when the relay stops).
    pub fn disconnect_all(&mut self, server: &mut RenetServer) {
        for client in self.netcode.clients_id() {
            let result = self.netcode.disconnect(client);
            apply(result, &self.socket, server, &mut self.gate, Duration::ZERO);
        }
    }
}

/// Runs a [`RelayTransport`]: reads the socket through the gate right after renet's update and
/// before renet's events go out (where bevy_renet's netcode plugin would), sends in
/// `PostUpdate`, disconnects everyone when the App exits, and tells the gate where the table's
/// seats proved themselves from. Added by [`crate::RelayPlugin`].
#[derive(Clone, Copy, Debug, Default)]
pub struct GatePlugin;

impl Plugin for GatePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PreUpdate,
            receive
                .in_set(RenetReceive)
                .run_if(resource_exists::<RelayTransport>)
                .run_if(resource_exists::<RenetServer>)
                .after(RenetServerPlugin::update_system)
                .before(RenetServerPlugin::emit_server_events_system),
        )
        .add_systems(
            PostUpdate,
            send_all
                .in_set(RenetSend)
                .run_if(resource_exists::<RelayTransport>)
                .run_if(resource_exists::<RenetServer>),
        )
        .add_systems(
            Last,
            disconnect_on_exit
                .run_if(resource_exists::<RelayTransport>)
                .run_if(resource_exists::<RenetServer>),
        );
    }
}

fn receive(
    mut transport: ResMut<RelayTransport>,
    mut server: ResMut<RenetServer>,
    relay: Option<Res<Relay>>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed();
    transport.update(time.delta(), now, &mut server);
    if let Some(relay) = relay {
        let seats = &relay.config().seats;
        for (_, client) in relay.seated().filter(|(peer, _)| seats.contains(peer)) {
            transport.note_seat(client, now);
        }
    }
}

fn send_all(mut transport: ResMut<RelayTransport>, mut server: ResMut<RenetServer>) {
    transport.send_packets(&mut server);
}

fn disconnect_on_exit(
    exit: MessageReader<AppExit>,
    mut transport: ResMut<RelayTransport>,
    mut server: ResMut<RenetServer>,
) {
    if !exit.is_empty() {
        transport.disconnect_all(&mut server);
    }
}
