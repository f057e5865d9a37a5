//! Validator sets that change (a newcomer admitted, a genesis player leaving) and a table that
//! closes: recovery and the verifier hold every certificate to the set of its own height, derived
//! from the decided blocks, and nothing may follow the closing height.

use std::path::Path;
use std::sync::Arc;

use bitcraps_consensus::{EngineConfig, Keypair, PeerId, VerifyError};
use bitcraps_game::{Block, Event, Registry};

use super::support::{rewrite, TempDir};
use crate::demo::{DemoHeight, DemoTable};
use crate::error::{Failure, Reason};
use crate::{export_json, verify_journal, Journal, JournalError, ReplayCheck};

/// A key no genesis seat holds.
fn newcomer() -> Keypair {
    Keypair::from_seed([0x5A; 32])
}

/// What happened on the way: the heights that changed the seats.
struct Changes {
    /// The height that seated the newcomer (it signs from two heights later on).
    admitted: u64,
    /// The height at which genesis seat 0 left (it signs until one height later).
    left: u64,
}

/// A 4-player table: a roll, a newcomer admitted, two rolls (the newcomer votes), genesis seat 0
/// leaves, two rolls. Every height journaled with a certificate of its own height's set.
fn changing_run(path: &Path) -> (DemoTable, Vec<DemoHeight>, Changes) {
    let mut table = DemoTable::new(4).expect("table");
    let mut journal = Journal::open(path, table.config()).expect("open");
    let mut all = Vec::new();
    let mut record = |heights: Vec<DemoHeight>, all: &mut Vec<DemoHeight>| {
        for h in heights {
            journal.record_decision(&h.decided()).expect("record");
            all.push(h);
        }
    };
    record(table.play_roll(true).expect("roll"), &mut all);
    record(table.join(newcomer(), 50_000).expect("join"), &mut all);
    let admitted = table.state().height();
    assert!(table.state().seat_of(&newcomer().peer_id()).is_some());
    for _ in 0..2 {
        record(table.play_roll(true).expect("roll"), &mut all);
    }
    record(vec![table.leave(0).expect("leave")], &mut all);
    let left = table.state().height();
    for _ in 0..2 {
        record(table.play_roll(true).expect("roll"), &mut all);
    }
    assert_eq!(table.state().closed_at(), None);
    (table, all, Changes { admitted, left })
}

fn genesis_keys(table: &DemoTable) -> Vec<PeerId> {
    let mut keys: Vec<PeerId> = table.keys().iter().map(Keypair::peer_id).collect();
    keys.sort();
    keys
}

/// Replaces the certificate of `height` by one for the same block signed by `signers`.
fn resign(path: &Path, table: &DemoTable, height: u64, signers: &[PeerId]) {
    rewrite(path, height, None, |_, record| {
        record.certificate = table
            .certify_by(height, record.certificate.value_id, signers)
            .expect("keys known");
    });
}

/// The verifier's and recovery's verdicts on the journal at `path`.
fn verdicts(path: &Path, table: &DemoTable) -> (Option<Failure>, Option<Failure>) {
    let report = verify_journal(path, table.config()).expect("readable");
    let journal = Journal::open(path, table.config()).expect("open");
    let own = match journal.load() {
        Ok(_) => None,
        Err(JournalError::Check(failure)) => Some(failure),
        Err(e) => panic!("unexpected error: {e}"),
    };
    (report.failure, own)
}

#[test]
fn a_table_whose_validators_changed_verifies_and_recovers() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, heights, changes) = changing_run(&path);
    let genesis = genesis_keys(&table);
    let newcomer = newcomer().peer_id();
    let departed = table.keys()[0].peer_id();

    let report = verify_journal(&path, table.config()).expect("verifies");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.verified_heights, heights.len() as u64);
    // Three sets: the genesis seats, + the newcomer two heights after its admission, - the
    // departed player two heights after it left.
    let froms: Vec<u64> = report
        .validator_sets
        .iter()
        .map(|s| s.from_height)
        .collect();
    assert_eq!(froms, [1, changes.admitted + 2, changes.left + 2]);
    let hex = |p: &PeerId| crate::error::hex(p.as_bytes());
    let second = &report.validator_sets[1].validators;
    assert_eq!(second.len(), 5);
    assert!(second.contains(&hex(&newcomer)));
    let third = &report.validator_sets[2].validators;
    assert_eq!(third.len(), 4);
    assert!(third.contains(&hex(&newcomer)) && !third.contains(&hex(&departed)));
    assert_eq!(
        report.validator_sets[0].validators,
        genesis.iter().map(hex).collect::<Vec<_>>()
    );
    // The certificates really were signed by the changed sets (the newcomer signs late heights).
    let last = heights.last().expect("heights");
    assert!(last.certificate.signers().any(|s| s == newcomer));
    assert!(!last.certificate.signers().any(|s| s == departed));
    let text = report.to_string();
    assert!(text.contains("validator sets: 3"), "{text}");
    assert!(text.ends_with("OK"), "{text}");
    assert!(report.closed.is_none());
    let mut out = Vec::new();
    export_json(&path, &mut out).expect("exports");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert!(json["closed"].is_null(), "{}", json["closed"]);
    assert_eq!(
        json["heights"].as_array().map(Vec::len),
        Some(heights.len())
    );

    let journal = Journal::open(&path, table.config()).expect("open");
    for check in [ReplayCheck::OwnJournal, ReplayCheck::Full] {
        let recovered = journal
            .load_with(Arc::new(Registry::new()), check)
            .expect("recovers");
        assert_eq!(recovered.state.hash(), table.state().hash());
    }
    // A restored engine knows the sets of the next two heights, from the recovered seats.
    let recovered = journal.load().expect("recovers");
    let [(next, set), (after, after_set)] = recovered.participant_sets().expect("sets");
    assert_eq!(next, recovered.next_height());
    assert_eq!(after.0, next.0 + 1);
    assert_eq!(set.ids(), table.state().validators_next());
    assert_eq!(after_set.ids(), table.state().validators_after_next());
    assert!(!set.contains(&departed) && set.contains(&newcomer));
    let engine = recovered
        .engine(
            EngineConfig::new(table.config().consensus_table_id()),
            table.keys()[1].clone(),
        )
        .expect("engine");
    for (height, set) in [(next, set), (after, after_set)] {
        let known = engine.participants_at(height).expect("declared");
        assert_eq!(known.ids(), set.ids());
    }
    // Not the genesis seats any more.
    assert_ne!(
        engine.participants_at(next).expect("declared").ids(),
        &genesis[..]
    );
}

/// From the first height after the change on, a certificate signed by the old set (the departed
/// key in, the newcomer out) is refused at its height, by the verifier and by recovery.
#[test]
fn a_certificate_of_the_old_set_after_the_change_is_refused() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, _, changes) = changing_run(&path);
    // The first height of the new set (the departed player still signs `left + 1`).
    let height = changes.left + 2;
    let departed = table.keys()[0].peer_id();
    // Control: the journal verified before the planted certificate.
    assert_eq!(verdicts(&path, &table), (None, None));
    resign(&path, &table, height, &genesis_keys(&table));
    let (full, own) = verdicts(&path, &table);
    let expected = Failure::new(
        height,
        Reason::Certificate(VerifyError::UnknownSigner(departed)),
    );
    assert_eq!(full, Some(expected.clone()));
    assert_eq!(own, Some(expected));
    let report = verify_journal(&path, table.config()).expect("readable");
    assert_eq!(report.verified_heights, height - 1);
    assert!(report
        .to_string()
        .contains(&format!("FAILED at height {height}")));
}

/// Up to the last height before the change, a certificate signed by the later set (with the
/// newcomer) is refused.
#[test]
fn a_certificate_of_the_new_set_before_the_change_is_refused() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, _, changes) = changing_run(&path);
    let newcomer = newcomer().peer_id();
    // The height after the one that seated the newcomer is the last of the genesis seats.
    let height = changes.admitted + 1;
    let mut later = table.validators(changes.admitted + 2).expect("set");
    assert!(later.contains(&newcomer));
    // The newcomer and three genesis seats: a quorum of the later set of five.
    later.retain(|p| *p != table.keys()[0].peer_id());
    resign(&path, &table, height, &later);
    let (full, own) = verdicts(&path, &table);
    let expected = Failure::new(
        height,
        Reason::Certificate(VerifyError::UnknownSigner(newcomer)),
    );
    assert_eq!(full, Some(expected.clone()));
    assert_eq!(own, Some(expected));
}

/// Once the set has grown to five, three genesis seats (a quorum of the genesis four) are not
/// enough: the quorum is the current set's.
#[test]
fn the_quorum_is_that_of_the_heights_set() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, _, changes) = changing_run(&path);
    let height = changes.admitted + 2;
    let three: Vec<PeerId> = table.keys()[1..].iter().map(Keypair::peer_id).collect();
    // Control: three genesis seats do certify a height of the genesis set.
    resign(&path, &table, changes.admitted + 1, &three);
    assert_eq!(verdicts(&path, &table), (None, None));
    resign(&path, &table, height, &three);
    let (full, own) = verdicts(&path, &table);
    for failure in [full, own] {
        let failure = failure.expect("refused");
        assert_eq!(failure.height, height);
        assert!(
            matches!(
                failure.reason,
                Reason::Certificate(VerifyError::NoQuorum {
                    got: 3,
                    needed: 4,
                    ..
                })
            ),
            "{failure}"
        );
    }
}

/// A 4-player table: a roll, then seat 3 leaves and the table closes. Returns the closing
/// height's events too.
fn closing_run(path: &Path) -> (DemoTable, u64, Vec<Event>) {
    let mut table = DemoTable::new(4).expect("table");
    let mut journal = Journal::open(path, table.config()).expect("open");
    for h in table.play_roll(true).expect("roll") {
        journal.record_decision(&h.decided()).expect("record");
    }
    let close = table.leave(3).expect("leave");
    journal.record_decision(&close.decided()).expect("record");
    let closed_at = table.state().height();
    assert_eq!(table.state().closed_at(), Some(closed_at));
    (table, closed_at, close.events)
}

#[test]
fn verify_and_export_state_the_close_and_every_final_balance() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, closed_at, events) = closing_run(&path);
    let Some(Event::TableClosed {
        final_balances,
        bank,
    }) = events
        .iter()
        .find(|e| matches!(e, Event::TableClosed { .. }))
    else {
        panic!("no close: {events:?}");
    };
    assert_eq!(final_balances.len(), 3);

    let report = verify_journal(&path, table.config()).expect("verifies");
    assert!(report.is_ok(), "{report}");
    let closed = report.closed.clone().expect("the close is reported");
    assert_eq!(closed.height, closed_at);
    assert_eq!(closed.bank, *bank);
    let stated: Vec<(u16, String, u64)> = final_balances
        .iter()
        .map(|f| (f.seat.0, crate::error::hex(f.peer.as_bytes()), f.cashed_out))
        .collect();
    let reported: Vec<(u16, String, u64)> = closed
        .final_balances
        .iter()
        .map(|f| (f.seat, f.peer.clone(), f.cashed_out))
        .collect();
    assert_eq!(reported, stated);
    let text = report.to_string();
    assert!(
        text.contains(&format!("table closed at height {closed_at}")),
        "{text}"
    );
    for f in final_balances {
        assert!(
            text.contains(&format!("cashed out {:>10}", f.cashed_out)),
            "{text}"
        );
    }

    let mut out = Vec::new();
    export_json(&path, &mut out).expect("exports");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let exported = &json["closed"];
    assert_eq!(exported["height"], closed_at);
    assert_eq!(exported["bank"], *bank);
    let balances = exported["final_balances"].as_array().expect("balances");
    assert_eq!(balances.len(), final_balances.len());
    for (b, f) in balances.iter().zip(final_balances) {
        assert_eq!(b["cashed_out"], f.cashed_out);
        assert_eq!(b["peer"], crate::error::hex(f.peer.as_bytes()));
    }

    // A closed table has no next height to run an engine at.
    let journal = Journal::open(&path, table.config()).expect("open");
    let recovered = journal.load().expect("recovers");
    assert!(matches!(
        recovered.participant_sets(),
        Err(JournalError::TableClosed { closed_at: c }) if c == closed_at
    ));
}

/// A height journaled after the close (certified by the set the closed state names, so only
/// the close can refuse it) is refused at its height by the verifier and by recovery.
#[test]
fn a_height_after_the_close_is_refused() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let (table, closed_at, _) = closing_run(&path);
    let state = table.state();
    let block = Block {
        height: closed_at + 1,
        timestamp_ms: state.timestamp_ms() + 1_000,
        prev_state_hash: state.hash(),
        ops: Vec::new(),
    };
    let value = block.to_value().expect("encode");
    let signers = state.validators_next().to_vec();
    let certificate = table
        .certify_by(closed_at + 1, value.id(), &signers)
        .expect("keys");
    {
        let mut journal = Journal::open(&path, table.config()).expect("open");
        journal
            .record_decision(&crate::DecidedHeight {
                value: &value,
                certificate: &certificate,
                state_hash: state.hash(),
                events: &[],
            })
            .expect("the journal itself records it");
    }
    let report = verify_journal(&path, table.config()).expect("readable");
    let expected = Failure::new(closed_at + 1, Reason::AfterClose { closed_at });
    assert_eq!(report.failure, Some(expected.clone()));
    assert_eq!(report.recorded_heights, closed_at + 1);
    assert_eq!(report.verified_heights, closed_at);
    // The close itself was verified and is still reported.
    assert_eq!(report.closed.as_ref().map(|c| c.height), Some(closed_at));
    assert!(report
        .to_string()
        .contains(&format!("FAILED at height {}", closed_at + 1)));
    let (_, own) = verdicts(&path, &table);
    assert_eq!(own, Some(expected));
}
