//! Plain identifiers of the protocol: heights, rounds, vote kinds, table and value ids, values.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the signed-message format. It is inside every signed byte string, so a signature
/// made under one version is never valid under another.
pub const PROTOCOL_VERSION: u16 = 1;

/// A consensus instance number: the table agrees on one value per height, in order.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Height(pub u64);

impl Height {
    /// The next height.
    pub fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{}", self.0)
    }
}

/// An attempt number within a height. The paper's "−1" (no round) is `Option::<Round>::None`.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Round(pub u32);

impl Round {
    /// The next round.
    pub fn next(self) -> Round {
        Round(self.0.saturating_add(1))
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// The two kinds of vote of Tendermint.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoteKind {
    /// First-phase vote: "I accept this proposal" (or nil).
    Prevote,
    /// Second-phase vote: "I saw 2f+1 prevotes for this value and locked it" (or nil).
    Precommit,
}

impl fmt::Display for VoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VoteKind::Prevote => "prevote",
            VoteKind::Precommit => "precommit",
        })
    }
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), short_hex(&self.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&short_hex(&self.0))
            }
        }
    };
}

hash_id!(
    /// Identifies one table (one game, one consensus instance family). Inside every signature.
    TableId
);
hash_id!(
    /// SHA-256 of a value's bytes under a domain tag: what votes and certificates refer to.
    ValueId
);

impl TableId {
    /// Derives a table id from a human-readable name (SHA-256 under a domain tag).
    pub fn from_name(name: &str) -> TableId {
        let mut h = Sha256::new();
        h.update(b"bitcraps/table-id/v1");
        h.update(name.as_bytes());
        TableId(h.finalize().into())
    }
}

/// The first eight hex digits of a 32-byte id, for logs and messages.
pub fn short_hex(bytes: &[u8; 32]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// An application-defined value the table agrees on (later: a batch of game operations).
///
/// Opaque bytes to the engine; cheap to clone. Its [`ValueId`] is computed once on creation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Arc<[u8]>", into = "Arc<[u8]>")]
pub struct Value {
    bytes: Arc<[u8]>,
    id: ValueId,
}

impl Value {
    /// Wraps bytes as a value and computes its id.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Value {
        let bytes = bytes.into();
        let mut h = Sha256::new();
        h.update(b"bitcraps/value/v1");
        h.update(&bytes);
        Value {
            id: ValueId(h.finalize().into()),
            bytes,
        }
    }

    /// The value's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The value's id (SHA-256 of its bytes under a domain tag).
    pub fn id(&self) -> ValueId {
        self.id
    }
}

impl From<Arc<[u8]>> for Value {
    fn from(bytes: Arc<[u8]>) -> Value {
        Value::new(bytes)
    }
}

impl From<Value> for Arc<[u8]> {
    fn from(value: Value) -> Arc<[u8]> {
        value.bytes
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({} bytes, {})", self.bytes.len(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_id_depends_on_bytes_only() {
        assert_eq!(
            Value::new(vec![1, 2, 3]).id(),
            Value::new(vec![1, 2, 3]).id()
        );
        assert_ne!(
            Value::new(vec![1, 2, 3]).id(),
            Value::new(vec![1, 2, 4]).id()
        );
    }

    #[test]
    fn table_ids_differ_by_name() {
        assert_ne!(TableId::from_name("a"), TableId::from_name("b"));
    }
}
