//! CPU time per frame of the plugin's systems, with 16 seated bot players at steady play.
//!
//! Sixteen Apps share one in-memory hub and are stepped together; App 0 is measured. Stamps
//! taken between the plugin's chained sets split each frame into the verify set (signature
//! checks) and everything else (receive, consensus, apply with the craps rules, send, cleanup).
//! The verify set is measured both ways: batched (the default) and one by one with
//! `verify_strict` ([`SignatureChecks::OneByOne`] on App 0).
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::verify::SignatureChecks;
use bevy_bitcraps::*;
use criterion::{criterion_group, criterion_main, Criterion};

#[derive(Resource, Default)]
struct Stamps {
    start: Option<Instant>,
    before_verify: Option<Instant>,
    after_verify: Option<Instant>,
    total: Duration,
    verify: Duration,
    frames: u64,
    checks: u64,
}

fn stamp_start(mut s: ResMut<Stamps>) {
    s.start = Some(Instant::now());
}
fn stamp_before_verify(mut s: ResMut<Stamps>) {
    s.before_verify = Some(Instant::now());
}
fn stamp_after_verify(mut s: ResMut<Stamps>) {
    s.after_verify = Some(Instant::now());
}
fn stamp_end(mut s: ResMut<Stamps>, stats: Res<VerifyStats>) {
    let now = Instant::now();
    if let (Some(a), Some(b), Some(c)) = (s.start, s.before_verify, s.after_verify) {
        s.total += now - a;
        s.verify += c - b;
        s.frames += 1;
        s.checks += stats.last_frame as u64;
    }
}

fn table() -> TestTable {
    let mut t = TestTable::new(
        16,
        77,
        |_, config| config,
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin));
            let strategy = match i % 3 {
                0 => BotStrategy::PassLine { amount: 10 },
                1 => BotStrategy::Field { amount: 10 },
                _ => BotStrategy::DontPass { amount: 10 },
            };
            app.world_mut().spawn(BotPlayer::new(strategy));
            if i == 0 {
                app.init_resource::<Stamps>().add_systems(
                    Update,
                    (
                        stamp_start.before(BitCrapsSystems::Receive),
                        stamp_before_verify
                            .after(BitCrapsSystems::Receive)
                            .before(BitCrapsSystems::Verify),
                        stamp_after_verify
                            .after(BitCrapsSystems::Verify)
                            .before(BitCrapsSystems::Consensus),
                        stamp_end.after(BitCrapsSystems::Cleanup),
                    ),
                );
            }
        },
    )
    .expect("table");
    // Reach steady play: a few rolls decided.
    assert!(t.run_until(20_000, |t| {
        t.view(0)
            .snapshot::<bevy_bitcraps::bitcraps_game::TableState>()
            .is_some_and(|s| s.roll_number() > 3)
    }));
    t
}

fn take(t: &mut TestTable) -> (Duration, Duration, u64, u64) {
    let mut s = t.apps[0].world_mut().resource_mut::<Stamps>();
    let out = (s.total, s.verify, s.frames, s.checks);
    *s = Stamps::default();
    out
}

fn bench(c: &mut Criterion) {
    let mut t = table();
    let mut group = c.benchmark_group("bevy_plugin_16_players");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("frame_without_signature_checks", |b| {
        b.iter_custom(|iters| {
            take(&mut t);
            for _ in 0..iters {
                t.step();
            }
            let (total, verify, _, _) = take(&mut t);
            total - verify
        })
    });
    for mode in [SignatureChecks::Batched, SignatureChecks::OneByOne] {
        let name = match mode {
            SignatureChecks::Batched => "signature_checks_per_frame",
            SignatureChecks::OneByOne => "signature_checks_per_frame_one_by_one",
        };
        t.apps[0].world_mut().insert_resource(mode);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                take(&mut t);
                for _ in 0..iters {
                    t.step();
                }
                take(&mut t).1
            })
        });
    }
    t.apps[0]
        .world_mut()
        .insert_resource(SignatureChecks::Batched);
    group.bench_function("frame_total", |b| {
        b.iter_custom(|iters| {
            take(&mut t);
            for _ in 0..iters {
                t.step();
            }
            take(&mut t).0
        })
    });
    group.finish();
    // A summary over fixed runs, for BENCHMARKS.md.
    for mode in [SignatureChecks::Batched, SignatureChecks::OneByOne] {
        t.apps[0].world_mut().insert_resource(mode);
        take(&mut t);
        let start_height = t.view(0).height.0;
        for _ in 0..600 {
            t.step();
        }
        let (total, verify, frames, checks) = take(&mut t);
        let heights = t.view(0).height.0 - start_height;
        eprintln!(
            "{mode:?}, 600 frames: {heights} heights, mean per frame: total {:?}, signature checks {:?} ({:.1} checks, {:?} each), rest {:?}",
            total / frames as u32,
            verify / frames as u32,
            checks as f64 / frames as f64,
            verify / (checks.max(1) as u32),
            (total - verify) / frames as u32
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
