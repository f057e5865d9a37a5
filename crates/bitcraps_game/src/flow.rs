//! The dice flow over heights, one roll at a time. Its deadlines are in block time, with a
//! floor in heights ([`Deadlines`](crate::Deadlines)): a deadline of `d` ms passes at the end
//! of the first height at least `d` ms and `min_heights` heights after its stage opened.
//!
//! 1. **Betting** — bets are placed, taken down, called on/off. Betting closes when the shooter
//!    says so ([`Operation::CloseBetting`](crate::Operation::CloseBetting)) or, with a bet on
//!    the table, `betting_ms` after it opened (at an empty table: after the first bet). On
//!    closing, the newest removable bets are returned while the bank could not cover every open
//!    bet's worst case, and each seated player's bond is topped up from its balance to
//!    [`required_bond`]; those who cannot cover it sit the roll out.
//! 2. **Committing** — each eligible seat commits (`commit_ms` deadline). At the end of the
//!    height in which every eligible seat has committed, or at the deadline, the commitments
//!    are fixed. Eligible seats that did not commit sit the roll out (their bets stay); after
//!    [`TableConfig::missed_roll_limit`](crate::TableConfig) misses in a row spanning at least
//!    `absence_ms` of block time they are unseated (a stall or a restart shorter than that
//!    costs nothing). No commitment at all: the roll is abandoned and betting reopens.
//! 3. **Revealing** — from the *next* height on (so the commitments are decided before any
//!    reveal is accepted), committed seats reveal; each reveal is checked against its
//!    commitment (a mismatch is punished at once). At the end of the height in which every
//!    committed seat has revealed, or at the deadline (`reveal_ms` after the commitments
//!    closed: long enough for a stalled honest player to wake and reveal), the committed seats
//!    that did not reveal are punished — all their bets lose, their bond is slashed to the
//!    bank, they are unseated — and the dice are drawn from the valid reveals in seat order
//!    ([`dice`](crate::dice)). Every bet is resolved and paid in that same height.

use std::collections::{BTreeMap, BTreeSet};

use bitcraps_consensus::PeerId;

use crate::apply::Tx;
use crate::bets::{Bet, Seat};
use crate::bond::required_bond;
use crate::chips::{self, ChipOverflow};
use crate::custom::{CustomContext, RollReport};
use crate::dice::{check_reveal, roll_from_seed, seed_from_reveals, Commitment, Nonce};
use crate::error::OpError;
use crate::events::{AbandonReason, Event, PenaltyReason, ReturnReason};
use crate::phase::next_shooter;
use crate::resolution::{resolve_roll, Outcome};
use crate::roll::Roll;
use crate::state::{RollRecord, Stage};
use crate::validation::validate_removal;

impl Tx<'_> {
    pub(crate) fn close_betting_op(&mut self, peer: PeerId, roll: u64) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        if !self.data.stage.is_betting() {
            return Err(OpError::BettingClosed { seat });
        }
        self.check_roll(seat, roll)?;
        if self.data.shooter != Some(seat) {
            return Err(OpError::NotShooter {
                seat,
                shooter: self.data.shooter,
            });
        }
        self.close_betting(Some(seat)).map_err(Self::overflow(peer))
    }

    fn check_roll(&self, seat: Seat, roll: u64) -> Result<(), OpError> {
        if roll != self.data.roll_number {
            return Err(OpError::WrongRoll {
                seat,
                expected: self.data.roll_number,
                got: roll,
            });
        }
        Ok(())
    }

    /// The author's seat, which must be the one the operation names.
    fn named_seat(&self, peer: &PeerId, claimed: Seat) -> Result<Seat, OpError> {
        let actual = self.author_seat(peer)?;
        if actual != claimed {
            return Err(OpError::WrongSeat {
                peer: *peer,
                claimed,
                actual,
            });
        }
        Ok(actual)
    }

    fn close_betting(&mut self, by: Option<Seat>) -> Result<(), ChipOverflow> {
        let rules = self.config.rules;
        let phase = self.data.phase;
        // The bank must cover every open bet: return the newest removable ones until it does.
        while self.data.bank_requirement(&rules)? > self.data.bank {
            let plain = self.data.plain_bets();
            let Some(index) = (0..plain.len())
                .rev()
                .find(|&i| validate_removal(&rules, phase, &plain, i).is_ok())
            else {
                break;
            };
            let b = self.data.bets.remove(index);
            self.return_bet(&b, ReturnReason::BankCannotCover)?;
        }
        let mut eligible = BTreeSet::new();
        for seat in self.data.seated() {
            let mine: Vec<Bet> = self.data.bets_of(seat).map(|b| b.bet).collect();
            let required = required_bond(&rules, &self.config.bonds, phase, &mine)?;
            let Some(s) = self.data.seats.get_mut(usize::from(seat.0)) else {
                continue;
            };
            if s.bond < required {
                let top_up = (required - s.bond).min(s.balance);
                if top_up > 0 {
                    s.balance -= top_up;
                    s.bond = chips::add(s.bond, top_up)?;
                    self.events.push(Event::BondPosted {
                        seat,
                        amount: top_up,
                        bond: s.bond,
                    });
                }
            }
            if s.bond < required {
                self.events.push(Event::BondShort {
                    seat,
                    required,
                    bond: s.bond,
                });
            } else {
                eligible.insert(seat);
            }
        }
        self.events.push(Event::BettingClosed {
            roll: self.data.roll_number,
            by,
            eligible: eligible.iter().copied().collect(),
        });
        self.data.stage = Stage::Committing {
            since: self.data.height,
            since_ms: self.data.timestamp_ms,
            eligible,
            commitments: BTreeMap::new(),
        };
        *self.cover = None;
        Ok(())
    }

    pub(crate) fn commit(
        &mut self,
        peer: PeerId,
        roll: u64,
        claimed: Seat,
        commitment: Commitment,
    ) -> Result<(), OpError> {
        let seat = self.named_seat(&peer, claimed)?;
        // The roll first: a commitment for a past roll is refused for good (WrongRoll), one for
        // the current roll before betting closed only for now (CommitmentsNotOpen).
        self.check_roll(seat, roll)?;
        let (eligible, commitments) = match &self.data.stage {
            Stage::Committing {
                eligible,
                commitments,
                ..
            } => (eligible, commitments),
            Stage::Betting { .. } => return Err(OpError::CommitmentsNotOpen { seat }),
            Stage::Revealing { .. } => return Err(OpError::CommitmentsClosed { seat }),
        };
        if !eligible.contains(&seat) {
            return Err(OpError::NotEligible { seat });
        }
        if commitments.contains_key(&seat) {
            return Err(OpError::AlreadyCommitted { seat });
        }
        if let Stage::Committing { commitments, .. } = &mut self.data.stage {
            commitments.insert(seat, commitment);
        }
        let health = self.data.health.entry(peer).or_default();
        health.missed_rolls = 0;
        health.absent_since_ms = None;
        self.events.push(Event::Committed { roll, seat });
        Ok(())
    }

    pub(crate) fn reveal(
        &mut self,
        peer: PeerId,
        roll: u64,
        claimed: Seat,
        nonce: Nonce,
    ) -> Result<(), OpError> {
        let seat = self.named_seat(&peer, claimed)?;
        // The roll first: a reveal for a past roll is refused for good (WrongRoll), one for the
        // current roll before its commitments are decided only for now (RevealsNotOpen).
        self.check_roll(seat, roll)?;
        let Stage::Revealing {
            commitments,
            reveals,
            ..
        } = &self.data.stage
        else {
            return Err(OpError::RevealsNotOpen { seat });
        };
        let commitment = *commitments
            .get(&seat)
            .ok_or(OpError::NotCommitted { seat })?;
        if reveals.contains_key(&seat) {
            return Err(OpError::AlreadyRevealed { seat });
        }
        let table = self.config.table_id.0;
        if check_reveal(&commitment, &table, roll, seat, &nonce).is_err() {
            // The signed reveal is itself the evidence.
            let h = self.data.health.entry(peer).or_default();
            h.evidence_count = h.evidence_count.saturating_add(1);
            return self
                .penalize(seat, PenaltyReason::MismatchedReveal { roll })
                .map_err(Self::overflow(peer));
        }
        if let Stage::Revealing { reveals, .. } = &mut self.data.stage {
            reveals.insert(seat, nonce);
        }
        self.events.push(Event::Revealed { roll, seat });
        Ok(())
    }

    /// The deadlines of the height: one step of the dice flow, dispute expiry, then membership
    /// (join requests lapse, the table closes below four players, the validator sets move on).
    pub(crate) fn end_of_height(&mut self) -> Result<(), ChipOverflow> {
        let d = self.config.deadlines;
        let passed = |since: u64, since_ms: u64, ms: u64| {
            self.data.height >= since.saturating_add(d.min_heights)
                && self.data.timestamp_ms >= since_ms.saturating_add(ms)
        };
        match &self.data.stage {
            Stage::Betting { since, since_ms } => {
                if self.data.anything_on() && passed(*since, *since_ms, d.betting_ms) {
                    self.close_betting(None)?;
                }
            }
            Stage::Committing {
                since,
                since_ms,
                eligible,
                commitments,
            } => {
                let all_in = eligible.iter().all(|s| commitments.contains_key(s));
                if all_in || passed(*since, *since_ms, d.commit_ms) {
                    self.close_commitments()?;
                }
            }
            Stage::Revealing {
                since,
                since_ms,
                commitments,
                reveals,
            } => {
                let all_in = commitments.keys().all(|s| reveals.contains_key(s));
                if self.data.height > *since && (all_in || passed(*since, *since_ms, d.reveal_ms)) {
                    self.finish_roll()?;
                }
            }
        }
        self.expire_disputes()?;
        self.end_membership()
    }

    fn close_commitments(&mut self) -> Result<(), ChipOverflow> {
        let Stage::Committing {
            eligible,
            commitments,
            ..
        } = std::mem::replace(
            &mut self.data.stage,
            Stage::Betting {
                since: self.data.height,
                since_ms: self.data.timestamp_ms,
            },
        )
        else {
            return Ok(());
        };
        let roll = self.data.roll_number;
        let missed: Vec<Seat> = eligible
            .iter()
            .filter(|s| !commitments.contains_key(s))
            .copied()
            .collect();
        self.events.push(Event::CommitmentsClosed {
            roll,
            committed: commitments.keys().copied().collect(),
            missed: missed.clone(),
        });
        let limit = self.config.missed_roll_limit;
        let absence_ms = self.config.deadlines.absence_ms;
        let now = self.data.timestamp_ms;
        for seat in missed {
            let Some(peer) = self.data.seat(seat).map(|s| s.peer) else {
                continue;
            };
            let h = self.data.health.entry(peer).or_default();
            h.missed_rolls = h.missed_rolls.saturating_add(1);
            h.missed_rolls_total = h.missed_rolls_total.saturating_add(1);
            let absent_since = *h.absent_since_ms.get_or_insert(now);
            let missed_now = h.missed_rolls;
            if missed_now >= limit && now >= absent_since.saturating_add(absence_ms) {
                self.unseat_absent(seat, missed_now)?;
            }
        }
        if commitments.is_empty() {
            self.events.push(Event::RollAbandoned {
                roll,
                reason: AbandonReason::NoCommitments,
            });
            self.data.roll_number = roll.saturating_add(1);
        } else {
            self.data.stage = Stage::Revealing {
                since: self.data.height,
                since_ms: self.data.timestamp_ms,
                commitments,
                reveals: BTreeMap::new(),
            };
        }
        Ok(())
    }

    /// Punishes the withholders, then rolls from the valid reveals and settles every bet.
    fn finish_roll(&mut self) -> Result<(), ChipOverflow> {
        let roll_number = self.data.roll_number;
        let withholders: Vec<Seat> = match &self.data.stage {
            Stage::Revealing {
                commitments,
                reveals,
                ..
            } => commitments
                .keys()
                .filter(|s| !reveals.contains_key(s))
                .copied()
                .collect(),
            _ => return Ok(()),
        };
        for seat in withholders {
            if let Some(peer) = self.data.seat(seat).map(|s| s.peer) {
                let h = self.data.health.entry(peer).or_default();
                h.late_reveals = h.late_reveals.saturating_add(1);
            }
            self.penalize(seat, PenaltyReason::Withheld { roll: roll_number })?;
        }
        let Stage::Revealing { reveals, .. } = std::mem::replace(
            &mut self.data.stage,
            Stage::Betting {
                since: self.data.height,
                since_ms: self.data.timestamp_ms,
            },
        ) else {
            return Ok(());
        };
        let Ok(seed) = seed_from_reveals(&self.config.table_id.0, roll_number, &reveals) else {
            self.events.push(Event::RollAbandoned {
                roll: roll_number,
                reason: AbandonReason::NoReveals,
            });
            self.data.roll_number = roll_number.saturating_add(1);
            return Ok(());
        };
        let roll = roll_from_seed(seed);
        let revealed_by: Vec<Seat> = reveals.keys().copied().collect();
        self.settle_roll(roll, revealed_by)
    }

    /// Resolves and pays every open bet on `roll`, moves the hand and the dice, runs the custom
    /// hooks, and opens betting for the next roll.
    ///
    /// Losing stakes go to the bank first, then winners are paid in bet order. Should the bank
    /// still fall short (only possible after bets became working on a phase change), a winner is
    /// paid what the bank has left and an [`Event::BankShort`] records the rest.
    pub(crate) fn settle_roll(
        &mut self,
        roll: Roll,
        revealed_by: Vec<Seat>,
    ) -> Result<(), ChipOverflow> {
        let rules = self.config.rules;
        let phase_before = self.data.phase;
        let shooter = self.data.shooter;
        let plain = self.data.plain_bets();
        let res = resolve_roll(&rules, phase_before, &plain, roll)?;
        let number = self.data.roll_number;
        self.events.push(Event::DiceRolled {
            roll_number: number,
            roll,
            revealed_by: revealed_by.clone(),
            shooter,
            phase_before,
            phase_after: res.phase,
            event: res.event,
        });
        // Losers first.
        for (b, outcome) in self.data.bets.iter().zip(&res.outcomes) {
            if *outcome == Outcome::Lose {
                self.data.bank = chips::add(self.data.bank, b.bet.amount)?;
            }
        }
        let mut kept = Vec::with_capacity(self.data.bets.len());
        for (b, outcome) in std::mem::take(&mut self.data.bets)
            .into_iter()
            .zip(&res.outcomes)
        {
            let seat = b.bet.seat;
            let mut paid = 0;
            match *outcome {
                Outcome::Win { payout, commission } => {
                    let net = chips::sub(payout, commission)?;
                    let from_bank = net.min(self.data.bank);
                    self.data.bank -= from_bank;
                    paid = chips::add(b.bet.amount, from_bank)?;
                    if from_bank < net {
                        self.events.push(Event::BankShort {
                            id: b.id,
                            seat,
                            unpaid: net - from_bank,
                        });
                    }
                }
                Outcome::Push => paid = b.bet.amount,
                Outcome::Lose => {}
                Outcome::Move(kind) => {
                    let mut moved = b;
                    moved.bet.kind = kind;
                    kept.push(moved);
                }
                Outcome::Stay => kept.push(b),
            }
            if paid > 0 {
                if let Some(s) = self.data.seats.get_mut(usize::from(seat.0)) {
                    s.balance = chips::add(s.balance, paid)?;
                }
            }
            if *outcome != Outcome::Stay {
                self.events.push(Event::BetResolved {
                    id: b.id,
                    seat,
                    kind: b.bet.kind,
                    amount: b.bet.amount,
                    outcome: *outcome,
                    paid,
                });
            }
        }
        self.data.bets = kept;
        self.data.phase = res.phase;
        if res.event.passes_dice() {
            if let Some(current) = shooter {
                let next = next_shooter(current, &self.data.seated());
                self.data.shooter = next;
                self.events.push(Event::ShooterChanged {
                    from: shooter,
                    to: next,
                });
            }
        }
        self.data.last_roll = Some(RollRecord {
            number,
            roll,
            height: self.data.height,
            revealed_by,
        });
        let report = RollReport {
            number,
            roll,
            phase_before,
            phase_after: res.phase,
            event: res.event,
            shooter,
            next_shooter: self.data.shooter,
        };
        self.run_roll_hooks(&report);
        self.data.roll_number = number.saturating_add(1);
        *self.cover = None;
        Ok(())
    }

    /// Each extension's hook, in name order, all-or-nothing per extension.
    fn run_roll_hooks(&mut self, report: &RollReport) {
        let registry = self.registry;
        for (name, ext) in registry.iter() {
            let backup = self.data.clone();
            let events_before = self.events.len();
            let mut ctx = CustomContext::new(name, self.data, self.config, self.events);
            if let Err(e) = ext.on_roll(&mut ctx, report) {
                *self.data = backup;
                self.events.truncate(events_before);
                self.events.push(Event::CustomHookFailed {
                    name: name.to_string(),
                    error: e.to_string(),
                });
            }
        }
    }
}
