//! `bitcraps-sim`: seeded swarm runs of the consensus under faults, one summary line at the end.

use std::process::ExitCode;

use bitcraps_sim::{replay_command, run_swarm, ByzantineKind, Overrides};
use clap::Parser;

/// Deterministic Byzantine simulator of BitCraps consensus.
#[derive(Parser, Debug)]
#[command(name = "bitcraps-sim", version, about)]
struct Cli {
    /// Number of seeded runs.
    #[arg(long, default_value_t = 100)]
    runs: u64,
    /// First seed (run i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fix the table size (otherwise drawn from 4, 7, 10, 16).
    #[arg(long)]
    nodes: Option<usize>,
    /// Make f Byzantine nodes, all of this kind: equivocate, double-vote, silent, forge,
    /// replay, garbage, lock-break.
    #[arg(long)]
    byzantine: Option<ByzantineKind>,
    /// Twin this many keys (two honest-code instances each). More than f breaks the fault
    /// assumption on purpose: pair it with --expect-violation.
    #[arg(long, default_value_t = 0)]
    twins: usize,
    /// Negative control: honest nodes ignore their lock. Pair with --expect-violation.
    #[arg(long)]
    disable_lock: bool,
    /// Play real craps: bots bet, commit and reveal through signed operations, and honest nodes
    /// must agree on the table's state hash; cheaters must be punished on their seats only.
    #[arg(long)]
    craps: bool,
    /// With --craps: honest players who never reveal (default: 0 or 1, drawn per seed).
    #[arg(long)]
    withholders: Option<usize>,
    /// Spare keys, not seated at genesis, that the churn may seat (default: 0-3, drawn per
    /// seed; with --craps: 0, or 2 with --wrong-height-set). At the craps table they ask to
    /// join and the seated players admit or refuse them.
    #[arg(long)]
    spares: Option<usize>,
    /// Churn rate: probability that a decided height changes the validator set two heights on
    /// (a join, a leave or an unseat; default: 0, 0.05, 0.15 or 0.3, drawn per seed). With
    /// --craps: how often keys without a seat ask to join and players leave (default 0, or
    /// 0.3 with --wrong-height-set); the set follows the decided game.
    #[arg(long)]
    churn: Option<f64>,
    /// Negative control: one honest node's host applies set changes one height early (the
    /// wrong height's set). Pair with --expect-violation.
    #[arg(long)]
    wrong_height_set: bool,
    /// Succeed only if a safety violation is found (for negative controls).
    #[arg(long)]
    expect_violation: bool,
    /// Worker threads (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.nodes {
        if n < 4 {
            eprintln!("error: --nodes {n}: a table needs at least 4 participants");
            return ExitCode::from(2);
        }
    }
    if let Some(rate) = cli.churn {
        if !(0.0..=1.0).contains(&rate) {
            eprintln!("error: --churn {rate}: a probability, between 0 and 1");
            return ExitCode::from(2);
        }
    }
    let overrides = Overrides {
        spares: cli.spares,
        churn: cli.churn,
        wrong_height_set: cli.wrong_height_set,
        nodes: cli.nodes,
        byzantine: cli.byzantine,
        twins: cli.twins,
        disable_lock: cli.disable_lock,
        craps: cli.craps,
        withholders: cli.withholders,
    };
    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let summary = run_swarm(
        cli.seed,
        cli.runs,
        &overrides,
        threads,
        cli.expect_violation,
    );
    for failure in &summary.failures {
        let kind = if failure.violations.is_empty() {
            "LIVENESS"
        } else {
            "VIOLATION"
        };
        println!("{kind} seed={} ({})", failure.seed, failure.settings);
        for v in &failure.violations {
            println!("  {v}");
        }
        if let Some(l) = &failure.liveness_failure {
            println!("  {l}");
        }
        println!("  replay: {}", replay_command(failure.seed, &overrides));
    }
    println!("{}", summary.churn_line());
    if cli.craps {
        println!("{}", summary.craps_line());
    }
    println!("{}", summary.line());
    let ok = if cli.expect_violation {
        summary.violations > 0
    } else {
        summary.violations == 0 && summary.liveness_failures == 0
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
