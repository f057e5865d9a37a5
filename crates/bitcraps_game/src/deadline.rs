//! When the current dice stage closes at the latest, for countdowns in user interfaces and for
//! players deciding when to act ([`TableState::stage_deadline`]).

use crate::state::{Stage, TableState};

/// The stages of a roll, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// Bets are being placed.
    Betting,
    /// Betting closed; players commit to their dice secrets.
    Committing,
    /// Commitments are fixed; players reveal their secrets.
    Revealing,
}

impl StageKind {
    /// The stage of `stage`.
    pub fn of(stage: &Stage) -> StageKind {
        match stage {
            Stage::Betting { .. } => StageKind::Betting,
            Stage::Committing { .. } => StageKind::Committing,
            Stage::Revealing { .. } => StageKind::Revealing,
        }
    }

    /// What closes at the deadline, in players' words ("betting closes").
    pub fn closing_words(self) -> &'static str {
        match self {
            StageKind::Betting => "betting closes",
            StageKind::Committing => "commitments close",
            StageKind::Revealing => "reveals are due",
        }
    }
}

/// The latest the current stage closes: at the end of the first height at or after
/// `at_height` whose block time is at or after `at_ms` (it may close earlier: the shooter
/// closes betting, everyone committed or revealed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageDeadline {
    /// The stage that closes.
    pub stage: StageKind,
    /// Block time from which it closes, ms since the Unix epoch.
    pub at_ms: u64,
    /// Height from which it closes.
    pub at_height: u64,
}

impl StageDeadline {
    /// Whole seconds left until `at_ms` on a clock reading `now_ms` (rounded up; 0 once due).
    pub fn seconds_left(&self, now_ms: u64) -> u64 {
        self.at_ms.saturating_sub(now_ms).div_ceil(1_000)
    }
}

impl TableState {
    /// The deadline of the current stage; `None` while betting with nothing on the table (betting
    /// then stays open until the shooter closes it or a bet starts the clock) and once the table
    /// closed.
    pub fn stage_deadline(&self) -> Option<StageDeadline> {
        if self.closed_at().is_some() {
            return None;
        }
        let d = self.config().deadlines;
        let (since, since_ms, ms) = match self.stage() {
            Stage::Betting { since, since_ms } => {
                if !self.anything_on() {
                    return None;
                }
                (*since, *since_ms, d.betting_ms)
            }
            Stage::Committing {
                since, since_ms, ..
            } => (*since, *since_ms, d.commit_ms),
            Stage::Revealing {
                since, since_ms, ..
            } => (*since, *since_ms, d.reveal_ms),
        };
        Some(StageDeadline {
            stage: StageKind::of(self.stage()),
            at_ms: since_ms.saturating_add(ms),
            at_height: since
                .saturating_add(d.min_heights)
                .max(since.saturating_add(1)),
        })
    }
}
