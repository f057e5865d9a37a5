//! Custom game operations: extensions that add their own operations and bets to a table.
//!
//! An extension implements [`CustomOperation`]: a stable name, a check of an operation against
//! the table, its effect, and an optional hook run after every roll. Extensions are collected in
//! a [`Registry`] whose [hash](Registry::hash) goes into the table config: a build whose registry
//! differs from the table's refuses to start it
//! ([`GenesisError::RegistryMismatch`](crate::GenesisError::RegistryMismatch)), so two builds
//! with different extensions never play together.
//!
//! Extensions move chips only through [`CustomContext`], which keeps the ledger balanced: stakes
//! go from a player's balance into the extension's *pot* (chips on the table), and come back out
//! to the player, to the bank, or are matched by a win paid by the bank. An extension keeps its
//! own state as bytes ([`CustomContext::set_state`], part of the state hash) and declares the
//! most its open bets could win on one roll ([`CustomContext::set_exposure`]), which the bank
//! must cover together with every regular bet.
//!
//! Every call is deterministic and all-or-nothing: if `apply` fails the operation is rejected
//! and the table is unchanged; if `on_roll` fails its changes for that roll are dropped and an
//! [`Event::CustomHookFailed`] is recorded.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::bets::Seat;
use crate::chips::{self, ChipOverflow};
use crate::config::TableConfig;
use crate::events::Event;
use crate::ops::MAX_CUSTOM_NAME_BYTES;
use crate::phase::{Phase, PhaseEvent};
use crate::roll::Roll;
use crate::state::{CustomSlot, TableData};

/// Domain tag of [`Registry::hash`].
pub const REGISTRY_HASH_DOMAIN: &[u8] = b"bitcraps/custom-registry/v1";

/// Why an extension refused an operation or could not complete a chip movement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomError {
    /// The extension's own reason.
    #[error("{0}")]
    Rejected(String),
    /// The payload does not decode.
    #[error("malformed payload: {0}")]
    Payload(String),
    /// The seat is not seated.
    #[error("{0} is not seated")]
    NotSeated(Seat),
    /// A stake larger than the player's balance.
    #[error("{seat} has {balance} chips, needs {needed}")]
    InsufficientBalance {
        /// The seat.
        seat: Seat,
        /// Its balance.
        balance: u64,
        /// Chips needed.
        needed: u64,
    },
    /// Taking more out of the pot than the seat has in it.
    #[error("{seat} has {pot} chips in this extension's bets, needs {needed}")]
    InsufficientPot {
        /// The seat.
        seat: Seat,
        /// Its chips in the pot.
        pot: u64,
        /// Chips needed.
        needed: u64,
    },
    /// The bank cannot pay or cover.
    #[error("the bank holds {bank} chips, needs {needed}")]
    BankCannotCover {
        /// The bank.
        bank: u64,
        /// Chips needed.
        needed: u64,
    },
    /// Chip arithmetic overflowed.
    #[error(transparent)]
    Overflow(#[from] ChipOverflow),
}

/// What a roll did, for [`CustomOperation::on_roll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollReport {
    /// The roll number.
    pub number: u64,
    /// The dice.
    pub roll: Roll,
    /// The phase before the roll.
    pub phase_before: Phase,
    /// The phase after.
    pub phase_after: Phase,
    /// What the roll did to the hand.
    pub event: PhaseEvent,
    /// Who threw it.
    pub shooter: Option<Seat>,
    /// Who holds the dice now.
    pub next_shooter: Option<Seat>,
}

/// A custom game operation (and, usually, the bet it places).
pub trait CustomOperation: Send + Sync {
    /// The stable name: part of the registry hash and of every operation's encoding. Never
    /// change it once tables play with it.
    fn name(&self) -> &str;

    /// The version of the extension's rules; bump it on any change of behaviour (part of the
    /// registry hash).
    fn version(&self) -> u32 {
        1
    }

    /// Whether seat `author` may do `payload` now. Must not depend on anything but its
    /// arguments.
    fn validate(
        &self,
        table: &TableData,
        config: &TableConfig,
        author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError>;

    /// Carries out a validated operation.
    fn apply(
        &self,
        ctx: &mut CustomContext<'_>,
        author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError>;

    /// Runs after each roll is resolved (regular bets already paid). Default: nothing.
    fn on_roll(&self, ctx: &mut CustomContext<'_>, roll: &RollReport) -> Result<(), CustomError> {
        let _ = (ctx, roll);
        Ok(())
    }
}

/// Why an extension cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two extensions with one name.
    #[error("custom operation {0:?} is registered twice")]
    Duplicate(String),
    /// An empty name or one over [`MAX_CUSTOM_NAME_BYTES`].
    #[error("custom operation name {0:?} is empty or too long")]
    BadName(String),
}

/// The custom operations a build plays with, by stable name.
#[derive(Clone, Default)]
pub struct Registry {
    ops: BTreeMap<String, Arc<dyn CustomOperation>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({})", self.describe())
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds an extension.
    pub fn register(&mut self, op: Arc<dyn CustomOperation>) -> Result<(), RegistryError> {
        let name = op.name().to_string();
        if name.is_empty() || name.len() > MAX_CUSTOM_NAME_BYTES {
            return Err(RegistryError::BadName(name));
        }
        if self.ops.contains_key(&name) {
            return Err(RegistryError::Duplicate(name));
        }
        self.ops.insert(name, op);
        Ok(())
    }

    /// The same registry with one more extension.
    pub fn with(mut self, op: Arc<dyn CustomOperation>) -> Result<Registry, RegistryError> {
        self.register(op)?;
        Ok(self)
    }

    /// The extension registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn CustomOperation>> {
        self.ops.get(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.ops.keys().map(String::as_str)
    }

    /// The extensions, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn CustomOperation>)> {
        self.ops.iter().map(|(n, o)| (n.as_str(), o))
    }

    /// `name vN, …` for messages ("(none)" if empty).
    pub fn describe(&self) -> String {
        if self.ops.is_empty() {
            return "(none)".to_string();
        }
        let v: Vec<String> = self
            .ops
            .iter()
            .map(|(n, o)| format!("{n} v{}", o.version()))
            .collect();
        v.join(", ")
    }

    /// SHA-256 of [`REGISTRY_HASH_DOMAIN`] ‖ count (u32 BE) ‖ for each extension by name:
    /// name length (u16 BE) ‖ name ‖ version (u32 BE).
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(REGISTRY_HASH_DOMAIN);
        h.update((self.ops.len() as u32).to_be_bytes());
        for (name, op) in &self.ops {
            h.update((name.len() as u16).to_be_bytes());
            h.update(name.as_bytes());
            h.update(op.version().to_be_bytes());
        }
        h.finalize().into()
    }
}

/// An extension's handle on the table while its operation or hook runs.
pub struct CustomContext<'a> {
    name: &'a str,
    data: &'a mut TableData,
    config: &'a TableConfig,
    events: &'a mut Vec<Event>,
}

impl<'a> CustomContext<'a> {
    pub(crate) fn new(
        name: &'a str,
        data: &'a mut TableData,
        config: &'a TableConfig,
        events: &'a mut Vec<Event>,
    ) -> CustomContext<'a> {
        CustomContext {
            name,
            data,
            config,
            events,
        }
    }

    /// The table as it is now.
    pub fn table(&self) -> &TableData {
        self.data
    }

    /// The table config.
    pub fn config(&self) -> &TableConfig {
        self.config
    }

    fn slot(&self) -> Option<&CustomSlot> {
        self.data.custom.get(self.name)
    }

    fn slot_mut(&mut self) -> &mut CustomSlot {
        self.data.custom.entry(self.name.to_string()).or_default()
    }

    /// The extension's own state (empty at genesis).
    pub fn state(&self) -> &[u8] {
        self.slot().map_or(&[], |s| s.state.as_slice())
    }

    /// Replaces the extension's own state.
    pub fn set_state(&mut self, state: Vec<u8>) {
        self.slot_mut().state = state;
    }

    /// Chips `seat` has in this extension's bets.
    pub fn pot(&self, seat: Seat) -> u64 {
        self.slot()
            .and_then(|s| s.pots.get(&seat).copied())
            .unwrap_or(0)
    }

    /// Every seat's chips in this extension's bets.
    pub fn pots(&self) -> BTreeMap<Seat, u64> {
        self.slot().map(|s| s.pots.clone()).unwrap_or_default()
    }

    /// Moves `amount` from `seat`'s balance into its pot (a stake).
    pub fn stake(&mut self, seat: Seat, amount: u64) -> Result<(), CustomError> {
        let balance = self.seated_balance(seat)?;
        let left = balance
            .checked_sub(amount)
            .ok_or(CustomError::InsufficientBalance {
                seat,
                balance,
                needed: amount,
            })?;
        let pot = chips::add(self.pot(seat), amount)?;
        self.set_balance(seat, left);
        self.slot_mut().pots.insert(seat, pot);
        Ok(())
    }

    /// Moves `amount` from `seat`'s pot back to its balance (a push or a returned stake).
    pub fn release(&mut self, seat: Seat, amount: u64) -> Result<(), CustomError> {
        let left = self.take_from_pot(seat, amount)?;
        let balance = chips::add(self.seated_balance(seat)?, amount)?;
        self.set_pot(seat, left);
        self.set_balance(seat, balance);
        Ok(())
    }

    /// Moves `amount` from `seat`'s pot to the bank (a lost stake).
    pub fn forfeit(&mut self, seat: Seat, amount: u64) -> Result<(), CustomError> {
        let left = self.take_from_pot(seat, amount)?;
        let bank = chips::add(self.data.bank, amount)?;
        self.set_pot(seat, left);
        self.data.bank = bank;
        Ok(())
    }

    /// The bank pays `amount` to `seat`'s balance (a win).
    pub fn pay(&mut self, seat: Seat, amount: u64) -> Result<(), CustomError> {
        let bank = self
            .data
            .bank
            .checked_sub(amount)
            .ok_or(CustomError::BankCannotCover {
                bank: self.data.bank,
                needed: amount,
            })?;
        let balance = chips::add(self.seated_balance(seat)?, amount)?;
        self.data.bank = bank;
        self.set_balance(seat, balance);
        Ok(())
    }

    /// Declares the most this extension's open bets could win on one roll. Fails if the bank
    /// could not then cover it together with every other open bet's worst case.
    pub fn set_exposure(&mut self, amount: u64) -> Result<(), CustomError> {
        let previous = self.slot().map_or(0, |s| s.exposure);
        self.slot_mut().exposure = amount;
        if amount > previous {
            let needed = self.data.bank_requirement(&self.config.rules)?;
            if needed > self.data.bank {
                self.slot_mut().exposure = previous;
                return Err(CustomError::BankCannotCover {
                    bank: self.data.bank,
                    needed,
                });
            }
        }
        Ok(())
    }

    /// Records an event for UIs and game code.
    pub fn emit(&mut self, seat: Option<Seat>, data: Vec<u8>) {
        self.events.push(Event::Custom {
            name: self.name.to_string(),
            seat,
            data,
        });
    }

    fn seated_balance(&self, seat: Seat) -> Result<u64, CustomError> {
        self.data
            .seat(seat)
            .filter(|s| s.is_seated())
            .map(|s| s.balance)
            .ok_or(CustomError::NotSeated(seat))
    }

    fn set_balance(&mut self, seat: Seat, balance: u64) {
        if let Some(s) = self.data.seats.get_mut(usize::from(seat.0)) {
            s.balance = balance;
        }
    }

    fn take_from_pot(&self, seat: Seat, amount: u64) -> Result<u64, CustomError> {
        let pot = self.pot(seat);
        pot.checked_sub(amount).ok_or(CustomError::InsufficientPot {
            seat,
            pot,
            needed: amount,
        })
    }

    fn set_pot(&mut self, seat: Seat, pot: u64) {
        let slot = self.slot_mut();
        if pot == 0 {
            slot.pots.remove(&seat);
        } else {
            slot.pots.insert(seat, pot);
        }
    }
}
