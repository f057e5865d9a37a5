//! A player's side: a renet client (netcode over UDP) connected to the relay, proving the
//! local seat key, and carrying the plugin's packets through the transport seam
//! ([`NetInbox`] in [`TransportSystems::Poll`], [`NetOutbox`] in [`TransportSystems::Flush`]).
//!
//! A lost connection is replaced by a new renet client with a new client id (renet cannot
//! revive a disconnected one); the relay seats it again once it proves the same key, and the
//! plugin's catch-up brings the player back to the table's height.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::PeerId;
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::{
    BitCrapsConfig, Destination, InboundPacket, NetInbox, NetOutbox, RegistryInUse,
    TransportSystems,
};
use bevy_renet::netcode::{
    generate_random_bytes, ClientAuthentication, ConnectToken, NetcodeClientPlugin,
    NetcodeClientTransport, NETCODE_KEY_BYTES,
};
use bevy_renet::renet::Bytes;
use bevy_renet::{RenetClient, RenetClientPlugin};

use crate::error::{ClientError, Refusal, SetupError};
use crate::lobby_terms::Genesis;
use crate::protocol::{
    self, connection_config, ChannelBudget, ClientFrame, Lane, RelayFrame, SeatProof, TableTerms,
    NETCODE_PROTOCOL_ID,
};
use crate::queue::{fits_window, LaneQueues, LaneSink};

/// How a player connects to its relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetClientConfig {
    /// The relay's address.
    pub relay: SocketAddr,
    /// Channel memory and message sizes (the relay's must be the same).
    pub budget: ChannelBudget,
    /// Wait before replacing a lost connection; `None` never reconnects on its own.
    pub reconnect_after: Option<Duration>,
    /// Heartbeat period (round-trip time measurement).
    pub ping_interval: Duration,
    /// The terms to play by; `None` derives them from the App's [`BitCrapsConfig`] and the
    /// registry of [`bevy_bitcraps::GamePlugin`] (the empty registry without it).
    pub terms: Option<TableTerms>,
    /// The table's genesis, if it was formed in a lobby: a relay that restarted (and so came
    /// back as an empty lobby) gets it with this player's seat proof and serves the table
    /// again ([`ClientFrame::Resume`]).
    pub genesis: Option<Genesis>,
    /// Longest wait between two reconnection attempts (the wait doubles from
    /// `reconnect_after` after each failed attempt, and starts again once seated).
    pub max_reconnect_wait: Duration,
}

impl NetClientConfig {
    /// Connects to `relay` with default budgets, reconnecting 500 ms after a loss.
    pub fn new(relay: SocketAddr) -> NetClientConfig {
        NetClientConfig {
            relay,
            budget: ChannelBudget::default(),
            reconnect_after: Some(Duration::from_millis(500)),
            ping_interval: Duration::from_millis(250),
            terms: None,
            genesis: None,
            max_reconnect_wait: Duration::from_secs(4),
        }
    }
}

/// Where a player's connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// No connection, none scheduled (after [`NetClient::disconnect`]).
    Idle,
    /// A new connection will be opened at this time (virtual clock).
    Waiting {
        /// When.
        until: Duration,
    },
    /// netcode is connecting.
    Connecting,
    /// Connected; the seat proof is on its way.
    Proving,
    /// Seated: packets flow.
    Seated {
        /// Seats online when this one was seated.
        online: Vec<PeerId>,
    },
    /// The relay refused the seat, or is for another table; no reconnection.
    Refused(ClientError),
}

/// A player's connection to the relay (a resource of the player's App).
#[derive(Resource, Debug)]
pub struct NetClient {
    config: NetClientConfig,
    state: LinkState,
    queues: LaneQueues,
    rtt: Option<Duration>,
    next_ping: Duration,
    ping: Option<(u64, Duration)>,
    ping_seq: u64,
    control: VecDeque<Bytes>,
    connections: u32,
    client_id: Option<u64>,
    last_error: Option<ClientError>,
    mismatch: Option<ClientError>,
    drop_requested: bool,
    reconnect_requested: bool,
    /// Connection attempts since the last time this player was seated.
    failures: u32,
}

impl NetClient {
    /// A client that connects on the App's first frame.
    pub fn new(config: NetClientConfig) -> NetClient {
        NetClient {
            queues: LaneQueues::new(&config.budget),
            config,
            state: LinkState::Waiting {
                until: Duration::ZERO,
            },
            rtt: None,
            next_ping: Duration::ZERO,
            ping: None,
            ping_seq: 0,
            control: VecDeque::new(),
            connections: 0,
            client_id: None,
            last_error: None,
            mismatch: None,
            drop_requested: false,
            reconnect_requested: false,
            failures: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NetClientConfig {
        &self.config
    }

    /// Where the connection is.
    pub fn state(&self) -> &LinkState {
        &self.state
    }

    /// True once the relay seated this player on the current connection.
    pub fn is_seated(&self) -> bool {
        matches!(self.state, LinkState::Seated { .. })
    }

    /// The last measured round-trip time to the relay.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Connections opened so far (1 + reconnections).
    pub fn connections(&self) -> u32 {
        self.connections
    }

    /// The renet client id of the current connection.
    pub fn client_id(&self) -> Option<u64> {
        self.client_id
    }

    /// The last problem of the connection.
    pub fn last_error(&self) -> Option<&ClientError> {
        self.last_error.as_ref()
    }

    /// One line for a UI or a log: where the connection is, and why if it failed.
    pub fn describe(&self) -> String {
        let relay = self.config.relay;
        match &self.state {
            LinkState::Idle => format!("disconnected from the relay at {relay}"),
            LinkState::Waiting { .. } => match &self.last_error {
                Some(e) => format!("{e}; reconnecting"),
                None => format!("connecting to the relay at {relay}"),
            },
            LinkState::Connecting => format!("connecting to the relay at {relay}"),
            LinkState::Proving => format!("proving the seat key to the relay at {relay}"),
            LinkState::Seated { .. } => match self.rtt {
                Some(rtt) => format!(
                    "seated at the relay at {relay} (round trip {:.1} ms)",
                    rtt.as_secs_f64() * 1000.0
                ),
                None => format!("seated at the relay at {relay}"),
            },
            LinkState::Refused(e) => e.to_string(),
        }
    }

    /// Outbound messages dropped because the relay could not take them fast enough.
    pub fn dropped(&self) -> u64 {
        self.queues.dropped()
    }

    /// Closes the connection (as a crash or a lost network would) and does not reconnect until
    /// [`NetClient::reconnect`].
    pub fn disconnect(&mut self) {
        self.drop_requested = true;
    }

    /// Opens a new connection (a new renet client) on the next frame.
    pub fn reconnect(&mut self) {
        self.reconnect_requested = true;
    }

    fn fail(&mut self, error: ClientError, now: Duration) {
        log::warn!("{error}");
        let backoff = 1u32 << self.failures.min(6);
        self.failures = self.failures.saturating_add(1);
        self.state = match self.config.reconnect_after {
            Some(after) => LinkState::Waiting {
                until: now + (after * backoff).min(self.config.max_reconnect_wait.max(after)),
            },
            None => LinkState::Idle,
        };
        self.last_error = Some(error);
        self.rtt = None;
        self.ping = None;
    }

    fn refuse(&mut self, error: ClientError) {
        log::error!("{error}");
        self.last_error = Some(error.clone());
        self.state = LinkState::Refused(error);
    }

    fn push(&mut self, lane: Lane, frame: &ClientFrame) {
        match protocol::encode(frame) {
            Ok(bytes) => {
                self.queues.push(lane, Bytes::from(bytes));
            }
            Err(e) => log::error!("cannot encode a frame for the relay: {e}"),
        }
    }
}

/// Connects the player's App to a relay: add it after [`bevy_bitcraps::BitCrapsPlugin`] (and
/// [`bevy_bitcraps::GamePlugin`], whose registry the handshake uses). It adds bevy_renet's
/// client plugins and runs in the plugin's transport sets.
#[derive(Clone, Debug)]
pub struct NetClientPlugin {
    /// Where and how to connect.
    pub config: NetClientConfig,
}

impl NetClientPlugin {
    /// Connects to the relay at `relay` with default settings.
    pub fn new(relay: SocketAddr) -> NetClientPlugin {
        NetClientPlugin {
            config: NetClientConfig::new(relay),
        }
    }
}

impl Plugin for NetClientPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<RenetClientPlugin>() {
            app.add_plugins(RenetClientPlugin);
        }
        if !app.is_plugin_added::<NetcodeClientPlugin>() {
            app.add_plugins(NetcodeClientPlugin);
        }
        app.insert_resource(NetClient::new(self.config.clone()))
            .add_systems(
                Update,
                (
                    (manage_link, ApplyDeferred, poll_relay)
                        .chain()
                        .in_set(TransportSystems::Poll),
                    flush_relay.in_set(TransportSystems::Flush),
                ),
            );
    }
}

/// Seconds of silence after which either end of a link drops it (netcode's connect-token
/// timeout; the relay and the player each send a keep-alive every 250 ms). A player notices a
/// lost relay this soon, says so and reconnects; a freeze longer than this costs a reconnect,
/// nothing more.
pub const LINK_TIMEOUT_SECONDS: i32 = 5;
/// How long a connect token may be used to connect (netcode's default for unsecure clients).
const CONNECT_TOKEN_EXPIRY_SECONDS: u64 = 300;

/// Opens a renet client (netcode over UDP) to `relay`, with a fresh random client id and a
/// [`LINK_TIMEOUT_SECONDS`] silence timeout.
pub fn open_connection(
    relay: SocketAddr,
    budget: &ChannelBudget,
) -> Result<(RenetClient, NetcodeClientTransport), SetupError> {
    if !budget.is_consistent() {
        return Err(SetupError::Budget {
            max_message_bytes: budget.max_message_bytes,
        });
    }
    let bind = if relay.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    };
    let socket = UdpSocket::bind(bind).map_err(|source| SetupError::Bind { addr: bind, source })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SetupError::Clock)?;
    let client_id = u64::from_le_bytes(generate_random_bytes());
    // What renetcode's `Unsecure` authentication builds (a token sealed with the zero key:
    // identities are proved by signatures, not by netcode), but with a silence timeout of
    // `LINK_TIMEOUT_SECONDS` instead of 15, so a player notices a lost relay within seconds.
    let connect_token = ConnectToken::generate(
        now,
        NETCODE_PROTOCOL_ID,
        CONNECT_TOKEN_EXPIRY_SECONDS,
        client_id,
        LINK_TIMEOUT_SECONDS,
        vec![relay],
        None,
        &[0; NETCODE_KEY_BYTES],
    )
    .map_err(|e| SetupError::Netcode {
        server: relay,
        reason: e.to_string(),
    })?;
    let authentication = ClientAuthentication::Secure { connect_token };
    let transport = NetcodeClientTransport::new(now, authentication, socket).map_err(|e| {
        SetupError::Netcode {
            server: relay,
            reason: e.to_string(),
        }
    })?;
    Ok((RenetClient::new(connection_config(budget)), transport))
}

fn manage_link(
    mut client: ResMut<NetClient>,
    renet: Option<Res<RenetClient>>,
    transport: Option<ResMut<NetcodeClientTransport>>,
    time: Res<Time>,
    mut commands: Commands,
) {
    let now = time.elapsed();
    let relay = client.config.relay;
    if std::mem::take(&mut client.drop_requested) {
        if let Some(mut transport) = transport {
            transport.disconnect();
        }
        commands.remove_resource::<RenetClient>();
        commands.remove_resource::<NetcodeClientTransport>();
        client.state = LinkState::Idle;
        client.client_id = None;
        log::info!("connection to the relay at {relay} closed");
        return;
    }
    let reconnect = std::mem::take(&mut client.reconnect_requested);
    let due = matches!(client.state, LinkState::Waiting { until } if now >= until);
    if reconnect || due {
        if let Some(mut transport) = transport {
            transport.disconnect();
        }
        match open_connection(relay, &client.config.budget) {
            Ok((renet, transport)) => {
                client.client_id = Some(transport.client_id());
                client.connections += 1;
                client.state = LinkState::Connecting;
                client.mismatch = None;
                client.control.clear();
                log::info!(
                    "connecting to the relay at {relay} as client {}",
                    transport.client_id()
                );
                commands.insert_resource(renet);
                commands.insert_resource(transport);
            }
            Err(e) => {
                let reason = e.to_string();
                client.fail(ClientError::Lost { relay, reason }, now);
            }
        }
        return;
    }
    let live = matches!(
        client.state,
        LinkState::Connecting | LinkState::Proving | LinkState::Seated { .. }
    );
    let (Some(renet), Some(transport)) = (renet, transport) else {
        return;
    };
    if live && (renet.is_disconnected() || transport.disconnect_reason().is_some()) {
        let reason = match (transport.disconnect_reason(), renet.disconnect_reason()) {
            (Some(netcode), _) => crate::error::netcode_reason(netcode).to_string(),
            (None, Some(renet)) => renet.to_string(),
            (None, None) => "disconnected".to_string(),
        };
        commands.remove_resource::<RenetClient>();
        commands.remove_resource::<NetcodeClientTransport>();
        client.fail(ClientError::Lost { relay, reason }, now);
    }
}

#[allow(clippy::too_many_arguments)]
fn poll_relay(
    mut client: ResMut<NetClient>,
    renet: Option<ResMut<RenetClient>>,
    transport: Option<ResMut<NetcodeClientTransport>>,
    config: Res<BitCrapsConfig>,
    registry: Option<Res<RegistryInUse>>,
    mut inbox: ResMut<NetInbox>,
    time: Res<Time>,
    mut commands: Commands,
) {
    let (Some(mut renet), Some(mut transport)) = (renet, transport) else {
        return;
    };
    if !renet.is_connected() {
        return;
    }
    if client.state == LinkState::Connecting {
        client.state = LinkState::Proving;
    }
    let relay = client.config.relay;
    let seat = config.local_peer();
    let limit = client.config.budget.max_frame_bytes();
    let mut close = false;
    'lanes: for lane in Lane::ALL {
        while let Some(message) = renet.receive_message(lane.channel()) {
            let frame: RelayFrame = match protocol::decode(&message, limit) {
                Ok(frame) => frame,
                Err(e) => {
                    let reason = e.to_string();
                    log::warn!("{}", ClientError::MalformedRelay { relay, reason });
                    continue;
                }
            };
            match frame {
                RelayFrame::Packet { from, bytes } => {
                    if client.is_seated() {
                        inbox.0.push_back(InboundPacket {
                            from,
                            bytes: bytes.into(),
                        });
                    }
                }
                RelayFrame::Challenge { nonce, terms, .. } => {
                    let ours = client.config.terms.unwrap_or_else(|| {
                        let empty = Registry::new();
                        let registry = registry.as_ref().map(|r| &*r.0).unwrap_or(&empty);
                        TableTerms::new(config.table, registry)
                    });
                    if let Some(mismatch) = ours.mismatch(&terms) {
                        // Said here, and still proven to the relay, so that its operator reads
                        // the same reason in its log when it refuses the seat.
                        let error = ClientError::RelayMismatch {
                            relay,
                            seat,
                            mismatch,
                        };
                        log::error!("{error}");
                        client.last_error = Some(error.clone());
                        client.mismatch = Some(error);
                    }
                    let proof =
                        SeatProof::sign(&config.keypair, &nonce, ours, transport.client_id());
                    match protocol::encode(&ClientFrame::Hello(proof)) {
                        Ok(hello) => client.control.push_back(Bytes::from(hello)),
                        Err(e) => log::error!("cannot encode the seat proof: {e}"),
                    }
                }
                RelayFrame::Welcome { peer, online } => {
                    if let Some(error) = client.mismatch.take() {
                        // A relay for another table must not seat this player.
                        client.refuse(error);
                        close = true;
                        break 'lanes;
                    }
                    if peer == seat {
                        log::info!(
                            "seated at the relay at {relay} as {seat} ({} seats online)",
                            online.len()
                        );
                        client.state = LinkState::Seated { online };
                        client.failures = 0;
                    }
                }
                RelayFrame::Refused(refusal) => {
                    let retry = matches!(refusal, Refusal::HandshakeTimeout { .. } | Refusal::Full);
                    let error = ClientError::Refused {
                        relay,
                        seat,
                        refusal,
                    };
                    if retry {
                        client.fail(error, time.elapsed());
                    } else {
                        client.refuse(error);
                    }
                    close = true;
                    break 'lanes;
                }
                RelayFrame::LobbyChallenge { nonce, .. } => {
                    // The relay restarted and is a lobby again: hand it the table to serve.
                    let ours = client.config.terms.unwrap_or_else(|| {
                        let empty = Registry::new();
                        let registry = registry.as_ref().map(|r| &*r.0).unwrap_or(&empty);
                        TableTerms::new(config.table, registry)
                    });
                    match client.config.genesis.clone() {
                        Some(genesis) if genesis.terms == ours => {
                            log::info!(
                                "the relay at {relay} is a new lobby: asking it to serve table {} again",
                                ours.table
                            );
                            let proof = SeatProof::sign(
                                &config.keypair,
                                &nonce,
                                ours,
                                transport.client_id(),
                            );
                            let resume = ClientFrame::Resume { genesis, proof };
                            match protocol::encode(&resume) {
                                Ok(bytes) => client.control.push_back(Bytes::from(bytes)),
                                Err(e) => log::error!("cannot encode the resume request: {e}"),
                            }
                        }
                        _ => log::warn!(
                            "the relay at {relay} speaks as a lobby to a seated player; ignored"
                        ),
                    }
                }
                RelayFrame::Running(_) => {
                    // The lobby serves the table again: reconnect to it as a seat, now.
                    log::info!("the relay at {relay} serves the table again: reconnecting");
                    client.failures = 0;
                    client.fail(
                        ClientError::Lost {
                            relay,
                            reason: "the relay took the table back; reconnecting".into(),
                        },
                        time.elapsed(),
                    );
                    close = true;
                    break 'lanes;
                }
                RelayFrame::Lobby(_) | RelayFrame::Genesis(_) => {
                    log::warn!(
                        "the relay at {relay} speaks as a lobby to a seated player; ignored"
                    );
                }
                RelayFrame::Pong { nonce } => {
                    if let Some((sent_nonce, at)) = client.ping {
                        if sent_nonce == nonce {
                            client.rtt = Some(time.elapsed().saturating_sub(at));
                            client.ping = None;
                        }
                    }
                }
            }
        }
    }
    if close {
        transport.disconnect();
        commands.remove_resource::<RenetClient>();
        commands.remove_resource::<NetcodeClientTransport>();
    }
}

struct ClientSink<'a>(&'a mut RenetClient, &'a ChannelBudget);

impl LaneSink for ClientSink<'_> {
    fn can_send(&self, lane: Lane, len: usize) -> bool {
        let available = self.0.channel_available_memory(lane.channel());
        fits_window(self.1, lane, available, len)
    }

    fn send(&mut self, lane: Lane, message: Bytes) {
        self.0.send_message(lane.channel(), message);
    }
}

fn flush_relay(
    mut client: ResMut<NetClient>,
    renet: Option<ResMut<RenetClient>>,
    mut outbox: ResMut<NetOutbox>,
    time: Res<Time>,
) {
    let limit = client.config.budget.max_message_bytes;
    for packet in outbox.0.drain(..) {
        if packet.bytes.len() > limit {
            log::error!(
                "outbound message of {} bytes dropped: over the relay limit of {limit} bytes",
                packet.bytes.len()
            );
            continue;
        }
        let to = match packet.to {
            Destination::Broadcast => None,
            Destination::Peer(peer) => Some(peer),
        };
        let lane = Lane::of_envelope(&packet.bytes);
        client.push(
            lane,
            &ClientFrame::Packet {
                to,
                bytes: packet.bytes.to_vec(),
            },
        );
    }
    let Some(mut renet) = renet else {
        return;
    };
    if !renet.is_connected() {
        return;
    }
    let now = time.elapsed();
    if client.is_seated() && now >= client.next_ping {
        client.ping_seq = client.ping_seq.wrapping_add(1);
        let nonce = client.ping_seq;
        client.ping = Some((nonce, now));
        client.next_ping = now + client.config.ping_interval;
        client.push(Lane::Heartbeat, &ClientFrame::Ping { nonce });
    }
    // The hello leaves ahead of any packet; packets wait (bounded) until the seat is proven.
    while let Some(hello) = client.control.front() {
        let available = renet.channel_available_memory(Lane::Consensus.channel());
        if !fits_window(
            &client.config.budget,
            Lane::Consensus,
            available,
            hello.len(),
        ) {
            break;
        }
        if let Some(hello) = client.control.pop_front() {
            renet.send_message(Lane::Consensus.channel(), hello);
        }
    }
    if client.is_seated() {
        let client = &mut *client;
        let sink = &mut ClientSink(&mut renet, &client.config.budget);
        client.queues.flush(sink);
    }
}
