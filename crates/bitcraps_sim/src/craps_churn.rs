//! Churn at the craps table (a child module of [`crate::craps`]): keys without a seat ask to
//! join (`Operation::Join`), seated players answer join requests by their admission policy
//! (`Operation::Admit`: admit while seats are free, refuse at the run's refusal rate), and
//! honest players leave at random (`Operation::Leave`) — once the rules allow it (no open bet,
//! not in the roll, betting open) and only while the table keeps at least four seats with its
//! faulty players within f. The validator set of each height then follows from the decided
//! game ([`CrapsApp::seats_after`]).

use bitcraps_game::MIN_SEATS;

use super::*;
use crate::application::NextSeats;
use crate::membership::{Change, Seats};

impl CrapsApp {
    /// A player whose bot may join and leave: an honest player on an honest consensus node.
    fn may_churn(&self, k: usize) -> bool {
        self.players[k].behaviour == Behaviour::Honest && !self.accusable.contains(&k)
    }

    /// Whether `op` applies on `state` now (its author has nothing pooled before it).
    fn applies_now(state: &TableState, op: &SignedOp) -> bool {
        let mut draft = state.draft(state.timestamp_ms().saturating_add(1));
        draft.push(op.clone()).is_ok()
    }

    /// The bots' membership moves after a newly decided state.
    pub(super) fn act_membership(&mut self, state: &TableState) {
        if state.closed_at().is_some() {
            return;
        }
        for k in 0..self.players.len() {
            let seated = state.seat_of(&self.players[k].key.peer_id()).is_some();
            self.players[k].was_seated |= seated;
            if !seated {
                self.players[k].leaving = false;
            }
        }
        self.answer_requests(state);
        if self.churn > 0.0 {
            self.ask_to_join(state);
            self.leave_some(state);
        }
    }

    /// Seated players answer each waiting request they may answer, once.
    fn answer_requests(&mut self, state: &TableState) {
        let seated = state.seated().len();
        let cap = usize::from(state.config().admission.max_seats);
        for (newcomer, request) in state.join_requests().clone() {
            for k in 0..self.players.len() {
                let peer = self.players[k].key.peer_id();
                let answered = request.admitted.contains(&peer) || request.refused.contains(&peer);
                if !request.admitters.contains(&peer)
                    || answered
                    || state.seat_of(&peer).is_none()
                    || self.players[k].behaviour == Behaviour::Absent
                {
                    continue;
                }
                let pooled = self.pending(&peer).any(|op| {
                    matches!(op.op, Operation::Admit { newcomer: n, requested_at, .. }
                        if n == newcomer && requested_at == request.requested_at)
                });
                if pooled {
                    continue;
                }
                let admit = seated < cap && !chance(&mut self.rng, self.refuse);
                let op = Operation::Admit {
                    newcomer,
                    requested_at: request.requested_at,
                    admit,
                };
                if let Some(op) = self.sign(state, k, op) {
                    self.report.answers += 1;
                    self.publish(op);
                }
            }
        }
    }

    /// Keys without a seat ask for one: spares soon, players who sat before now and then.
    fn ask_to_join(&mut self, state: &TableState) {
        let admission = state.config().admission;
        let mut waiting = state.join_requests().len();
        let seated = state.seated().len();
        for k in 0..self.players.len() {
            if waiting >= usize::from(admission.max_pending)
                || seated + waiting >= usize::from(admission.max_seats)
            {
                return;
            }
            let peer = self.players[k].key.peer_id();
            if !self.may_churn(k)
                || state.seat_of(&peer).is_some()
                || state.join_requests().contains_key(&peer)
                || self.pending(&peer).next().is_some()
            {
                continue;
            }
            let rate = if self.players[k].was_seated {
                self.churn / 4.0
            } else {
                self.churn
            };
            if !chance(&mut self.rng, rate) {
                continue;
            }
            let Some(op) = self.sign(state, k, Operation::Join { buy_in: STACK }) else {
                continue;
            };
            // An unseated author's refused operation would wait in the pool for ever: only
            // what the table accepts now is published.
            if Self::applies_now(state, &op) {
                waiting += 1;
                self.publish(op);
            }
        }
    }

    /// Honest players decide to leave now and then; a leaving player stops betting and leaves
    /// once the rules and the table's size allow it.
    fn leave_some(&mut self, state: &TableState) {
        let seated: Vec<usize> = state
            .seated_peers()
            .iter()
            .filter_map(|p| self.key_of(p))
            .collect();
        let pooled = |app: &CrapsApp, f: fn(&Operation) -> bool| {
            app.pool
                .values()
                .flat_map(|m| m.values())
                .filter(|op| f(&op.op))
                .count()
        };
        let mut remaining = seated
            .len()
            .saturating_sub(pooled(self, |op| matches!(op, Operation::Leave)));
        let closing = pooled(self, |op| matches!(op, Operation::CloseBetting { .. })) > 0;
        let faulty = seated.iter().filter(|k| self.accusable.contains(k)).count();
        let may_go = |remaining: usize| {
            let after = remaining.saturating_sub(1);
            after >= MIN_SEATS && faulty <= (after - 1) / 3
        };
        for k in seated {
            if !self.may_churn(k) || !may_go(remaining) {
                continue;
            }
            if !self.players[k].leaving {
                if !chance(&mut self.rng, self.churn / 8.0) {
                    continue;
                }
                self.players[k].leaving = true;
            }
            let peer = self.players[k].key.peer_id();
            let Some(seat) = state.seat_of(&peer) else {
                continue;
            };
            if closing
                || !state.stage().is_betting()
                || state.bets_of(seat).next().is_some()
                || self.pending(&peer).next().is_some()
            {
                continue;
            }
            let Some(op) = self.sign(state, k, Operation::Leave) else {
                continue;
            };
            if Self::applies_now(state, &op) {
                remaining -= 1;
                self.publish(op);
            }
        }
    }

    /// The validator set of `height + 2` in `instance`'s decided state after `height`.
    pub(super) fn seats_after(&self, instance: usize, height: Height) -> NextSeats {
        let Some(state) = self.chains[instance].state_at(height.0) else {
            return NextSeats::Ended;
        };
        if state.closed_at().is_some() {
            return NextSeats::Ended;
        }
        let mask = |peers: &[PeerId]| {
            peers.iter().try_fold(0u64, |m, p| {
                self.key_of(p).filter(|k| *k < 64).map(|k| m | (1u64 << k))
            })
        };
        let (Some(next), Some(after)) = (
            mask(state.validators_next()),
            mask(state.validators_after_next()),
        ) else {
            return NextSeats::Ended;
        };
        let mut changes = Vec::new();
        for k in 0..self.players.len() {
            let bit = 1u64 << k;
            if after & bit != 0 && next & bit == 0 {
                changes.push(Change::Join(k));
            } else if next & bit != 0 && after & bit == 0 {
                let removed = state.seats().iter().any(|s| {
                    s.peer == self.players[k].key.peer_id()
                        && matches!(s.status, SeatStatus::Removed { at, .. } if at == height.0)
                });
                changes.push(if removed {
                    Change::Unseat(k)
                } else {
                    Change::Leave(k)
                });
            }
        }
        NextSeats::Seated(
            Seats {
                seated: after,
                banned: 0,
            },
            changes,
        )
    }
}
