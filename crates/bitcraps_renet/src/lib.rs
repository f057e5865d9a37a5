//! # bitcraps_renet
//!
//! BitCraps across machines over [bevy_renet](https://crates.io/crates/bevy_renet) (renet 2,
//! netcode over UDP), implementing the transport seam of [`bevy_bitcraps`]. No rendering.
//!
//! renet is client–server, so one machine runs a **relay** ([`RelayPlugin`], [`spawn_relay`],
//! [`relay_app`]) and every player — the host's own included — joins it as a client
//! ([`NetClientPlugin`]). Every consensus and game message is signed end to end by its author;
//! the relay attaches the sender's seat, learned from a handshake, and can delay or drop
//! messages but never forge them.
//!
//! - **Channels** ([`Lane`]), the same on both sides: reliable ordered for consensus and game
//!   messages, reliable unordered for catch-up, unreliable for heartbeats. Channel memory is
//!   sized on purpose ([`ChannelBudget`]) and never overflows: senders wait for room in bounded
//!   queues and drop the oldest messages when those are full ([`queue`]).
//! - **Handshake**: after netcode connects, the relay sends a challenge; the player signs it
//!   bound to the table id, the protocol version, the operation-registry hash and its renet
//!   client id ([`SeatProof`]). A wrong key, table or registry is refused with a clear
//!   [`Refusal`] on both sides; a connection only ever speaks for the seat it proved.
//! - **Reconnect and catch-up**: a lost connection is replaced by a new renet client (a new
//!   client id); the relay seats it again once it proves the same key, and the plugin's
//!   catch-up (status requests answered with decisions and their certificates, each verified,
//!   and state hashes compared) brings the player back to the table.
//! - **Lobby** ([`lobby`], [`spawn_lobby`], [`lobby_app`], [`join_lobby`]): a relay that
//!   starts without knowing the seats; players prove their own identity keys, and when enough
//!   are in the relay fixes the seat list, derives the table id from it and sends every player
//!   the genesis, then relays that table.
//! - **Hostile input**: garbage datagrams die in netcode; malformed, oversized or other-table
//!   messages and floods get the offending connection closed with a logged [`Offence`];
//!   nobody panics and the others keep playing.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_bitcraps::prelude::*;
//! use bevy_bitcraps::bitcraps_consensus::{Keypair, TableId};
//! use bevy_bitcraps::bitcraps_game::Registry;
//! use bitcraps_renet::{join_plugin, relay_config, spawn_relay};
//!
//! let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
//! let config = BitCrapsConfig::new(
//!     TableId::from_name("lan table"),
//!     keys[0].clone(),
//!     keys.iter().map(Keypair::peer_id),
//! )?;
//! // --host 0.0.0.0:5000: a relay on its own thread, and the host's player joins it.
//! let relay = spawn_relay(relay_config(&config, &Registry::new()), "0.0.0.0:5000".parse()?)?;
//! println!("share this address: {}", relay.share_address());
//! let mut app = App::new();
//! app.add_plugins((MinimalPlugins, BitCrapsPlugin::new(config), GamePlugin::default()))
//!     .add_plugins(join_plugin(relay.local_address()));
//! app.run();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
pub mod error;
pub mod faults;
pub mod flood;
pub mod gate;
pub mod host;
pub mod lobby;
pub mod lobby_client;
pub mod lobby_terms;
pub mod netcode_wire;
pub mod proof;
pub mod protocol;
pub mod queue;
pub mod relay;
pub mod relay_config;
pub mod saved_table;
pub mod testing;
pub mod transport;

pub use bevy_renet;
pub use client::{open_connection, LinkState, NetClient, NetClientConfig, NetClientPlugin};
pub use error::{ClientError, Offence, Refusal, SetupError};
pub use faults::RelayFaults;
pub use gate::{GateLimits, GateStats};
pub use host::{
    join_plugin, lobby_app, local_address, parse_address, relay_app, relay_config,
    shareable_address, spawn_lobby, spawn_relay, RelayAppExt, RelayHandle, DEFAULT_PORT,
    RELAY_TICK,
};
pub use lobby::{Genesis, GenesisError, Lobby, LobbyConfig, LobbyPlugin, LobbyStatus, LobbyTerms};
pub use lobby_client::{join_lobby, LobbyError, LobbyJoin, LobbyOutcome};
pub use protocol::{
    connection_config, receive_headroom, relay_connection_config, ChannelBudget, ClientFrame, Lane,
    RelayFrame, SeatProof, TableTerms, NETCODE_PROTOCOL_ID,
};
pub use relay::{Relay, RelayConfig, RelayLimits, RelayPlugin, RelayStats};
pub use saved_table::SavedTable;
pub use transport::RelayTransport;
