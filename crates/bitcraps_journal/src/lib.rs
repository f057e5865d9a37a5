//! # bitcraps_journal
//!
//! A table's crash-safe journal on [redb](https://www.redb.org) (an ACID, pure-Rust embedded
//! database), recovery from it, an offline verifier and a JSON hand history. No Bevy, no clock:
//! the host calls it.
//!
//! A [`Journal`] holds, for one table: the table config, every decided height (the block's
//! bytes — its signed operations carry the bets, the dice commitments and reveals, the disputes
//! and evidence —, its commit certificate, the resulting state hash and the events), the
//! consensus signing guard, the local player's signed operations not yet decided, and the
//! consensus evidence the node found. The guard, the own operations and the evidence are written
//! in two-phase, fsync'd redb commits that are durable when the method returns; decided heights
//! too, unless [`DecisionDurability::WithNextGuard`] defers their fsync to the next such write.
//!
//! ## For a node
//!
//! ```text
//! let journal = Journal::open(data_dir.journal_path(&table_id), &config)?;   // creates or checks
//! let recovered = journal.load()?;                       // replay + checks, or Err naming the height
//! let chain = recovered.chain();                         // the game application's states
//! let engine = recovered.engine(engine_config, key)?;    // Engine::restore with the durable guard,
//!                                                        // the sets of the next two heights declared
//!                                                        // (recovered.participant_sets())
//! engine.handle(Input::StartHeight(recovered.next_height()), ..)
//! // after applying each decided height h: engine.set_participants(h + 2, state's set of h + 2)
//! // before any message the engine signed leaves (the plugin's PersistHook):
//! journal.record_guard(&engine.persistent_state())?;     // durable on return; on Err send nothing
//! // after applying a decision (Output::Decided → Chain::apply_decided):
//! journal.record_decision(&DecidedHeight { value, certificate, state_hash, events })?;
//! journal.record_evidence(&evidence)?;                   // Output::Evidence
//! journal.record_own_op(&signed_op)?;                    // before an own operation leaves
//! game.resume_signed(journal.own_ops()?);                // after a restart: sent again
//! journal.set_decision_durability(DecisionDurability::WithNextGuard); // optional: one fsync
//!                                                        // per height fewer (see its docs)
//! journal.decisions(from, max)?                          // serve catch-up from the journal
//! ```
//!
//! ## For anyone
//!
//! [`verify_journal`] re-checks a journal with nothing but the table config and returns a
//! [`Report`] (heights, the validator sets, rolls, players, final balances, the close if the
//! table closed, OK or the first failure with its height). Every certificate is checked against
//! the validator set of its own height, which the replay derives from the decided blocks from
//! genesis on (the players seated two heights before; each change proven by the certified block
//! that made it); [`export_json`] writes a hand history other tools can read. Both read the file
//! into memory and never change it.
//!
//! ## Modules
//!
//! - [`journal`]: the store and its writes; [`records`]: what it records; [`own_ops`]: the
//!   local player's signed operations awaiting a block.
//! - [`record_check`]: one stored record checked and decoded from its bytes alone (the fuzz
//!   targets' entry point).
//! - [`recovery`]: [`Journal::load`] and [`Recovered`]; [`replay`]: the checked replay shared
//!   with the verifier; [`verify`], [`report`], [`dice_audit`]: the verifier.
//! - [`export`]: the hand history.
//! - [`identity`]: the seat key file (owner-only); [`paths`]: the data directory.
//! - `plugin` (cargo feature `bevy`): `JournalPlugin`, the journal inside a running
//!   `bevy_bitcraps` node (persist hook, decisions and evidence recorded, resume after a crash).
//! - [`demo`]: an honest table with certificates, to produce journals in tests and demos.
//! - [`error`]: [`JournalError`], and [`Failure`] / [`Reason`] for a failed check.
//!
//! Encoding goes through `bitcraps_consensus::codec` (the project's one bincode module), so
//! the journal stores exactly the bytes the consensus agreed on.

pub mod demo;
pub mod dice_audit;
pub mod error;
pub mod export;
pub mod identity;
pub mod journal;
pub mod own_ops;
pub mod paths;
#[cfg(feature = "bevy")]
pub mod plugin;
#[cfg(feature = "bevy")]
pub mod plugin_error;
mod reads;
pub mod record_check;
pub mod records;
pub mod recovery;
pub mod replay;
pub mod report;
pub mod stats;
mod store;
pub mod verify;

#[cfg(test)]
mod tests;

pub use dice_audit::RollSummary;
pub use error::{Failure, JournalError, Reason};
pub use export::{export_json, HAND_HISTORY_FORMAT};
pub use identity::{create_identity, load_identity, load_or_create_identity, IdentityError};
pub use journal::{DecisionDurability, Journal};
pub use paths::{default_data_dir, DataDir};
#[cfg(feature = "bevy")]
pub use plugin::{
    DurableWrite, JournalHandle, JournalPlugin, JournalPluginError, JournalStatus,
    JournalWriteFailed,
};
pub use records::{DecidedHeight, EvidenceRecord, StoredHeight};
pub use recovery::Recovered;
pub use replay::ReplayCheck;
pub use report::{ClosingSummary, FinalBalanceSummary, PlayerSummary, Report, ValidatorSetSummary};
pub use stats::WriteStats;
pub use store::FORMAT;
pub use verify::{stored_config, verify_journal, verify_journal_with};
