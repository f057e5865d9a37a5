//! The Byzantine behaviours by name.

use std::fmt;
use std::str::FromStr;

/// A Byzantine behaviour a simulated node or a cheating bot can have.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ByzantineKind {
    /// Sends two different proposals to two halves of the table when it proposes.
    EquivocatingProposer,
    /// Signs two different votes per round and splits them between peers.
    DoubleVoter,
    /// Never sends anything.
    Silent,
    /// Sends votes with bad signatures or claiming another participant's identity.
    Forger,
    /// Re-sends valid old messages and its own messages signed for another table.
    Replayer,
    /// Sends random, truncated and oversized bytes.
    Garbage,
    /// Runs the protocol but ignores its lock when prevoting.
    LockBreaker,
}

impl ByzantineKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ByzantineKind; 7] = [
        ByzantineKind::EquivocatingProposer,
        ByzantineKind::DoubleVoter,
        ByzantineKind::Silent,
        ByzantineKind::Forger,
        ByzantineKind::Replayer,
        ByzantineKind::Garbage,
        ByzantineKind::LockBreaker,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ByzantineKind::EquivocatingProposer => "equivocate",
            ByzantineKind::DoubleVoter => "double-vote",
            ByzantineKind::Silent => "silent",
            ByzantineKind::Forger => "forge",
            ByzantineKind::Replayer => "replay",
            ByzantineKind::Garbage => "garbage",
            ByzantineKind::LockBreaker => "lock-break",
        }
    }

    /// True for kinds whose signed messages can be used as evidence against them.
    pub fn can_be_accused(self) -> bool {
        matches!(
            self,
            ByzantineKind::EquivocatingProposer | ByzantineKind::DoubleVoter
        )
    }
}

impl fmt::Display for ByzantineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ByzantineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByzantineKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ByzantineKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown Byzantine kind {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}
