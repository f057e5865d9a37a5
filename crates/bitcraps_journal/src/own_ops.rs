//! The local player's own signed operations that no block has decided yet.
//!
//! An operation is recorded (durably) the moment the player signs it, before it can leave the
//! node, and forgotten once a block spends its nonce. After a crash the node hands them back to
//! the game (`bevy_bitcraps::GameApp::resume_signed`, which the journal plugin calls) and sends
//! them again: it never signs a different operation under a nonce it may already have used,
//! which the table would punish as double-signing.

use std::time::Instant;

use redb::{ReadableDatabase, ReadableTable};

use bitcraps_game::SignedOp;

use crate::error::JournalError;
use crate::journal::Journal;
use crate::store::{self, Key, OWN_OPS};

impl Journal {
    /// Records an operation the local player just signed; returns once it is durable. Call it
    /// before the operation can leave the node; on `Err` the operation must not be sent.
    pub fn record_own_op(&mut self, op: &SignedOp) -> Result<(), JournalError> {
        let record = store::seal("own_ops", Key::Number(op.nonce), op)?;
        let started = Instant::now();
        self.write(|txn| {
            txn.open_table(OWN_OPS)?
                .insert(op.nonce, record.as_slice())?;
            Ok(())
        })?;
        self.stats.own_op_time += started.elapsed();
        self.stats.own_op_writes += 1;
        Ok(())
    }

    /// Forgets the recorded own operations under nonces below `next_nonce` (spent by decided
    /// blocks). Not made durable by itself: a crash may bring them back, and recovery skips
    /// spent nonces anyway.
    pub fn forget_own_ops_below(&mut self, next_nonce: u64) -> Result<(), JournalError> {
        if self.own_ops_floor >= next_nonce {
            return Ok(());
        }
        self.commit(false, |txn| {
            txn.open_table(OWN_OPS)?
                .retain_in(..next_nonce, |_, _| false)?;
            Ok(())
        })?;
        self.own_ops_floor = next_nonce;
        Ok(())
    }

    /// The own operations recorded and not yet forgotten, in nonce order. A damaged record is
    /// [`JournalError::Corrupt`], naming the file and the nonce.
    pub fn own_ops(&self) -> Result<Vec<SignedOp>, JournalError> {
        let path = self.path();
        let db_error = |e: redb::Error| JournalError::from_db(path, e);
        let txn = self.db().begin_read().map_err(|e| db_error(e.into()))?;
        let table = match txn.open_table(OWN_OPS) {
            Ok(t) => t,
            // A journal written before own operations were recorded.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_error(e.into())),
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| db_error(e.into()))? {
            let (key, value) = entry.map_err(|e| db_error(e.into()))?;
            let nonce = key.value();
            let op: SignedOp = store::open_record("own_ops", Key::Number(nonce), value.value())
                .map_err(|reason| JournalError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("own operation record {nonce}: {reason}"),
                })?;
            if op.nonce != nonce {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("own operation record {nonce} holds nonce {}", op.nonce),
                });
            }
            out.push(op);
        }
        Ok(out)
    }
}
