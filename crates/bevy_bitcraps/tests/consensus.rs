//! The plugin's consensus plumbing with the minimal application: agreement, Byzantine peers,
//! bounded entities, desync detection, the signature budget and hostile bytes.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, PeerId};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

/// Everything the plugin told game code, collected per App.
#[derive(Resource, Default)]
struct Seen {
    decided: Vec<Height>,
    misbehaviour: Vec<MisbehaviourDetected>,
    desync: Vec<DesyncDetected>,
    rejected: Vec<RejectError>,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut decided: MessageReader<HeightDecided>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut desync: MessageReader<DesyncDetected>,
    mut rejected: MessageReader<MessageRejected>,
) {
    seen.decided.extend(decided.read().map(|d| d.height));
    seen.misbehaviour.extend(misbehaviour.read().cloned());
    seen.desync.extend(desync.read().cloned());
    seen.rejected.extend(rejected.read().map(|r| r.0.clone()));
}

fn with_collector(app: &mut App) {
    app.init_resource::<Seen>()
        .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
}

fn table(n: usize, seed: u64, byzantine: Option<(usize, ByzantineKind)>) -> TestTable {
    TestTable::new(
        n,
        seed,
        |_, config| config,
        |i, app| {
            with_collector(app);
            if let Some((b, kind)) = byzantine {
                if b == i {
                    app.add_plugins(ByzantinePlugin { kind, seed });
                }
            }
        },
    )
    .expect("valid table")
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn peer(t: &TestTable, i: usize) -> PeerId {
    t.keys[i].peer_id()
}

/// Every pair of Apps in `which` has identical state hashes at every height both remember.
fn assert_agreement(t: &TestTable, which: &[usize], up_to: u64) {
    for h in 1..=up_to {
        let hashes: Vec<_> = which
            .iter()
            .filter_map(|i| {
                t.apps[*i]
                    .world()
                    .resource::<StateHashBook>()
                    .local(Height(h))
            })
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "state hashes differ at height {h}"
        );
    }
}

#[test]
fn four_apps_decide_many_heights_with_identical_state() {
    let mut t = table(4, 1, None);
    let all = [0, 1, 2, 3];
    assert!(
        t.run_until(3_000, |t| t.min_height(&all) >= 60),
        "no progress"
    );
    assert_agreement(&t, &all, 60);
    for i in all {
        let s = seen(&t, i);
        assert!(s.misbehaviour.is_empty() && s.desync.is_empty());
        let decided: Vec<u64> = s.decided.iter().map(|h| h.0).collect();
        assert_eq!(decided, (1..=decided.len() as u64).collect::<Vec<_>>());
        let status = t.apps[i].world().resource::<ConsensusStatus>();
        assert!(status.decided_count >= 60 && status.last_decision_latency.is_some());
    }
    // Entities: votes related to proposals, verified, from every signer.
    let world = t.apps[0].world_mut();
    let mut q = world.query::<(&Vote, Option<&VoteFor>)>();
    let votes: Vec<(Vote, Option<VoteFor>)> = q
        .iter(world)
        .map(|(v, f)| (v.clone(), f.copied()))
        .collect();
    assert!(!votes.is_empty());
    assert!(votes.iter().all(|(v, _)| v.verified));
    assert!(
        votes.iter().any(|(_, f)| f.is_some()),
        "votes relate to proposals"
    );
    let mut q = world.query::<(&Proposal, &ProposalVotes)>();
    assert!(q.iter(world).any(|(_, votes)| !votes.votes().is_empty()));
    let mut q = world.query::<&DecidedHeight>();
    assert!(q.iter(world).count() > 0);
}

#[test]
fn honest_apps_agree_and_report_each_byzantine_kind() {
    for (seed, kind) in ByzantineKind::ALL.into_iter().enumerate() {
        let seed = 100 + seed as u64;
        let mut t = table(4, seed, Some((3, kind)));
        let honest = [0, 1, 2];
        let byz = peer(&t, 3);
        let needs_evidence = matches!(
            kind,
            ByzantineKind::EquivocatingProposer | ByzantineKind::DoubleVoter
        );
        let reported =
            |t: &TestTable, i: usize| seen(t, i).misbehaviour.iter().any(|m| m.offender == byz);
        let penalised = |t: &TestTable, i: usize| {
            t.view(i)
                .snapshot::<BasicSnapshot>()
                .is_some_and(|s| s.penalties.get(&byz).copied().unwrap_or(0) >= 1)
        };
        let done = t.run_until(6_000, |t| {
            t.min_height(&honest) >= 12
                && match kind {
                    ByzantineKind::EquivocatingProposer | ByzantineKind::DoubleVoter => {
                        honest.iter().all(|i| reported(t, *i) && penalised(t, *i))
                    }
                    ByzantineKind::Forger | ByzantineKind::Replayer | ByzantineKind::Garbage => {
                        honest.iter().all(|i| reported(t, *i))
                    }
                    ByzantineKind::Silent | ByzantineKind::LockBreaker => true,
                }
        });
        assert!(
            done,
            "{kind:?}: heights {:?}, reported {:?}",
            honest.map(|i| t.view(i).height),
            honest.map(|i| reported(&t, i))
        );
        let up_to = t.min_height(&honest);
        assert_agreement(&t, &honest, up_to);
        for i in honest {
            let s = seen(&t, i);
            // Nobody honest is ever accused.
            assert!(
                s.misbehaviour.iter().all(|m| m.offender == byz),
                "{kind:?}: an honest player was accused"
            );
            assert!(s.desync.is_empty(), "{kind:?}: desync among honest Apps");
            if needs_evidence {
                let evidence = s
                    .misbehaviour
                    .iter()
                    .find_map(|m| m.evidence())
                    .expect("evidence");
                let config = t.apps[i].world().resource::<BitCrapsConfig>();
                assert_eq!(
                    evidence.verify(&config.table, &config.participants),
                    Ok(byz)
                );
            }
        }
    }
}

#[test]
fn entity_count_stays_bounded_over_1000_heights() {
    let mut t = table(4, 7, None);
    let all = [0, 1, 2, 3];
    assert!(t.run_until(2_000, |t| t.min_height(&all) >= 50));
    let baseline = t.apps[0].world().entities().count_spawned();
    let mut max = baseline;
    assert!(t.run_until(40_000, |t| {
        max = max.max(t.apps[0].world().entities().count_spawned());
        t.min_height(&all) >= 1_000
    }));
    let end = t.apps[0].world().entities().count_spawned();
    assert!(
        max <= baseline + 64,
        "entities grew from {baseline} to {max}"
    );
    assert!(
        end <= baseline + 64,
        "entities grew from {baseline} to {end}"
    );
    let index = t.apps[0].world().resource::<EntityIndex>();
    assert!(index.tracked() < 100, "{} tracked", index.tracked());
}

#[test]
fn a_corrupted_local_state_is_detected_as_a_desync() {
    let mut t = table(4, 9, None);
    let all = [0, 1, 2, 3];
    assert!(t.run_until(2_000, |t| t.min_height(&all) >= 5));
    t.apps[3]
        .world_mut()
        .resource_mut::<TableApp>()
        .get_mut::<BasicApp>()
        .expect("basic app")
        .corrupt_state();
    let bad = peer(&t, 3);
    assert!(t.run_until(2_000, |t| {
        !seen(t, 3).desync.is_empty()
            && [0, 1, 2]
                .iter()
                .all(|i| seen(t, *i).desync.iter().any(|d| d.peer == bad))
    }));
    // The three others keep deciding without the damaged node.
    let h = t.min_height(&[0, 1, 2]);
    assert!(t.run_until(2_000, |t| t.min_height(&[0, 1, 2]) >= h + 5));
    assert_agreement(&t, &[0, 1, 2], h + 5);
}

#[test]
fn the_signature_budget_defers_checks_to_later_frames() {
    let mut t = TestTable::new(
        4,
        11,
        |_, mut config| {
            config.signature_budget_per_frame = 2;
            config
        },
        |_, app| with_collector(app),
    )
    .expect("table");
    let all = [0, 1, 2, 3];
    let mut deferred = false;
    assert!(t.run_until(3_000, |t| {
        for app in &t.apps {
            let stats = app.world().resource::<VerifyStats>();
            // A message is checked whole: a decision (3 precommits) may exceed a budget of 2.
            assert!(
                stats.last_frame <= 3,
                "{} checks in one frame",
                stats.last_frame
            );
            deferred |= stats.deferred > 0;
        }
        t.min_height(&all) >= 10
    }));
    assert!(deferred, "the budget never deferred anything");
    assert_agreement(&t, &all, 10);
}

#[test]
fn hostile_bytes_are_dropped_and_the_sender_named() {
    let mut t = table(4, 13, None);
    let (from, to) = (peer(&t, 1), peer(&t, 0));
    for junk in [
        vec![],
        vec![0xFF; 10],
        vec![0u8; 2 << 20],
        vec![0, 0xFC, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3],
    ] {
        t.hub.inject(from, to, junk);
    }
    let stranger = bevy_bitcraps::bitcraps_consensus::Keypair::from_seed([42; 32]).peer_id();
    t.hub.inject(stranger, to, vec![1, 2, 3]);
    t.step();
    let s = seen(&t, 0);
    let decode_errors = s
        .rejected
        .iter()
        .filter(|r| matches!(r, RejectError::Decode { peer, .. } if *peer == from))
        .count();
    assert_eq!(decode_errors, 4);
    assert!(s
        .rejected
        .iter()
        .any(|r| matches!(r, RejectError::Stranger { peer } if *peer == stranger)));
    assert!(s
        .rejected
        .iter()
        .all(|r| r.to_string().contains(&r.peer().to_string())));
    assert!(t.run_until(1_000, |t| t.min_height(&[0, 1, 2, 3]) >= 5));
}
