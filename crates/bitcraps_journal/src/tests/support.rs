//! Helpers shared by the tests: temporary folders, honest runs, and a tamperer that rewrites
//! records the way a deliberate forger would (valid record checksums, optionally fresh
//! certificates signed with the players' keys).

use std::path::{Path, PathBuf};

use redb::ReadableDatabase;

use bitcraps_game::Block;

use crate::demo::{DemoHeight, DemoTable};
use crate::records::DecidedRecord;
use crate::store::{self, Key, BLOCKS, DECIDED};
use crate::Journal;

/// A temporary folder removed at the end of the test.
pub(crate) struct TempDir(tempfile::TempDir);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        TempDir(tempfile::tempdir().expect("temp dir"))
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// Plays `rolls` rolls (with field bets) on a 4-player demo table, journaling every height.
pub(crate) fn honest_run(path: &Path, rolls: usize) -> (DemoTable, Vec<DemoHeight>) {
    let mut table = DemoTable::new(4).expect("table");
    let mut journal = Journal::open(path, table.config()).expect("open");
    let mut all = Vec::new();
    for _ in 0..rolls {
        for height in table.play_roll(true).expect("roll") {
            journal.record_decision(&height.decided()).expect("record");
            all.push(height);
        }
    }
    (table, all)
}

/// The first height whose block has an operation matching `pred`.
pub(crate) fn height_with(
    heights: &[DemoHeight],
    pred: impl Fn(&bitcraps_game::Operation) -> bool,
) -> u64 {
    heights
        .iter()
        .find(|h| {
            h.block()
                .expect("block")
                .ops
                .iter()
                .filter_map(bitcraps_game::BlockEntry::op)
                .any(&pred)
        })
        .map(|h| h.state.height())
        .expect("such a height")
}

/// Rewrites the raw block bytes of `height` (record checksum recomputed).
pub(crate) fn rewrite_block_bytes(path: &Path, height: u64, edit: impl FnOnce(&mut Vec<u8>)) {
    let db = redb::Database::open(path).expect("open db");
    let mut bytes = {
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(BLOCKS).expect("blocks");
        let stored = table.get(height).expect("get").expect("present");
        store::open_bytes("blocks", Key::Number(height), stored.value())
            .expect("valid")
            .to_vec()
    };
    edit(&mut bytes);
    let txn = db.begin_write().expect("write");
    txn.open_table(BLOCKS)
        .expect("blocks")
        .insert(
            height,
            store::seal_bytes("blocks", Key::Number(height), &bytes).as_slice(),
        )
        .expect("insert");
    txn.commit().expect("commit");
}

/// Rewrites the block and decision record of `height`; with `recertify`, the certificate is
/// re-signed for the edited block by the seats' keys (a forging supermajority).
pub(crate) fn rewrite(
    path: &Path,
    height: u64,
    recertify: Option<&DemoTable>,
    edit: impl FnOnce(&mut Block, &mut DecidedRecord),
) {
    let db = redb::Database::open(path).expect("open db");
    let (mut block, mut record) = {
        let txn = db.begin_read().expect("read");
        let blocks = txn.open_table(BLOCKS).expect("blocks");
        let decided = txn.open_table(DECIDED).expect("decided");
        let b = blocks.get(height).expect("get").expect("present");
        let d = decided.get(height).expect("get").expect("present");
        let bytes = store::open_bytes("blocks", Key::Number(height), b.value()).expect("valid");
        let record: DecidedRecord =
            store::open_record("decided", Key::Number(height), d.value()).expect("valid");
        (Block::decode(bytes).expect("block"), record)
    };
    edit(&mut block, &mut record);
    let value = block.to_value().expect("encode");
    if let Some(table) = recertify {
        record.certificate = table.certify(height, value.id());
    }
    let txn = db.begin_write().expect("write");
    txn.open_table(BLOCKS)
        .expect("blocks")
        .insert(
            height,
            store::seal_bytes("blocks", Key::Number(height), value.bytes()).as_slice(),
        )
        .expect("insert");
    txn.open_table(DECIDED)
        .expect("decided")
        .insert(
            height,
            store::seal("decided", Key::Number(height), &record)
                .expect("seal")
                .as_slice(),
        )
        .expect("insert");
    txn.commit().expect("commit");
}
