//! The verifier's report: what was checked, the validator sets the certificates were held to,
//! the rolls, the players and their final balances, the table's close if it closed, and OK or
//! the first failure with its height.

use std::fmt;

use serde::{Deserialize, Serialize};

use bitcraps_consensus::PeerId;
use bitcraps_game::{Event, SeatStatus, TableState};

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

/// A validator set the verified certificates were checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSetSummary {
    /// The first height this set signed (1: the genesis seats).
    pub from_height: u64,
    /// Its keys (hex), in canonical order.
    pub validators: Vec<String>,
}

/// One player's chips when the table closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalBalanceSummary {
    /// The seat number.
    pub seat: u16,
    /// The player's key (hex).
    pub peer: String,
    /// Chips cashed out at the close (balance, bond and returned bets).
    pub cashed_out: u64,
}

/// The table's close, as its closing height's certified [`Event::TableClosed`] states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingSummary {
    /// The closing height: the table's last.
    pub height: u64,
    /// Every player seated at the close and the chips cashed out to it.
    pub final_balances: Vec<FinalBalanceSummary>,
    /// The bank's chips at the close.
    pub bank: u64,
}

impl ClosingSummary {
    /// The close stated by `events` (of height `height`), if they close the table.
    pub(crate) fn from_events(height: u64, events: &[Event]) -> Option<ClosingSummary> {
        events.iter().find_map(|event| match event {
            Event::TableClosed {
                final_balances,
                bank,
            } => Some(ClosingSummary {
                height,
                final_balances: final_balances
                    .iter()
                    .map(|f| FinalBalanceSummary {
                        seat: f.seat.0,
                        peer: hex(f.peer.as_bytes()),
                        cashed_out: f.cashed_out,
                    })
                    .collect(),
                bank: *bank,
            }),
            _ => None,
        })
    }
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
    /// The validator sets the verified certificates were checked against, derived from the
    /// decided blocks from genesis on: the genesis seats from height 1, then each change.
    pub validator_sets: Vec<ValidatorSetSummary>,
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
    /// The table's close, if a verified height closed it (then nothing is journaled after it:
    /// a record after the closing height is a failure at the height after it).
    pub closed: Option<ClosingSummary>,
    /// The first failure, if any (`None`: the journal is OK).
    pub failure: Option<Failure>,
}

impl Report {
    /// Whether every check passed.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Sets the validator sets the certificates were checked against.
    pub(crate) fn with_validator_sets(mut self, sets: &[(u64, Vec<PeerId>)]) -> Report {
        self.validator_sets = sets
            .iter()
            .map(|(from_height, keys)| ValidatorSetSummary {
                from_height: *from_height,
                validators: keys.iter().map(|k| hex(k.as_bytes())).collect(),
            })
            .collect();
        self
    }

    /// Sets the table's close.
    pub(crate) fn with_close(mut self, closed: Option<ClosingSummary>) -> Report {
        self.closed = closed;
        self
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
            validator_sets: Vec::new(),
            rolls,
            players,
            bank: state.bank(),
            final_state_hash: hex(&state.hash()),
            evidence,
            closed: None,
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
        write_validator_sets(f, &self.validator_sets)?;
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
        if let Some(closed) = &self.closed {
            writeln!(
                f,
                "table closed at height {} (its last; nothing journaled after it), final balances:",
                closed.height
            )?;
            for b in &closed.final_balances {
                writeln!(
                    f,
                    "  seat {:>2}  {}  cashed out {:>10}",
                    b.seat,
                    short(&b.peer),
                    b.cashed_out
                )?;
            }
            writeln!(f, "  bank at the close: {}", closed.bank)?;
        }
        writeln!(f, "evidence records: {}", self.evidence)?;
        writeln!(f, "final state hash: {}", self.final_state_hash)?;
        match &self.failure {
            None => write!(f, "OK"),
            Some(failure) => write!(f, "FAILED at {failure}"),
        }
    }
}

/// One line per validator set: the height it starts at, its size, and who came and went.
fn write_validator_sets(f: &mut fmt::Formatter<'_>, sets: &[ValidatorSetSummary]) -> fmt::Result {
    writeln!(f, "validator sets: {}", sets.len())?;
    let mut previous: Option<&ValidatorSetSummary> = None;
    for set in sets {
        write!(
            f,
            "  from height {:>6}: {} validators",
            set.from_height,
            set.validators.len()
        )?;
        if let Some(previous) = previous {
            let came: Vec<&str> = set
                .validators
                .iter()
                .filter(|k| !previous.validators.contains(k))
                .map(|k| short(k))
                .collect();
            let went: Vec<&str> = previous
                .validators
                .iter()
                .filter(|k| !set.validators.contains(k))
                .map(|k| short(k))
                .collect();
            for k in came {
                write!(f, " +{k}")?;
            }
            for k in went {
                write!(f, " -{k}")?;
            }
        }
        writeln!(f)?;
        previous = Some(set);
    }
    Ok(())
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}
