//! Honest runs: recovery gives the same state, the verifier accepts, the export reads back.

use super::support::{honest_run, TempDir};
use crate::demo::DemoTable;
use crate::{
    export_json, stored_config, verify_journal, Journal, JournalError, HAND_HISTORY_FORMAT,
};

#[test]
fn recovery_gives_the_same_state_hash_and_verify_accepts() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, heights) = honest_run(&path, 6);
    let journal = Journal::open(&path, table.config()).expect("reopen");
    assert_eq!(journal.height(), heights.len() as u64);
    let recovered = journal.load().expect("recovers");
    assert_eq!(recovered.state.hash(), table.state().hash());
    assert_eq!(recovered.height, table.state().height());
    assert_eq!(recovered.next_height().0, recovered.height + 1);
    let full = journal
        .load_with(
            std::sync::Arc::new(bitcraps_game::Registry::new()),
            crate::ReplayCheck::Full,
        )
        .expect("recovers with signatures");
    assert_eq!(full.state.hash(), table.state().hash());
    drop(journal);

    let report = verify_journal(&path, table.config()).expect("verifies");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.verified_heights, heights.len() as u64);
    assert_eq!(report.rolls.len(), 6);
    assert_eq!(report.players.len(), 4);
    // Every chip is accounted for: the report's balances, bonds and bank are the state's.
    for (p, s) in report.players.iter().zip(table.state().seats()) {
        assert_eq!((p.balance, p.bond), (s.balance, s.bond));
    }
    assert_eq!(report.bank, table.state().bank());
    let text = report.to_string();
    assert!(text.ends_with("OK"), "{text}");
    assert_eq!(stored_config(&path).expect("config"), *table.config());
}

#[test]
fn catch_up_reads_decisions_back() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, heights) = honest_run(&path, 2);
    let journal = Journal::open(&path, table.config()).expect("reopen");
    let decisions = journal.decisions(2, 2).expect("read");
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].certificate, heights[1].certificate);
    assert_eq!(decisions[1].value, heights[2].value);
    let participants = journal.participants().clone();
    for d in decisions {
        d.verify(&table.config().consensus_table_id(), &participants)
            .expect("valid decision");
    }
    assert!(journal.stored_height(99).expect("read").is_none());
}

#[test]
fn export_writes_a_readable_hand_history() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (_, heights) = honest_run(&path, 2);
    let mut out = Vec::new();
    export_json(&path, &mut out).expect("exports");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(json["format"], HAND_HISTORY_FORMAT);
    let exported = json["heights"].as_array().expect("heights");
    assert_eq!(exported.len(), heights.len());
    assert_eq!(exported[0]["height"], 1);
    assert_eq!(exported[0]["signers"].as_array().map(Vec::len), Some(3));
    // Keys and hashes are hex strings, the dice are readable.
    assert_eq!(exported[0]["state_hash"].as_str().map(str::len), Some(64));
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("DiceRolled"), "{text}");
    assert!(text.contains("Reveal"));
}

#[test]
fn a_journal_belongs_to_one_config_and_takes_heights_in_order() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let mut table = DemoTable::new(4).expect("table");
    let heights = table.play_roll(false).expect("roll");
    let mut journal = Journal::open(&path, table.config()).expect("open");
    assert!(matches!(
        journal.record_decision(&heights[1].decided()),
        Err(JournalError::OutOfOrder {
            expected: 1,
            got: 2
        })
    ));
    let mut wrong = heights[0].decided();
    let other = heights[1].value.clone();
    wrong.value = &other;
    assert!(matches!(
        journal.record_decision(&wrong),
        Err(JournalError::BadDecision { height: 1, .. })
    ));
    journal
        .record_decision(&heights[0].decided())
        .expect("record");
    assert_eq!(journal.height(), 1);
    drop(journal);

    let other = DemoTable::new(5).expect("another table");
    assert!(matches!(
        Journal::open(&path, other.config()),
        Err(JournalError::ConfigMismatch { .. })
    ));
    let report = verify_journal(&path, other.config()).expect("report");
    assert_eq!(report.failure.as_ref().map(|f| f.height), Some(0));
    let reopened = Journal::open_existing(&path).expect("open existing");
    assert_eq!(reopened.height(), 1);
    assert_eq!(reopened.config(), table.config());
}
