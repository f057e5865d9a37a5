//! # bitcraps_consensus
//!
//! The Byzantine-fault-tolerant consensus core of BitCraps: Tendermint's Algorithm 1
//! ("The latest gossip on BFT consensus", Buchman, Kwon and Milosevic, 2018) as a pure,
//! deterministic state machine. No clock, no I/O, no threads, no global state: the host feeds
//! [`Input`]s to an [`Engine`] and carries out the [`Output`]s (send messages, schedule timeouts,
//! apply decisions).
//!
//! With n participants of equal weight it tolerates f = ⌊(n−1)/3⌋ Byzantine ones: no two honest
//! nodes decide different values at a height (agreement), an honest node decides only values the
//! application finds valid (validity), and once the network stabilises every honest node keeps
//! deciding (liveness, with the host's gossip ticks).
//!
//! - [`keys`]: identities ([`PeerId`]) and signing keys.
//! - [`message`]: signed proposals and votes, domain-separated, and [`Verified`] wrappers.
//! - [`certificate`]: commit certificates anyone can check with the participant set.
//! - [`evidence`]: self-verifying proof of double votes and double proposals.
//! - [`guard`]: the signing guard and the state to persist against double-signing after a crash.
//! - [`wire`] and [`codec`]: messages on the wire, size-limited bincode.
//! - [`batch`]: batch signature verification of live messages (and why it is safe there only).
//!
//! # Validator sets per height
//!
//! The participant set may change between heights; the host supplies it, as Malachite's
//! application does. [`Engine::new`] takes the set used at every height until the host declares
//! another with [`Engine::set_participants`] (a host that never does keeps the old behaviour).
//! The intended schedule, CometBFT's delay: the decided state after height `h` determines the set
//! of `h + 2`, so the host declares `h + 2` once it has applied the decision of `h`, and while
//! working on `h + 1` always knows the sets of `h + 1` and `h + 2`. Proposer rotation, quorum
//! thresholds, vote acceptance, evidence and certificates all use the set of the message's own
//! height; [`Engine::verify`] verifies against it and refuses heights whose set is not declared
//! ([`VerifyError::UnknownParticipants`]); decisions of such heights go in as
//! [`Input::UnverifiedDecision`] and are verified when their set is known, so a lagging node can
//! catch up across set changes. An engine whose key is not in a height's set only observes it.
//!
//! # What is strict
//!
//! Every certificate, decision and piece of evidence the engine outputs passes `verify_strict`,
//! even when the host verified the messages with a batch equation ([`batch`],
//! [`Verified::is_strict`]). Memory per signer and catch-up traffic are bounded ([`Limits`]).
//!
//! ```
//! use std::sync::Arc;
//! use bitcraps_consensus::*;
//!
//! let keys: Vec<Keypair> = (1..=5u8).map(|i| Keypair::from_seed([i; 32])).collect();
//! let seats = Arc::new(ParticipantSet::new(keys[..4].iter().map(Keypair::peer_id))?);
//! let table = TableId::from_name("doc");
//! let mut engine = Engine::new(EngineConfig::new(table), keys[0].clone(), seats.clone());
//! // Per-height sets: the genesis state fixes heights 1 and 2.
//! engine.set_participants(Height(1), seats.clone())?;
//! engine.set_participants(Height(2), seats.clone())?;
//! let valid = |_: Height, _: &Value| true;
//! let outputs = engine.handle(Input::StartHeight(Height(1)), &valid)?;
//! assert!(outputs.iter().any(|o| matches!(o, Output::ScheduleTimeout { .. })));
//! // After applying height 1's decision (say, a fifth player was admitted): height 3's set.
//! let five = Arc::new(ParticipantSet::new(keys.iter().map(Keypair::peer_id))?);
//! engine.set_participants(Height(3), five)?;
//! assert_eq!(engine.participants_at(Height(3)).map(|s| s.len()), Some(5));
//! assert!(engine.participants_at(Height(4)).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod certificate;
pub mod codec;
mod config;
mod engine;
pub mod error;
pub mod evidence;
pub mod guard;
mod io;
pub mod keys;
pub mod message;
mod participants;
mod rules;
mod sigcache;
mod timeouts;
mod types;
mod votekeeper;
pub mod wire;

pub use batch::{verify_batch, BatchOutcome, BatchVerifier};
pub use certificate::{CommitCertificate, CommitSignature, Decision};
#[cfg(feature = "fault-injection")]
pub use config::Faults;
pub use config::{EngineConfig, Limits};
pub use engine::{Engine, Step};
pub use error::{DecodeError, EncodeError, InputError, KeyError, SeatError, VerifyError};
pub use evidence::Evidence;
pub use guard::{PersistentState, Signed, SigningGuard};
pub use io::{Input, Output, ValueValidity};
pub use keys::{Keypair, PeerId, Signature};
pub use message::{
    ProposalHeader, SignedProposal, SignedProposalHeader, SignedStatus, SignedVote, Status,
    Verified, Vote,
};
pub use participants::{ParticipantSet, MIN_PARTICIPANTS};
pub use sigcache::SignatureCache;
pub use timeouts::{Timeout, TimeoutConfig, TimeoutKind};
pub use types::{short_hex, Height, Round, TableId, Value, ValueId, VoteKind, PROTOCOL_VERSION};
pub use wire::{VerifiedMessage, WireMessage};
