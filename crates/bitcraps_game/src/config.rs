//! The table config agreed by the initial seats: who sits with how many chips, the bank's stake,
//! the house rules, bonds, deadlines and the custom-operation registry. Its
//! [hash](TableConfig::hash) is inside every state hash, so nodes with different configs never
//! agree on a single height.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bitcraps_consensus::{PeerId, TableId};

use crate::custom::Registry;
use crate::policy::{AdmissionRules, ChipLimits, PenaltyRules};
use crate::rules::{RulesError, TableRules};

/// Domain tag of [`TableConfig::hash`].
pub const CONFIG_HASH_DOMAIN: &[u8] = b"bitcraps/table-config/v1";
/// The fewest seats a table starts with (consensus needs n ≥ 4 to tolerate one Byzantine player).
pub const MIN_SEATS: usize = 4;
/// The most players seated at once.
pub const MAX_SEATED: usize = 16;

/// One initial seat: a player's key and starting stack (the minimum bond is taken out of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeatConfig {
    /// The player's seat key (also its consensus identity).
    pub peer: PeerId,
    /// Chips the player brings, bond included.
    pub stack: u64,
}

/// How large a player's bond must be.
///
/// Every seated player posts [`BondRules::minimum`] when seated. When betting closes for a roll,
/// a player's bond must also cover `cover_percent` % of the biggest net win its open bets could
/// bring on that roll ([`required_bond`](crate::bond::required_bond)); the difference is moved
/// from the player's balance automatically, and a player who cannot cover it sits the roll out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BondRules {
    /// The bond posted on being seated (default 100 chips).
    pub minimum: u64,
    /// Percentage of the worst-case win the bond must cover at betting close (default 100, at
    /// least 100).
    pub cover_percent: u32,
}

impl Default for BondRules {
    fn default() -> Self {
        BondRules {
            minimum: 100,
            cover_percent: 100,
        }
    }
}

/// Deadlines of the dice flow and of disputes, in block time (ms).
///
/// A dice deadline passes at the end of the first height whose block time is at least its
/// duration after the stage opened **and** which is at least [`Deadlines::min_heights`] heights
/// after it. Time is what a player lives in: an honest player whose machine stalls (a freeze, a
/// restart, a lost relay) for up to [`Deadlines::stall_tolerance_ms`] is never punished, however
/// fast the table decides heights. The height floor is what makes censorship harmless: a
/// proposer may leave an operation out of its block, and up to f Byzantine proposers may follow
/// each other, so an honest player's commitment or reveal can be delayed by f heights; keep
/// `min_heights` above f + 1 (the default of 5 suits up to 13 players; 16 players need 6).
///
/// Block time cannot be pushed ahead to make a deadline pass early: an honest node prevotes a
/// fresh block only if its time is within [`MAX_CLOCK_SKEW_MS`](crate::MAX_CLOCK_SKEW_MS) of its
/// own clock, and every decided block has honest prevotes, so the table's time runs at most
/// that much ahead of the honest clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadlines {
    /// Betting closes by itself this long after it opened, if any bet is on the table (default
    /// 30 s; at an empty table the time counts from the first bet). The shooter may close it
    /// earlier.
    pub betting_ms: u64,
    /// Commitments close this long after betting closed (default 5 s), or as soon as every
    /// eligible seat committed. Missing a commitment costs nothing but the roll's entropy;
    /// only a long absence unseats ([`Deadlines::absence_ms`]).
    pub commit_ms: u64,
    /// Reveals close this long after commitments closed (default 45 s), or as soon as every
    /// committed seat revealed; a committed seat that has not revealed then is punished as a
    /// withholder. The default tolerates a 30 s stall (see [`Deadlines::stall_tolerance_ms`]).
    pub reveal_ms: u64,
    /// Every dice deadline also waits at least this many heights (default 5; see above).
    pub min_heights: u64,
    /// A seat that missed [`TableConfig::missed_roll_limit`] rolls in a row is unseated only
    /// once its first missed roll of the streak is at least this old (default 60 s): a player
    /// who stalls or restarts for less keeps its seat.
    pub absence_ms: u64,
    /// A dispute claim expires this long after it was opened (default one hour).
    pub dispute_ms: u64,
}

/// Time a player who wakes from a stall needs to catch up with the table and get its reveal
/// into a block, on top of the stall itself: [`Deadlines::stall_tolerance_ms`] counts it out.
pub const CATCH_UP_MARGIN_MS: u64 = 10_000;

impl Deadlines {
    /// Deadlines that tolerate an honest player's stall of `stall_ms`: reveals close after the
    /// stall plus the clock skew a Byzantine proposer may add
    /// ([`MAX_CLOCK_SKEW_MS`](crate::MAX_CLOCK_SKEW_MS)) plus [`CATCH_UP_MARGIN_MS`]; an
    /// absence unseats after twice the stall (at least 60 s). Other deadlines are the defaults.
    pub fn tolerating_stalls(stall_ms: u64) -> Deadlines {
        Deadlines {
            reveal_ms: stall_ms
                .saturating_add(crate::block::MAX_CLOCK_SKEW_MS)
                .saturating_add(CATCH_UP_MARGIN_MS),
            absence_ms: stall_ms.saturating_mul(2).max(60_000),
            ..Deadlines::default()
        }
    }

    /// The longest stall of an honest player these deadlines forgive (no withholding penalty,
    /// no unseating): the reveal deadline less the clock skew and the catch-up margin, and at
    /// most half the absence time.
    pub fn stall_tolerance_ms(&self) -> u64 {
        self.reveal_ms
            .saturating_sub(crate::block::MAX_CLOCK_SKEW_MS)
            .saturating_sub(CATCH_UP_MARGIN_MS)
            .min(self.absence_ms / 2)
    }
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            betting_ms: 30_000,
            commit_ms: 5_000,
            reveal_ms: 45_000,
            min_heights: 5,
            absence_ms: 60_000,
            dispute_ms: 3_600_000,
        }
    }
}

/// Why a table config cannot start a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Too few or too many initial seats.
    #[error("a table starts with {MIN_SEATS} to {MAX_SEATED} seats, got {0}")]
    SeatCount(usize),
    /// The same key twice.
    #[error("player {0} is seated twice")]
    DuplicateSeat(PeerId),
    /// A key that cannot verify signatures.
    #[error("player {0} has an invalid or weak key")]
    BadKey(PeerId),
    /// A stack that cannot post the minimum bond.
    #[error("player {peer} brings {stack} chips, below the minimum bond of {minimum}")]
    StackBelowBond {
        /// The player.
        peer: PeerId,
        /// Its stack.
        stack: u64,
        /// The minimum bond.
        minimum: u64,
    },
    /// The house rules are inconsistent.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A deadline of zero time or zero heights.
    #[error("every deadline must be at least 1 (millisecond or height)")]
    ZeroDeadline,
    /// Bonds must cover at least the whole worst-case win.
    #[error("bond cover must be at least 100 %, got {0} %")]
    BondCover(u32),
    /// Zero missed rolls allowed would unseat everyone on the first roll.
    #[error("the missed-roll limit must be at least 1")]
    ZeroMissedRollLimit,
    /// The table id is not the one derived from the rest of the config.
    #[error(
        "the table id is not derived from the table's genesis (seal the config after changing it)"
    )]
    TableIdNotDerived,
    /// The genesis supply does not fit in a `u64`.
    #[error("the genesis chip supply overflows u64")]
    SupplyOverflow,
    /// The chip limits are out of range or the genesis supply exceeds them.
    #[error("chip limits: {0}")]
    ChipLimits(&'static str),
    /// A penalty percentage above 100.
    #[error("a penalty percentage must be at most 100, got {0}")]
    PenaltyPercent(u8),
    /// The admission rules are out of range.
    #[error("admission rules: {0}")]
    Admission(&'static str),
}

/// Domain tag of [`TableConfig::derive_table_id`].
pub const TABLE_ID_DOMAIN: &[u8] = b"bitcraps/table-genesis/v1";

/// A value that makes a table's genesis unique: random (from the OS) for every real table, so
/// that two tables never share an id even with the same players and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GenesisNonce(pub [u8; 32]);

impl From<[u8; 32]> for GenesisNonce {
    fn from(bytes: [u8; 32]) -> GenesisNonce {
        GenesisNonce(bytes)
    }
}

impl From<TableId> for GenesisNonce {
    /// A name-derived id used as the nonce (tests and fixed local tables); the table id is
    /// still derived from the whole genesis.
    fn from(id: TableId) -> GenesisNonce {
        GenesisNonce(id.0)
    }
}

/// Everything the initial seats agree on before the first height.
///
/// The table id is not chosen: it is [`TableConfig::derive_table_id`], a hash of everything else
/// (seats, stacks, bank, rules, bonds, deadlines, policy, registry hash and the
/// [`GenesisNonce`]). An operation or vote signed at one table is therefore never valid at
/// another: two tables share an id only if their whole genesis is the same. After changing any
/// field, call [`TableConfig::seal`]; [`TableState::genesis`](crate::TableState::genesis)
/// refuses a config whose id is not derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableConfig {
    /// The consensus table id (inside every signature of the table): derived, see above.
    pub table_id: TableId,
    /// What makes this genesis unique.
    pub genesis_nonce: GenesisNonce,
    /// Block time of the genesis state, ms since the Unix epoch: the first block's timestamp must
    /// be later.
    pub genesis_time_ms: u64,
    /// The initial seats, in seat order (`Seat(i)` is `seats[i]`). The first is the first
    /// shooter.
    pub seats: Vec<SeatConfig>,
    /// The bank's stake at genesis.
    pub bank_stake: u64,
    /// The house rules.
    pub rules: TableRules,
    /// Bond sizes.
    pub bonds: BondRules,
    /// Deadlines.
    pub deadlines: Deadlines,
    /// Consecutive missed rolls (no commitment by the commit deadline) after which a player is
    /// unseated, once the streak is also [`Deadlines::absence_ms`] old (default 3).
    pub missed_roll_limit: u32,
    /// [`Registry::hash`] of the custom operations the table plays with.
    pub registry_hash: [u8; 32],
    /// Bounds on buy-ins and on the chips in circulation.
    pub limits: ChipLimits,
    /// What cheating costs beyond bond, bets and seat.
    pub penalties: PenaltyRules,
    /// How newcomers are admitted, and the most seats.
    pub admission: AdmissionRules,
}

impl TableConfig {
    /// A config with the default rules, bonds, deadlines and missed-roll limit, for the given
    /// custom-operation registry.
    pub fn new(
        nonce: impl Into<GenesisNonce>,
        genesis_time_ms: u64,
        seats: Vec<SeatConfig>,
        bank_stake: u64,
        registry: &Registry,
    ) -> TableConfig {
        let mut config = TableConfig {
            table_id: TableId([0; 32]),
            genesis_nonce: nonce.into(),
            genesis_time_ms,
            seats,
            bank_stake,
            rules: TableRules::default(),
            bonds: BondRules::default(),
            deadlines: Deadlines::default(),
            missed_roll_limit: 3,
            registry_hash: registry.hash(),
            limits: ChipLimits::default(),
            penalties: PenaltyRules::default(),
            admission: AdmissionRules::default(),
        };
        config.seal();
        config
    }

    /// The table id derived from everything else: SHA-256 of [`TABLE_ID_DOMAIN`] ‖ the
    /// canonical encoding without the id.
    pub fn derive_table_id(&self) -> TableId {
        let mut h = Sha256::new();
        h.update(TABLE_ID_DOMAIN);
        h.update(self.canonical_fields());
        TableId(h.finalize().into())
    }

    /// The id the consensus of this table signs its proposals, votes and certificates under:
    /// the [`GenesisNonce`]. A host makes it unique to the table before the genesis is built (the
    /// network lobby derives it from the lobby, the seat list and a random nonce, so a vote is
    /// never valid at another table); operations are signed under
    /// [`TableConfig::table_id`], derived from the whole genesis including this nonce. Consensus
    /// evidence and certificates are checked against this id.
    pub fn consensus_table_id(&self) -> TableId {
        TableId(self.genesis_nonce.0)
    }

    /// Sets [`TableConfig::table_id`] to [`TableConfig::derive_table_id`] (after changing
    /// fields).
    pub fn seal(&mut self) {
        self.table_id = self.derive_table_id();
    }

    /// The config with its id sealed.
    pub fn sealed(mut self) -> TableConfig {
        self.seal();
        self
    }

    /// Checks the config can start a table (seat count, distinct and valid keys, stacks, rules,
    /// deadlines, chip limits, penalties, admission); returns the genesis chip supply (stacks
    /// plus the bank's stake).
    pub fn validate(&self) -> Result<u64, ConfigError> {
        if self.table_id != self.derive_table_id() {
            return Err(ConfigError::TableIdNotDerived);
        }
        let a = &self.admission;
        if !(MIN_SEATS..=MAX_SEATED).contains(&usize::from(a.max_seats)) {
            return Err(ConfigError::Admission("the most seats must be 4 to 16"));
        }
        if a.request_ms == 0 || a.max_pending == 0 {
            return Err(ConfigError::Admission(
                "join requests need a deadline and room to wait",
            ));
        }
        if !(MIN_SEATS..=usize::from(a.max_seats)).contains(&self.seats.len()) {
            return Err(ConfigError::SeatCount(self.seats.len()));
        }
        for percent in [
            self.penalties.cheat_balance_percent,
            self.penalties.withhold_balance_percent,
        ] {
            if percent > 100 {
                return Err(ConfigError::PenaltyPercent(percent));
            }
        }
        let l = &self.limits;
        if l.max_supply > ChipLimits::SUPPLY_CEILING {
            return Err(ConfigError::ChipLimits("the supply limit is above 2^60"));
        }
        if l.max_buy_in == 0 || l.max_buy_in > l.max_supply {
            return Err(ConfigError::ChipLimits(
                "the buy-in limit must be between 1 and the supply limit",
            ));
        }
        self.rules.validate()?;
        let d = &self.deadlines;
        if d.betting_ms == 0
            || d.commit_ms == 0
            || d.reveal_ms == 0
            || d.min_heights == 0
            || d.absence_ms == 0
            || d.dispute_ms == 0
        {
            return Err(ConfigError::ZeroDeadline);
        }
        if self.bonds.cover_percent < 100 {
            return Err(ConfigError::BondCover(self.bonds.cover_percent));
        }
        if self.missed_roll_limit == 0 {
            return Err(ConfigError::ZeroMissedRollLimit);
        }
        let mut supply = self.bank_stake;
        for (i, s) in self.seats.iter().enumerate() {
            if self.seats[..i].iter().any(|o| o.peer == s.peer) {
                return Err(ConfigError::DuplicateSeat(s.peer));
            }
            if s.peer.verifying_key().is_err() {
                return Err(ConfigError::BadKey(s.peer));
            }
            if s.stack < self.bonds.minimum {
                return Err(ConfigError::StackBelowBond {
                    peer: s.peer,
                    stack: s.stack,
                    minimum: self.bonds.minimum,
                });
            }
            supply = supply
                .checked_add(s.stack)
                .ok_or(ConfigError::SupplyOverflow)?;
        }
        if supply > self.limits.max_supply {
            return Err(ConfigError::ChipLimits(
                "the genesis supply is above the supply limit",
            ));
        }
        Ok(supply)
    }

    /// The canonical encoding: a version byte, the table id, then every other field in
    /// declaration order, fixed widths, big-endian; the rules as
    /// [`TableRules::canonical_bytes`]. Independent of serde.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(272 + 40 * self.seats.len());
        out.push(3u8);
        out.extend_from_slice(self.table_id.as_bytes());
        out.extend_from_slice(&self.canonical_fields());
        out
    }

    /// Every field but the table id, canonically (see [`TableConfig::canonical_bytes`]).
    fn canonical_fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(240 + 40 * self.seats.len());
        out.extend_from_slice(&self.genesis_nonce.0);
        out.extend_from_slice(&self.genesis_time_ms.to_be_bytes());
        out.extend_from_slice(&(self.seats.len() as u64).to_be_bytes());
        for s in &self.seats {
            out.extend_from_slice(s.peer.as_bytes());
            out.extend_from_slice(&s.stack.to_be_bytes());
        }
        out.extend_from_slice(&self.bank_stake.to_be_bytes());
        out.extend_from_slice(&self.rules.canonical_bytes());
        out.extend_from_slice(&self.bonds.minimum.to_be_bytes());
        out.extend_from_slice(&self.bonds.cover_percent.to_be_bytes());
        let d = &self.deadlines;
        for v in [
            d.betting_ms,
            d.commit_ms,
            d.reveal_ms,
            d.min_heights,
            d.absence_ms,
            d.dispute_ms,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.missed_roll_limit.to_be_bytes());
        out.extend_from_slice(&self.registry_hash);
        out.extend_from_slice(&self.limits.max_buy_in.to_be_bytes());
        out.extend_from_slice(&self.limits.max_supply.to_be_bytes());
        out.push(self.penalties.cheat_balance_percent);
        out.push(self.penalties.withhold_balance_percent);
        out.extend_from_slice(&self.admission.max_seats.to_be_bytes());
        out.extend_from_slice(&self.admission.request_ms.to_be_bytes());
        out.extend_from_slice(&self.admission.max_pending.to_be_bytes());
        out
    }

    /// SHA-256 of [`CONFIG_HASH_DOMAIN`] ‖ [`TableConfig::canonical_bytes`].
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(CONFIG_HASH_DOMAIN);
        h.update(self.canonical_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcraps_consensus::Keypair;

    fn config() -> TableConfig {
        let seats = (1..=4u8)
            .map(|i| SeatConfig {
                peer: Keypair::from_seed([i; 32]).peer_id(),
                stack: 1_000,
            })
            .collect();
        TableConfig::new(
            TableId::from_name("t"),
            0,
            seats,
            1_000_000,
            &Registry::new(),
        )
    }

    #[test]
    fn validation() {
        let c = config();
        assert_eq!(c.validate(), Ok(1_004_000));
        let mut dup = c.clone();
        dup.seats[1].peer = dup.seats[0].peer;
        assert_eq!(
            dup.clone().sealed().validate(),
            Err(ConfigError::DuplicateSeat(dup.seats[0].peer))
        );
        let mut few = c.clone();
        few.seats.pop();
        assert_eq!(
            few.clone().sealed().validate(),
            Err(ConfigError::SeatCount(3))
        );
        let mut poor = c.clone();
        poor.seats[2].stack = 99;
        assert!(matches!(
            poor.clone().sealed().validate(),
            Err(ConfigError::StackBelowBond { stack: 99, .. })
        ));
        let mut zero = c.clone();
        zero.deadlines.reveal_ms = 0;
        assert_eq!(
            zero.clone().sealed().validate(),
            Err(ConfigError::ZeroDeadline)
        );
        let mut weak = c.clone();
        weak.bonds.cover_percent = 50;
        assert_eq!(
            weak.clone().sealed().validate(),
            Err(ConfigError::BondCover(50))
        );
        let mut huge = c.clone();
        huge.bank_stake = u64::MAX;
        assert_eq!(
            huge.clone().sealed().validate(),
            Err(ConfigError::SupplyOverflow)
        );
        let mut rich = c.clone();
        rich.bank_stake = rich.limits.max_supply;
        assert!(matches!(
            rich.clone().sealed().validate(),
            Err(ConfigError::ChipLimits(_))
        ));
        let mut cruel = c.clone();
        cruel.penalties.cheat_balance_percent = 101;
        assert_eq!(
            cruel.clone().sealed().validate(),
            Err(ConfigError::PenaltyPercent(101))
        );
        let mut crowded = c.clone();
        crowded.admission.max_seats = 17;
        assert!(matches!(
            crowded.clone().sealed().validate(),
            Err(ConfigError::Admission(_))
        ));
        let mut small = c;
        small.admission.max_seats = 4;
        small.seats.push(SeatConfig {
            peer: Keypair::from_seed([9; 32]).peer_id(),
            stack: 1_000,
        });
        assert_eq!(
            small.clone().sealed().validate(),
            Err(ConfigError::SeatCount(5))
        );
    }

    #[test]
    fn the_table_id_is_derived_from_the_whole_genesis() {
        let c = config();
        assert_eq!(c.table_id, c.derive_table_id());
        // The same name as nonce, another stack: another table.
        let mut other = c.clone();
        other.seats[0].stack += 1;
        other.seal();
        assert_ne!(other.table_id, c.table_id);
        let mut other = c.clone();
        other.genesis_nonce = GenesisNonce([7; 32]);
        assert_ne!(other.derive_table_id(), c.table_id);
        // A changed config that was not sealed, or an id chosen freely, is refused.
        let mut stale = c.clone();
        stale.deadlines.commit_ms += 1;
        assert_eq!(stale.validate(), Err(ConfigError::TableIdNotDerived));
        let mut chosen = c;
        chosen.table_id = TableId::from_name("t");
        assert_eq!(chosen.validate(), Err(ConfigError::TableIdNotDerived));
    }

    #[test]
    fn hash_covers_every_field() {
        let c = config();
        let mut other = c.clone();
        other.registry_hash[0] ^= 1;
        assert_ne!(c.hash(), other.hash());
        let mut other = c.clone();
        other.deadlines.dispute_ms += 1;
        assert_ne!(c.hash(), other.hash());
        let mut other = c.clone();
        other.seats[3].stack += 1;
        assert_ne!(c.hash(), other.hash());
        let mut other = c.clone();
        other.limits.max_buy_in -= 1;
        assert_ne!(c.hash(), other.hash());
        let mut other = c.clone();
        other.penalties.withhold_balance_percent = 1;
        assert_ne!(c.hash(), other.hash());
        let mut other = c.clone();
        other.admission.request_ms += 1;
        assert_ne!(c.hash(), other.hash());
        assert_eq!(c.hash(), c.clone().hash());
    }
}
