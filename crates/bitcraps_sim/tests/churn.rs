//! Validator-set churn in the simulator (issue 12): joins, leaves and unseats change the set
//! between heights as a function of the decided chain, every certificate is checked against the
//! set of its own height, newcomers take part, and a host that uses the wrong height's set is
//! caught.

use bitcraps_sim::{run_seed, run_swarm, Overrides, SwarmSummary};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn assert_clean(summary: &SwarmSummary) {
    for failure in &summary.failures {
        eprintln!(
            "seed {} ({}): {:?} {:?}",
            failure.seed, failure.settings, failure.violations, failure.liveness_failure
        );
    }
    assert_eq!(summary.violations, 0, "{}", summary.line());
    assert_eq!(summary.liveness_failures, 0, "{}", summary.line());
}

fn churning(nodes: usize) -> Overrides {
    Overrides {
        nodes: Some(nodes),
        spares: Some(2),
        churn: Some(0.3),
        ..Overrides::default()
    }
}

/// Heavy churn on small and larger tables, with the swarm's faults and Byzantine nodes: safe,
/// live, and the set really changes (every kind of change happens, and newcomers' precommits
/// certify decisions).
#[test]
fn heavy_churn_is_safe_and_live_and_really_changes_the_set() {
    for (i, nodes) in [4usize, 7, 10].into_iter().enumerate() {
        let summary = run_swarm(
            90_000 + 1_000 * i as u64,
            150,
            &churning(nodes),
            threads(),
            false,
        );
        assert_clean(&summary);
        let c = summary.churn;
        assert!(
            c.runs_with_churn * 2 >= summary.runs,
            "n={nodes}: {}",
            summary.churn_line()
        );
        assert!(
            c.joins > 0 && c.leaves > 0 && c.unseats > 0,
            "n={nodes}: {}",
            summary.churn_line()
        );
        assert!(
            c.newcomer_heights > 0,
            "n={nodes}: {}",
            summary.churn_line()
        );
    }
}

/// The default swarm (what CI runs 10,000 times) draws churn in some of its seeds, and stays
/// clean.
#[test]
fn the_default_swarm_draws_churn() {
    let summary = run_swarm(7, 300, &Overrides::default(), threads(), false);
    assert_clean(&summary);
    let c = summary.churn;
    assert!(c.runs_with_churn >= 30, "{}", summary.churn_line());
    assert!(c.runs_with_churn < 300, "{}", summary.churn_line());
    assert!(c.joins + c.leaves + c.unseats >= c.runs_with_churn);
    assert!(c.newcomer_heights > 0, "{}", summary.churn_line());
}

/// A failing seed's line shows its churn, and a churning seed replays exactly.
#[test]
fn churn_is_described_and_replays_by_seed() {
    let overrides = churning(4);
    for seed in [11, 12, 13] {
        let a = run_seed(seed, &overrides);
        let b = run_seed(seed, &overrides);
        assert!(a.settings.contains("spares=2 churn=0.3"), "{}", a.settings);
        assert_eq!(a.settings, b.settings);
        assert_eq!(a.events, b.events);
        assert_eq!(a.heights, b.heights);
        assert_eq!(a.churn, b.churn);
        assert_eq!(a.refused, b.refused);
    }
}

/// Negative control: one honest node's host declares each height the set of the next one (set
/// changes one height early). With the same churn and no bug the table is clean; with the bug
/// the checker finds a decision whose certificate does not hold against the set of its own
/// height.
#[test]
fn negative_control_wrong_height_set_is_caught() {
    let clean = Overrides {
        nodes: Some(4),
        spares: Some(2),
        churn: Some(0.5),
        ..Overrides::default()
    };
    let without_bug = run_swarm(1, 200, &clean, threads(), false);
    assert_clean(&without_bug);
    let buggy = Overrides {
        wrong_height_set: true,
        ..clean
    };
    let summary = run_swarm(1, 300, &buggy, threads(), true);
    assert!(
        summary.violations > 0,
        "no violation with a wrong-height set: {}",
        summary.line()
    );
    let found = summary
        .failures
        .iter()
        .find(|f| !f.violations.is_empty())
        .map(|f| (f.settings.clone(), f.violations.clone()));
    let Some((settings, violations)) = found else {
        panic!("a violation without its report");
    };
    assert!(settings.contains("wrong-height-set=#"), "{settings}");
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("certificate:") && v.contains("fails")),
        "{violations:?}"
    );
}
