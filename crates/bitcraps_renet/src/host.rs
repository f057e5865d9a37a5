//! Setting up a relay and joining one: what the desktop binary calls for `--host`, `--join`
//! and `bitcraps relay`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::BitCrapsConfig;
use bevy_renet::RenetServer;

use crate::client::{NetClientConfig, NetClientPlugin};
use crate::error::{Offence, SetupError};
use crate::gate::{GateLimits, GateStats, RelayTransport, NETCODE_MAX_CLIENTS};
use crate::lobby::{Lobby, LobbyConfig, LobbyPlugin};
use crate::protocol::{relay_connection_config, ChannelBudget, TableTerms};
use crate::relay::{Relay, RelayConfig, RelayPlugin, RelayStats};

/// The port a relay listens on when none is given.
pub const DEFAULT_PORT: u16 = 5000;

/// How often a relay running on its own thread updates: it forwards within this time of a
/// message's arrival, whatever the players' frame rate.
pub const RELAY_TICK: Duration = Duration::from_millis(1);

/// Parses `IP:PORT`, `HOST:PORT`, `:PORT` or `PORT` (the last two listen on every interface).
pub fn parse_address(text: &str) -> Result<SocketAddr, SetupError> {
    let text = text.trim();
    let bad = || SetupError::Address(text.to_string());
    if let Ok(port) = text.trim_start_matches(':').parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .map_err(|_| bad())?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(bad)
}

/// The relay configuration for the table of a player's configuration (`registry`: the custom
/// operations of the build, `Registry::new()` for none).
pub fn relay_config(config: &BitCrapsConfig, registry: &Registry) -> RelayConfig {
    RelayConfig::new(
        TableTerms::new(config.table, registry),
        config.participants.clone(),
    )
}

/// The address other machines use to reach a relay bound to `bound`: for an unspecified
/// address (`0.0.0.0`), this machine's LAN address (found without sending anything), or
/// loopback if there is none.
pub fn shareable_address(bound: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let lan = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| {
            // Connecting a UDP socket only picks a route and a source address.
            s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified());
    SocketAddr::new(lan.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), bound.port())
}

/// The address a player on this machine uses to reach a relay bound to `bound`.
pub fn local_address(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
    } else {
        bound
    }
}

/// Adds a relay to an App.
pub trait RelayAppExt {
    /// Binds a UDP socket to `addr` (port 0: any free port) and runs a relay on it in this App
    /// (a renet server with netcode, [`RelayPlugin`]). Returns the bound address.
    fn add_relay(
        &mut self,
        config: RelayConfig,
        addr: SocketAddr,
    ) -> Result<SocketAddr, SetupError>;

    /// Runs a relay in this App on an already bound socket. Returns its address.
    fn add_relay_on(
        &mut self,
        config: RelayConfig,
        socket: UdpSocket,
    ) -> Result<SocketAddr, SetupError>;

    /// Runs a lobby relay in this App on an already bound socket: it seats the first
    /// `config.players` keys that prove themselves, then relays their table ([`crate::lobby`]).
    fn add_lobby_on(
        &mut self,
        config: LobbyConfig,
        socket: UdpSocket,
    ) -> Result<SocketAddr, SetupError>;
}

/// netcode on `socket` behind the relay's gate ([`crate::gate`]). Behind the gate netcode takes
/// up to [`NETCODE_MAX_CLIENTS`] connections — the gate bounds what each address may hold, and
/// the relay what each may keep without proving a key — so that connections that will never
/// prove a key cannot fill it; without the gate, at most `max_clients`.
fn server_transport(
    socket: UdpSocket,
    max_clients: usize,
    budget: &ChannelBudget,
    gate: &GateLimits,
) -> Result<(RelayTransport, SocketAddr), SetupError> {
    let addr = socket.local_addr().map_err(SetupError::LocalAddr)?;
    if !budget.is_consistent() {
        return Err(SetupError::Budget {
            max_message_bytes: budget.max_message_bytes,
        });
    }
    let current_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SetupError::Clock)?;
    let max_clients = if gate.enabled {
        NETCODE_MAX_CLIENTS
    } else {
        max_clients
    };
    let transport = RelayTransport::new(socket, max_clients, gate.clone(), current_time)
        .map_err(|source| SetupError::Bind { addr, source })?;
    Ok((transport, addr))
}

impl RelayAppExt for App {
    fn add_relay(
        &mut self,
        config: RelayConfig,
        addr: SocketAddr,
    ) -> Result<SocketAddr, SetupError> {
        let socket = UdpSocket::bind(addr).map_err(|source| SetupError::Bind { addr, source })?;
        self.add_relay_on(config, socket)
    }

    fn add_relay_on(
        &mut self,
        config: RelayConfig,
        socket: UdpSocket,
    ) -> Result<SocketAddr, SetupError> {
        // Room for every seat and every guest twice (a reconnecting player's stale connection
        // times out while the new one is seated) and a few connections still proving keys.
        let max_clients = (config.seats.len() + config.limits.max_guests) * 2 + 8;
        let (transport, addr) =
            server_transport(socket, max_clients, &config.budget, &config.limits.gate)?;
        self.add_plugins(RelayPlugin)
            .insert_resource(RenetServer::new(relay_connection_config(&config.budget)))
            .insert_resource(transport)
            .insert_resource(Relay::new(config));
        Ok(addr)
    }

    fn add_lobby_on(
        &mut self,
        config: LobbyConfig,
        socket: UdpSocket,
    ) -> Result<SocketAddr, SetupError> {
        // Every seat three times (its lobby connection lingering while it opens its seated
        // one, and a reconnection), every guest of the table it forms twice, and a few
        // connections still proving their keys.
        let max_clients = usize::from(config.players) * 3 + config.limits.max_guests * 2 + 8;
        let (transport, addr) =
            server_transport(socket, max_clients, &config.budget, &config.limits.gate)?;
        self.add_plugins((RelayPlugin, LobbyPlugin))
            .insert_resource(RenetServer::new(relay_connection_config(&config.budget)))
            .insert_resource(transport)
            .insert_resource(Lobby::new(config));
        Ok(addr)
    }
}

/// A headless lobby relay App (no player, seats not known yet): `app.run()` gathers
/// `config.players` players, then serves their table until the process ends. For
/// `bitcraps relay --port P --players N`. Returns the App and the bound address.
pub fn lobby_app(config: LobbyConfig, addr: SocketAddr) -> Result<(App, SocketAddr), SetupError> {
    let socket = UdpSocket::bind(addr).map_err(|source| SetupError::Bind { addr, source })?;
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(RELAY_TICK)));
    let addr = app.add_lobby_on(config, socket)?;
    Ok((app, addr))
}

/// Starts a lobby relay on its own thread (for `--host`): see [`crate::lobby`].
pub fn spawn_lobby(config: LobbyConfig, addr: SocketAddr) -> Result<RelayHandle, SetupError> {
    spawn_with(addr, move |app, socket| app.add_lobby_on(config, socket))
}

/// A headless relay App (no player): `app.run()` serves the table until the process ends.
/// For `bitcraps relay --port P`. Returns the App and the bound address.
pub fn relay_app(config: RelayConfig, addr: SocketAddr) -> Result<(App, SocketAddr), SetupError> {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(RELAY_TICK)));
    let addr = app.add_relay(config, addr)?;
    Ok((app, addr))
}

/// What a relay thread shares with its handle.
#[derive(Default)]
struct Shared {
    stats: RelayStats,
    gate: GateStats,
    offences: Vec<Offence>,
    joined: Option<(usize, bool)>,
}

/// A relay running on its own thread (for `--host`: the relay next to the host's player, or
/// for tests). Stopped when dropped: keep it alive with the player's App by inserting it as a
/// resource.
#[derive(Resource)]
pub struct RelayHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RelayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RelayHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address to give to players on other machines.
    pub fn share_address(&self) -> SocketAddr {
        shareable_address(self.addr)
    }

    /// The address for a player on this machine.
    pub fn local_address(&self) -> SocketAddr {
        local_address(self.addr)
    }

    /// The relay's counters (as of its last update).
    pub fn stats(&self) -> RelayStats {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
            .clone()
    }

    /// What its gate saw and did: connection requests, challenges, floods refused (as of its
    /// last update).
    pub fn gate_stats(&self) -> GateStats {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .gate
            .clone()
    }

    /// The connections it refused or closed, oldest first (the lobby's, then the seated
    /// relay's).
    pub fn offences(&self) -> Vec<Offence> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .offences
            .clone()
    }

    /// For a lobby relay: players in the lobby, and whether the table has formed.
    pub fn lobby(&self) -> Option<(usize, bool)> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .joined
    }

    /// Stops the relay and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the relay thread panicked");
            }
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a relay on its own thread, updating every [`RELAY_TICK`]. The socket is bound here,
/// so a taken port is reported at once.
pub fn spawn_relay(config: RelayConfig, addr: SocketAddr) -> Result<RelayHandle, SetupError> {
    spawn_with(addr, move |app, socket| app.add_relay_on(config, socket))
}

/// Binds `addr` and runs an App set up by `setup` on its own thread.
fn spawn_with(
    addr: SocketAddr,
    setup: impl FnOnce(&mut App, UdpSocket) -> Result<SocketAddr, SetupError> + Send + 'static,
) -> Result<RelayHandle, SetupError> {
    let socket = UdpSocket::bind(addr).map_err(|source| SetupError::Bind { addr, source })?;
    let addr = socket.local_addr().map_err(SetupError::LocalAddr)?;
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (stop_flag, shared_state) = (stop.clone(), shared.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("bitcraps-relay-{}", addr.port()))
        .spawn(move || {
            let mut app = App::new();
            app.add_plugins(MinimalPlugins);
            let started = setup(&mut app, socket);
            let failed = started.is_err();
            let _ = ready_tx.send(started);
            if failed {
                return;
            }
            app.finish();
            app.cleanup();
            let mut closed = 0;
            while !stop_flag.load(Ordering::Relaxed) {
                let start = Instant::now();
                app.update();
                let world = app.world();
                let lobby = world.get_resource::<Lobby>();
                let relay = world.get_resource::<Relay>();
                let count = lobby.map_or(0, Lobby::refused)
                    + relay.map_or(0, |r| r.stats().kicked + r.stats().refused);
                let mut shared = shared_state.lock().unwrap_or_else(PoisonError::into_inner);
                if count != closed {
                    closed = count;
                    shared.offences = lobby
                        .into_iter()
                        .flat_map(Lobby::offences)
                        .chain(relay.into_iter().flat_map(Relay::offences))
                        .cloned()
                        .collect();
                }
                if let Some(relay) = relay {
                    shared.stats = relay.stats();
                }
                if let Some(transport) = world.get_resource::<RelayTransport>() {
                    shared.gate = transport.stats();
                }
                shared.joined = lobby.map(|l| (l.joined().len(), l.genesis().is_some()));
                std::thread::sleep(RELAY_TICK.saturating_sub(start.elapsed()));
            }
            app.world_mut().write_message(AppExit::Success);
            app.update();
        })
        .map_err(SetupError::Thread)?;
    match ready_rx.recv() {
        Ok(Ok(_)) => Ok(RelayHandle {
            addr,
            stop,
            shared,
            thread: Some(thread),
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(SetupError::Thread(std::io::Error::other(
            "the relay thread ended before starting",
        ))),
    }
}

/// Connects a player's App to the relay at `relay` (for `--join ADDR:PORT`, and for the host's
/// own player with [`RelayHandle::local_address`]). Add it after the BitCraps plugins.
pub fn join_plugin(relay: SocketAddr) -> NetClientPlugin {
    NetClientPlugin {
        config: NetClientConfig::new(relay),
    }
}
