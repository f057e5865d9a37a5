//! The signing guard: durable when `record_guard` returns, never regressing, restored on
//! recovery.

use proptest::prelude::*;

use bitcraps_consensus::{
    Height, Input, PersistentState, Round, SigningGuard, ValueId, Vote, VoteKind,
};

use super::support::TempDir;
use crate::demo::DemoTable;
use crate::{Journal, JournalError};

/// The state of a node that signed `kind` votes at the given (height, round)s, in order.
fn state_after(table: &DemoTable, signed: &[(u64, u32, bool)]) -> PersistentState {
    let key = &table.keys()[0];
    let mut guard = SigningGuard::default();
    for (height, round, precommit) in signed {
        let vote = Vote {
            table: table.config().consensus_table_id(),
            height: Height(*height),
            round: Round(*round),
            kind: if *precommit {
                VoteKind::Precommit
            } else {
                VoteKind::Prevote
            },
            value: Some(ValueId([*round as u8; 32])),
            signer: key.peer_id(),
        };
        guard.sign_vote(key, vote);
    }
    let (height, round) = signed.last().map_or((1, 0), |(h, r, _)| (*h, *r));
    PersistentState {
        height: Height(height),
        round: Round(round),
        locked: None,
        valid: None,
        guard,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Whatever the node signed, once `record_guard` returns the guard is on disk: a copy of
    /// the file taken at that moment (what a `kill -9` right after the call leaves) opens with
    /// exactly that guard.
    #[test]
    fn the_guard_is_durable_when_record_guard_returns(
        steps in proptest::collection::vec((0u64..3, 0u32..3, any::<bool>()), 1..6)
    ) {
        let dir = TempDir::new();
        let path = dir.file("t.redb");
        let table = DemoTable::new(4).expect("table");
        let mut journal = Journal::open(&path, table.config()).expect("open");
        let mut signed = Vec::new();
        let mut at = (1u64, 0u32);
        for (i, (dh, round, precommit)) in steps.into_iter().enumerate() {
            // Heights and rounds only move forward, as the engine's do.
            at = if dh == 0 { (at.0, at.1.max(round)) } else { (at.0 + dh, round) };
            signed.push((at.0, at.1, precommit));
            let state = state_after(&table, &signed);
            journal.record_guard(&state).expect("durable");
            let copy = dir.file(&format!("copy-{i}.redb"));
            std::fs::copy(&path, &copy).expect("copy while open");
            let reopened = Journal::open(&copy, table.config()).expect("the copy opens");
            prop_assert_eq!(reopened.guard(), Some(&state));
            prop_assert_eq!(reopened.load().expect("recovers").guard, Some(state));
        }
    }
}

#[test]
fn a_regressing_guard_is_refused_and_the_durable_one_kept() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let table = DemoTable::new(4).expect("table");
    let mut journal = Journal::open(&path, table.config()).expect("open");
    let later = state_after(&table, &[(5, 1, true)]);
    journal.record_guard(&later).expect("durable");
    let earlier = state_after(&table, &[(3, 0, true)]);
    assert!(matches!(
        journal.record_guard(&earlier),
        Err(JournalError::GuardRegression {
            kind: "precommit",
            ..
        })
    ));
    let forgetful = state_after(&table, &[]);
    assert!(matches!(
        journal.record_guard(&forgetful),
        Err(JournalError::GuardRegression { .. })
    ));
    // Another vote at the same height and round: a double vote in the making.
    let mut conflicting = later.clone();
    let key = &table.keys()[0];
    let vote = Vote {
        table: table.config().consensus_table_id(),
        height: Height(5),
        round: Round(1),
        kind: VoteKind::Precommit,
        value: Some(ValueId([9; 32])),
        signer: key.peer_id(),
    };
    conflicting.guard = SigningGuard::default();
    conflicting.guard.sign_vote(key, vote);
    assert!(matches!(
        journal.record_guard(&conflicting),
        Err(JournalError::GuardConflict {
            kind: "precommit",
            ..
        })
    ));
    journal
        .record_guard(&later)
        .expect("the same guard again is fine");
    let stats = journal.stats();
    assert_eq!(
        (stats.guard_writes, stats.guards_unchanged),
        (1, 1),
        "one durable write; the same guard again is on disk already"
    );
    drop(journal);
    let journal = Journal::open(&path, table.config()).expect("reopen");
    assert_eq!(journal.guard(), Some(&later));
}

#[test]
fn a_restored_engine_repeats_itself_instead_of_equivocating() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let table = DemoTable::new(4).expect("table");
    let key = table.keys()[1].clone();
    let config = bitcraps_consensus::EngineConfig::new(table.config().consensus_table_id());
    let chain = bitcraps_game::Chain::new(table.state().clone());
    let mut journal = Journal::open(&path, table.config()).expect("open");
    // Height 1, round 0: the proposer is someone else; the propose timeout makes this node
    // prevote nil. Persist before "sending".
    let mut engine = journal
        .load()
        .expect("empty journal")
        .engine(config.clone(), key.clone())
        .expect("engine");
    engine
        .handle(Input::StartHeight(Height(1)), &chain.validity(None))
        .expect("start");
    let timeout = bitcraps_consensus::Timeout {
        height: Height(1),
        round: Round(0),
        kind: bitcraps_consensus::TimeoutKind::Propose,
    };
    let outputs = engine
        .handle(Input::TimeoutElapsed(timeout), &chain.validity(None))
        .expect("timeout");
    journal
        .record_guard(&engine.persistent_state())
        .expect("durable");
    let sent = outputs
        .iter()
        .find(|o| o.is_message())
        .expect("a prevote")
        .clone();
    drop(engine);
    drop(journal);

    // "Crash", restart from the journal, and hit the same timeout again.
    let journal = Journal::open(&path, table.config()).expect("reopen");
    let recovered = journal.load().expect("recovers");
    let mut engine = recovered.engine(config, key).expect("restored");
    engine
        .handle(
            Input::StartHeight(recovered.next_height()),
            &chain.validity(None),
        )
        .expect("start");
    let again = engine
        .handle(Input::TimeoutElapsed(timeout), &chain.validity(None))
        .expect("timeout");
    let resent = again
        .iter()
        .find(|o| o.is_message())
        .expect("the prevote again");
    assert_eq!(
        format!("{resent:?}"),
        format!("{sent:?}"),
        "a restored node must repeat, not re-sign"
    );
    assert_eq!(
        engine.persistent_state().guard,
        journal.guard().expect("guard").guard
    );
}

#[test]
fn deferred_decisions_are_durable_with_the_next_guard() {
    let dir = TempDir::new();
    let path = dir.file("t.redb");
    let mut table = DemoTable::new(4).expect("table");
    let mut journal = Journal::open(&path, table.config()).expect("open");
    journal.set_decision_durability(crate::DecisionDurability::WithNextGuard);
    let heights = table.play_roll(true).expect("roll");
    for height in &heights {
        journal.record_decision(&height.decided()).expect("record");
    }
    assert_eq!(journal.height(), heights.len() as u64);
    let state = state_after(&table, &[(heights.len() as u64 + 1, 0, false)]);
    journal.record_guard(&state).expect("durable");
    let copy = dir.file("copy.redb");
    std::fs::copy(&path, &copy).expect("copy while open");
    let recovered = Journal::open(&copy, table.config())
        .expect("the copy opens")
        .load()
        .expect("recovers");
    assert_eq!(recovered.state.hash(), table.state().hash());
    assert_eq!(recovered.guard, Some(state));
}
