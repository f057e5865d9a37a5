//! The ledger operations: leaving, funding the bank, placing, taking down and calling
//! bets. Chips enter the table only by a join or a bank funding and leave it only by a cash-out,
//! and every bet is checked against the rules, the player's balance and bond, and the bank's
//! ability to cover the worst case of every open bet together.

use bitcraps_consensus::PeerId;

use crate::apply::{Tx, MAX_BETS_PER_SEAT};
use crate::bets::{Bet, BetKind, Seat, Working};
use crate::bond::{add_payouts, payouts_per_roll, required_bond, total_payouts_per_roll};
use crate::chips::{self, ChipOverflow};
use crate::error::OpError;
use crate::events::Event;
use crate::ops::BetId;
use crate::state::{OpenBet, SeatState, SeatStatus, Stage};
use crate::validation::{validate_bet, validate_call, validate_removal};

impl Tx<'_> {
    pub(crate) fn overflow(peer: PeerId) -> impl Fn(ChipOverflow) -> OpError {
        move |overflow| OpError::Overflow { peer, overflow }
    }

    fn seat_state_mut(&mut self, seat: Seat, peer: PeerId) -> Result<&mut SeatState, OpError> {
        self.data
            .seats
            .get_mut(usize::from(seat.0))
            .ok_or(OpError::NotSeated { peer })
    }

    pub(crate) fn leave(&mut self, peer: PeerId) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        let has_pot = self
            .data
            .custom
            .values()
            .any(|s| s.pots.get(&seat).is_some_and(|p| *p > 0));
        if self.data.bets_of(seat).next().is_some() || has_pot {
            return Err(OpError::HasOpenBets { seat });
        }
        if self.data.stage.involves(seat) {
            return Err(OpError::InActiveRoll { seat });
        }
        if let Some((id, _)) = self.data.disputes.iter().find(|(_, c)| c.accused == seat) {
            return Err(OpError::UnderDispute { seat, dispute: *id });
        }
        let cashed_out = self.cash_out(seat).map_err(Self::overflow(peer))?;
        let height = self.data.height;
        self.seat_state_mut(seat, peer)?.status = SeatStatus::Left { at: height };
        self.events.push(Event::SeatLeft { seat, cashed_out });
        self.after_unseating(seat);
        Ok(())
    }

    pub(crate) fn fund_bank(&mut self, peer: PeerId, amount: u64) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        if amount == 0 {
            return Err(OpError::ZeroAmount { seat });
        }
        self.check_new_chips(peer, amount)?;
        let of = Self::overflow(peer);
        let bank = chips::add(self.data.bank, amount).map_err(&of)?;
        self.bring_in(amount).map_err(&of)?;
        self.data.bank = bank;
        self.data.supply.bank_funding = self.data.supply.bank_funding.saturating_add(amount);
        self.events.push(Event::BankFunded { seat, amount });
        Ok(())
    }

    fn betting_seat(&self, peer: &PeerId) -> Result<Seat, OpError> {
        let seat = self.author_seat(peer)?;
        if !self.data.stage.is_betting() {
            return Err(OpError::BettingClosed { seat });
        }
        Ok(seat)
    }

    pub(crate) fn place_bet(
        &mut self,
        peer: PeerId,
        kind: BetKind,
        amount: u64,
        working: Working,
    ) -> Result<(), OpError> {
        let seat = self.betting_seat(&peer)?;
        let of = Self::overflow(peer);
        if self.data.bets_of(seat).count() >= MAX_BETS_PER_SEAT {
            return Err(OpError::TooManyBets {
                seat,
                max: MAX_BETS_PER_SEAT,
            });
        }
        let rules = &self.config.rules;
        let phase = self.data.phase;
        let bet = Bet::new(seat, kind, amount).with_working(working);
        let open = self.data.plain_bets();
        validate_bet(rules, phase, &open, &bet)
            .map_err(|rejection| OpError::Bet { seat, rejection })?;
        let state = self.data.seat(seat).ok_or(OpError::NotSeated { peer })?;
        let (balance, bond) = (state.balance, state.bond);
        let left = balance
            .checked_sub(amount)
            .ok_or(OpError::InsufficientBalance {
                seat,
                balance,
                needed: amount,
            })?;
        let mut mine: Vec<Bet> = open.iter().filter(|b| b.seat == seat).copied().collect();
        mine.push(bet);
        let required = required_bond(rules, &self.config.bonds, phase, &mine).map_err(&of)?;
        let available = chips::add(bond, left).map_err(&of)?;
        if required > available {
            return Err(OpError::BondTooSmall {
                seat,
                required,
                available,
            });
        }
        let mut cover = match *self.cover {
            Some(c) => c,
            None => total_payouts_per_roll(rules, phase, &open).map_err(&of)?,
        };
        add_payouts(
            &mut cover,
            &payouts_per_roll(rules, phase, &bet).map_err(&of)?,
        )
        .map_err(&of)?;
        let worst = cover.iter().copied().max().unwrap_or(0);
        let needed = chips::add(worst, self.data.custom_exposure().map_err(&of)?).map_err(&of)?;
        if needed > self.data.bank {
            return Err(OpError::BankCannotCover {
                seat,
                needed,
                bank: self.data.bank,
            });
        }
        let table_was_empty = !self.data.anything_on();
        if table_was_empty {
            // The betting deadline counts from the first bet at an empty table.
            self.data.stage = Stage::Betting {
                since: self.data.height,
                since_ms: self.data.timestamp_ms,
            };
        }
        let id = BetId(self.data.next_bet_id);
        self.data.next_bet_id = self
            .data
            .next_bet_id
            .checked_add(1)
            .ok_or(of(ChipOverflow))?;
        self.seat_state_mut(seat, peer)?.balance = left;
        self.data.bets.push(OpenBet { id, bet });
        *self.cover = Some(cover);
        self.events.push(Event::BetPlaced {
            id,
            seat,
            kind,
            amount,
            working,
        });
        Ok(())
    }

    /// The index of `seat`'s open bet `id`.
    fn own_bet(&self, seat: Seat, id: BetId) -> Result<usize, OpError> {
        let index = self
            .data
            .bets
            .iter()
            .position(|b| b.id == id)
            .ok_or(OpError::NoSuchBet { seat, bet: id })?;
        let owner = self.data.bets[index].bet.seat;
        if owner != seat {
            return Err(OpError::NotYourBet {
                seat,
                bet: id,
                owner,
            });
        }
        Ok(index)
    }

    pub(crate) fn remove_bet(&mut self, peer: PeerId, id: BetId) -> Result<(), OpError> {
        let seat = self.betting_seat(&peer)?;
        let index = self.own_bet(seat, id)?;
        validate_removal(
            &self.config.rules,
            self.data.phase,
            &self.data.plain_bets(),
            index,
        )
        .map_err(|rejection| OpError::Removal {
            seat,
            bet: id,
            rejection,
        })?;
        let amount = self.data.bets[index].bet.amount;
        let state = self.seat_state_mut(seat, peer)?;
        state.balance = chips::add(state.balance, amount).map_err(Self::overflow(peer))?;
        self.data.bets.remove(index);
        self.events.push(Event::BetRemoved { id, seat, amount });
        Ok(())
    }

    pub(crate) fn call_bet(
        &mut self,
        peer: PeerId,
        id: BetId,
        working: Working,
    ) -> Result<(), OpError> {
        let seat = self.betting_seat(&peer)?;
        let index = self.own_bet(seat, id)?;
        let kind = self.data.bets[index].bet.kind;
        validate_call(kind, working).map_err(|rejection| OpError::Bet { seat, rejection })?;
        let of = Self::overflow(peer);
        let before = self
            .data
            .bank_requirement(&self.config.rules)
            .map_err(&of)?;
        self.data.bets[index].bet.working = working;
        let needed = self
            .data
            .bank_requirement(&self.config.rules)
            .map_err(&of)?;
        // Calling a bet off never needs cover; calling one on must not leave the bank short.
        if needed > before && needed > self.data.bank {
            return Err(OpError::BankCannotCover {
                seat,
                needed,
                bank: self.data.bank,
            });
        }
        self.events.push(Event::BetCalled { id, seat, working });
        Ok(())
    }
}
