//! [`crate::JournalPlugin`] in running nodes: four headless Apps on the in-memory hub, one of
//! them journaling; it crashes mid-play (the App is dropped, once right after a frame whose
//! signed messages were persisted but never sent), is rebuilt from its journal and plays on. It
//! must end with the others' state hash, and nobody may report evidence or a penalty against it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, PeerId, PersistentState};
use bevy_bitcraps::testing::{headless_app, TestTable, FRAME};
use bevy_bitcraps::*;

use super::support::TempDir;
use crate::{verify_journal, DataDir, Journal, JournalPlugin, JournalStatus};

#[derive(Resource, Default)]
pub(super) struct Seen {
    pub(super) rolls: usize,
    pub(super) misbehaviour: Vec<PeerId>,
    pub(super) penalties: Vec<PeerId>,
    pub(super) desync: usize,
    pub(super) persist_failed: usize,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut rolls: MessageReader<DiceRolled>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut penalties: MessageReader<PenaltyApplied>,
    mut desync: MessageReader<DesyncDetected>,
    mut persist: MessageReader<PersistFailed>,
) {
    seen.rolls += rolls.read().count();
    seen.misbehaviour
        .extend(misbehaviour.read().map(|m| m.offender));
    seen.penalties.extend(penalties.read().map(|p| p.peer));
    seen.desync += desync.read().count();
    seen.persist_failed += persist.read().count();
}

/// The in-memory transport of the journaling App; once `dead` is set it sends nothing (the
/// process died after persisting, before its packets left).
struct Mortal {
    inner: MemoryTransport,
    dead: Arc<AtomicBool>,
}

impl Transport for Mortal {
    fn receive(&mut self, inbox: &mut VecDeque<InboundPacket>) {
        self.inner.receive(inbox);
    }

    fn send(&mut self, packet: OutboundPacket) {
        if !self.dead.load(Ordering::SeqCst) {
            self.inner.send(packet);
        }
    }
}

pub(super) fn game_setup(i: usize, app: &mut App) {
    app.add_plugins((GamePlugin::default(), BotPlugin))
        .init_resource::<Seen>()
        .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
    let strategy = match i % 3 {
        0 => BotStrategy::PassLine { amount: 10 },
        1 => BotStrategy::Field { amount: 10 },
        _ => BotStrategy::DontPass { amount: 20 },
    };
    app.world_mut().spawn(BotPlayer::new(strategy));
}

/// Adds the journal (from `dir`) and the mortal transport to App 0 (before it finishes).
fn journal_setup(app: &mut App, dir: &DataDir, hub: &MemoryHub, dead: &Arc<AtomicBool>) {
    let config = app.world().resource::<BitCrapsConfig>().clone();
    let plugin = JournalPlugin::open(dir, &config, &GamePlugin::default()).expect("journal");
    app.add_plugins(plugin).set_transport(Mortal {
        inner: hub.connect(config.local_peer()),
        dead: dead.clone(),
    });
}

/// Rebuilds App 0 from its journal, as a restarted process would.
pub(super) fn restart(t: &mut TestTable, dir: &DataDir, dead: &Arc<AtomicBool>) -> u64 {
    let peers: Vec<PeerId> = t.keys.iter().map(|k| k.peer_id()).collect();
    let config = BitCrapsConfig::new(t.table, t.keys[0].clone(), peers)
        .expect("config")
        .with_fast_timings();
    // What reached the dead process's socket is lost with it.
    t.hub
        .connect(config.local_peer())
        .receive(&mut VecDeque::new());
    dead.store(false, Ordering::SeqCst);
    let mut app = headless_app(config, &t.hub, FRAME);
    game_setup(0, &mut app);
    journal_setup(&mut app, dir, &t.hub, dead);
    app.finish();
    app.cleanup();
    let recovered = app.world().resource::<JournalStatus>().recovered_height;
    assert!(
        app.world().resource::<JournalStatus>().fatal.is_none(),
        "{:?}",
        app.world().resource::<JournalStatus>()
    );
    assert_eq!(
        app.world().resource::<TableView>().height,
        Height(recovered)
    );
    t.apps[0] = app;
    recovered
}

/// Steps only the three others for `frames` frames (App 0 is down).
pub(super) fn step_others(t: &mut TestTable, frames: usize) {
    for _ in 0..frames {
        for app in &mut t.apps[1..] {
            app.update();
        }
    }
}

pub(super) fn crash(t: &mut TestTable) {
    // Dropping the App closes its journal (and the file lock) like a dead process.
    drop(std::mem::replace(&mut t.apps[0], App::new()));
}

fn guard(t: &TestTable) -> PersistentState {
    t.apps[0]
        .world()
        .resource::<ConsensusNode>()
        .engine()
        .persistent_state()
}

pub(super) fn same_height(t: &TestTable) -> bool {
    let h: Vec<u64> = (0..t.apps.len()).map(|i| t.view(i).height.0).collect();
    h.iter().all(|x| *x == h[0])
}

pub(super) fn rolls(t: &TestTable, i: usize) -> usize {
    t.apps[i].world().resource::<Seen>().rolls
}

#[test]
fn a_journaled_node_crashes_resumes_and_never_double_signs() {
    let tmp = TempDir::new();
    let dir = DataDir::new(tmp.file("data"));
    let dead = Arc::new(AtomicBool::new(false));
    let mut t = TestTable::new(4, 707, |_, config| config, game_setup).expect("table");
    // App 0 journals from the start: rebuild it (before its first frame) with a new journal.
    crash(&mut t);
    assert_eq!(restart(&mut t, &dir, &dead), 0);
    let me = t.keys[0].peer_id();

    // Play until a few rolls are in, then crash mid-play.
    assert!(
        t.run_until(20_000, |t| rolls(t, 1) >= 2
            && t.min_height(&[0, 1, 2, 3]) >= 8),
        "first rolls"
    );
    let before = t.view(0).height.0;
    crash(&mut t);
    step_others(&mut t, 90);
    let recovered = restart(&mut t, &dir, &dead);
    assert!(
        recovered >= before.saturating_sub(1) && recovered <= before,
        "{recovered} vs {before}"
    );

    // Play on; crash again right after a frame whose signed messages were persisted and never
    // sent: the restarted node holds a guard for votes nobody saw.
    let target = rolls(&t, 1) + 2;
    assert!(
        t.run_until(20_000, |t| rolls(t, 1) >= target
            && t.view(0).height.0 > recovered + 3),
        "rolls after the first restart"
    );
    dead.store(true, Ordering::SeqCst);
    let mut signed_and_lost = false;
    for _ in 0..200 {
        let before: PersistentState = guard(&t);
        t.step();
        if before.guard != guard(&t).guard {
            signed_and_lost = true;
            break;
        }
    }
    assert!(
        signed_and_lost,
        "App 0 signed something while its packets were lost"
    );
    crash(&mut t);
    step_others(&mut t, 30);
    restart(&mut t, &dir, &dead);

    // Catch up and play on together.
    let target = rolls(&t, 1) + 2;
    assert!(
        t.run_until(30_000, |t| rolls(t, 1) >= target && same_height(t)),
        "rolls after the second restart"
    );

    // Same state everywhere; nobody accuses App 0.
    let hashes: Vec<_> = (0..4).map(|i| t.view(i).state_hash).collect();
    assert!(
        hashes.iter().all(|h| *h == hashes[0]),
        "state hashes differ"
    );
    for i in 1..4 {
        let seen = t.apps[i].world().resource::<Seen>();
        assert!(
            !seen.misbehaviour.contains(&me),
            "App {i} reports misbehaviour of the restarted node"
        );
        assert!(!seen.penalties.contains(&me), "App {i} penalised it");
        assert_eq!(seen.desync, 0, "App {i} saw a desync");
    }
    let seen = t.apps[0].world().resource::<Seen>();
    assert_eq!(seen.persist_failed, 0);
    assert_eq!(seen.desync, 0);
    let status = t.apps[0].world().resource::<JournalStatus>().clone();
    assert!(status.last_error.is_none(), "{status:?}");
    let final_height = t.view(0).height.0;
    assert_eq!(status.recorded_height, final_height);

    // The journal on disk recovers to the table's state and passes the offline verifier.
    let path = dir.journal_path(&t.table);
    crash(&mut t);
    let journal = Journal::open_existing(&path).expect("open");
    let recovered = journal.load().expect("load");
    assert_eq!(recovered.height, final_height);
    assert_eq!(recovered.state.hash(), hashes[0]);
    assert!(recovered.guard.is_some());
    let config = journal.config().clone();
    drop(journal);
    let report = verify_journal(&path, &config).expect("verify");
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert_eq!(report.verified_heights, final_height);
    assert!(
        report.rolls.len() >= 6,
        "{} rolls journaled",
        report.rolls.len()
    );
}

#[cfg(feature = "cheats")]
#[test]
fn a_journaled_node_records_the_evidence_it_finds() {
    let tmp = TempDir::new();
    let dir = DataDir::new(tmp.file("data"));
    let dead = Arc::new(AtomicBool::new(false));
    let mut t = TestTable::new(
        4,
        708,
        |_, config| config,
        |i, app| {
            game_setup(i, app);
            if i == 1 {
                app.add_plugins(ByzantinePlugin {
                    kind: ByzantineKind::DoubleVoter,
                    seed: 708,
                });
            }
        },
    )
    .expect("table");
    crash(&mut t);
    restart(&mut t, &dir, &dead);
    let cheater = t.keys[1].peer_id();
    assert!(
        t.run_until(5_000, |t| {
            t.apps[0]
                .world()
                .resource::<Seen>()
                .misbehaviour
                .contains(&cheater)
                && t.view(0).height.0 >= 6
        }),
        "App 0 catches the double voter"
    );
    t.step();
    let handle = t.apps[0].world().resource::<crate::JournalHandle>().clone();
    let evidence = handle
        .lock()
        .expect("journal")
        .evidence()
        .expect("evidence");
    assert!(!evidence.is_empty(), "evidence recorded");
    assert!(evidence.iter().all(|e| e.evidence.offender() == cheater));
    assert!(t.apps[0]
        .world()
        .resource::<JournalStatus>()
        .last_error
        .is_none());
}
