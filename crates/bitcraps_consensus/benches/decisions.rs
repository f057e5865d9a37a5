//! Decisions per second of n engines in one process, against the bound set by ed25519.
//!
//! n = 4, 7, 10 and 16 engines run height after height with no network delay: a loop delivers
//! every broadcast to every other engine, and each engine checks every message it receives
//! with [`Engine::verify`] (every node checks every signature; nothing is shared or cached).
//! With no faults every height is decided in round 0, so timeouts never fire.
//!
//! Besides criterion's own figures the run prints, for each n, a table computed from
//! interleaved measurements of the same process:
//!
//! - `verify_strict/s`: strict ed25519 verifications per second ([`SignedVote::verify`]);
//! - `sigs/decision`: signatures all n nodes together checked per decided height, counted
//!   during the run (a vote or proposal is one, a decision its certificate's precommits);
//! - `bound`: `verify_strict/s ÷ sigs/decision`, the decisions per second if verifying were
//!   the only cost;
//! - `ratio`: achieved decisions per second ÷ bound (the target is ≥ 0.7).
//!
//! Run with `cargo bench -p bitcraps_consensus --bench decisions`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcraps_consensus::*;
use criterion::{BenchmarkId, Criterion, Throughput};

/// Sizes of the tables measured.
const SIZES: [usize; 4] = [4, 7, 10, 16];
/// Bytes of each decided value (a batch of game operations).
const VALUE_BYTES: usize = 256;

fn accept_all(_: Height, _: &Value) -> bool {
    true
}

/// Signatures a node checks to verify `message`.
fn signatures_in(message: &WireMessage) -> u64 {
    match message {
        WireMessage::Proposal(_) | WireMessage::Vote(_) | WireMessage::Status(_) => 1,
        WireMessage::Decision(d) => d.certificate.precommits.len() as u64,
    }
}

/// n engines in one process.
struct Cluster {
    engines: Vec<Engine>,
    height: Height,
    /// Signatures checked so far, summed over all nodes.
    signatures: u64,
    /// Heights decided by every node.
    decided_heights: u64,
    /// Catch-up replies addressed to one peer; the loop only delivers broadcasts.
    send_to_dropped: u64,
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_seed([i as u8 + 1; 32]))
            .collect();
        let seats = Arc::new(ParticipantSet::new(keys.iter().map(Keypair::peer_id)).unwrap());
        let config = EngineConfig::new(TableId::from_name("bench"));
        let engines = keys
            .into_iter()
            .map(|k| Engine::new(config.clone(), k, seats.clone()))
            .collect();
        Cluster {
            engines,
            height: Height(1),
            signatures: 0,
            decided_heights: 0,
            send_to_dropped: 0,
        }
    }

    /// Runs the next height until every node has decided it and the network is quiet.
    fn run_height(&mut self) {
        let n = self.engines.len();
        let height = self.height;
        let mut queue: VecDeque<(usize, Output)> = VecDeque::new();
        for (i, engine) in self.engines.iter_mut().enumerate() {
            let outputs = engine
                .handle(Input::StartHeight(height), &accept_all)
                .unwrap();
            queue.extend(outputs.into_iter().map(|o| (i, o)));
        }
        let mut decided = 0;
        while let Some((from, output)) = queue.pop_front() {
            match output {
                Output::Broadcast(message) => {
                    let signatures = signatures_in(&message);
                    for (to, engine) in self.engines.iter_mut().enumerate() {
                        if to == from {
                            continue;
                        }
                        self.signatures += signatures;
                        let verified = engine.verify(message.clone()).unwrap();
                        let outputs = engine
                            .handle(Input::Message(verified), &accept_all)
                            .unwrap();
                        queue.extend(outputs.into_iter().map(|o| (to, o)));
                    }
                }
                Output::RequestValue { height, round } => {
                    let mut bytes = vec![0u8; VALUE_BYTES];
                    bytes[..8].copy_from_slice(&height.0.to_be_bytes());
                    let value = Value::new(bytes);
                    let outputs = self.engines[from]
                        .handle(
                            Input::ValueReady {
                                height,
                                round,
                                value,
                            },
                            &accept_all,
                        )
                        .unwrap();
                    queue.extend(outputs.into_iter().map(|o| (from, o)));
                }
                Output::Decided { round, .. } => {
                    assert_eq!(round, Round(0), "no faults: round 0 decides");
                    decided += 1;
                }
                Output::SendTo { .. } => self.send_to_dropped += 1,
                _ => {}
            }
        }
        assert_eq!(decided, n, "every node decides height {height}");
        self.decided_heights += 1;
        self.height = height.next();
    }
}

/// A signed vote and what verifying it needs.
struct VerifyFixture {
    vote: SignedVote,
    table: TableId,
    seats: ParticipantSet,
}

impl VerifyFixture {
    fn new() -> VerifyFixture {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::from_seed([i + 1; 32])).collect();
        let seats = ParticipantSet::new(keys.iter().map(Keypair::peer_id)).unwrap();
        let table = TableId::from_name("bench");
        let vote = Vote {
            table,
            height: Height(7),
            round: Round(0),
            kind: VoteKind::Precommit,
            value: Some(Value::new(vec![1u8; VALUE_BYTES]).id()),
            signer: keys[1].peer_id(),
        }
        .sign(&keys[1]);
        VerifyFixture { vote, table, seats }
    }

    fn verify(&self) {
        let verified = black_box(self.vote.clone()).verify(&self.table, &self.seats);
        assert!(black_box(verified).is_ok());
    }
}

fn criterion_benches(c: &mut Criterion) {
    let fixture = VerifyFixture::new();
    let mut group = c.benchmark_group("ed25519");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_strict (SignedVote::verify)", |b| {
        b.iter(|| fixture.verify())
    });
    // Signing is the other cryptographic cost of a height: each node signs its two votes (and
    // the proposer its proposal), which the verification bound leaves out.
    let key = Keypair::from_seed([9; 32]);
    let unsigned = fixture.vote.vote.clone();
    group.bench_function("sign (Vote::sign)", |b| {
        b.iter(|| black_box(black_box(unsigned.clone()).sign(&key)))
    });
    group.finish();

    let mut group = c.benchmark_group("decisions");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut cluster = Cluster::new(n);
        group.bench_with_input(BenchmarkId::new("one height, n engines", n), &n, |b, _| {
            b.iter(|| cluster.run_height())
        });
    }
    group.finish();
}

/// Interleaved measurements of verification and decision rates for one n.
struct Figures {
    n: usize,
    /// Verifications per second, over all slices.
    verify_per_s: f64,
    /// Decided heights per second, over all slices.
    decisions_per_s: f64,
    /// Signatures checked per decided height, summed over the n nodes (counted).
    signatures_per_decision: f64,
    /// Catch-up replies per decided height (not delivered by the loop).
    send_to_per_decision: f64,
    /// achieved ÷ bound of each (verify slice, decision slice) pair, sorted.
    pair_ratios: Vec<f64>,
}

impl Figures {
    fn bound(&self) -> f64 {
        self.verify_per_s / self.signatures_per_decision
    }

    /// achieved ÷ bound over all slices.
    fn ratio(&self) -> f64 {
        self.decisions_per_s / self.bound()
    }

    /// A quantile of the per-pair ratios (robust to bursts of load from other processes).
    fn pair_ratio(&self, q: f64) -> f64 {
        let i = ((self.pair_ratios.len() - 1) as f64 * q).round() as usize;
        self.pair_ratios[i]
    }
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (Linux; nanoseconds).
/// Time the thread spends preempted by other processes is not counted, so the two rates stay
/// comparable on a shared machine.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// A stopwatch on thread CPU time where available, else on wall time.
struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }
}

fn measure(n: usize, slices: u32, slice: Duration) -> Figures {
    let fixture = VerifyFixture::new();
    let mut cluster = Cluster::new(n);
    // Warm up both.
    for _ in 0..3 {
        cluster.run_height();
    }
    for _ in 0..1000 {
        fixture.verify();
    }
    let (start_heights, start_signatures, start_dropped) = (
        cluster.decided_heights,
        cluster.signatures,
        cluster.send_to_dropped,
    );
    let (mut verify_count, mut verify_time) = (0u64, Duration::ZERO);
    let (mut heights, mut height_time) = (0u64, Duration::ZERO);
    let mut pairs = Vec::new();
    // Alternate short slices so that both rates see the same machine state.
    for _ in 0..slices {
        let watch = Stopwatch::start();
        let mut count = 0u64;
        while watch.wall.elapsed() < slice {
            for _ in 0..64 {
                fixture.verify();
            }
            count += 64;
        }
        let time = watch.elapsed();
        verify_count += count;
        verify_time += time;
        let verify_rate = count as f64 / time.as_secs_f64();

        let watch = Stopwatch::start();
        let (mut decided, signatures) = (0u64, cluster.signatures);
        while watch.wall.elapsed() < 2 * slice {
            cluster.run_height();
            decided += 1;
        }
        let time = watch.elapsed();
        heights += decided;
        height_time += time;
        let per_decision = (cluster.signatures - signatures) as f64 / decided as f64;
        let decision_rate = decided as f64 / time.as_secs_f64();
        pairs.push(decision_rate * per_decision / verify_rate);
    }
    pairs.sort_by(f64::total_cmp);
    let decided = (cluster.decided_heights - start_heights) as f64;
    Figures {
        n,
        verify_per_s: verify_count as f64 / verify_time.as_secs_f64(),
        decisions_per_s: heights as f64 / height_time.as_secs_f64(),
        signatures_per_decision: (cluster.signatures - start_signatures) as f64 / decided,
        send_to_per_decision: (cluster.send_to_dropped - start_dropped) as f64 / decided,
        pair_ratios: pairs,
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();

    // `cargo test --benches` runs this binary without `--bench`: criterion then only checks that
    // each benchmark runs once; skip the table too, and when profiling (`--profile-time`).
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--profile-time") {
        return;
    }
    let (slices, slice) = (24, Duration::from_millis(100));
    let clock = if thread_cpu_time().is_some() {
        "thread CPU time"
    } else {
        "wall time"
    };
    println!();
    println!("Consensus decisions per second against the ed25519 verification bound");
    println!(
        "({slices} interleaved pairs of ({} ms verifying, {} ms deciding) per n, timed on {clock};",
        slice.as_millis(),
        2 * slice.as_millis()
    );
    println!(
        " ratio = achieved/bound over all pairs; median and quartiles of the per-pair ratios)"
    );
    println!(
        "{:>3} {:>12} {:>16} {:>14} {:>10} {:>7} {:>7} {:>15} {:>16}",
        "n",
        "decisions/s",
        "verify_strict/s",
        "sigs/decision",
        "bound/s",
        "ratio",
        "median",
        "quartiles",
        "sendto/decision"
    );
    for n in SIZES {
        let f = measure(n, slices, slice);
        println!(
            "{:>3} {:>12.1} {:>16.0} {:>14.1} {:>10.1} {:>7.3} {:>7.3} {:>15} {:>16.1}",
            f.n,
            f.decisions_per_s,
            f.verify_per_s,
            f.signatures_per_decision,
            f.bound(),
            f.ratio(),
            f.pair_ratio(0.5),
            format!("{:.3}–{:.3}", f.pair_ratio(0.25), f.pair_ratio(0.75)),
            f.send_to_per_decision
        );
    }
}
