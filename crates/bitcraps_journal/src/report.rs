//! The verifier's report: what was checked, the rolls, the players and their final balances,
//! and OK or the first failure with its height.

use std::fmt;

use serde::{Deserialize, Serialize};

use bitcraps_game::{SeatStatus, TableState};

use crate::dice_audit::RollSummary;
use crate::error::{hex, Failure};

/// One seat at the end of the checked history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerSummary {
    /// The seat number.
    pub seat: u16,
    /// The player's key (hex).
    pub peer: String,
    /// Free chips.
    pub balance: u64,
    /// Chips posted as bond.
    pub bond: u64,
    /// Seated, left or removed (and why).
    pub status: String,
}

/// What [`crate::verify_journal`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The table id (hex).
    pub table: String,
    /// The table config's hash (hex).
    pub config_hash: String,
    /// Decided heights in the journal.
    pub recorded_heights: u64,
    /// Heights that passed every check (from 1, in order).
    pub verified_heights: u64,
    /// Every roll of the verified heights.
    pub rolls: Vec<RollSummary>,
    /// Every seat ever taken, after the last verified height.
    pub players: Vec<PlayerSummary>,
    /// The bank's chips after the last verified height.
    pub bank: u64,
    /// The state hash after the last verified height (hex).
    pub final_state_hash: String,
    /// Evidence records in the journal.
    pub evidence: usize,
    /// The first failure, if any (`None`: the journal is OK).
    pub failure: Option<Failure>,
}

impl Report {
    /// Whether every check passed.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// A report of the state reached, with `failure` if any.
    pub(crate) fn new(
        state: &TableState,
        recorded_heights: u64,
        rolls: Vec<RollSummary>,
        evidence: usize,
        failure: Option<Failure>,
    ) -> Report {
        let players = state
            .seats()
            .iter()
            .enumerate()
            .map(|(i, s)| PlayerSummary {
                seat: u16::try_from(i).unwrap_or(u16::MAX),
                peer: hex(s.peer.as_bytes()),
                balance: s.balance,
                bond: s.bond,
                status: match &s.status {
                    SeatStatus::Seated => "seated".to_string(),
                    SeatStatus::Left { at } => format!("left at height {at}"),
                    SeatStatus::Removed { at, reason } => {
                        format!("removed at height {at} ({reason:?})")
                    }
                },
            })
            .collect();
        Report {
            table: hex(state.config().table_id.as_bytes()),
            config_hash: hex(&state.config().hash()),
            recorded_heights,
            verified_heights: state.height(),
            rolls,
            players,
            bank: state.bank(),
            final_state_hash: hex(&state.hash()),
            evidence,
            failure,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "table {}  config {}",
            short(&self.table),
            short(&self.config_hash)
        )?;
        writeln!(
            f,
            "heights: {} recorded, {} verified",
            self.recorded_heights, self.verified_heights
        )?;
        write!(f, "rolls: {}", self.rolls.len())?;
        let shown = self.rolls.len().saturating_sub(5);
        if let Some(last) = self.rolls.get(shown..) {
            let dice: Vec<String> = last
                .iter()
                .map(|r| format!("#{} {}-{}", r.roll_number, r.dice.0, r.dice.1))
                .collect();
            if !dice.is_empty() {
                write!(f, " (last: {})", dice.join(", "))?;
            }
        }
        writeln!(f)?;
        writeln!(f, "players:")?;
        for p in &self.players {
            writeln!(
                f,
                "  seat {:>2}  {}  balance {:>10}  bond {:>8}  {}",
                p.seat,
                short(&p.peer),
                p.balance,
                p.bond,
                p.status
            )?;
        }
        writeln!(f, "bank: {}", self.bank)?;
        writeln!(f, "evidence records: {}", self.evidence)?;
        writeln!(f, "final state hash: {}", self.final_state_hash)?;
        match &self.failure {
            None => write!(f, "OK"),
            Some(failure) => write!(f, "FAILED at {failure}"),
        }
    }
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}
