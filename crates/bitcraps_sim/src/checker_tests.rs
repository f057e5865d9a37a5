//! Unit tests of the checker's game-set checks (a child module of `checker`): a decision whose
//! engine used another height's set, or whose certificate counts a key outside its tenure, is
//! a violation even when the certificate still verifies.

use std::sync::Arc;

use bitcraps_consensus::{CommitSignature, Keypair, Round, Vote, VoteKind};

use super::*;
use crate::membership::{ChurnRules, Seats};

struct Table {
    keys: Vec<Keypair>,
    sets: SetInterner,
    checker: Checker,
    table: TableId,
}

/// Six keys, five seated at genesis (keys 0–4), the game seating its players.
fn table() -> Table {
    let keys: Vec<Keypair> = (1..=6u8).map(|i| Keypair::from_seed([i; 32])).collect();
    let table = TableId::from_name("checker-tests");
    let sets = SetInterner::new(keys.iter().map(Keypair::peer_id).collect()).unwrap();
    let rules = Arc::new(ChurnRules {
        rate: 0.0,
        keys: 6,
        protected: 0,
    });
    let genesis = Seats::genesis(5);
    let honest = keys.iter().map(Keypair::peer_id).collect();
    let genesis_ids = keys.iter().take(5).map(Keypair::peer_id).collect();
    let mut checker = Checker::new(
        table,
        honest,
        BTreeSet::new(),
        SetSchedule::new(rules, genesis),
        genesis_ids,
    );
    checker.check_plain_values = false;
    checker.game_sets = true;
    Table {
        keys,
        sets,
        checker,
        table,
    }
}

fn seats(keys: &[usize]) -> Seats {
    Seats {
        seated: keys.iter().fold(0, |m, k| m | (1 << k)),
        banned: 0,
    }
}

/// A value and its certificate at `height`, precommitted by `signers`.
fn decision(t: &Table, height: u64, signers: &[usize]) -> (Value, CommitCertificate) {
    let value = Value::new(vec![height as u8; 8]);
    let mut precommits: Vec<CommitSignature> = signers
        .iter()
        .map(|k| {
            let vote = Vote {
                table: t.table,
                height: Height(height),
                round: Round(0),
                kind: VoteKind::Precommit,
                value: Some(value.id()),
                signer: t.keys[*k].peer_id(),
            };
            CommitSignature {
                signer: vote.signer,
                signature: vote.sign(&t.keys[*k]).signature,
            }
        })
        .collect();
    precommits.sort_by_key(|c| c.signer);
    let certificate = CommitCertificate {
        table: t.table,
        height: Height(height),
        round: Round(0),
        value_id: value.id(),
        precommits,
    };
    (value, certificate)
}

/// Decides `height` as instance 0 whose engine used `engine` keys; the decided state seats
/// `next` (the set of `height + 2`).
fn decide(t: &mut Table, height: u64, signers: &[usize], engine: &[usize], next: NextSeats) {
    let (value, certificate) = decision(t, height, signers);
    let (_, engine_set) = t.sets.get(seats(engine)).unwrap();
    let decided = Decided {
        instance: 0,
        height: Height(height),
        value: &value,
        certificate: &certificate,
        next: &next,
        engine_set: Some(&engine_set),
    };
    let mut signatures = SignatureCache::default();
    t.checker.on_decided(&decided, &mut t.sets, &mut signatures);
}

/// Key 4 leaves at height 1: from height 3 on the set is keys 0–3.
fn key_4_leaves(t: &mut Table) {
    let genesis = [0, 1, 2, 3, 4];
    let after = NextSeats::Seated(seats(&[0, 1, 2, 3]), vec![Change::Leave(4)]);
    decide(t, 1, &[0, 1, 2, 3], &genesis, after);
    let same = NextSeats::Seated(seats(&[0, 1, 2, 3]), Vec::new());
    decide(t, 2, &[0, 1, 2, 3], &genesis, same);
    assert!(
        t.checker.violations.is_empty(),
        "{:?}",
        t.checker.violations
    );
}

#[test]
fn engines_on_the_game_sets_are_clean_and_their_set_changes_count() {
    let mut t = table();
    key_4_leaves(&mut t);
    let same = NextSeats::Seated(seats(&[0, 1, 2, 3]), Vec::new());
    decide(&mut t, 3, &[0, 1, 2], &[0, 1, 2, 3], same);
    assert!(
        t.checker.violations.is_empty(),
        "{:?}",
        t.checker.violations
    );
    let churn = t.checker.churn();
    assert_eq!((churn.leaves, churn.engine_set_changes), (1, 1));
}

/// The departed key's precommit at height 3 counts for nothing: a certificate that counts it
/// (beside three of the four members, a quorum) is a violation, named as such.
#[test]
fn a_departed_keys_precommit_in_a_certificate_is_a_violation() {
    let mut t = table();
    key_4_leaves(&mut t);
    let same = NextSeats::Seated(seats(&[0, 1, 2, 3]), Vec::new());
    decide(&mut t, 3, &[0, 1, 2, 4], &[0, 1, 2, 3], same);
    let v = &t.checker.violations;
    let departed = t.keys[4].peer_id().to_string();
    assert!(
        v.iter()
            .any(|v| v.starts_with("tenure: instance 0 decided h3") && v.contains(&departed)),
        "{v:?}"
    );
    assert!(v.iter().all(|v| v.contains("h3")), "{v:?}");
}

/// An engine still on the genesis set at height 3 (the host missed the leave) is caught even
/// though its certificate verifies against the right set.
#[test]
fn an_engine_on_another_heights_set_is_a_violation() {
    let mut t = table();
    key_4_leaves(&mut t);
    let same = NextSeats::Seated(seats(&[0, 1, 2, 3]), Vec::new());
    decide(&mut t, 3, &[0, 1, 2, 3], &[0, 1, 2, 3, 4], same);
    let v = &t.checker.violations;
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].starts_with("set: instance 0 decided h3"), "{v:?}");
}

/// A set that seats more faulty keys than it tolerates is noted (liveness is not owed): here a
/// faulty key 5 joins a table of five that already seats faulty key 0.
#[test]
fn a_set_beyond_f_is_noted() {
    let mut t = table();
    t.checker.accusable = [0usize, 5].iter().map(|k| t.keys[*k].peer_id()).collect();
    let genesis = [0, 1, 2, 3, 4];
    let five = NextSeats::Seated(seats(&genesis), Vec::new());
    decide(&mut t, 1, &[0, 1, 2, 3], &genesis, five);
    assert_eq!(t.checker.beyond_f, None);
    let six = NextSeats::Seated(seats(&[0, 1, 2, 3, 4, 5]), vec![Change::Join(5)]);
    decide(&mut t, 2, &[0, 1, 2, 3], &genesis, six);
    assert_eq!(t.checker.beyond_f, Some(Height(4)));
    assert_eq!(t.checker.churn().runs_beyond_f, 1);
    assert!(
        t.checker.violations.is_empty(),
        "{:?}",
        t.checker.violations
    );
}
