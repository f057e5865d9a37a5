//! The table's policy beyond the rules of craps: how many chips may come in, what cheating
//! costs, and how strangers are let in. Part of the [`TableConfig`](crate::TableConfig), so every
//! node enforces the same policy and it is inside the config hash.

use serde::{Deserialize, Serialize};

/// Bounds on the chips a table can hold.
///
/// Without them a single join with every chip that fits in a `u64` made every later buy-in and
/// bank funding overflow. With them no sequence of operations can push a chip total near `u64`:
/// each buy-in and each bank funding is at most [`ChipLimits::max_buy_in`], and the chips in
/// circulation (everything at the table: balances, bonds, bets, bank) never exceed
/// [`ChipLimits::max_supply`], which is far below `u64::MAX`. Leaving takes chips out of
/// circulation, so churn never uses the room up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChipLimits {
    /// The most chips one join or one bank funding brings (default 10^12).
    pub max_buy_in: u64,
    /// The most chips in circulation at the table (default 10^15; at most
    /// [`ChipLimits::SUPPLY_CEILING`]).
    pub max_supply: u64,
}

impl ChipLimits {
    /// The highest allowed [`ChipLimits::max_supply`]: 2^60, so that sums of a few dozen chip
    /// totals (payout tables, exposure, health counters) can never overflow a `u64`.
    pub const SUPPLY_CEILING: u64 = 1 << 60;
}

impl Default for ChipLimits {
    fn default() -> Self {
        ChipLimits {
            max_buy_in: 1_000_000_000_000,
            max_supply: 1_000_000_000_000_000,
        }
    }
}

/// What a player proven to cheat loses, beyond its seat.
///
/// A punished player always loses its bond and every open bet (to the bank). Cheating must cost
/// far more than it could win: by default a player caught in **provable** cheating (a double
/// vote or proposal, two operations under one nonce, a reveal not matching its commitment, a
/// claim upheld by the table) also forfeits its whole free balance to the bank, so it leaves with
/// nothing. A **withheld reveal** is punished less by default (bond and bets only): a player
/// whose machine froze or crashed between its commitment and its reveal looks the same as a
/// withholder, and withholding already never pays (its bets lose and its bond is slashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PenaltyRules {
    /// Percentage (0–100) of its free balance a proven cheater forfeits to the bank
    /// (default 100).
    pub cheat_balance_percent: u8,
    /// Percentage (0–100) of its free balance a withholder forfeits to the bank (default 0).
    pub withhold_balance_percent: u8,
}

impl Default for PenaltyRules {
    fn default() -> Self {
        PenaltyRules {
            cheat_balance_percent: 100,
            withhold_balance_percent: 0,
        }
    }
}

impl PenaltyRules {
    /// The part of `balance` forfeited for a proven offence (`withheld` false) or a withheld
    /// reveal (`withheld` true): `balance × percent / 100`, rounded down.
    pub fn forfeit(&self, balance: u64, withheld: bool) -> u64 {
        let percent = if withheld {
            self.withhold_balance_percent
        } else {
            self.cheat_balance_percent
        };
        let part = u128::from(balance) * u128::from(percent.min(100)) / 100;
        // percent ≤ 100, so part ≤ balance.
        u64::try_from(part).unwrap_or(balance)
    }
}

/// How a newcomer sits down at a running table.
///
/// A player who is not seated asks with a join operation; it sits down once validators holding
/// more than 2/3 of the table's current validator set have admitted its key (each with a signed
/// admission bound to this table, the newcomer and its request). More than 1/3 refusing ends the
/// request; so does its deadline. One person can therefore not fill free seats with throwaway
/// keys: every seat costs the consent of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdmissionRules {
    /// The most players seated at once (4–16, default 16).
    pub max_seats: u16,
    /// How long a join request waits for admission, in block-time milliseconds (default 120 s).
    pub request_ms: u64,
    /// The most join requests waiting at once (default 8).
    pub max_pending: u16,
}

impl Default for AdmissionRules {
    fn default() -> Self {
        AdmissionRules {
            max_seats: 16,
            request_ms: 120_000,
            max_pending: 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forfeits_are_a_percentage_of_the_balance() {
        let p = PenaltyRules::default();
        assert_eq!(p.forfeit(1_000, false), 1_000);
        assert_eq!(p.forfeit(1_000, true), 0);
        let half = PenaltyRules {
            cheat_balance_percent: 50,
            withhold_balance_percent: 10,
        };
        assert_eq!(half.forfeit(1_001, false), 500);
        assert_eq!(half.forfeit(1_000, true), 100);
        assert_eq!(half.forfeit(u64::MAX, false), u64::MAX / 2);
        let over = PenaltyRules {
            cheat_balance_percent: 200,
            withhold_balance_percent: 0,
        };
        assert_eq!(over.forfeit(10, false), 10);
    }
}
