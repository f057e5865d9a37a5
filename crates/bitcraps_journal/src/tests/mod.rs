//! Tests of the journal: honest runs, recovery, tampering, corruption, the guard, identity.

mod corruption;
mod guard;
mod honest;
mod identity;
mod own_ops;
mod plugin;
mod support;
mod tamper;
