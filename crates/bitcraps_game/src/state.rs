//! The decided state of a table after each height: seats, balances, bonds, the bank, open bets,
//! the hand, the dice flow, disputes, health signals and custom extensions' state.
//!
//! [`TableState`] is copy-on-write: its data sits behind an [`Arc`], so cloning a state to hand
//! it to a reader is three reference-count increments, and applying a block builds a new state
//! without touching the old one. Every honest node computes the same [`TableState::hash`]:
//! SHA-256 of the canonical [`codec`] encoding of [`TableData`] (ordered maps and vectors only),
//! which includes the config hash.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bitcraps_consensus::{codec, EncodeError, PeerId};

use crate::bets::{Bet, Seat};
use crate::chips::{self, ChipOverflow};
use crate::config::TableConfig;
use crate::custom::Registry;
use crate::dice::{Commitment, Nonce};
use crate::error::{AccountingError, GenesisError};
use crate::events::RemovalReason;
use crate::membership::JoinRequest;
use crate::ops::{BetId, DisputeId};
use crate::phase::Phase;
use crate::resolution::worst_case_payout;
use crate::roll::Roll;
use crate::rules::TableRules;

/// Domain tag of the state hash.
pub const STATE_HASH_DOMAIN: &[u8] = b"bitcraps/table-state/v1";

/// Where a seat's player is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatStatus {
    /// At the table.
    Seated,
    /// Left of its own accord at this height.
    Left {
        /// The height.
        at: u64,
    },
    /// Unseated at this height.
    Removed {
        /// The height.
        at: u64,
        /// Why.
        reason: RemovalReason,
    },
}

/// One seat's player and chips. Seats are never reused: a player who comes back gets a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatState {
    /// The player's key.
    pub peer: PeerId,
    /// Chips free to bet.
    pub balance: u64,
    /// Chips posted as bond (slashed if the player cheats).
    pub bond: u64,
    /// Where the player is.
    pub status: SeatStatus,
    /// Height at which it sat down (0 for genesis seats).
    pub joined_at: u64,
    /// The first nonce the player signed as this seat's holder (1 for genesis seats; the nonce
    /// after its join operation otherwise). Two operations signed under an earlier nonce were
    /// signed before the player sat down, when a refused operation could still leave a nonce
    /// unspent, and are no evidence against this seat.
    pub first_seated_nonce: u64,
}

impl SeatState {
    /// Whether the player is at the table.
    pub fn is_seated(&self) -> bool {
        self.status == SeatStatus::Seated
    }
}

/// An open bet with its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBet {
    /// Its id.
    pub id: BetId,
    /// The bet.
    pub bet: Bet,
}

/// Where the dice flow of the current roll stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Bets may be placed, taken down and called on/off.
    Betting {
        /// Height at whose end betting opened.
        since: u64,
        /// Block time of that height, ms.
        since_ms: u64,
    },
    /// Betting is closed; eligible seats commit.
    Committing {
        /// Height at which betting closed.
        since: u64,
        /// Block time of that height, ms.
        since_ms: u64,
        /// Seats expected to commit (seated and bonded at the close).
        eligible: BTreeSet<Seat>,
        /// Commitments so far.
        commitments: BTreeMap<Seat, Commitment>,
    },
    /// Commitments are decided; committed seats reveal.
    Revealing {
        /// Height at whose end commitments closed.
        since: u64,
        /// Block time of that height, ms.
        since_ms: u64,
        /// The fixed commitments.
        commitments: BTreeMap<Seat, Commitment>,
        /// Valid reveals so far.
        reveals: BTreeMap<Seat, Nonce>,
    },
}

impl Stage {
    /// Whether bets may be placed now.
    pub fn is_betting(&self) -> bool {
        matches!(self, Stage::Betting { .. })
    }

    /// Whether `seat` takes part in the current roll (eligible to commit, or committed).
    pub fn involves(&self, seat: Seat) -> bool {
        match self {
            Stage::Betting { .. } => false,
            Stage::Committing { eligible, .. } => eligible.contains(&seat),
            Stage::Revealing { commitments, .. } => commitments.contains_key(&seat),
        }
    }
}

/// Where the chips came from and went: the right side of the accounting identity.
///
/// `circulating` is what the table must hold; it rises with every buy-in and bank funding and
/// falls with every cash-out, and never exceeds [`ChipLimits::max_supply`](crate::ChipLimits).
/// The running totals beside it are statistics (they saturate instead of overflowing), so no
/// amount of joining and leaving can make a later buy-in impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Supply {
    /// Stacks and bank stake at genesis.
    pub genesis: u64,
    /// Chips brought in since: players' buy-ins and bank funding (the bank's buy-ins).
    pub buy_ins: u64,
    /// Of `buy_ins`, the part that funded the bank.
    pub bank_funding: u64,
    /// Chips taken out: cash-outs of leaving and unseated players.
    pub cash_outs: u64,
    /// Chips at the table now: genesis plus buy-ins minus cash-outs.
    pub circulating: u64,
}

/// Per-player health signals, for UIs and for claims against stallers. Kept by key, so they
/// survive leaving and coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health {
    /// Rolls in a row the player did not commit to (reset by a commitment).
    pub missed_rolls: u32,
    /// Block time at which the first of those missed rolls closed (`None` after a commitment).
    pub absent_since_ms: Option<u64>,
    /// Rolls it did not commit to, in all.
    pub missed_rolls_total: u64,
    /// Reveals it withheld past the deadline.
    pub late_reveals: u64,
    /// Claims that expired without its vote while it was in the electorate.
    pub missed_votes: u64,
    /// Verified evidence against it (including mismatched reveals).
    pub evidence_count: u64,
    /// Claims against it that were upheld.
    pub claims_upheld: u64,
}

/// An open dispute claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who opened it.
    pub opened_by: Seat,
    /// Who is accused.
    pub accused: Seat,
    /// The statement.
    pub statement: String,
    /// Block time it was opened.
    pub opened_at_ms: u64,
    /// Block time it expires.
    pub deadline_ms: u64,
    /// Seats that may vote: seated at opening, except the accused.
    pub electorate: BTreeSet<Seat>,
    /// Votes so far.
    pub votes: BTreeMap<Seat, bool>,
}

/// A custom extension's state, stakes and declared exposure.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomSlot {
    /// The extension's own encoding of its state.
    pub state: Vec<u8>,
    /// Chips each seat has in the extension's bets (chips on the table).
    pub pots: BTreeMap<Seat, u64>,
    /// The most the extension's bets could win on one roll.
    pub exposure: u64,
}

/// The last roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollRecord {
    /// Its number.
    pub number: u64,
    /// The dice.
    pub roll: Roll,
    /// Height it was rolled at.
    pub height: u64,
    /// Seats whose reveals seeded it.
    pub revealed_by: Vec<Seat>,
}

/// The table's data at one height (read it through [`TableState`], which derefs to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableData {
    pub(crate) config_hash: [u8; 32],
    pub(crate) height: u64,
    pub(crate) timestamp_ms: u64,
    pub(crate) seats: Vec<SeatState>,
    pub(crate) nonces: BTreeMap<PeerId, u64>,
    pub(crate) bank: u64,
    pub(crate) bets: Vec<OpenBet>,
    pub(crate) next_bet_id: u64,
    pub(crate) phase: Phase,
    pub(crate) shooter: Option<Seat>,
    pub(crate) roll_number: u64,
    pub(crate) stage: Stage,
    pub(crate) supply: Supply,
    pub(crate) disputes: BTreeMap<DisputeId, Claim>,
    pub(crate) next_dispute_id: u64,
    pub(crate) health: BTreeMap<PeerId, Health>,
    pub(crate) custom: BTreeMap<String, CustomSlot>,
    pub(crate) last_roll: Option<RollRecord>,
    /// The validator set of the next height (see [`crate::membership`]).
    pub(crate) validators_next: Vec<PeerId>,
    /// The validator set of the height after next: the seated players at the end of this one.
    pub(crate) validators_after_next: Vec<PeerId>,
    /// Join requests waiting for admission, by newcomer.
    pub(crate) join_requests: BTreeMap<PeerId, JoinRequest>,
    /// The height at which the table closed, if it did.
    pub(crate) closed_at: Option<u64>,
}

impl TableData {
    /// The height this state is after (0: genesis).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The block time of that height, ms.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// Every seat ever taken, by seat number.
    pub fn seats(&self) -> &[SeatState] {
        &self.seats
    }

    /// One seat.
    pub fn seat(&self, seat: Seat) -> Option<&SeatState> {
        self.seats.get(usize::from(seat.0))
    }

    /// The seats whose players are at the table, in seat order.
    pub fn seated(&self) -> Vec<Seat> {
        self.seats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_seated())
            .filter_map(|(i, _)| u16::try_from(i).ok().map(Seat))
            .collect()
    }

    /// The seat `peer` sits at, if seated.
    pub fn seat_of(&self, peer: &PeerId) -> Option<Seat> {
        self.seats
            .iter()
            .enumerate()
            .find(|(_, s)| s.is_seated() && s.peer == *peer)
            .and_then(|(i, _)| u16::try_from(i).ok().map(Seat))
    }

    /// The nonce `peer`'s next operation must carry.
    pub fn next_nonce(&self, peer: &PeerId) -> u64 {
        self.nonces
            .get(peer)
            .copied()
            .unwrap_or(0)
            .saturating_add(1)
    }

    /// The bank's chips.
    pub fn bank(&self) -> u64 {
        self.bank
    }

    /// Every open bet, in placement order.
    pub fn bets(&self) -> &[OpenBet] {
        &self.bets
    }

    /// One seat's open bets.
    pub fn bets_of(&self, seat: Seat) -> impl Iterator<Item = &OpenBet> {
        self.bets.iter().filter(move |b| b.bet.seat == seat)
    }

    /// An open bet by id.
    pub fn bet(&self, id: BetId) -> Option<&OpenBet> {
        self.bets.iter().find(|b| b.id == id)
    }

    /// The hand's phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Who holds the dice.
    pub fn shooter(&self) -> Option<Seat> {
        self.shooter
    }

    /// The number of the next roll (the first is 1).
    pub fn roll_number(&self) -> u64 {
        self.roll_number
    }

    /// Where the dice flow stands.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The supply side of the accounting identity.
    pub fn supply(&self) -> Supply {
        self.supply
    }

    /// Open dispute claims.
    pub fn disputes(&self) -> &BTreeMap<DisputeId, Claim> {
        &self.disputes
    }

    /// A player's health signals (all zero if it never played).
    pub fn health(&self, peer: &PeerId) -> Health {
        self.health.get(peer).copied().unwrap_or_default()
    }

    /// Every player's health signals.
    pub fn all_health(&self) -> &BTreeMap<PeerId, Health> {
        &self.health
    }

    /// A custom extension's slot.
    pub fn custom(&self, name: &str) -> Option<&CustomSlot> {
        self.custom.get(name)
    }

    /// The last roll.
    pub fn last_roll(&self) -> Option<&RollRecord> {
        self.last_roll.as_ref()
    }

    /// The hash of the config this table plays under.
    pub fn config_hash(&self) -> [u8; 32] {
        self.config_hash
    }

    /// The open bets as plain [`Bet`]s, in order.
    pub fn plain_bets(&self) -> Vec<Bet> {
        self.bets.iter().map(|b| b.bet).collect()
    }

    /// What the bank must be able to pay on the next roll: the worst case of every open bet
    /// together plus every custom extension's declared exposure.
    pub fn bank_requirement(&self, rules: &TableRules) -> Result<u64, ChipOverflow> {
        let bets = worst_case_payout(rules, self.phase, &self.plain_bets())?;
        chips::add(bets, self.custom_exposure()?)
    }

    /// Whether any chip is on the table (a bet, or a stake in a custom extension's pot): this
    /// starts the betting deadline.
    pub(crate) fn anything_on(&self) -> bool {
        !self.bets.is_empty() || self.custom.values().any(|s| !s.pots.is_empty())
    }

    pub(crate) fn custom_exposure(&self) -> Result<u64, ChipOverflow> {
        chips::sum(self.custom.values().map(|s| s.exposure))
    }

    /// The left side of the accounting identity, by part.
    pub fn holdings(&self) -> Result<Holdings, ChipOverflow> {
        let balances = chips::sum(self.seats.iter().map(|s| s.balance))?;
        let bonds = chips::sum(self.seats.iter().map(|s| s.bond))?;
        let bets = chips::sum(self.bets.iter().map(|b| b.bet.amount))?;
        let pots = chips::sum(self.custom.values().flat_map(|s| s.pots.values().copied()))?;
        Ok(Holdings {
            balances,
            on_table: chips::add(bets, pots)?,
            bonds,
            bank: self.bank,
        })
    }

    /// Checks `balances + chips on the table + bonds + bank = chips in circulation` (genesis
    /// supply plus buy-ins minus cash-outs, kept in [`Supply::circulating`]), with
    /// overflow-checked arithmetic.
    pub fn check_accounting(&self) -> Result<(), AccountingError> {
        let overflow = AccountingError::Overflow {
            height: self.height,
        };
        let h = self.holdings().map_err(|_| overflow.clone())?;
        let held = chips::sum([h.balances, h.on_table, h.bonds, h.bank]).map_err(|_| overflow)?;
        let supply = self.supply.circulating;
        if held != supply {
            return Err(AccountingError::Mismatch {
                height: self.height,
                held,
                supply,
            });
        }
        Ok(())
    }

    /// SHA-256 of [`STATE_HASH_DOMAIN`] ‖ the canonical encoding of this data.
    pub fn compute_hash(&self) -> Result<[u8; 32], EncodeError> {
        let bytes = codec::encode(self)?;
        let mut h = Sha256::new();
        h.update(STATE_HASH_DOMAIN);
        h.update(&bytes);
        Ok(h.finalize().into())
    }
}

/// The left side of the accounting identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// Players' free balances.
    pub balances: u64,
    /// Stakes of open bets and custom extensions' pots.
    pub on_table: u64,
    /// Players' bonds.
    pub bonds: u64,
    /// The bank.
    pub bank: u64,
}

/// A decided table state: data, config, registry and hash. Cheap to clone (copy-on-write).
#[derive(Debug, Clone)]
pub struct TableState {
    pub(crate) data: Arc<TableData>,
    pub(crate) config: Arc<TableConfig>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) hash: [u8; 32],
}

impl Deref for TableState {
    type Target = TableData;
    fn deref(&self) -> &TableData {
        &self.data
    }
}

impl PartialEq for TableState {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.data == other.data
    }
}

impl TableState {
    /// The state before the first height. Fails if the config is invalid or if this build's
    /// custom-operation `registry` is not the one the config names.
    pub fn genesis(
        config: TableConfig,
        registry: Arc<Registry>,
    ) -> Result<TableState, GenesisError> {
        let supply = config.validate()?;
        let local = registry.hash();
        if local != config.registry_hash {
            return Err(GenesisError::RegistryMismatch {
                expected: hex(&config.registry_hash),
                local: hex(&local),
                names: registry.describe(),
            });
        }
        let mut genesis_keys: Vec<PeerId> = config.seats.iter().map(|s| s.peer).collect();
        genesis_keys.sort();
        let seats = config
            .seats
            .iter()
            .map(|s| SeatState {
                peer: s.peer,
                // validate() checked stack ≥ minimum.
                balance: s.stack.saturating_sub(config.bonds.minimum),
                bond: config.bonds.minimum,
                status: SeatStatus::Seated,
                joined_at: 0,
                first_seated_nonce: 1,
            })
            .collect();
        let custom = registry
            .names()
            .map(|n| (n.to_string(), CustomSlot::default()))
            .collect();
        let data = TableData {
            config_hash: config.hash(),
            height: 0,
            timestamp_ms: config.genesis_time_ms,
            seats,
            nonces: BTreeMap::new(),
            bank: config.bank_stake,
            bets: Vec::new(),
            next_bet_id: 1,
            phase: Phase::ComeOut,
            shooter: Some(Seat(0)),
            roll_number: 1,
            stage: Stage::Betting {
                since: 0,
                since_ms: config.genesis_time_ms,
            },
            supply: Supply {
                genesis: supply,
                circulating: supply,
                ..Supply::default()
            },
            disputes: BTreeMap::new(),
            next_dispute_id: 1,
            health: BTreeMap::new(),
            custom,
            last_roll: None,
            validators_next: genesis_keys.clone(),
            validators_after_next: genesis_keys,
            join_requests: BTreeMap::new(),
            closed_at: None,
        };
        let hash = data.compute_hash()?;
        Ok(TableState {
            data: Arc::new(data),
            config: Arc::new(config),
            registry,
            hash,
        })
    }

    /// The state hash every honest node shares at this height.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The table config.
    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    /// The custom-operation registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The data, shared.
    pub fn data(&self) -> &Arc<TableData> {
        &self.data
    }
}

/// Lower-case hex of 32 bytes.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
