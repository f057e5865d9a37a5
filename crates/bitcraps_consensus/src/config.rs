//! Engine configuration: table, timeouts and the limits that bound memory.

use crate::timeouts::TimeoutConfig;
use crate::types::TableId;

/// Bounds on what the engine keeps, so a hostile peer cannot grow its memory or make it send
/// much more than it asks for.
///
/// What one signer can make an engine keep, at most: [`Limits::max_buffered_bytes_per_signer`]
/// bytes of messages it signed, counted over the future-height buffer and the current height's
/// proposals together (values counted at their length, every message with a fixed overhead for
/// its header and signature), plus its votes of the current height, which are bounded by count:
/// at most `2 × (1 + 3) × (max_rounds_ahead + 1)` votes of about 200 bytes (≈ 104 KiB with the
/// defaults). Decisions, which anyone may relay, share [`Limits::max_buffered_decision_bytes`].
/// With the defaults a Byzantine validator can make an engine hold about 4.1 MiB; the whole
/// table of `n` signers about `n × 4.1 + 4` MiB.
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
    /// Bytes of one signer's messages the engine keeps: its future-height messages and its
    /// proposals of the current height together (see the type's documentation). Past it, its
    /// proposals of rounds before the current one that are neither locked nor valid make room,
    /// then its messages are refused ([`crate::InputError::ByteBudget`]).
    pub max_buffered_bytes_per_signer: usize,
    /// Bytes of decisions kept for future heights (received before their height starts, or
    /// before the host declared their height's participants). Past it, the decisions of the
    /// highest heights make room for lower ones, which are needed first.
    pub max_buffered_decision_bytes: usize,
    /// A decision is sent to one peer at most once per this many gossip ticks, however often
    /// and at whatever heights the peer asks (a `Status`, a vote of an old height).
    pub catch_up_interval_ticks: u32,
    /// Bytes of decisions sent to lagging peers, all of them together, per gossip tick (at
    /// least one decision goes out per tick, however large).
    pub catch_up_bytes_per_tick: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_future_heights: 8,
            max_rounds_ahead: 64,
            max_buffered_per_signer: 128,
            retained_decisions: 64,
            catch_up_batch: 8,
            max_buffered_bytes_per_signer: 4 << 20,
            max_buffered_decision_bytes: 4 << 20,
            catch_up_interval_ticks: 4,
            catch_up_bytes_per_tick: 2 << 20,
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
