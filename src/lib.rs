//! BitCraps: trustless peer-to-peer craps whose every table change is agreed by a
//! Byzantine-fault-tolerant consensus among the players' machines.
//!
//! This facade re-exports the workspace crates.

pub use bevy_bitcraps as plugin;
pub use bitcraps_consensus as consensus;
pub use bitcraps_game as game;
pub use bitcraps_journal as journal;
pub use bitcraps_renet as net;
pub use bitcraps_table as table;
