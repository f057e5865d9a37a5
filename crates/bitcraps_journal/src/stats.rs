//! [`WriteStats`]: what a journal wrote since it was opened, and how long the writes took.

use std::time::Duration;

/// Counts and durations of a [`crate::Journal`]'s writes since it was opened: for a game's
/// status display, and for measuring what journaling adds to each decided height.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Durable writes of the signing guard.
    pub guard_writes: u64,
    /// Time spent in them.
    pub guard_time: Duration,
    /// Guard writes skipped because the guard was the durable one already (e.g. gossip
    /// re-sending the same votes).
    pub guards_unchanged: u64,
    /// Durable writes of the local player's own operations.
    pub own_op_writes: u64,
    /// Time spent in them.
    pub own_op_time: Duration,
    /// Decided heights recorded.
    pub decided_heights: u64,
    /// Commits of decided heights (a batch of heights is one commit).
    pub decision_commits: u64,
    /// Time spent in them.
    pub decision_time: Duration,
}

impl WriteStats {
    /// Time spent in every write together.
    pub fn total_time(&self) -> Duration {
        self.guard_time + self.own_op_time + self.decision_time
    }
}
