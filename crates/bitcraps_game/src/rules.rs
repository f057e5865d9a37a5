//! The table's house rules: bet limits, odds multiples, the field's 12, and which bets work on
//! the come-out roll. Agreed at genesis as part of the table config; [`TableRules::hash`] is the
//! canonical digest to put in it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chips::Odds;
use crate::roll::Point;

/// Domain tag of [`TableRules::hash`].
pub const RULES_HASH_DOMAIN: &[u8] = b"bitcraps/table-rules/v1";

/// Maximum odds a player may take (or the win a player may lay for) as a multiple of the flat
/// bet, per point. The default is the common "3-4-5x": 3× on 4/10, 4× on 5/9, 5× on 6/8.
///
/// Lay odds on the don't side are limited by what they *win*: laying odds against 4 may win up to
/// 3× the flat bet, i.e. lay up to 6× it; against 5/9 win 4× (lay 6×); against 6/8 win 5× (lay 6×).
/// A multiple of 0 means no odds are offered on that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OddsMultiples {
    /// Multiple on 4 and 10.
    pub four_ten: u32,
    /// Multiple on 5 and 9.
    pub five_nine: u32,
    /// Multiple on 6 and 8.
    pub six_eight: u32,
}

impl OddsMultiples {
    /// The same multiple on every point ("2x odds", "10x odds", …).
    pub const fn flat(multiple: u32) -> OddsMultiples {
        OddsMultiples {
            four_ten: multiple,
            five_nine: multiple,
            six_eight: multiple,
        }
    }

    /// 3-4-5x odds.
    pub const THREE_FOUR_FIVE: OddsMultiples = OddsMultiples {
        four_ten: 3,
        five_nine: 4,
        six_eight: 5,
    };

    /// The multiple for one point.
    pub const fn for_point(self, point: Point) -> u32 {
        match point {
            Point::Four | Point::Ten => self.four_ten,
            Point::Five | Point::Nine => self.five_nine,
            Point::Six | Point::Eight => self.six_eight,
        }
    }
}

impl Default for OddsMultiples {
    fn default() -> Self {
        OddsMultiples::THREE_FOUR_FIVE
    }
}

/// What a 12 pays on the field (a 2 always pays 2:1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldTwelve {
    /// 12 pays 2:1 (house edge 5.556 %).
    Double,
    /// 12 pays 3:1 (house edge 2.778 %).
    Triple,
}

impl FieldTwelve {
    /// The payout of a 12 on the field.
    pub const fn odds(self) -> Odds {
        match self {
            FieldTwelve::Double => Odds::new(2, 1),
            FieldTwelve::Triple => Odds::new(3, 1),
        }
    }
}

/// Rules that are not internally consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The minimum bet must be at least one chip.
    #[error("the minimum bet must be at least 1 chip")]
    ZeroMinimum,
    /// The minimum is above the maximum.
    #[error("minimum bet {min} is above the maximum {max}")]
    MinimumAboveMaximum {
        /// The configured minimum.
        min: u64,
        /// The configured maximum.
        max: u64,
    },
}

/// A table's house rules. Serde-serialisable; [`TableRules::canonical_bytes`] and
/// [`TableRules::hash`] give a stable encoding independent of serde for the table config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableRules {
    /// Smallest stake of any one placement of a bet other than odds (default 10).
    pub min_bet: u64,
    /// Largest total a seat may have on one bet kind other than odds (default 10,000). Odds are
    /// limited by [`TableRules::odds`] instead.
    pub max_bet: u64,
    /// Odds limits (default 3-4-5x).
    pub odds: OddsMultiples,
    /// What a 12 pays on the field (default 3:1).
    pub field_twelve: FieldTwelve,
    /// Whether place, buy and hardway bets work on a come-out roll unless the player called them
    /// on or off (default: off, as in most casinos). Lay bets, big 6/8 and the don't-side lay odds
    /// always work unless called off; come odds are off on the come-out unless called on.
    pub place_bets_work_on_come_out: bool,
}

impl Default for TableRules {
    fn default() -> Self {
        TableRules {
            min_bet: 10,
            max_bet: 10_000,
            odds: OddsMultiples::THREE_FOUR_FIVE,
            field_twelve: FieldTwelve::Triple,
            place_bets_work_on_come_out: false,
        }
    }
}

impl TableRules {
    /// Checks the rules are usable: `1 ≤ min_bet ≤ max_bet`.
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.min_bet == 0 {
            return Err(RulesError::ZeroMinimum);
        }
        if self.min_bet > self.max_bet {
            return Err(RulesError::MinimumAboveMaximum {
                min: self.min_bet,
                max: self.max_bet,
            });
        }
        Ok(())
    }

    /// The canonical encoding: a version byte, then every field in declaration order with fixed
    /// widths, big-endian (`u64` limits, three `u32` multiples, one byte for the field's 12 —
    /// 2 or 3 —, one byte 0/1 for place bets on the come-out). 31 bytes; stable across builds.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(31);
        out.push(1u8); // encoding version
        out.extend_from_slice(&self.min_bet.to_be_bytes());
        out.extend_from_slice(&self.max_bet.to_be_bytes());
        out.extend_from_slice(&self.odds.four_ten.to_be_bytes());
        out.extend_from_slice(&self.odds.five_nine.to_be_bytes());
        out.extend_from_slice(&self.odds.six_eight.to_be_bytes());
        out.push(match self.field_twelve {
            FieldTwelve::Double => 2,
            FieldTwelve::Triple => 3,
        });
        out.push(u8::from(self.place_bets_work_on_come_out));
        out
    }

    /// SHA-256 of [`RULES_HASH_DOMAIN`] ‖ [`TableRules::canonical_bytes`]: two tables play
    /// together only if these agree.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(RULES_HASH_DOMAIN);
        h.update(self.canonical_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue() {
        let r = TableRules::default();
        assert_eq!((r.min_bet, r.max_bet), (10, 10_000));
        assert_eq!(r.odds.for_point(Point::Four), 3);
        assert_eq!(r.odds.for_point(Point::Nine), 4);
        assert_eq!(r.odds.for_point(Point::Eight), 5);
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn validation() {
        let mut r = TableRules {
            min_bet: 0,
            ..TableRules::default()
        };
        assert_eq!(r.validate(), Err(RulesError::ZeroMinimum));
        r.min_bet = 20_000;
        assert!(matches!(
            r.validate(),
            Err(RulesError::MinimumAboveMaximum { .. })
        ));
    }

    #[test]
    fn hash_is_stable_and_sensitive_to_every_field() {
        let base = TableRules::default();
        assert_eq!(base.canonical_bytes().len(), 31);
        assert_eq!(base.hash(), TableRules::default().hash());
        let variants = [
            TableRules { min_bet: 5, ..base },
            TableRules {
                max_bet: 5_000,
                ..base
            },
            TableRules {
                odds: OddsMultiples::flat(2),
                ..base
            },
            TableRules {
                field_twelve: FieldTwelve::Double,
                ..base
            },
            TableRules {
                place_bets_work_on_come_out: true,
                ..base
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), base.hash(), "{v:?}");
        }
    }

    #[test]
    fn canonical_bytes_known_answer() {
        let bytes = TableRules::default().canonical_bytes();
        assert_eq!(
            bytes,
            [
                1, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0, 3, 0, 0, 0, 4,
                0, 0, 0, 5, 3, 0
            ][..]
        );
    }
}
