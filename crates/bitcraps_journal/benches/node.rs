//! What journaling adds to each decided height of a running node: four headless Apps of
//! `bevy_bitcraps` with bots play the craps table on the in-memory hub, each journaling to its
//! own redb file (fsync'd, two-phase commits) as the `bitcraps` binary does, until
//! `BITCRAPS_NODE_BENCH_HEIGHTS` (default 300) heights are decided; then the same table without
//! journals. Prints, per node and decided height, the durable writes and the time spent in them
//! (the node's [`bitcraps_journal::WriteStats`]), and the wall time per height of both runs.
//!
//! Run: `cargo bench -p bitcraps_journal --features bevy --bench node`.
//!
//! The four Apps share one thread, so the wall-time difference per height is the four nodes'
//! journal writes together; each node's own writes are on its path of signing and sending. The
//! Apps run on virtual time (a frame is 1/60 s whatever it costs), so every run decides in the
//! same frames: the frame times printed last say whether a journaling node still fits its frames
//! (then the journal adds no frame, hence no latency, to a decision of a 60 fps game).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::{BitCrapsConfig, BotPlayer, BotPlugin, BotStrategy, GamePlugin};
use bitcraps_journal::{DataDir, JournalPlugin, JournalStatus, WriteStats};

fn heights() -> u64 {
    std::env::var("BITCRAPS_NODE_BENCH_HEIGHTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn setup(i: usize, app: &mut App, journal_root: Option<&std::path::Path>) {
    app.add_plugins((GamePlugin::default(), BotPlugin));
    let strategy = match i % 3 {
        0 => BotStrategy::PassLine { amount: 10 },
        1 => BotStrategy::Field { amount: 10 },
        _ => BotStrategy::DontPass { amount: 20 },
    };
    app.world_mut().spawn(BotPlayer::new(strategy));
    if let Some(root) = journal_root {
        let config = app.world().resource::<BitCrapsConfig>().clone();
        let dir = DataDir::new(root.join(format!("node{i}")));
        let plugin = JournalPlugin::open(&dir, &config, &GamePlugin::default()).expect("journal");
        app.add_plugins(plugin);
    }
}

/// Plays until every App decided `target` heights; returns the wall time and the time of every
/// App update (one node's frame).
fn play(t: &mut TestTable, target: u64) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut frames = Vec::new();
    for _ in 0..200_000 {
        if t.min_height(&[0, 1, 2, 3]) >= target {
            frames.sort_unstable();
            return (start.elapsed(), frames);
        }
        for app in &mut t.apps {
            let frame = Instant::now();
            app.update();
            frames.push(frame.elapsed());
        }
    }
    panic!("the table stalled");
}

/// "p50 / p99 / max" of sorted frame times, in ms.
fn spread(frames: &[Duration]) -> String {
    let at = |q: f64| {
        frames
            .get(((frames.len() as f64 * q) as usize).min(frames.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    format!("{:.2} / {:.2} / {:.2} ms", at(0.5), at(0.99), at(1.0))
}

fn per(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let target = heights();
    let root = tempfile::tempdir().expect("temp dir");
    let mut journaled =
        TestTable::new(4, 31, |_, c| c, |i, app| setup(i, app, Some(root.path()))).expect("table");
    let (with, with_frames) = play(&mut journaled, target);
    let mut plain = TestTable::new(4, 31, |_, c| c, |i, app| setup(i, app, None)).expect("table");
    let (without, without_frames) = play(&mut plain, target);

    println!("{target} decided heights, 4 nodes, each journaling to its own redb file");
    println!(
        "{:<6} {:>8} {:>10} {:>9} {:>10} {:>9} {:>10} {:>12} {:>10}",
        "node",
        "guards",
        "µs/guard",
        "same",
        "own ops",
        "µs/op",
        "µs/decis.",
        "µs/height",
        "writes/h"
    );
    let mut all = WriteStats::default();
    for (i, app) in journaled.apps.iter().enumerate() {
        let status = app.world().resource::<JournalStatus>();
        let s = status.writes;
        let h = status.recorded_height;
        println!(
            "{:<6} {:>8} {:>10.0} {:>9} {:>10} {:>9.0} {:>10.1} {:>12.0} {:>10.2}",
            i,
            s.guard_writes,
            per(s.guard_time, s.guard_writes),
            s.guards_unchanged,
            s.own_op_writes,
            per(s.own_op_time, s.own_op_writes),
            per(s.decision_time, s.decided_heights),
            per(s.total_time(), h),
            (s.guard_writes + s.own_op_writes) as f64 / h.max(1) as f64,
        );
        all.guard_writes += s.guard_writes;
        all.guard_time += s.guard_time;
        all.own_op_writes += s.own_op_writes;
        all.own_op_time += s.own_op_time;
        all.decision_time += s.decision_time;
        all.decided_heights += s.decided_heights;
    }
    println!(
        "per node and height: {:.0} µs in durable guard writes, {:.0} µs in own operations, {:.1} µs recording the decision",
        per(all.guard_time, all.decided_heights),
        per(all.own_op_time, all.decided_heights),
        per(all.decision_time, all.decided_heights),
    );
    println!(
        "wall time per height, 4 nodes on one thread: {:.0} µs journaled, {:.0} µs without ({:.0} µs more)",
        per(with, target),
        per(without, target),
        per(with, target) - per(without, target),
    );
    println!(
        "one node's frame (p50 / p99 / max): {} journaled, {} without; a frame at 60 fps is 16.67 ms",
        spread(&with_frames),
        spread(&without_frames),
    );
}
