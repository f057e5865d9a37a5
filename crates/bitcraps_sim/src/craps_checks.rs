//! The craps application's own safety checks (a child module of [`crate::craps`]): penalties
//! only on cheaters, equal state hashes, chip conservation on every honest state, and one
//! closing for everyone.

use super::*;

/// Chips a state holds: balances, bets and pots, bonds and the bank.
fn held(state: &TableState) -> Option<u64> {
    let h = state.holdings().ok()?;
    h.balances
        .checked_add(h.on_table)?
        .checked_add(h.bonds)?
        .checked_add(h.bank)
}

/// Chips `events` brought in (buy-ins, bank funding) and took out (cash-outs).
fn flows(events: &[Event]) -> (u64, u64) {
    let (mut brought, mut taken) = (0u64, 0u64);
    for e in events {
        match e {
            Event::SeatJoined { buy_in, .. } => brought = brought.saturating_add(*buy_in),
            Event::BankFunded { amount, .. } => brought = brought.saturating_add(*amount),
            Event::SeatLeft { cashed_out, .. } | Event::SeatRemoved { cashed_out, .. } => {
                taken = taken.saturating_add(*cashed_out)
            }
            _ => {}
        }
    }
    (brought, taken)
}

impl CrapsApp {
    /// Penalties fall on withholders (for withholding) and accusable keys (for evidence) only.
    pub(super) fn check_penalties(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, reason) in &self.report.penalties {
            let ok = match reason {
                PenaltyReason::Withheld { .. } => {
                    self.players[*k].behaviour == Behaviour::Withholder
                }
                PenaltyReason::DoubleVote
                | PenaltyReason::DoubleProposal
                | PenaltyReason::DoubleSigned { .. }
                | PenaltyReason::MismatchedReveal { .. } => self.accusable.contains(k),
                PenaltyReason::ClaimUpheld(_) => false,
            };
            if !ok {
                out.push(format!(
                    "game: key {k} ({:?}) was punished for {reason:?}",
                    self.players[*k].behaviour
                ));
            }
        }
        out
    }

    /// Every pair of honest instances holds the same state at the highest height both have.
    pub(super) fn check_hashes(&mut self) -> Vec<String> {
        let honest: Vec<usize> = (0..self.chains.len()).filter(|i| self.honest[*i]).collect();
        let mut out = Vec::new();
        let lowest = honest
            .iter()
            .map(|i| self.chains[*i].latest().height())
            .min()
            .unwrap_or(0);
        for (a_pos, a) in honest.iter().enumerate() {
            for b in &honest[a_pos + 1..] {
                let common = self.chains[*a]
                    .latest()
                    .height()
                    .min(self.chains[*b].latest().height());
                let (Some(sa), Some(sb)) = (
                    self.chains[*a].state_at(common),
                    self.chains[*b].state_at(common),
                ) else {
                    continue;
                };
                self.report.hashes_compared += 1;
                if sa.hash() != sb.hash() {
                    out.push(format!(
                        "game: instances {a} and {b} hold different states at height {common}"
                    ));
                }
            }
        }
        self.report.state_hash = honest
            .first()
            .and_then(|i| self.chains[*i].state_at(lowest))
            .map(|s| s.hash());
        out
    }

    /// Chip conservation on a state an honest instance decided at `height`: the table's own
    /// identity (balances + bets + bonds + bank = supply), and, against the state before it,
    /// that the chips held changed by exactly the buy-ins and bank funding in minus the
    /// cash-outs of the height's events.
    pub(super) fn check_conservation(
        &mut self,
        instance: usize,
        state: &TableState,
        events: &[Event],
    ) {
        let height = state.height();
        if let Err(e) = state.check_accounting() {
            self.violations.push(format!(
                "chips: instance {instance} at height {height}: {e}"
            ));
        }
        let before = height
            .checked_sub(1)
            .and_then(|h| self.chains[instance].state_at(h))
            .and_then(held);
        let (Some(before), Some(after)) = (before, held(state)) else {
            return;
        };
        let (brought, taken) = flows(events);
        if before
            .checked_add(brought)
            .and_then(|c| c.checked_sub(taken))
            != Some(after)
        {
            self.violations.push(format!(
                "chips: instance {instance} at height {height} holds {after} chips; {before} before, {brought} brought in, {taken} cashed out"
            ));
        }
    }

    /// Records the closing an honest instance applied and checks it against the others': the
    /// same height, final balances and bank everywhere.
    pub(super) fn check_closing(&mut self, instance: usize, height: u64, events: &[Event]) {
        for e in events {
            let Event::TableClosed {
                final_balances,
                bank,
            } = e
            else {
                continue;
            };
            let closing = Closing {
                height,
                final_balances: final_balances.clone(),
                bank: *bank,
            };
            if let Some((first, seen)) = self.closings.iter().next() {
                self.report.closings_compared += 1;
                if *seen != closing {
                    self.violations.push(format!(
                        "closing: instance {instance} closed the table at {height} with {} final balances and bank {bank}; instance {first} at {} with {} and bank {}",
                        closing.final_balances.len(),
                        seen.height,
                        seen.final_balances.len(),
                        seen.bank
                    ));
                }
            }
            self.closings.insert(instance, closing);
        }
    }
}
