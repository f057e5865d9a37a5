//! The simulator's safety and liveness checks over thousands of seeds, and the negative
//! controls that show the checkers catch planted bugs.

use bitcraps_sim::{run_seed, run_swarm, ByzantineKind, Overrides};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn assert_clean(summary: &bitcraps_sim::SwarmSummary) {
    for failure in &summary.failures {
        eprintln!(
            "seed {} ({}): {:?} {:?}",
            failure.seed, failure.settings, failure.violations, failure.liveness_failure
        );
    }
    assert_eq!(summary.violations, 0, "{}", summary.line());
    assert_eq!(summary.liveness_failures, 0, "{}", summary.line());
}

/// 2,000 seeded runs, 500 per table size, each drawing its own faults and Byzantine nodes.
#[test]
fn swarm_of_2000_runs_is_safe_and_live() {
    let mut runs = 0;
    let mut heights = 0;
    let mut churned = 0;
    for (i, nodes) in [4usize, 7, 10, 16].into_iter().enumerate() {
        let overrides = Overrides {
            nodes: Some(nodes),
            ..Overrides::default()
        };
        let summary = run_swarm(10_000 * (i as u64 + 1), 500, &overrides, threads(), false);
        assert_clean(&summary);
        assert_eq!(summary.runs, 500);
        runs += summary.runs;
        heights += summary.heights;
        churned += summary.churn.runs_with_churn;
    }
    // The swarm's seeds draw validator-set churn too.
    assert!(churned > 200, "only {churned} runs changed their set");
    assert_eq!(runs, 2_000);
    // Every run decides several heights: the swarm is not vacuous.
    assert!(heights > 2_000 * 3, "only {heights} heights decided");
}

/// Every Byzantine kind on its own, f of them, on small and large tables.
#[test]
fn each_byzantine_kind_is_tolerated() {
    for kind in ByzantineKind::ALL {
        for nodes in [4usize, 10] {
            let overrides = Overrides {
                nodes: Some(nodes),
                byzantine: Some(kind),
                ..Overrides::default()
            };
            let summary = run_swarm(77, 40, &overrides, threads(), false);
            assert_clean(&summary);
            if kind.can_be_accused() {
                assert!(
                    summary.evidence > 0,
                    "{kind} with n={nodes} produced no evidence in 40 runs"
                );
            }
        }
    }
}

/// Twins within the fault budget (one twinned key when f ≥ 1) break nothing.
#[test]
fn twins_up_to_f_are_tolerated() {
    for nodes in [4usize, 7] {
        let overrides = Overrides {
            nodes: Some(nodes),
            twins: 1,
            ..Overrides::default()
        };
        let summary = run_swarm(500, 200, &overrides, threads(), false);
        assert_eq!(summary.violations, 0, "{}", summary.line());
    }
}

/// Negative control: two twinned keys on four nodes exceed f = 1, and the checker must find the
/// resulting split within a bounded number of seeds.
#[test]
fn negative_control_more_than_f_twins_split_the_table() {
    let overrides = Overrides {
        nodes: Some(4),
        twins: 2,
        ..Overrides::default()
    };
    let summary = run_swarm(1, 300, &overrides, threads(), true);
    assert!(
        summary.violations > 0,
        "no agreement violation found with f+1 twins: {}",
        summary.line()
    );
    let found = &summary.failures[0];
    assert!(
        found.violations.iter().any(|v| v.starts_with("agreement")),
        "{:?}",
        found.violations
    );
}

/// Negative control: with the lock rule disabled the same adversary that is harmless above
/// (a double voter with message loss) makes honest nodes decide different values.
#[test]
fn negative_control_disabled_lock_breaks_agreement() {
    let base = Overrides {
        nodes: Some(4),
        byzantine: Some(ByzantineKind::DoubleVoter),
        ..Overrides::default()
    };
    let with_lock = run_swarm(1, 300, &base, threads(), false);
    assert_eq!(with_lock.violations, 0, "{}", with_lock.line());
    let without_lock = Overrides {
        disable_lock: true,
        ..base
    };
    let summary = run_swarm(1, 1_000, &without_lock, threads(), true);
    assert!(
        summary.violations > 0,
        "no violation found with the lock disabled: {}",
        summary.line()
    );
}

/// The same seed replays the same run exactly.
#[test]
fn runs_are_deterministic_by_seed() {
    let overrides = Overrides::default();
    for seed in [3, 42, 4242] {
        let a = run_seed(seed, &overrides);
        let b = run_seed(seed, &overrides);
        assert_eq!(a.settings, b.settings);
        assert_eq!(a.events, b.events);
        assert_eq!(a.heights, b.heights);
        assert_eq!(a.sim_ms, b.sim_ms);
        assert_eq!(a.violations, b.violations);
    }
}
