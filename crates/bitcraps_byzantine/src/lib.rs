//! Byzantine behaviours of BitCraps: what a cheating player sends instead of (or besides) the
//! honest engine's messages. Shared by the simulator (`bitcraps_sim`), the Bevy plugin's
//! optional `cheats` feature (`ByzantinePlugin`, for demos and tests of the honest players'
//! defences) and the negative-control tests.
//!
//! This crate is the cheat layer: no player's build depends on it. The plugin and the desktop
//! binary reach it only through their `cheats` feature, which is off by default; `.ci/run`
//! checks that the default binary's dependency graph holds neither this crate nor the
//! consensus engine's `fault-injection` knobs.

pub mod behaviours;
pub mod kind;
pub mod rng;

pub use kind::ByzantineKind;
