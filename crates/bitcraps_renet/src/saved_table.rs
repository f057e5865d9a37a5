//! The encoding of a saved table: what a networked player keeps in its data directory when its
//! table forms (the relay's address and the genesis), so that a `--join` after a crash can
//! resume the table without its lobby. The file is read back from disk, so its decoder refuses
//! anything malformed with a typed error, never a panic (a fuzz target checks it).

use std::net::SocketAddr;

use bevy_bitcraps::bitcraps_consensus::{codec, DecodeError, EncodeError};

use crate::lobby_terms::Genesis;

/// Largest saved table file read (a genesis of 16 seats is about 700 bytes).
pub const SAVED_TABLE_LIMIT: usize = 64 * 1024;

/// A table this player sat at, saved when it formed: enough to play it again after a restart
/// (stored as the pair `(relay, genesis)` with the project's codec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedTable {
    /// The relay's address, as the player gave it to `--join`.
    pub relay: SocketAddr,
    /// The genesis the lobby sent (seats, nonce, terms).
    pub genesis: Genesis,
}

impl SavedTable {
    /// The file's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(&(self.relay, &self.genesis))
    }

    /// Reads the file's bytes (at most [`SAVED_TABLE_LIMIT`], no trailing bytes). Whether the
    /// genesis is well formed is [`Genesis::check_running`]'s business.
    pub fn decode(bytes: &[u8]) -> Result<SavedTable, DecodeError> {
        let (relay, genesis) = codec::decode(bytes, SAVED_TABLE_LIMIT)?;
        Ok(SavedTable { relay, genesis })
    }
}
