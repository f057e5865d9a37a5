//! Tests of the journal: honest runs, recovery, tampering, corruption, the guard, identity.

mod corruption;
mod guard;
mod honest;
mod identity;
mod membership;
#[cfg(feature = "bevy")]
mod own_ops;
#[cfg(feature = "bevy")]
mod plugin;
mod support;
mod tamper;
