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
//! ```
//! use std::sync::Arc;
//! use bitcraps_consensus::*;
//!
//! let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
//! let seats = Arc::new(ParticipantSet::new(keys.iter().map(Keypair::peer_id))?);
//! let table = TableId::from_name("doc");
//! let mut engine = Engine::new(EngineConfig::new(table), keys[0].clone(), seats);
//! let valid = |_: Height, _: &Value| true;
//! let outputs = engine.handle(Input::StartHeight(Height(1)), &valid)?;
//! assert!(outputs.iter().any(|o| matches!(o, Output::ScheduleTimeout { .. })));
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
