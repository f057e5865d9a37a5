//! The verifier's own check of every roll: the dice recomputed from the revealed nonces, each
//! reveal checked against its commitment, independently of how the game's dice flow recorded
//! them (only the game's public commit-reveal functions are shared).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use bitcraps_game::dice::{check_reveal, roll_from_seed, seed_from_reveals};
use bitcraps_game::{Block, Commitment, Event, Nonce, Operation, PenaltyReason, Seat};

use crate::error::Reason;

/// One roll of the dice, as the verifier recomputed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollSummary {
    /// The height it was rolled at.
    pub height: u64,
    /// The roll number.
    pub roll_number: u64,
    /// The two dice, in draw order.
    pub dice: (u8, u8),
    /// The seats whose reveals seeded the dice, in seat order.
    pub revealed_by: Vec<u16>,
    /// The shooter.
    pub shooter: Option<u16>,
}

/// Commitments and reveals of the rolls in progress, from the decided operations.
#[derive(Debug, Default)]
pub(crate) struct DiceAudit {
    table: [u8; 32],
    commitments: BTreeMap<u64, BTreeMap<Seat, Commitment>>,
    reveals: BTreeMap<u64, BTreeMap<Seat, Nonce>>,
    /// Every roll checked.
    pub(crate) rolls: Vec<RollSummary>,
}

impl DiceAudit {
    /// An audit of table `table` (the consensus table id's bytes).
    pub(crate) fn new(table: [u8; 32]) -> DiceAudit {
        DiceAudit {
            table,
            ..DiceAudit::default()
        }
    }

    /// Checks one decided height: its operations first (commitments, reveals), then what the
    /// end of the height did (the roll, an abandoned roll, penalties for mismatched reveals).
    pub(crate) fn step(
        &mut self,
        height: u64,
        block: &Block,
        events: &[Event],
    ) -> Result<(), Reason> {
        let mut mismatched: BTreeSet<(u64, Seat)> = BTreeSet::new();
        // Commitments and reveals are always carried in full (bitcraps_game::entry).
        for signed in block
            .ops
            .iter()
            .filter_map(bitcraps_game::BlockEntry::signed)
        {
            match &signed.op {
                Operation::Commit {
                    roll,
                    seat,
                    commitment,
                } => {
                    self.commitments
                        .entry(*roll)
                        .or_default()
                        .insert(*seat, *commitment);
                }
                Operation::Reveal { roll, seat, nonce } => {
                    let commitment = self
                        .commitments
                        .get(roll)
                        .and_then(|c| c.get(seat))
                        .ok_or_else(|| Reason::Dice {
                            roll: *roll,
                            detail: format!("{seat} revealed without a decided commitment"),
                        })?;
                    if check_reveal(commitment, &self.table, *roll, *seat, nonce).is_ok() {
                        self.reveals.entry(*roll).or_default().insert(*seat, *nonce);
                    } else {
                        mismatched.insert((*roll, *seat));
                    }
                }
                _ => {}
            }
        }
        for event in events {
            match event {
                Event::Penalty {
                    seat,
                    reason: PenaltyReason::MismatchedReveal { roll },
                    ..
                } if !mismatched.remove(&(*roll, *seat)) => {
                    return Err(Reason::Dice {
                        roll: *roll,
                        detail: format!(
                            "{seat} punished for a mismatched reveal that opens its commitment"
                        ),
                    });
                }
                Event::DiceRolled {
                    roll_number,
                    roll,
                    revealed_by,
                    shooter,
                    ..
                } => {
                    let reveals = self.reveals.remove(roll_number).unwrap_or_default();
                    self.commitments.remove(roll_number);
                    let seats: Vec<Seat> = reveals.keys().copied().collect();
                    if seats != *revealed_by {
                        return Err(Reason::Dice {
                            roll: *roll_number,
                            detail: format!(
                                "rolled from the reveals of {revealed_by:?}, the valid reveals are {seats:?}"
                            ),
                        });
                    }
                    let seed =
                        seed_from_reveals(&self.table, *roll_number, &reveals).map_err(|e| {
                            Reason::Dice {
                                roll: *roll_number,
                                detail: e.to_string(),
                            }
                        })?;
                    let dice = roll_from_seed(seed);
                    if dice != *roll {
                        return Err(Reason::Dice {
                            roll: *roll_number,
                            detail: format!(
                                "recorded {}-{}, the reveals give {}-{}",
                                roll.first.face(),
                                roll.second.face(),
                                dice.first.face(),
                                dice.second.face()
                            ),
                        });
                    }
                    self.rolls.push(RollSummary {
                        height,
                        roll_number: *roll_number,
                        dice: (dice.first.face(), dice.second.face()),
                        revealed_by: seats.iter().map(|s| s.0).collect(),
                        shooter: shooter.map(|s| s.0),
                    });
                }
                Event::RollAbandoned { roll, .. } => {
                    self.reveals.remove(roll);
                    self.commitments.remove(roll);
                }
                _ => {}
            }
        }
        if let Some((roll, seat)) = mismatched.into_iter().next() {
            return Err(Reason::Dice {
                roll,
                detail: format!(
                    "{seat}'s reveal does not open its commitment and was not punished"
                ),
            });
        }
        Ok(())
    }
}
