//! Taking a seat away: cash-outs, penalties and the cleanup after a player is gone.
//!
//! # Penalties
//!
//! A punished player (withheld reveal, mismatched reveal, double-signed operation, consensus
//! double vote or double proposal, upheld claim) loses:
//! - its **bond**, slashed **to the bank** (the bank is what every player's winnings are paid
//!   from, so the slashed chips back every remaining bet; splitting them among players would let
//!   colluders profit from a partner's punishment);
//! - every **open bet** and custom-extension stake, forfeited to the bank;
//! - a share of its **free balance**, forfeited to the bank: by default all of it for provable
//!   cheating and none for a withheld reveal ([`PenaltyRules`](crate::PenaltyRules));
//! - its **seat**.
//!
//! What is left of its free balance is cashed out to it.
//!
//! A player unseated for missing rolls (it never saw a reveal, so it could not have cheated)
//! keeps its bond: its removable bets and custom stakes are returned, its contract bets (which
//! the rules forbid taking down) are forfeited, and everything it holds is cashed out.

use crate::apply::Tx;
use crate::bets::Seat;
use crate::chips::{self, ChipOverflow};
use crate::events::{Event, PenaltyReason, RemovalReason, ReturnReason, Verdict};
use crate::phase::next_shooter;
use crate::resolution::Outcome;
use crate::state::{OpenBet, SeatStatus, Stage};

impl Tx<'_> {
    /// Cashes out `seat`'s balance and bond (removed from the supply); returns the amount.
    pub(crate) fn cash_out(&mut self, seat: Seat) -> Result<u64, ChipOverflow> {
        let Some(state) = self.data.seats.get(usize::from(seat.0)) else {
            return Ok(0);
        };
        let amount = chips::add(state.balance, state.bond)?;
        self.take_out(amount)?;
        if let Some(state) = self.data.seats.get_mut(usize::from(seat.0)) {
            state.balance = 0;
            state.bond = 0;
        }
        Ok(amount)
    }

    /// After a seat stopped being seated: the dice move on if it was the shooter, it leaves the
    /// current roll (a reveal it already made still counts), and claims against it are moot.
    pub(crate) fn after_unseating(&mut self, seat: Seat) {
        if self.data.shooter == Some(seat) {
            let next = next_shooter(seat, &self.data.seated());
            self.data.shooter = next;
            self.events.push(Event::ShooterChanged {
                from: Some(seat),
                to: next,
            });
        }
        match &mut self.data.stage {
            Stage::Betting { .. } => {}
            Stage::Committing {
                eligible,
                commitments,
                ..
            } => {
                eligible.remove(&seat);
                commitments.remove(&seat);
            }
            Stage::Revealing {
                commitments,
                reveals,
                ..
            } => {
                if !reveals.contains_key(&seat) {
                    commitments.remove(&seat);
                }
            }
        }
        let moot: Vec<_> = self
            .data
            .disputes
            .iter()
            .filter(|(_, c)| c.accused == seat)
            .map(|(id, _)| *id)
            .collect();
        for id in moot {
            self.data.disputes.remove(&id);
            self.events.push(Event::DisputeResolved {
                id,
                verdict: Verdict::Moot,
            });
        }
        *self.cover = None;
    }

    /// Gives a bet taken off the table (already removed from the open bets) back to its
    /// owner's balance, with the event saying why.
    pub(crate) fn return_bet(
        &mut self,
        bet: &OpenBet,
        reason: ReturnReason,
    ) -> Result<(), ChipOverflow> {
        if let Some(s) = self.data.seats.get_mut(usize::from(bet.bet.seat.0)) {
            s.balance = chips::add(s.balance, bet.bet.amount)?;
        }
        self.events.push(Event::BetReturned {
            id: bet.id,
            seat: bet.bet.seat,
            amount: bet.bet.amount,
            reason,
        });
        Ok(())
    }

    /// Records `bet` of `seat` as lost (forfeited to the bank by the caller) and returns its
    /// amount.
    fn forfeit(&mut self, bet: &OpenBet, seat: Seat) -> u64 {
        self.events.push(Event::BetResolved {
            id: bet.id,
            seat,
            kind: bet.bet.kind,
            amount: bet.bet.amount,
            outcome: Outcome::Lose,
            paid: 0,
        });
        bet.bet.amount
    }

    /// Punishes a seated player (see the module docs). Does nothing if `seat` is not seated.
    pub(crate) fn penalize(
        &mut self,
        seat: Seat,
        reason: PenaltyReason,
    ) -> Result<(), ChipOverflow> {
        let Some(state) = self.data.seat(seat).filter(|s| s.is_seated()) else {
            return Ok(());
        };
        let (peer, bond) = (state.peer, state.bond);
        let mut forfeited = 0u64;
        let mut kept = Vec::with_capacity(self.data.bets.len());
        for b in std::mem::take(&mut self.data.bets) {
            if b.bet.seat == seat {
                forfeited = chips::add(forfeited, self.forfeit(&b, seat))?;
            } else {
                kept.push(b);
            }
        }
        self.data.bets = kept;
        for slot in self.data.custom.values_mut() {
            if let Some(pot) = slot.pots.remove(&seat) {
                forfeited = chips::add(forfeited, pot)?;
            }
        }
        let withheld = matches!(reason, PenaltyReason::Withheld { .. });
        let balance_forfeited = self
            .data
            .seat(seat)
            .map_or(0, |s| self.config.penalties.forfeit(s.balance, withheld));
        self.data.bank = chips::sum([self.data.bank, forfeited, bond, balance_forfeited])?;
        if let Some(state) = self.data.seats.get_mut(usize::from(seat.0)) {
            state.bond = 0;
            state.balance = chips::sub(state.balance, balance_forfeited)?;
        }
        let cashed_out = self.cash_out(seat)?;
        let removal = RemovalReason::Penalty(reason.clone());
        if let Some(state) = self.data.seats.get_mut(usize::from(seat.0)) {
            state.status = SeatStatus::Removed {
                at: self.data.height,
                reason: removal.clone(),
            };
        }
        self.events.push(Event::Penalty {
            seat,
            peer,
            reason,
            bond_slashed: bond,
            bets_forfeited: forfeited,
            balance_forfeited,
        });
        self.events.push(Event::SeatRemoved {
            seat,
            reason: removal,
            cashed_out,
        });
        self.after_unseating(seat);
        Ok(())
    }

    /// Unseats a player who missed `missed` rolls in a row (see the module docs).
    pub(crate) fn unseat_absent(&mut self, seat: Seat, missed: u32) -> Result<(), ChipOverflow> {
        if !self.data.seat(seat).is_some_and(|s| s.is_seated()) {
            return Ok(());
        }
        let phase = self.data.phase;
        let mut returned = 0u64;
        let mut forfeited = 0u64;
        let mut kept = Vec::with_capacity(self.data.bets.len());
        for b in std::mem::take(&mut self.data.bets) {
            if b.bet.seat != seat {
                kept.push(b);
            } else if b.bet.kind.is_contract(phase) {
                forfeited = chips::add(forfeited, self.forfeit(&b, seat))?;
            } else {
                returned = chips::add(returned, b.bet.amount)?;
                self.events.push(Event::BetReturned {
                    id: b.id,
                    seat,
                    amount: b.bet.amount,
                    reason: ReturnReason::OwnerUnseated,
                });
            }
        }
        self.data.bets = kept;
        for slot in self.data.custom.values_mut() {
            if let Some(pot) = slot.pots.remove(&seat) {
                returned = chips::add(returned, pot)?;
            }
        }
        self.data.bank = chips::add(self.data.bank, forfeited)?;
        if let Some(state) = self.data.seats.get_mut(usize::from(seat.0)) {
            state.balance = chips::add(state.balance, returned)?;
        }
        let cashed_out = self.cash_out(seat)?;
        let reason = RemovalReason::MissedRolls(missed);
        if let Some(state) = self.data.seats.get_mut(usize::from(seat.0)) {
            state.status = SeatStatus::Removed {
                at: self.data.height,
                reason: reason.clone(),
            };
        }
        self.events.push(Event::SeatRemoved {
            seat,
            reason,
            cashed_out,
        });
        self.after_unseating(seat);
        Ok(())
    }
}
