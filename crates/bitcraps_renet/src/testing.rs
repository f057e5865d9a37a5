//! A harness for tests, examples and benchmarks: a relay App and N player Apps on 127.0.0.1
//! (port 0), talking real UDP through renet, stepped together in one thread (the relay first,
//! then each player), with manual virtual time on the players.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_bitcraps::bitcraps_consensus::{Keypair, PeerId, TableId};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::testing::{test_keys, FRAME};
use bevy_bitcraps::{BitCrapsConfig, BitCrapsPlugin, TableView};

use bevy_renet::netcode::NetcodeClientTransport;
use bevy_renet::RenetClient;

use crate::client::{open_connection, NetClient, NetClientConfig, NetClientPlugin};
use crate::error::SetupError;
use crate::host::RelayAppExt;
use crate::protocol::{self, ChannelBudget, ClientFrame, Lane, RelayFrame, TableTerms};
use crate::relay::{Relay, RelayConfig};

/// The relay and the players of one table, in one process.
pub struct NetTable {
    /// The relay's App.
    pub relay: App,
    /// Its address.
    pub relay_addr: SocketAddr,
    /// The players' Apps, in the order of [`NetTable::keys`].
    pub apps: Vec<App>,
    /// The seat keys.
    pub keys: Vec<Keypair>,
    /// The table.
    pub table: TableId,
    /// Steps so far.
    pub frames: u64,
}

/// How each player's App is made: its index and its configuration in, extra plugins added.
pub type Setup<'a> = &'a mut dyn FnMut(usize, &mut App);

impl NetTable {
    /// `n` seats with keys from `seed`; `relay(config)` may adjust the relay (faults, limits);
    /// `customize(i, config)` each player's configuration; `setup(i, app)` each player's App
    /// (game, bots...), before it finishes building.
    pub fn new(
        n: usize,
        seed: u64,
        relay: impl FnOnce(RelayConfig) -> RelayConfig,
        mut customize: impl FnMut(usize, BitCrapsConfig) -> BitCrapsConfig,
        setup: Setup<'_>,
    ) -> Result<NetTable, SetupError> {
        let keys = test_keys(n, seed);
        let table = TableId::from_name(&format!("net-table-{seed}"));
        let peers: Vec<PeerId> = keys.iter().map(Keypair::peer_id).collect();
        let configs: Vec<BitCrapsConfig> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                BitCrapsConfig::new(table, key.clone(), peers.iter().copied())
                    .map(|c| customize(i, c.with_fast_timings()))
            })
            .collect::<Result<_, _>>()?;
        let terms = TableTerms::new(table, &Registry::new());
        let relay_config = relay(RelayConfig::new(terms, configs[0].participants.clone()));
        let budget = relay_config.budget.clone();
        let mut relay_app = App::new();
        relay_app
            .add_plugins(MinimalPlugins)
            .insert_resource(TimeUpdateStrategy::ManualDuration(FRAME));
        let relay_addr =
            relay_app.add_relay(relay_config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        relay_app.finish();
        relay_app.cleanup();
        let apps = configs
            .into_iter()
            .enumerate()
            .map(|(i, config)| {
                let net = NetClientConfig {
                    budget: budget.clone(),
                    ..NetClientConfig::new(relay_addr)
                };
                player_app(config, net, &mut |app| setup(i, app))
            })
            .collect();
        Ok(NetTable {
            relay: relay_app,
            relay_addr,
            apps,
            keys,
            table,
            frames: 0,
        })
    }

    /// Updates the relay, then every player, once.
    pub fn step(&mut self) {
        self.relay.update();
        for app in &mut self.apps {
            app.update();
        }
        self.frames += 1;
    }

    /// Steps until `done` holds (true), or `max_frames` steps or `max_time` of wall-clock time
    /// have passed (false).
    pub fn run_until(
        &mut self,
        max_frames: u64,
        max_time: Duration,
        mut done: impl FnMut(&mut NetTable) -> bool,
    ) -> bool {
        let start = Instant::now();
        for _ in 0..max_frames {
            if done(self) {
                return true;
            }
            if start.elapsed() > max_time {
                return false;
            }
            self.step();
        }
        done(self)
    }

    /// The relay's state.
    pub fn relay_state(&self) -> &Relay {
        self.relay.world().resource::<Relay>()
    }

    /// Player `i`'s connection.
    pub fn client(&self, i: usize) -> &NetClient {
        self.apps[i].world().resource::<NetClient>()
    }

    /// Player `i`'s connection, to disconnect or reconnect it.
    pub fn client_mut(&mut self, i: usize) -> Mut<'_, NetClient> {
        self.apps[i].world_mut().resource_mut::<NetClient>()
    }

    /// True once every player in `which` is seated.
    pub fn all_seated(&self, which: &[usize]) -> bool {
        which.iter().all(|i| self.client(*i).is_seated())
    }

    /// Player `i`'s table view.
    pub fn view(&self, i: usize) -> &TableView {
        self.apps[i].world().resource::<TableView>()
    }

    /// The lowest decided height among the players in `which`.
    pub fn min_height(&self, which: &[usize]) -> u64 {
        which
            .iter()
            .map(|i| self.view(*i).height.0)
            .min()
            .unwrap_or(0)
    }
}

/// A headless player App (MinimalPlugins, manual time of one 60 fps frame per update) seated
/// with `config` and connected to a relay with `net`; `setup` adds plugins before it finishes.
pub fn player_app(
    config: BitCrapsConfig,
    net: NetClientConfig,
    setup: &mut dyn FnMut(&mut App),
) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(TimeUpdateStrategy::ManualDuration(FRAME))
        .add_plugins(BitCrapsPlugin::new(config));
    setup(&mut app);
    app.add_plugins(NetClientPlugin { config: net });
    app.finish();
    app.cleanup();
    app
}

/// A bare renet client driven by hand, for hostile-input tests: it can send anything (bytes
/// that are not frames, frames before the handshake, proofs for another seat, floods).
pub struct RawClient {
    /// The renet connection.
    pub client: RenetClient,
    /// Its netcode transport.
    pub transport: NetcodeClientTransport,
    budget: ChannelBudget,
    last: Instant,
}

impl RawClient {
    /// Opens a connection to `relay`.
    pub fn connect(relay: SocketAddr, budget: &ChannelBudget) -> Result<RawClient, SetupError> {
        let (client, transport) = open_connection(relay, budget)?;
        Ok(RawClient {
            client,
            transport,
            budget: budget.clone(),
            last: Instant::now(),
        })
    }

    /// The renet client id.
    pub fn client_id(&self) -> u64 {
        self.transport.client_id()
    }

    /// Receives from the network, sends what was queued, and returns the frames that arrived.
    pub fn pump(&mut self) -> Vec<RelayFrame> {
        let elapsed = self.last.elapsed();
        self.last = Instant::now();
        self.client.update(elapsed);
        // Errors only report a closed connection; the caller checks `is_connected`.
        let _ = self.transport.update(elapsed, &mut self.client);
        let mut frames = Vec::new();
        for lane in Lane::ALL {
            while let Some(bytes) = self.client.receive_message(lane.channel()) {
                if let Ok(frame) = protocol::decode(&bytes, self.budget.max_frame_bytes()) {
                    frames.push(frame);
                }
            }
        }
        let _ = self.transport.send_packets(&mut self.client);
        frames
    }

    /// Queues raw bytes on a lane (sent by the next [`RawClient::pump`]).
    pub fn send_raw(&mut self, lane: Lane, bytes: Vec<u8>) {
        self.client.send_message(lane.channel(), bytes);
    }

    /// Queues a frame on the consensus lane.
    pub fn send(&mut self, frame: &ClientFrame) {
        if let Ok(bytes) = protocol::encode(frame) {
            self.send_raw(Lane::Consensus, bytes);
        }
    }

    /// True while netcode and renet consider the connection open.
    pub fn is_connected(&self) -> bool {
        self.client.is_connected() && self.transport.disconnect_reason().is_none()
    }
}
