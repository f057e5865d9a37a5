//! # bevy_bitcraps
//!
//! The Bevy plugin of BitCraps: a table of 4–16 mutually distrusting players whose every change
//! is decided by Tendermint consensus among their machines, exposed as ordinary ECS data.
//!
//! Add [`BitCrapsPlugin`] to any App (headless or rendered) and a transport
//! ([`MemoryHub`] in one process; bevy_renet across machines). Then:
//!
//! - query [`Proposal`] and [`Vote`] entities (votes relate to their proposal through
//!   [`VoteFor`] / [`ProposalVotes`]) and [`DecidedHeight`] markers; they are despawned when
//!   pruned, so the world stays bounded;
//! - read [`ConsensusStatus`], [`TableView`] and [`PeerHealth`];
//! - read the messages [`HeightDecided`], [`MisbehaviourDetected`], [`DesyncDetected`],
//!   [`MessageRejected`], [`ApplicationPacket`], [`PersistFailed`];
//! - order your systems around the chained [`BitCrapsSystems`] sets.
//!
//! The table's rules live behind [`TableApplication`]; [`BasicApp`] is a minimal one.
//!
//! ```
//! use std::time::Duration;
//! use bevy::prelude::*;
//! use bevy::time::TimeUpdateStrategy;
//! use bevy_bitcraps::prelude::*;
//! use bevy_bitcraps::bitcraps_consensus::{Keypair, TableId};
//!
//! let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
//! let table = TableId::from_name("doc");
//! let hub = MemoryHub::new();
//! let mut apps: Vec<App> = keys
//!     .iter()
//!     .map(|key| {
//!         let config = BitCrapsConfig::new(table, key.clone(), keys.iter().map(Keypair::peer_id))
//!             .expect("valid seats")
//!             .with_fast_timings();
//!         let mut app = App::new();
//!         app.add_plugins(MinimalPlugins)
//!             .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(10)))
//!             .add_plugins(BitCrapsPlugin::new(config))
//!             .set_transport(hub.connect(key.peer_id()));
//!         app
//!     })
//!     .collect();
//! for _ in 0..100 {
//!     apps.iter_mut().for_each(App::update);
//! }
//! let hashes: Vec<_> = apps.iter().map(|a| a.world().resource::<TableView>().state_hash).collect();
//! assert!(apps[0].world().resource::<TableView>().height.0 >= 3);
//! ```

pub mod application;
pub mod apply;
pub mod basic_app;
pub mod bot;
#[cfg(feature = "cheats")]
pub mod byzantine;
mod cleanup;
pub mod components;
pub mod config;
mod consensus;
pub mod custom_ops;
pub mod envelope;
pub mod error;
pub mod game_app;
pub mod game_entities;
pub mod game_messages;
pub mod game_plugin;
pub mod index;
pub mod memory;
pub mod messages;
pub mod node;
pub mod player;
pub mod plugin;
pub mod receive;
mod send;
pub mod sets;
pub mod status;
pub mod stranger;
pub mod testing;
pub mod transport;
pub mod verify;

pub use bevy;
pub use bitcraps_consensus;

pub use application::{TableApp, TableApplication};
pub use apply::StateHashBook;
pub use basic_app::{BasicApp, BasicBlock, BasicSnapshot};
pub use bitcraps_game;
pub use bot::{AdmissionPolicy, BotPlayer, BotPlugin, BotStrategy};
#[cfg(feature = "cheats")]
pub use byzantine::{ByzantineBot, ByzantineKind, ByzantinePlugin};
pub use components::{DecidedHeight, DecidedProposal, Proposal, ProposalVotes, Vote, VoteFor};
pub use config::BitCrapsConfig;
pub use custom_ops::{CustomOperationDecided, GameAppExt, GameOperation, GameOperationError};
pub use envelope::{Envelope, SignedStateHash, StateHash};
pub use error::{ApplyError, ConfigError, RejectError};
pub use game_app::{DecidedOp, GameApp, OpPersistHook};
pub use game_entities::{
    DiceCommitment, DiceReveal, Dispute, DisputeVote, DisputeVotes, GameEntities, RevealOf,
    Revealed, Seat, VoteOnDispute,
};
pub use game_messages::{
    BetResolved, DiceRolled, DisputeOpened, DisputeResolved, GameEvent, OperationDecided,
    PenaltyApplied, SeatJoined, SeatLeft,
};
pub use game_plugin::{
    wall_clock_ms, GameClock, GamePlugin, GameRegistry, GameSetup, GameStartError, GenesisTime,
    RegistryInUse,
};
pub use index::EntityIndex;
pub use memory::{MemoryHub, MemoryTransport};
pub use messages::{
    ApplicationPacket, DesyncDetected, HeightDecided, MessageRejected, Misbehaviour,
    MisbehaviourDetected, PersistFailed,
};
pub use node::{ConsensusNode, PersistError, PersistFailure, PersistHook};
pub use player::{LocalPlayer, PlayerError};
pub use plugin::BitCrapsPlugin;
pub use receive::VerifyQueue;
pub use sets::BitCrapsSystems;
pub use status::{ConsensusStatus, PeerHealth, PeerSignals, TableView};
pub use transport::{
    Destination, InboundPacket, NetInbox, NetOutbox, OutboundPacket, Transport, TransportAppExt,
    TransportResource, TransportSystems,
};
pub use verify::{UnverifiedDecisions, VerifiedInbox, VerifyStats};

/// The most used items, for `use bevy_bitcraps::prelude::*`.
pub mod prelude {
    pub use crate::{
        BetResolved, BitCrapsConfig, BitCrapsPlugin, BitCrapsSystems, BotPlayer, BotPlugin,
        BotStrategy, ConsensusStatus, DecidedHeight, DesyncDetected, DiceCommitment, DiceReveal,
        DiceRolled, Dispute, DisputeVote, GameAppExt, GameEvent, GameOperation, GamePlugin,
        HeightDecided, LocalPlayer, MemoryHub, MisbehaviourDetected, OperationDecided, PeerHealth,
        PenaltyApplied, Proposal, ProposalVotes, Seat, TableApp, TableApplication, TableView,
        TransportAppExt, Vote, VoteFor,
    };
}
