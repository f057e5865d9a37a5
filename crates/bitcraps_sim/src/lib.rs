//! # bitcraps_sim
//!
//! A deterministic discrete-event simulator of many BitCraps consensus engines on a faulty
//! network, with Byzantine behaviours, used by tests, benchmarks and (later) the game's bots.
//!
//! One run = one seed: a single seeded ChaCha RNG draws the run's settings (table size, latency,
//! loss, duplication, reordering, a partition, crashes of honest nodes, up to f Byzantine nodes
//! of random kinds, or Twins, and churn: spare keys and a rate of joins, leaves and unseats),
//! then drives a priority queue of deliveries and timeouts on a simulated clock. The validator
//! set of height `h + 2` follows from the decided value of `h` ([`membership`]; with `--craps`,
//! from the players seated in the decided game state, [`craps`]); every instance derives it
//! from its own decisions and declares it to its engine (the host side). The checker
//! runs after every step: agreement among honest nodes, validity of decided values, every
//! certificate verifies against the set of its own height, every piece of evidence names a
//! Byzantine node.
//! After the global stabilisation time the network heals and every honest node must decide
//! [`sim::LIVENESS_HEIGHTS`] more heights within [`sim::LIVENESS_BOUND_MS`] of simulated time.
//!
//! The same seed always replays the same run: `bitcraps-sim --runs 1 --seed S`.

pub mod app;
pub mod application;
pub mod byzantine;
pub mod checker;
pub mod craps;
mod ghost;
mod host;
pub mod membership;
pub mod network;
pub mod rng;
mod send;
pub mod settings;
pub mod sim;
pub mod swarm;

pub use checker::ChurnReport;
pub use settings::{ByzantineKind, Overrides, Settings};
pub use sim::{run_seed, RunReport, Simulation};
pub use swarm::{replay_command, run_swarm, SwarmSummary};
