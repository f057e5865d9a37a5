//! Damaged files (flipped bytes, truncation, garbage) give typed errors, never a panic and
//! never a silently different history.

use std::path::Path;

use super::support::{honest_run, TempDir};
use crate::{verify_journal, Journal, JournalError};

/// Opens and recovers, or verifies: an error, or exactly the honest state.
fn outcome(path: &Path, config: &bitcraps_game::TableConfig) -> Result<[u8; 32], String> {
    let recovered = Journal::open(path, config)
        .and_then(|j| j.load())
        .map(|r| r.state.hash())
        .map_err(|e| e.to_string());
    let verified = verify_journal(path, config)
        .map_err(|e| e.to_string())
        .and_then(|r| match r.failure {
            None => Ok(()),
            Some(f) => Err(f.to_string()),
        });
    match (recovered, verified) {
        (Ok(hash), Ok(())) => Ok(hash),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

#[test]
fn a_truncated_journal_is_a_clear_error() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, _) = honest_run(&path, 3);
    let len = std::fs::metadata(&path).expect("meta").len();
    for keep in [len / 2, len - 1, 4096, 100, 1] {
        let cut = dir.file(&format!("cut-{keep}.redb"));
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&cut, &bytes[..keep as usize]).expect("write");
        let err =
            verify_journal(&cut, table.config()).expect_err("a truncated file must not verify");
        assert!(
            matches!(
                err,
                JournalError::Corrupt { .. }
                    | JournalError::NotAJournal { .. }
                    | JournalError::Io { .. }
                    | JournalError::Database(_)
            ),
            "{err}"
        );
        let err = Journal::open(&cut, table.config()).expect_err("nor open");
        println!("truncated to {keep} of {len} bytes: {err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn an_empty_or_foreign_file_is_not_a_journal() {
    let dir = TempDir::new();
    let (table, _) = honest_run(&dir.file("t.redb"), 1);
    let empty = dir.file("empty.redb");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(
        Journal::open(&empty, table.config()),
        Err(JournalError::NotAJournal { .. })
    ));
    assert!(matches!(
        verify_journal(&empty, table.config()),
        Err(JournalError::NotAJournal { .. })
    ));
    let garbage = dir.file("garbage.redb");
    std::fs::write(&garbage, vec![0x5a; 64 * 1024]).expect("write");
    assert!(Journal::open(&garbage, table.config()).is_err());
    assert!(verify_journal(&garbage, table.config()).is_err());
    assert!(matches!(
        Journal::open_existing(dir.file("missing.redb")),
        Err(JournalError::Io { .. })
    ));
}

#[test]
fn a_flipped_byte_in_a_record_is_detected() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, heights) = honest_run(&path, 3);
    let bytes = std::fs::read(&path).expect("read");
    // The bytes of height 3's block, as stored (after the record header).
    let block = heights[2].value.bytes();
    let at = bytes
        .windows(block.len())
        .position(|w| w == block)
        .expect("the block is in the file");
    let mut flipped = bytes.clone();
    flipped[at + block.len() / 2] ^= 0x10;
    let damaged = dir.file("flipped.redb");
    std::fs::write(&damaged, &flipped).expect("write");
    let err = outcome(&damaged, table.config()).expect_err("a flipped byte must be detected");
    println!("flipped byte in a block: {err}");
}

#[test]
fn flipped_bytes_anywhere_never_panic_nor_change_the_history() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, _) = honest_run(&path, 3);
    let honest = table.state().hash();
    let bytes = std::fs::read(&path).expect("read");
    let mut detected = 0;
    let step = (bytes.len() / 61).max(1);
    for (i, at) in (0..bytes.len()).step_by(step).enumerate() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01 << (i % 8);
        let damaged = dir.file(&format!("flip-{at}.redb"));
        std::fs::write(&damaged, &flipped).expect("write");
        match outcome(&damaged, table.config()) {
            Ok(hash) => assert_eq!(hash, honest, "byte {at}: a different history was accepted"),
            Err(_) => detected += 1,
        }
        let _ = std::fs::remove_file(&damaged);
    }
    // Most of the file is free space; flips there change nothing.
    println!(
        "{detected} of {} flips detected",
        bytes.len().div_ceil(step)
    );
}
