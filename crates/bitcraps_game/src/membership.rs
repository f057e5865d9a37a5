//! Who sits at the table, and so who votes: the validator set follows the decided seats.
//!
//! # The validator set of a height
//!
//! One seat, one vote. The consensus validator set of height `h + 2` is the set of players
//! seated in the decided state after height `h` ([`VALIDATOR_DELAY`] = 2, as CometBFT applies
//! validator updates decided at `h` from `h + 2`). A state after height `h` therefore names the
//! sets of the next two heights ([`TableData::validators_next`] and
//! [`TableData::validators_after_next`]), and every node that has decided `h` knows them.
//!
//! Why the delay is safe and why it is two: the set of a height must be fixed before anyone
//! votes at it, and agreed by every honest node. It is a pure function of a decided state, so
//! honest nodes agree on it; and a node still finishing height `h + 1` already knows the set of
//! `h + 2` (it decided `h`), so it can check the messages of faster nodes that moved on, instead
//! of buffering them unchecked. A player who leaves, or is unseated, at height `h` still votes at
//! `h + 1` (its money was cashed out at `h`: it has nothing at stake there, but it is one of at
//! most f such players only if the table was already at risk) and votes for nothing from `h + 2`
//! on; a newcomer admitted at `h` votes from `h + 2` on. Certificates are checked against the
//! set of their own height, which a verifier derives by replaying the decided blocks from
//! genesis (each change proven by the certified block that made it).
//!
//! # Admission
//!
//! A newcomer asks with [`Operation::Join`](crate::Operation::Join) and sits down once
//! validators holding more than 2/3 of the validator set of the height its request was decided
//! at have admitted it ([`Operation::Admit`](crate::Operation::Admit), signed, bound to this
//! table by the signature's domain and to this request by its height). More than 1/3 refusing
//! declines it; so does its deadline ([`AdmissionRules`](crate::AdmissionRules)). At most
//! [`AdmissionRules::max_pending`](crate::AdmissionRules) requests wait at once, one per key.
//! A table seats at most [`AdmissionRules::max_seats`](crate::AdmissionRules) players.
//!
//! # Closing
//!
//! A table with fewer than four seated players cannot tolerate a Byzantine one. When leaving,
//! penalties or absence leave fewer than four at the end of a height, the table **closes** in
//! that height: every open bet and custom stake goes back to its owner, every remaining player
//! is cashed out, and [`Event::TableClosed`] states every final balance. That height is the
//! last: no block after it is valid ([`BlockError::TableClosed`](crate::BlockError)).
//!
//! # Seat records
//!
//! A seat's record stays after its player leaves (for the history of the table) until
//! [`MAX_SEAT_RECORDS`] records exist; then a new player takes over the lowest-numbered record
//! nothing refers to any more (no bet, stake, claim, roll or dice-flow entry). Churn therefore
//! never exhausts the table. Custom extensions must refer to players by key, not by seat number,
//! in state that outlives a seat.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use bitcraps_consensus::{ParticipantSet, PeerId, SeatError};

use crate::apply::{Tx, MAX_SEAT_RECORDS};
use crate::bets::Seat;
use crate::chips::{self, ChipOverflow};
use crate::config::MIN_SEATS;
use crate::error::OpError;
use crate::events::{Event, FinalBalance, JoinDeclined, ReturnReason, Verdict};
use crate::state::{SeatState, SeatStatus, Stage, TableData};

/// Heights between the decided state that seats a player and the first height it votes at.
pub const VALIDATOR_DELAY: u64 = 2;

/// A newcomer's request to sit down, waiting for the table's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// Chips the newcomer brings once seated.
    pub buy_in: u64,
    /// The height at which the request was decided.
    pub requested_at: u64,
    /// Block time from which it lapses (once the floor of heights has passed too; see
    /// [`Deadlines::min_heights`](crate::Deadlines)).
    pub deadline_ms: u64,
    /// Who may answer: the validator set of the height the request was decided at.
    pub admitters: BTreeSet<PeerId>,
    /// Who admitted it so far.
    pub admitted: BTreeSet<PeerId>,
    /// Who refused it so far.
    pub refused: BTreeSet<PeerId>,
}

impl TableData {
    /// The validator set of the next height (`height() + 1`), in canonical order.
    pub fn validators_next(&self) -> &[PeerId] {
        &self.validators_next
    }

    /// The validator set of the height after next (`height() + 2`): the players seated now.
    pub fn validators_after_next(&self) -> &[PeerId] {
        &self.validators_after_next
    }

    /// The validator keys of `height`, if this state knows them (`height()` + 1 or + 2).
    pub fn validators_of(&self, height: u64) -> Option<&[PeerId]> {
        if height == self.height.saturating_add(1) {
            Some(&self.validators_next)
        } else if height == self.height.saturating_add(2) {
            Some(&self.validators_after_next)
        } else {
            None
        }
    }

    /// The consensus participant set of `height` (`height()` + 1 or + 2), if known. `Err` only
    /// for a closed table, whose sets may hold fewer than four keys.
    pub fn validator_set(&self, height: u64) -> Option<Result<ParticipantSet, SeatError>> {
        self.validators_of(height)
            .map(|keys| ParticipantSet::new(keys.iter().copied()))
    }

    /// Join requests waiting for admission.
    pub fn join_requests(&self) -> &BTreeMap<PeerId, JoinRequest> {
        &self.join_requests
    }

    /// The height at which the table closed, if it did.
    pub fn closed_at(&self) -> Option<u64> {
        self.closed_at
    }

    /// The seated players' keys, in canonical order.
    pub fn seated_peers(&self) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .seats
            .iter()
            .filter(|s| s.is_seated())
            .map(|s| s.peer)
            .collect();
        peers.sort();
        peers
    }

    /// Whether anything in the state still refers to seat number `seat`.
    fn seat_referenced(&self, seat: Seat) -> bool {
        let in_stage = match &self.stage {
            Stage::Betting { .. } => false,
            Stage::Committing {
                eligible,
                commitments,
                ..
            } => eligible.contains(&seat) || commitments.contains_key(&seat),
            Stage::Revealing {
                commitments,
                reveals,
                ..
            } => commitments.contains_key(&seat) || reveals.contains_key(&seat),
        };
        in_stage
            || self.shooter == Some(seat)
            || self.bets.iter().any(|b| b.bet.seat == seat)
            || self.custom.values().any(|c| c.pots.contains_key(&seat))
            || self.disputes.values().any(|c| {
                c.opened_by == seat
                    || c.accused == seat
                    || c.electorate.contains(&seat)
                    || c.votes.contains_key(&seat)
            })
            || self
                .last_roll
                .as_ref()
                .is_some_and(|r| r.revealed_by.contains(&seat))
    }
}

impl Tx<'_> {
    /// Counts `amount` new chips in (a buy-in or a bank funding): at most
    /// [`ChipLimits::max_buy_in`](crate::ChipLimits) at once, and the chips in circulation stay
    /// within [`ChipLimits::max_supply`](crate::ChipLimits).
    pub(crate) fn check_new_chips(&self, peer: PeerId, amount: u64) -> Result<(), OpError> {
        let limits = self.config.limits;
        if amount > limits.max_buy_in {
            return Err(OpError::BuyInTooLarge {
                peer,
                amount,
                max: limits.max_buy_in,
            });
        }
        let within = self
            .data
            .supply
            .circulating
            .checked_add(amount)
            .is_some_and(|total| total <= limits.max_supply);
        if !within {
            return Err(OpError::SupplyLimit {
                peer,
                amount,
                max: limits.max_supply,
            });
        }
        Ok(())
    }

    /// Brings `amount` new chips into circulation (checked by [`Tx::check_new_chips`] first).
    pub(crate) fn bring_in(&mut self, amount: u64) -> Result<(), ChipOverflow> {
        let supply = &mut self.data.supply;
        supply.circulating = chips::add(supply.circulating, amount)?;
        supply.buy_ins = supply.buy_ins.saturating_add(amount);
        Ok(())
    }

    /// Takes `amount` chips out of circulation (a cash-out).
    pub(crate) fn take_out(&mut self, amount: u64) -> Result<(), ChipOverflow> {
        let supply = &mut self.data.supply;
        supply.circulating = chips::sub(supply.circulating, amount)?;
        supply.cash_outs = supply.cash_outs.saturating_add(amount);
        Ok(())
    }

    /// [`Operation::Join`](crate::Operation::Join): a newcomer asks to sit down.
    pub(crate) fn join(&mut self, peer: PeerId, buy_in: u64) -> Result<(), OpError> {
        if let Some(seat) = self.data.seat_of(&peer) {
            return Err(OpError::AlreadySeated { peer, seat });
        }
        if self.data.join_requests.contains_key(&peer) {
            return Err(OpError::AlreadyRequested { peer });
        }
        let admission = self.config.admission;
        if self.data.join_requests.len() >= usize::from(admission.max_pending) {
            return Err(OpError::TooManyRequests {
                peer,
                max: admission.max_pending,
            });
        }
        if self.data.seated().len() >= usize::from(admission.max_seats) {
            return Err(OpError::TableFull { peer });
        }
        let minimum = self.config.bonds.minimum;
        if buy_in < minimum || buy_in == 0 {
            return Err(OpError::BuyInBelowBond {
                peer,
                buy_in,
                minimum,
            });
        }
        self.check_new_chips(peer, buy_in)?;
        let deadline_ms = self.data.timestamp_ms.saturating_add(admission.request_ms);
        self.data.join_requests.insert(
            peer,
            JoinRequest {
                buy_in,
                requested_at: self.data.height,
                deadline_ms,
                // While a height is applied, `validators_next` is still that height's set.
                admitters: self.data.validators_next.iter().copied().collect(),
                admitted: BTreeSet::new(),
                refused: BTreeSet::new(),
            },
        );
        self.events.push(Event::JoinRequested {
            peer,
            buy_in,
            deadline_ms,
        });
        Ok(())
    }

    /// [`Operation::Admit`](crate::Operation::Admit): a validator answers a join request.
    pub(crate) fn answer_join(
        &mut self,
        peer: PeerId,
        newcomer: PeerId,
        requested_at: u64,
        admit: bool,
    ) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        let already_seated = self
            .data
            .seat_of(&newcomer)
            .and_then(|s| self.data.seat(s))
            .is_some_and(|s| s.joined_at >= requested_at);
        if already_seated && !self.data.join_requests.contains_key(&newcomer) {
            // A late answer to a request the others already granted: nothing left to do.
            return Ok(());
        }
        let request = self
            .data
            .join_requests
            .get_mut(&newcomer)
            .filter(|r| r.requested_at == requested_at)
            .ok_or(OpError::NoSuchRequest { seat, newcomer })?;
        if !request.admitters.contains(&peer) {
            return Err(OpError::NotAdmitter { seat, newcomer });
        }
        if request.admitted.contains(&peer) || request.refused.contains(&peer) {
            return Err(OpError::AlreadyAnswered { seat, newcomer });
        }
        if admit {
            request.admitted.insert(peer);
        } else {
            request.refused.insert(peer);
        }
        let n = request.admitters.len();
        let (yes, no) = (request.admitted.len(), request.refused.len());
        self.events.push(Event::JoinAnswered {
            newcomer,
            seat,
            admit,
        });
        if 3 * yes > 2 * n {
            if let Some(request) = self.data.join_requests.remove(&newcomer) {
                self.seat_newcomer(newcomer, &request)
                    .map_err(Self::overflow(peer))?;
            }
        } else if 3 * no > n {
            self.data.join_requests.remove(&newcomer);
            self.events.push(Event::JoinDeclined {
                peer: newcomer,
                reason: JoinDeclined::Refused,
            });
        }
        Ok(())
    }

    /// Seats an admitted newcomer, or declines it if the table filled up or its chips no
    /// longer fit meanwhile.
    fn seat_newcomer(&mut self, peer: PeerId, request: &JoinRequest) -> Result<(), ChipOverflow> {
        let declined = if self.data.seated().len() >= usize::from(self.config.admission.max_seats) {
            Some(JoinDeclined::TableFull)
        } else if self.check_new_chips(peer, request.buy_in).is_err() {
            Some(JoinDeclined::SupplyLimit)
        } else {
            None
        };
        let record = self.free_record();
        let seat_number = record.unwrap_or(self.data.seats.len());
        let seat = u16::try_from(seat_number).ok().map(Seat);
        let (Some(seat), None) = (seat, declined) else {
            self.events.push(Event::JoinDeclined {
                peer,
                reason: declined.unwrap_or(JoinDeclined::TableFull),
            });
            return Ok(());
        };
        let minimum = self.config.bonds.minimum;
        self.bring_in(request.buy_in)?;
        let state = SeatState {
            peer,
            balance: request.buy_in.saturating_sub(minimum),
            bond: minimum,
            status: SeatStatus::Seated,
            joined_at: self.data.height,
            first_seated_nonce: self.data.next_nonce(&peer),
        };
        match self.data.seats.get_mut(seat_number) {
            Some(slot) => *slot = state,
            None => self.data.seats.push(state),
        }
        self.events.push(Event::SeatJoined {
            seat,
            peer,
            buy_in: request.buy_in,
            bond: minimum,
        });
        if self.data.shooter.is_none() {
            self.data.shooter = Some(seat);
            self.events.push(Event::ShooterChanged {
                from: None,
                to: Some(seat),
            });
        }
        Ok(())
    }

    /// The record a newcomer takes over: `None` while new records may still be added, else the
    /// lowest-numbered record of a departed player that nothing refers to. When neither exists
    /// (every record is referenced), the newcomer is declined as if the table were full.
    fn free_record(&self) -> Option<usize> {
        if self.data.seats.len() < MAX_SEAT_RECORDS {
            return None;
        }
        (0..self.data.seats.len()).find(|&i| {
            let Ok(n) = u16::try_from(i) else {
                return false;
            };
            self.data.seats.get(i).is_some_and(|s| !s.is_seated())
                && !self.data.seat_referenced(Seat(n))
        })
    }

    /// Join requests lapse at the end of the first height that is both past their deadline
    /// and at least [`Deadlines::min_heights`](crate::Deadlines) heights after the request: a
    /// jump of block time (a table that formed long before its first block, or one resumed
    /// after everyone was away) leaves the admitters those heights to answer.
    pub(crate) fn expire_join_requests(&mut self) {
        let now = self.data.timestamp_ms;
        let height = self.data.height;
        let min_heights = self.config.deadlines.min_heights;
        let lapsed: Vec<PeerId> = self
            .data
            .join_requests
            .iter()
            .filter(|(_, r)| {
                r.deadline_ms <= now && height >= r.requested_at.saturating_add(min_heights)
            })
            .map(|(p, _)| *p)
            .collect();
        for peer in lapsed {
            self.data.join_requests.remove(&peer);
            self.events.push(Event::JoinDeclined {
                peer,
                reason: JoinDeclined::Expired,
            });
        }
    }

    /// The end of a height: close the table if fewer than four players are left, else move the
    /// validator sets on (the next height's set is the one fixed a height ago; the one after is
    /// the players seated now).
    pub(crate) fn end_membership(&mut self) -> Result<(), ChipOverflow> {
        self.expire_join_requests();
        if self.data.closed_at.is_none() && self.data.seated().len() < MIN_SEATS {
            self.close_table()?;
        }
        let seated = self.data.seated_peers();
        self.data.validators_next = std::mem::replace(&mut self.data.validators_after_next, seated);
        Ok(())
    }

    /// Closes the table (see the module docs).
    fn close_table(&mut self) -> Result<(), ChipOverflow> {
        let height = self.data.height;
        for b in std::mem::take(&mut self.data.bets) {
            self.return_bet(&b, ReturnReason::TableClosed)?;
        }
        for slot in self.data.custom.values_mut() {
            for (seat, pot) in std::mem::take(&mut slot.pots) {
                if let Some(s) = self.data.seats.get_mut(usize::from(seat.0)) {
                    s.balance = chips::add(s.balance, pot)?;
                }
            }
            slot.exposure = 0;
        }
        for id in self.data.disputes.keys().copied().collect::<Vec<_>>() {
            self.events.push(Event::DisputeResolved {
                id,
                verdict: Verdict::Moot,
            });
        }
        self.data.disputes.clear();
        for peer in std::mem::take(&mut self.data.join_requests).into_keys() {
            self.events.push(Event::JoinDeclined {
                peer,
                reason: JoinDeclined::TableClosed,
            });
        }
        self.data.stage = Stage::Betting {
            since: height,
            since_ms: self.data.timestamp_ms,
        };
        self.data.shooter = None;
        let mut final_balances = Vec::new();
        for seat in self.data.seated() {
            let Some(peer) = self.data.seat(seat).map(|s| s.peer) else {
                continue;
            };
            let cashed_out = self.cash_out(seat)?;
            if let Some(s) = self.data.seats.get_mut(usize::from(seat.0)) {
                s.status = SeatStatus::Left { at: height };
            }
            self.events.push(Event::SeatLeft { seat, cashed_out });
            final_balances.push(FinalBalance {
                seat,
                peer,
                cashed_out,
            });
        }
        *self.cover = None;
        self.data.closed_at = Some(height);
        self.events.push(Event::TableClosed {
            final_balances,
            bank: self.data.bank,
        });
        Ok(())
    }
}
