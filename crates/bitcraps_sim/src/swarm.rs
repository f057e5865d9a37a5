//! Many seeded runs, spread over the machine's cores, and their one-line summary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::checker::ChurnReport;
use crate::settings::Overrides;
use crate::sim::{run_seed, RunReport};

/// The outcome of a swarm of runs.
#[derive(Clone, Debug, Default)]
pub struct SwarmSummary {
    /// Runs made.
    pub runs: u64,
    /// Runs with at least one safety violation.
    pub violations: u64,
    /// Runs whose liveness check failed.
    pub liveness_failures: u64,
    /// Heights decided, summed over runs (highest honest height of each run).
    pub heights: u64,
    /// Verified evidence items reported by honest nodes, summed.
    pub evidence: u64,
    /// The first seed.
    pub seed: u64,
    /// The failing runs, in seed order.
    pub failures: Vec<RunReport>,
    /// `--craps`: dice rolled, summed over runs.
    pub rolls: u64,
    /// `--craps`: bets placed, summed over runs.
    pub bets: u64,
    /// `--craps`: penalties (all on cheaters, or the run has a violation), summed over runs.
    pub penalties: u64,
    /// `--craps`: join requests decided, summed over runs.
    pub join_requests: u64,
    /// `--craps`: join requests declined (refused, lapsed, table full or closed), summed.
    pub joins_declined: u64,
    /// `--craps`: tables that closed (fewer than four seats left), summed.
    pub closed: u64,
    /// Set changes, summed over runs.
    pub churn: ChurnReport,
    /// Inputs and packets refused by honest and faulty instances alike, summed over runs.
    pub refused: u64,
}

impl SwarmSummary {
    /// The craps line: `craps: rolls=R bets=B penalties=P join_requests=J declined=D closed=C`.
    pub fn craps_line(&self) -> String {
        format!(
            "craps: rolls={} bets={} penalties={} join_requests={} declined={} closed={}",
            self.rolls,
            self.bets,
            self.penalties,
            self.join_requests,
            self.joins_declined,
            self.closed
        )
    }

    /// The churn line: `churn: runs_with_churn=R joins=J leaves=L unseats=U newcomer_heights=N
    /// engine_set_changes=E ghost_votes=G runs_beyond_f=F`.
    pub fn churn_line(&self) -> String {
        let c = &self.churn;
        format!(
            "churn: runs_with_churn={} joins={} leaves={} unseats={} newcomer_heights={} engine_set_changes={} ghost_votes={} runs_beyond_f={}",
            c.runs_with_churn,
            c.joins,
            c.leaves,
            c.unseats,
            c.newcomer_heights,
            c.engine_set_changes,
            c.ghost_votes,
            c.runs_beyond_f
        )
    }

    /// The summary line: `runs=N violations=V liveness_failures=L heights=H seed=S`.
    pub fn line(&self) -> String {
        format!(
            "runs={} violations={} liveness_failures={} heights={} seed={}",
            self.runs, self.violations, self.liveness_failures, self.heights, self.seed
        )
    }
}

/// Runs seeds `seed .. seed + runs` on `threads` threads (deterministic per seed whatever the
/// thread count). With `stop_on_violation`, stops handing out seeds after the first violation.
pub fn run_swarm(
    seed: u64,
    runs: u64,
    overrides: &Overrides,
    threads: usize,
    stop_on_violation: bool,
) -> SwarmSummary {
    let next = AtomicU64::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= runs {
                    break;
                }
                let report = run_seed(seed.wrapping_add(i), overrides);
                if stop_on_violation && !report.violations.is_empty() {
                    stop.store(true, Ordering::Relaxed);
                }
                if let Ok(mut all) = reports.lock() {
                    all.push(report);
                }
            });
        }
    });
    let mut reports = reports.into_inner().unwrap_or_default();
    reports.sort_by_key(|r| r.seed);
    let mut summary = SwarmSummary {
        seed,
        ..SwarmSummary::default()
    };
    for report in reports {
        summary.runs += 1;
        summary.heights += report.heights;
        summary.evidence += report.evidence;
        summary.refused += report.refused;
        summary.churn.add(&report.churn);
        if let Some(game) = &report.game {
            summary.rolls += game.rolls;
            summary.bets += game.bets_placed;
            summary.penalties += game.penalties.len() as u64;
            summary.join_requests += game.join_requests;
            summary.joins_declined += game.joins_declined;
            summary.closed += u64::from(game.closed_at.is_some());
        }
        let violated = !report.violations.is_empty();
        let stalled = report.liveness_failure.is_some();
        summary.violations += u64::from(violated);
        summary.liveness_failures += u64::from(stalled);
        if violated || stalled {
            summary.failures.push(report);
        }
    }
    summary
}

/// The command that replays one seed alone with the same overrides.
pub fn replay_command(seed: u64, overrides: &Overrides) -> String {
    let mut cmd = format!("cargo run --release -p bitcraps_sim -- --runs 1 --seed {seed}");
    if let Some(n) = overrides.nodes {
        cmd.push_str(&format!(" --nodes {n}"));
    }
    if let Some(kind) = overrides.byzantine {
        cmd.push_str(&format!(" --byzantine {kind}"));
    }
    if overrides.twins > 0 {
        cmd.push_str(&format!(" --twins {}", overrides.twins));
    }
    if overrides.disable_lock {
        cmd.push_str(" --disable-lock");
    }
    if let Some(s) = overrides.spares {
        cmd.push_str(&format!(" --spares {s}"));
    }
    if let Some(c) = overrides.churn {
        cmd.push_str(&format!(" --churn {c}"));
    }
    if overrides.wrong_height_set {
        cmd.push_str(" --wrong-height-set");
    }
    if overrides.craps {
        cmd.push_str(" --craps");
        if let Some(w) = overrides.withholders {
            cmd.push_str(&format!(" --withholders {w}"));
        }
    }
    cmd
}
