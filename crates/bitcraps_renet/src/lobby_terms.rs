//! The lobby's wire terms: what a player proves ([`LobbyProof`] over [`LobbyTerms`]), what the
//! lobby shows ([`LobbyStatus`]) and the table it forms ([`Genesis`]: the seat list, the nonce
//! and the table id derived from both, checked by every player). See [`crate::lobby`].

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Keypair, PeerId, TableId, PROTOCOL_VERSION};
use bevy_bitcraps::bitcraps_game::MAX_CLOCK_SKEW_MS;
use bevy_bitcraps::{BitCrapsConfig, ConfigError, GameSetup};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Refusal;
use crate::proof::{ChallengeProof, ProofTerms};
use crate::protocol::TableTerms;

/// Domain tag of a lobby proof signature.
const LOBBY_PROOF_DOMAIN: &[u8] = b"bitcraps/renet/lobby-proof/v1";
/// Domain tag of a table id derived from a lobby.
const LOBBY_TABLE_DOMAIN: &[u8] = b"bitcraps/renet/lobby-table/v2";

/// Fewest seats at a table.
pub const MIN_PLAYERS: u16 = 4;
/// Most seats at a table.
pub const MAX_PLAYERS: u16 = 16;
/// How long before a player's clock a fresh table may say it formed: the lobby sends the genesis
/// the moment the last seat is taken, so anything older is a relay whose clock is off (or a
/// replayed genesis). A table's genesis time is its first block time, so the table's deadlines
/// start from it.
pub const MAX_GENESIS_AGE_MS: u64 = 10 * 60 * 1_000;

/// What a lobby is, for its handshake.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyTerms {
    /// The lobby's random id (fresh for every relay run).
    pub lobby: [u8; 32],
    /// The signed-message format version.
    pub protocol_version: u16,
    /// The hash of the custom-operation registry the table will use.
    pub registry_hash: [u8; 32],
    /// Seats at the table: play starts when this many keys are in.
    pub players: u16,
}

impl LobbyTerms {
    /// Why a player with this protocol version and `registry` cannot join, if it cannot.
    pub fn mismatch(&self, registry_hash: &[u8; 32]) -> Option<Refusal> {
        if self.protocol_version != PROTOCOL_VERSION {
            Some(Refusal::WrongProtocol {
                expected: self.protocol_version,
                got: PROTOCOL_VERSION,
            })
        } else if &self.registry_hash != registry_hash {
            Some(Refusal::WrongRegistry {
                expected: self.registry_hash,
                got: *registry_hash,
            })
        } else {
            None
        }
    }
}

/// A player's proof that it holds its identity key, for one lobby connection.
pub type LobbyProof = ChallengeProof<LobbyTerms>;

impl ProofTerms for LobbyTerms {
    const DOMAIN: &'static [u8] = LOBBY_PROOF_DOMAIN;

    fn write_signed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.lobby);
        out.extend_from_slice(&self.protocol_version.to_be_bytes());
        out.extend_from_slice(&self.registry_hash);
        out.extend_from_slice(&self.players.to_be_bytes());
    }
}

/// Who is in the lobby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyStatus {
    /// The keys in, in join order.
    pub joined: Vec<PeerId>,
    /// Seats at the table.
    pub players: u16,
}

/// The genesis terms of a table formed in a lobby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The lobby it was formed in.
    pub lobby: [u8; 32],
    /// The seats, in join order.
    pub seats: Vec<PeerId>,
    /// The relay's random nonce (two sessions of the same players are different tables).
    pub nonce: [u8; 32],
    /// When the relay formed the table, ms since the Unix epoch on its clock: the table's
    /// genesis time, from which its block times and deadlines run (see [`Genesis::game_setup`]).
    pub formed_ms: u64,
    /// The table's terms; `terms.table` is [`Genesis::table_id`] of the above.
    pub terms: TableTerms,
}

/// Why a genesis cannot be played.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The local key is not among the seats.
    #[error("the relay's seat list does not seat this player's key {0}")]
    NotSeated(PeerId),
    /// Fewer or more seats than a table takes, or than the lobby announced.
    #[error("the relay's seat list has {got} seats, expected {expected}")]
    SeatCount {
        /// Seats announced.
        expected: u16,
        /// Seats sent.
        got: usize,
    },
    /// A key appears twice.
    #[error("the relay's seat list names key {0} twice")]
    Duplicate(PeerId),
    /// The table id is not derived from the seats and nonce.
    #[error("the relay's table id {got} is not derived from its seat list ({expected})")]
    TableId {
        /// The id derived here.
        expected: TableId,
        /// The id sent.
        got: TableId,
    },
    /// Not the lobby joined, or other protocol or registry terms.
    #[error("the genesis is for another lobby, protocol version or registry")]
    Terms,
    /// The relay says the table formed at a time this player's clock does not allow: in the
    /// future, or (for a table formed just now) long ago. One of the two clocks is wrong.
    #[error(
        "the relay says the table formed {} than this machine's clock reads; \
         check the date and time of this machine and of the relay",
        describe_offset(*.formed_ms, *.now_ms)
    )]
    FormedAt {
        /// The relay's formation time, ms since the Unix epoch.
        formed_ms: u64,
        /// This player's clock, ms since the Unix epoch.
        now_ms: u64,
    },
}

/// "12 s later" / "3 min earlier": how far `formed_ms` is from `now_ms`, in words.
fn describe_offset(formed_ms: u64, now_ms: u64) -> String {
    let seconds = formed_ms.abs_diff(now_ms) / 1_000;
    let amount = if seconds < 120 {
        format!("{seconds} s")
    } else if seconds < 2 * 3_600 {
        format!("{} min", seconds / 60)
    } else if seconds < 2 * 86_400 {
        format!("{} h", seconds / 3_600)
    } else {
        format!("{} days", seconds / 86_400)
    };
    let side = if formed_ms > now_ms {
        "later"
    } else {
        "earlier"
    };
    format!("{amount} {side}")
}

impl Genesis {
    /// The table id of `seats` (in order) formed in `lobby` with `nonce` at `formed_ms`.
    pub fn table_id(
        lobby: &[u8; 32],
        seats: &[PeerId],
        nonce: &[u8; 32],
        formed_ms: u64,
    ) -> TableId {
        let mut h = Sha256::new();
        h.update(LOBBY_TABLE_DOMAIN);
        h.update(lobby);
        h.update(nonce);
        h.update(formed_ms.to_be_bytes());
        h.update((seats.len() as u64).to_be_bytes());
        for seat in seats {
            h.update(seat.0);
        }
        TableId(h.finalize().into())
    }

    /// Checks that the genesis is well formed for the lobby `terms`, seats `me`, and formed
    /// just now for a clock that reads `now_ms`: at most [`MAX_GENESIS_AGE_MS`] before it and
    /// not after it (see [`Genesis::check_formed_by`]).
    pub fn check(&self, me: &PeerId, terms: &LobbyTerms, now_ms: u64) -> Result<(), GenesisError> {
        let players = usize::from(terms.players);
        if self.seats.len() != players {
            return Err(GenesisError::SeatCount {
                expected: terms.players,
                got: self.seats.len(),
            });
        }
        if self.lobby != terms.lobby {
            return Err(GenesisError::Terms);
        }
        self.check_running(&terms.registry_hash)?;
        if !self.seats.contains(me) {
            return Err(GenesisError::NotSeated(*me));
        }
        self.check_formed_by(now_ms)?;
        if self.formed_ms.saturating_add(MAX_GENESIS_AGE_MS) < now_ms {
            return Err(GenesisError::FormedAt {
                formed_ms: self.formed_ms,
                now_ms,
            });
        }
        Ok(())
    }

    /// Checks that the table formed no later than a clock reading `now_ms` (give or take the
    /// [`MAX_CLOCK_SKEW_MS`] players' clocks may differ by): a table formed in the future
    /// could decide no block until then, since every block time must follow the genesis time
    /// and be within that skew of the players' clocks.
    pub fn check_formed_by(&self, now_ms: u64) -> Result<(), GenesisError> {
        if self.formed_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
            return Err(GenesisError::FormedAt {
                formed_ms: self.formed_ms,
                now_ms,
            });
        }
        Ok(())
    }

    /// The game's genesis setup for this table: `base` (the same for every player, or their
    /// state hashes differ) starting at the table's formation time.
    pub fn game_setup(&self, base: GameSetup) -> GameSetup {
        GameSetup {
            genesis_time_ms: self.formed_ms,
            ..base
        }
    }

    /// Checks the genesis of a table that already plays (sent to a latecomer, who never saw
    /// its lobby): 4 to 16 distinct seats, this protocol version and `registry_hash`, and the
    /// table id derived from the seats, lobby and nonce. Whether the local key is seated does
    /// not matter: a newcomer asks the table to sit down.
    pub fn check_running(&self, registry_hash: &[u8; 32]) -> Result<(), GenesisError> {
        let count = self.seats.len();
        if !(usize::from(MIN_PLAYERS)..=usize::from(MAX_PLAYERS)).contains(&count) {
            return Err(GenesisError::SeatCount {
                expected: MIN_PLAYERS,
                got: count,
            });
        }
        for (i, seat) in self.seats.iter().enumerate() {
            if self.seats[..i].contains(seat) {
                return Err(GenesisError::Duplicate(*seat));
            }
        }
        if self.terms.protocol_version != PROTOCOL_VERSION
            || &self.terms.registry_hash != registry_hash
        {
            return Err(GenesisError::Terms);
        }
        let expected = Self::table_id(&self.lobby, &self.seats, &self.nonce, self.formed_ms);
        if self.terms.table != expected {
            return Err(GenesisError::TableId {
                expected,
                got: self.terms.table,
            });
        }
        Ok(())
    }

    /// True if `peer` holds one of the genesis seats.
    pub fn seats(&self, peer: &PeerId) -> bool {
        self.seats.contains(peer)
    }

    /// The local player's plugin configuration for this table (default timings).
    pub fn config(&self, key: Keypair) -> Result<BitCrapsConfig, ConfigError> {
        BitCrapsConfig::new(self.terms.table, key, self.seats.iter().copied())
    }

    /// The configuration of a newcomer (a key that holds no genesis seat) who follows this
    /// table and asks to sit down ([`BitCrapsConfig::newcomer`]); for a genesis seat, the same
    /// as [`Genesis::config`].
    pub fn newcomer_config(&self, key: Keypair) -> Result<BitCrapsConfig, ConfigError> {
        if self.seats(&key.peer_id()) {
            return self.config(key);
        }
        BitCrapsConfig::newcomer(self.terms.table, key, self.seats.iter().copied())
    }

    /// The seat list as short key hex, in join order (`1. a1b2c3d4  2. ...`).
    pub fn describe_seats(&self) -> String {
        self.seats
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. {p}", i + 1))
            .collect::<Vec<_>>()
            .join("  ")
    }
}
