//! A stored record checked and decoded exactly as the journal reads it, from its bytes alone
//! (no database): what the fuzz targets drive, and what a tool inspecting a damaged journal can
//! use. A journal file comes from disk, where anything may have happened to it, so every
//! record's decoder refuses what is malformed with an error, never a panic.

use bitcraps_consensus::{codec, PersistentState};
use bitcraps_game::{Block, SignedOp, TableConfig};

use crate::records::{DecidedRecord, EvidenceRecord};
use crate::store::{self, Key, META_CONFIG, META_FORMAT};

/// The kinds of record a journal stores (see the table in the crate's `store` module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// `meta/format`: the journal format, a big-endian `u32`.
    Format,
    /// `meta/config`: the [`TableConfig`].
    Config,
    /// `blocks/<height>`: the decided value's bytes, a [`Block`] once replayed.
    Block,
    /// `decided/<height>`: the certificate, state hash and events of a height.
    Decided,
    /// `guard/0`: the consensus engine's [`PersistentState`].
    Guard,
    /// `evidence/<seq>`: an [`EvidenceRecord`].
    Evidence,
    /// `own_ops/<nonce>`: the local player's [`SignedOp`] not yet decided.
    OwnOp,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Format,
        RecordKind::Config,
        RecordKind::Block,
        RecordKind::Decided,
        RecordKind::Guard,
        RecordKind::Evidence,
        RecordKind::OwnOp,
    ];

    fn table(self) -> &'static str {
        match self {
            RecordKind::Format | RecordKind::Config => "meta",
            RecordKind::Block => "blocks",
            RecordKind::Decided => "decided",
            RecordKind::Guard => "guard",
            RecordKind::Evidence => "evidence",
            RecordKind::OwnOp => "own_ops",
        }
    }

    fn key(self, number: u64) -> Key<'static> {
        match self {
            RecordKind::Format => Key::Name(META_FORMAT),
            RecordKind::Config => Key::Name(META_CONFIG),
            _ => Key::Number(number),
        }
    }

    /// Wraps `payload` in the checksummed envelope the journal writes for a record of this kind
    /// under `key` (a height, sequence number or nonce; ignored for the `meta` records).
    pub fn seal(self, key: u64, payload: &[u8]) -> Vec<u8> {
        store::seal_bytes(self.table(), self.key(key), payload)
    }

    /// Checks the envelope of `stored` (a record of this kind under `key`) and decodes its
    /// payload as the journal does; returns the payload re-encoded canonically (for a block
    /// record, which the journal keeps verbatim, the block's canonical encoding), or why the
    /// record is refused.
    pub fn check(self, key: u64, stored: &[u8]) -> Result<Vec<u8>, String> {
        let (table, key) = (self.table(), self.key(key));
        let encode = |r: Result<Vec<u8>, bitcraps_consensus::EncodeError>| {
            r.map_err(|e| format!("decoded but does not encode: {e}"))
        };
        match self {
            RecordKind::Format => {
                let payload = store::open_bytes(table, key, stored)?;
                let bytes: [u8; 4] = payload
                    .try_into()
                    .map_err(|_| "format record has the wrong length".to_string())?;
                Ok(u32::from_be_bytes(bytes).to_be_bytes().to_vec())
            }
            RecordKind::Config => {
                let config: TableConfig = store::open_record(table, key, stored)?;
                encode(codec::encode(&config))
            }
            RecordKind::Block => {
                let payload = store::open_bytes(table, key, stored)?;
                let block = Block::decode(payload).map_err(|e| e.to_string())?;
                block.encode().map_err(|e| e.to_string())
            }
            RecordKind::Decided => {
                let record: DecidedRecord = store::open_record(table, key, stored)?;
                encode(codec::encode(&record))
            }
            RecordKind::Guard => {
                let state: PersistentState = store::open_record(table, key, stored)?;
                encode(codec::encode(&state))
            }
            RecordKind::Evidence => {
                let record: EvidenceRecord = store::open_record(table, key, stored)?;
                encode(codec::encode(&record))
            }
            RecordKind::OwnOp => {
                let op: SignedOp = store::open_record(table, key, stored)?;
                encode(codec::encode(&op))
            }
        }
    }
}
