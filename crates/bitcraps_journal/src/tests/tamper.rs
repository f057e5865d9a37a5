//! Tampered journals: the verifier (and recovery) reject each with the right height.

use bitcraps_game::{BlockEntry, Event, Nonce, Operation};

use super::support::{height_with, honest_run, rewrite, rewrite_block_bytes, TempDir};
use crate::{verify_journal, Failure, Journal, JournalError, Reason};

fn run() -> (
    TempDir,
    std::path::PathBuf,
    crate::demo::DemoTable,
    Vec<crate::demo::DemoHeight>,
) {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, heights) = honest_run(&path, 6);
    (dir, path, table, heights)
}

/// The verifier's first failure.
fn verify_failure(path: &std::path::Path, table: &crate::demo::DemoTable) -> Failure {
    let report = verify_journal(path, table.config()).expect("report");
    assert_eq!(
        report.verified_heights + 1,
        report.failure.as_ref().map_or(0, |f| f.height)
    );
    report
        .failure
        .expect("the verifier must reject a tampered journal")
}

/// Recovery's failure.
fn recovery_failure(path: &std::path::Path, table: &crate::demo::DemoTable) -> Failure {
    let journal = Journal::open(path, table.config()).expect("opens");
    match journal.load() {
        Err(JournalError::Check(failure)) => failure,
        other => panic!("recovery must reject a tampered journal, got {other:?}"),
    }
}

#[test]
fn a_changed_payout_is_named() {
    let (_dir, path, table, heights) = run();
    let height = heights
        .iter()
        .find(|h| {
            h.events
                .iter()
                .any(|e| matches!(e, Event::BetResolved { paid, .. } if *paid > 0))
        })
        .map(|h| h.state.height())
        .expect("a winning roll");
    rewrite(&path, height, None, |_, record| {
        for event in &mut record.events {
            if let Event::BetResolved { paid, .. } = event {
                if *paid > 0 {
                    *paid += 10;
                    break;
                }
            }
        }
    });
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, height);
    assert!(
        matches!(failure.reason, Reason::Payout { recorded, recomputed, .. } if recorded == recomputed + 10),
        "{failure}"
    );
    assert_eq!(recovery_failure(&path, &table).height, height);
}

#[test]
fn a_changed_block_byte_or_state_hash_is_found() {
    let (_dir, path, table, heights) = run();
    let height = height_with(&heights, |op| matches!(op, Operation::PlaceBet { .. }));
    rewrite_block_bytes(&path, height, |bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
    });
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, height);
    assert!(
        matches!(failure.reason, Reason::NotCertified { .. }),
        "{failure}"
    );
    assert_eq!(recovery_failure(&path, &table).height, height);

    let (_dir, path, table, _) = run();
    rewrite(&path, 3, None, |_, record| record.state_hash[0] ^= 1);
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, 3);
    assert!(
        matches!(failure.reason, Reason::StateHash { .. }),
        "{failure}"
    );
}

#[test]
fn a_changed_reveal_is_found_even_with_a_forged_certificate() {
    let change = |block: &mut bitcraps_game::Block| {
        for op in block.ops.iter_mut().filter_map(BlockEntry::signed_mut) {
            if let Operation::Reveal { nonce, .. } = &mut op.op {
                *nonce = Nonce([7; 32]);
                return;
            }
        }
    };
    // As recorded: the block is no longer the certified value.
    let (_dir, path, table, heights) = run();
    let height = height_with(&heights, |op| matches!(op, Operation::Reveal { .. }));
    rewrite(&path, height, None, |block, _| change(block));
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, height);
    assert!(
        matches!(failure.reason, Reason::NotCertified { .. }),
        "{failure}"
    );

    // Re-certified by a forging supermajority: the reveal's signature no longer verifies.
    let (_dir, path, table, heights) = run();
    let height = height_with(&heights, |op| matches!(op, Operation::Reveal { .. }));
    rewrite(&path, height, Some(&table), |block, _| change(block));
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, height);
    assert!(
        !matches!(
            failure.reason,
            Reason::NotCertified { .. } | Reason::Certificate(_)
        ),
        "{failure}"
    );
    assert_eq!(recovery_failure(&path, &table).height, height);

    // Re-signed by its author too: the reveal does not open the commitment, so the rules punish
    // instead of rolling, and the recorded state no longer follows.
    let (_dir, path, table, heights) = run();
    let height = height_with(&heights, |op| matches!(op, Operation::Reveal { .. }));
    rewrite(&path, height, Some(&table), |block, _| {
        let op = block
            .ops
            .iter_mut()
            .filter_map(BlockEntry::signed_mut)
            .find(|op| matches!(op.op, Operation::Reveal { .. }))
            .expect("reveal");
        let key = table
            .keys()
            .iter()
            .find(|k| k.peer_id() == op.author)
            .expect("key")
            .clone();
        if let Operation::Reveal { nonce, .. } = &mut op.op {
            *nonce = Nonce([7; 32]);
        }
        *op =
            bitcraps_game::SignedOp::sign(&key, &table.config().table_id, op.nonce, op.op.clone())
                .expect("sign");
    });
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, height);
    assert!(
        matches!(failure.reason, Reason::StateHash { .. }),
        "{failure}"
    );
}

#[test]
fn a_removed_precommit_is_found() {
    let (_dir, path, table, _) = run();
    rewrite(&path, 4, None, |_, record| {
        record.certificate.precommits.pop();
    });
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, 4);
    assert!(
        matches!(
            failure.reason,
            Reason::Certificate(bitcraps_consensus::VerifyError::NoQuorum {
                got: 2,
                needed: 3,
                ..
            })
        ),
        "{failure}"
    );
    assert_eq!(recovery_failure(&path, &table).height, 4);
}

#[test]
fn a_reordered_operation_is_found_even_with_a_forged_certificate() {
    let reorder = |block: &mut bitcraps_game::Block| {
        // The shooter's bet and its close of betting: its nonces are now out of order.
        let author = block.ops[0].author();
        let later = block
            .ops
            .iter()
            .rposition(|op| op.author() == author)
            .expect("a later operation of the same author");
        block.ops.swap(0, later);
    };
    let (_dir, path, table, heights) = run();
    let height = height_with(&heights, |op| matches!(op, Operation::PlaceBet { .. }));
    let third = heights
        .iter()
        .filter(|h| {
            h.block()
                .expect("block")
                .ops
                .iter()
                .any(|op| matches!(op.op(), Some(Operation::PlaceBet { .. })))
        })
        .nth(2)
        .map(|h| h.state.height())
        .expect("a third roll");
    assert!(third > height);
    rewrite(&path, third, None, |block, _| reorder(block));
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, third);
    assert!(
        matches!(failure.reason, Reason::NotCertified { .. }),
        "{failure}"
    );

    let (_dir, path, table, _) = run();
    rewrite(&path, third, Some(&table), |block, _| reorder(block));
    let failure = verify_failure(&path, &table);
    assert_eq!(failure.height, third);
    assert!(
        matches!(
            failure.reason,
            Reason::Block(_) | Reason::StateHash { .. } | Reason::Events { .. }
        ),
        "{failure}"
    );
    assert_eq!(recovery_failure(&path, &table).height, third);
}

#[test]
fn a_missing_height_is_found() {
    let (_dir, path, table, _) = run();
    let db = redb::Database::open(&path).expect("db");
    let txn = db.begin_write().expect("write");
    txn.open_table(crate::store::DECIDED)
        .expect("decided")
        .remove(5)
        .expect("remove");
    txn.commit().expect("commit");
    drop(db);
    let failure = verify_failure(&path, &table);
    assert_eq!(failure, Failure::new(5, Reason::Missing("decision record")));
}
