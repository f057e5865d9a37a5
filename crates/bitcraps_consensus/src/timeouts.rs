//! Timeout configuration. The engine never reads a clock: it asks the host to schedule timeouts
//! and is told when they elapse.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::{Height, Round};

/// Which of the three timeouts of Algorithm 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimeoutKind {
    /// Waiting for the proposal (lines 57–60: prevote nil).
    Propose,
    /// Waiting for a polka after 2f+1 prevotes of any kind (lines 61–64: precommit nil).
    Prevote,
    /// Waiting for a decision after 2f+1 precommits of any kind (lines 65–67: next round).
    Precommit,
}

/// A timeout the engine asked for, identified by where it was scheduled.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timeout {
    /// Height it was scheduled at.
    pub height: Height,
    /// Round it was scheduled at.
    pub round: Round,
    /// Which timeout.
    pub kind: TimeoutKind,
}

/// Durations of the timeouts: `base + round × delta`, so they grow with the round until the
/// network's actual delay fits inside them (the partial-synchrony argument of the paper).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutConfig {
    /// Propose timeout at round 0.
    pub propose: Duration,
    /// Added to the propose timeout per round.
    pub propose_delta: Duration,
    /// Prevote timeout at round 0.
    pub prevote: Duration,
    /// Added to the prevote timeout per round.
    pub prevote_delta: Duration,
    /// Precommit timeout at round 0.
    pub precommit: Duration,
    /// Added to the precommit timeout per round.
    pub precommit_delta: Duration,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            propose: Duration::from_millis(3000),
            propose_delta: Duration::from_millis(500),
            prevote: Duration::from_millis(1000),
            prevote_delta: Duration::from_millis(500),
            precommit: Duration::from_millis(1000),
            precommit_delta: Duration::from_millis(500),
        }
    }
}

impl TimeoutConfig {
    /// The duration of a timeout kind at a round.
    pub fn duration(&self, kind: TimeoutKind, round: Round) -> Duration {
        let (base, delta) = match kind {
            TimeoutKind::Propose => (self.propose, self.propose_delta),
            TimeoutKind::Prevote => (self.prevote, self.prevote_delta),
            TimeoutKind::Precommit => (self.precommit, self.precommit_delta),
        };
        base.saturating_add(delta.saturating_mul(round.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_with_the_round() {
        let c = TimeoutConfig::default();
        for kind in [
            TimeoutKind::Propose,
            TimeoutKind::Prevote,
            TimeoutKind::Precommit,
        ] {
            assert!(c.duration(kind, Round(1)) > c.duration(kind, Round(0)));
            assert!(c.duration(kind, Round(9)) > c.duration(kind, Round(8)));
        }
    }
}
