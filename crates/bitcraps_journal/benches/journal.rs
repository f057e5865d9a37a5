//! Journal benchmarks: the cost of journaling one decided height and one signing guard (each a
//! durable, fsync'd two-phase redb commit), and the time to recover (and to verify) a journal
//! of 100,000 decided heights.
//!
//! `cargo bench -p bitcraps_journal --bench journal`
//!
//! The workload is a 4-player demo table (`bitcraps_journal::demo`): every roll, each player
//! puts 10 on the field, the shooter closes betting and all four commit (one height), all four
//! reveal and the roll is paid (the next height), then `IDLE` empty heights follow, as when
//! players take their time: 13 signed operations per 2 + `IDLE` heights. Certificates carry
//! 3 precommits (2f + 1 of 4).
//!
//! Environment: `BITCRAPS_JOURNAL_BENCH_HEIGHTS` (default 100000) heights to recover;
//! `BITCRAPS_JOURNAL_BENCH_IDLE` (default 8) empty heights after each roll;
//! `BITCRAPS_JOURNAL_BENCH_VERIFY=1` also times `verify_journal` on the big journal. The big
//! journal is built once and kept in the system's temporary folder between runs.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitcraps_consensus::{
    Height, Keypair, PersistentState, Round, SigningGuard, TableId, ValueId, Vote, VoteKind,
};
use bitcraps_journal::demo::{DemoHeight, DemoTable};
use bitcraps_journal::{verify_journal, DecisionDurability, Journal, ReplayCheck};
use criterion::{criterion_group, Criterion};

/// Heights journaled per sample pool in the write benchmark.
const POOL: usize = 2_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Plays the workload until at least `count` heights are decided; hands them to `sink` in
/// batches.
fn play(table: &mut DemoTable, count: u64, idle: u64, mut sink: impl FnMut(Vec<DemoHeight>)) {
    let mut made = 0;
    while made < count {
        let mut batch = table.play_roll(true).expect("roll");
        for _ in 0..idle {
            batch.push(table.decide(Vec::new()).expect("idle height"));
        }
        made += batch.len() as u64;
        sink(batch);
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bitcraps-journal-bench-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn bench_writes(c: &mut Criterion) {
    let idle = env("BITCRAPS_JOURNAL_BENCH_IDLE", 8);
    let mut table = DemoTable::new(4).expect("table");
    let mut pool = Vec::new();
    play(&mut table, POOL as u64, idle, |b| pool.extend(b));
    let config = table.config().clone();
    let dir = temp_dir("writes");

    let mut group = c.benchmark_group("journal");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let mut run = 0;
    group.bench_function("record_decision", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                run += 1;
                let path = dir.join(format!("decisions-{run}.redb"));
                let mut journal = Journal::open(&path, &config).expect("open");
                for height in pool.iter().take((iters - done) as usize) {
                    let start = Instant::now();
                    journal.record_decision(&height.decided()).expect("record");
                    total += start.elapsed();
                    done += 1;
                }
                drop(journal);
                let _ = std::fs::remove_file(&path);
            }
            total
        })
    });

    group.bench_function("record_decision (DecisionDurability::WithNextGuard)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                run += 1;
                let path = dir.join(format!("deferred-{run}.redb"));
                let mut journal = Journal::open(&path, &config).expect("open");
                journal.set_decision_durability(DecisionDurability::WithNextGuard);
                for height in pool.iter().take((iters - done) as usize) {
                    let start = Instant::now();
                    journal.record_decision(&height.decided()).expect("record");
                    total += start.elapsed();
                    done += 1;
                }
                drop(journal);
                let _ = std::fs::remove_file(&path);
            }
            total
        })
    });

    let key = table.keys()[0].clone();
    let guards = guard_states(&key, config.table_id, POOL);
    group.bench_function("record_guard", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                run += 1;
                let path = dir.join(format!("guards-{run}.redb"));
                let mut journal = Journal::open(&path, &config).expect("open");
                for state in guards.iter().take((iters - done) as usize) {
                    let start = Instant::now();
                    journal.record_guard(state).expect("guard");
                    total += start.elapsed();
                    done += 1;
                }
                drop(journal);
                let _ = std::fs::remove_file(&path);
            }
            total
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Persistent states of a node that prevotes and precommits at heights 1, 2, ...
fn guard_states(key: &Keypair, table: TableId, count: usize) -> Vec<PersistentState> {
    let mut guard = SigningGuard::default();
    (1..=count as u64)
        .map(|h| {
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                let vote = Vote {
                    table,
                    height: Height(h),
                    round: Round(0),
                    kind,
                    value: Some(ValueId([h as u8; 32])),
                    signer: key.peer_id(),
                };
                guard.sign_vote(key, vote);
            }
            PersistentState {
                height: Height(h),
                round: Round(0),
                locked: None,
                valid: None,
                guard: guard.clone(),
            }
        })
        .collect()
}

/// The big journal, built once (in batches of about 1,000 heights per commit) and reused.
fn big_journal(heights: u64, idle: u64) -> (PathBuf, DemoTable) {
    let path = std::env::temp_dir().join(format!(
        "bitcraps-journal-bench-v1-{heights}-idle{idle}.redb"
    ));
    let mut table = DemoTable::new(4).expect("table");
    if let Ok(journal) = Journal::open(&path, table.config()) {
        if journal.height() >= heights {
            return (path, table);
        }
    }
    let _ = std::fs::remove_file(&path);
    let start = Instant::now();
    let mut journal = Journal::open(&path, table.config()).expect("create");
    let mut pending: Vec<DemoHeight> = Vec::new();
    play(&mut table, heights, idle, |batch| {
        pending.extend(batch);
        if pending.len() >= 1_000 {
            let decided: Vec<_> = pending.iter().map(DemoHeight::decided).collect();
            journal.record_decisions(&decided).expect("record");
            pending.clear();
        }
    });
    let decided: Vec<_> = pending.iter().map(DemoHeight::decided).collect();
    journal.record_decisions(&decided).expect("record");
    println!(
        "built a journal of {} heights in {:.1} s ({} bytes)",
        journal.height(),
        start.elapsed().as_secs_f64(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    (path, table)
}

fn time<T>(what: &str, heights: u64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what}: {secs:.2} s ({:.1} µs per height)",
        secs * 1e6 / heights.max(1) as f64
    );
    out
}

fn recovery(path: &Path, heights: u64) {
    for (check, runs) in [(ReplayCheck::OwnJournal, 2), (ReplayCheck::Full, 1)] {
        for run in 1..=runs {
            let recovered = time(
                &format!("recovery ({check:?}) run {run}: open + load_with"),
                heights,
                || {
                    let journal = Journal::open_existing(path).expect("open");
                    journal
                        .load_with(std::sync::Arc::new(bitcraps_game::Registry::new()), check)
                        .expect("recovers")
                },
            );
            assert!(recovered.height >= heights);
        }
    }
}

criterion_group!(writes, bench_writes);

fn main() {
    writes();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let heights = env("BITCRAPS_JOURNAL_BENCH_HEIGHTS", 100_000);
    let idle = env("BITCRAPS_JOURNAL_BENCH_IDLE", 8);
    let (path, table) = big_journal(heights, idle);
    let recorded = Journal::open_existing(&path).expect("open").height();
    println!(
        "recovering {recorded} heights (a roll every {} heights)",
        2 + idle
    );
    time("open only", recorded, || {
        Journal::open_existing(&path).expect("open")
    });
    recovery(&path, recorded);
    if env("BITCRAPS_JOURNAL_BENCH_VERIFY", 0) == 1 {
        let report = time("verify_journal", recorded, || {
            verify_journal(&path, table.config()).expect("verifies")
        });
        assert!(report.is_ok(), "{report}");
    }
}
