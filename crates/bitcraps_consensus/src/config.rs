//! Engine configuration: table, timeouts and the limits that bound memory.

use crate::timeouts::TimeoutConfig;
use crate::types::TableId;

/// Bounds on what the engine keeps, so a hostile peer cannot grow its memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages for heights up to this far above the current one are buffered; beyond, dropped.
    pub max_future_heights: u64,
    /// Messages for rounds up to this far above the current one are kept; beyond, dropped.
    pub max_rounds_ahead: u32,
    /// Buffered future-height messages per signer.
    pub max_buffered_per_signer: usize,
    /// Decided heights kept (value and certificate) to serve catch-up; older ones are the
    /// host's journal's business.
    pub retained_decisions: usize,
    /// Decisions sent to a lagging peer at once.
    pub catch_up_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_future_heights: 8,
            max_rounds_ahead: 64,
            max_buffered_per_signer: 128,
            retained_decisions: 64,
            catch_up_batch: 8,
        }
    }
}

/// Deliberate faults for simulators and negative-control tests. An honest node keeps the default.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Disable the lock rule: ignore lockedRound/lockedValue when prevoting (lines 22 and 28)
    /// and propose a fresh value instead of validValue (line 16): the "lock breaker".
    pub ignore_lock: bool,
}

/// Configuration of one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The table this engine plays; inside every signature.
    pub table: TableId,
    /// Timeout durations.
    pub timeouts: TimeoutConfig,
    /// Memory bounds.
    pub limits: Limits,
    /// Deliberate faults (simulation only).
    #[cfg(feature = "fault-injection")]
    pub faults: Faults,
}

impl EngineConfig {
    /// Default timeouts and limits for a table.
    pub fn new(table: TableId) -> EngineConfig {
        EngineConfig {
            table,
            timeouts: TimeoutConfig::default(),
            limits: Limits::default(),
            #[cfg(feature = "fault-injection")]
            faults: Faults::default(),
        }
    }
}
