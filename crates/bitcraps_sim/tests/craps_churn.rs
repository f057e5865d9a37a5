//! Churn at the craps table (issue 12): spare keys ask to join, seated players admit or refuse
//! them, players leave and are unseated, and every engine takes its validator set of each
//! height from its own decided game state. These tests fail if churn does not happen (no
//! joins, admissions, refusals, leaves, newcomer votes or changes of the engines' sets), if it
//! is unsafe or not live, or if the checker misses a host that uses the wrong height's set.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bitcraps_sim::{run_seed, run_swarm, Overrides, SwarmSummary};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn churning(nodes: usize) -> Overrides {
    Overrides {
        nodes: Some(nodes),
        craps: true,
        spares: Some(2),
        churn: Some(0.3),
        ..Overrides::default()
    }
}

fn assert_clean(summary: &SwarmSummary) {
    for f in &summary.failures {
        eprintln!(
            "seed {} ({}): {:?} {:?}",
            f.seed, f.settings, f.violations, f.liveness_failure
        );
    }
    assert_eq!(summary.violations, 0, "{}", summary.line());
    assert_eq!(summary.liveness_failures, 0, "{}", summary.line());
}

/// Seeded swarms of churning craps tables (with the swarm's faults and Byzantine players):
/// safe and live, and the membership really moves — requests, admissions, refusals, leaves,
/// newcomers' precommits in certificates, engines whose sets change, departed players whose
/// lingering votes are all refused.
#[test]
fn craps_tables_churn_safely() {
    for (i, nodes) in [4usize, 7].into_iter().enumerate() {
        let summary = run_swarm(
            60_000 + 1_000 * i as u64,
            12,
            &churning(nodes),
            threads(),
            false,
        );
        assert_clean(&summary);
        let c = summary.churn;
        let line = format!(
            "n={nodes}: {} {}",
            summary.churn_line(),
            summary.craps_line()
        );
        assert!(summary.join_requests > 0, "{line}");
        assert!(c.joins > 0 && c.leaves > 0, "{line}");
        assert!(c.runs_with_churn >= 10, "{line}");
        assert!(c.newcomer_heights > 0, "{line}");
        assert!(c.engine_set_changes >= c.joins, "{line}");
        assert!(c.ghost_votes > 0, "{line}");
        assert!(c.runs_beyond_f <= 2, "{line}");
        assert!(summary.rolls > 12, "{line}");
    }
}

/// One seeded table: its report shows the game's moves and the sets they made, the same twice.
#[test]
fn a_churning_craps_run_replays_and_reports_its_membership() {
    let overrides = churning(5);
    let a = run_seed(77, &overrides);
    let b = run_seed(77, &overrides);
    assert!(
        a.violations.is_empty() && a.liveness_failure.is_none(),
        "{a:?}"
    );
    assert!(a.settings.contains("spares=2 churn=0.3"), "{}", a.settings);
    let (ga, gb) = (a.game.as_ref().unwrap(), b.game.as_ref().unwrap());
    assert_eq!(ga.state_hash, gb.state_hash);
    assert_eq!(a.churn, b.churn);
    assert!(ga.join_requests > 0 && ga.answers > 0, "{ga:?}");
    assert!(ga.joins > 0, "{ga:?}");
    // Every seat change the game made is a change of the set two heights on.
    assert_eq!(a.churn.joins, ga.joins, "{:?} {ga:?}", a.churn);
    assert_eq!(a.churn.leaves + a.churn.unseats, ga.leaves + ga.unseats);
    assert!(a.churn.engine_set_changes > 0, "{:?}", a.churn);
}

/// Negative control in craps mode: one honest node's host declares each height the set of the
/// next one. With the same churn and no bug the tables are clean; with the bug the checker
/// reports the engine that used the wrong height's set.
#[test]
fn negative_control_wrong_height_set_is_caught_at_the_craps_table() {
    let clean = Overrides {
        nodes: Some(4),
        craps: true,
        spares: Some(2),
        churn: Some(0.3),
        ..Overrides::default()
    };
    assert_clean(&run_swarm(1, 8, &clean, threads(), false));
    let buggy = Overrides {
        wrong_height_set: true,
        ..clean
    };
    let summary = run_swarm(1, 60, &buggy, threads(), true);
    assert!(summary.violations > 0, "not caught: {}", summary.line());
    let failure = summary
        .failures
        .iter()
        .find(|f| !f.violations.is_empty())
        .expect("a violation has its report");
    assert!(
        failure.settings.contains("wrong-height-set=#"),
        "{}",
        failure.settings
    );
    assert!(
        failure
            .violations
            .iter()
            .any(|v| v.starts_with("set:") && v.contains("not the decided game's set")),
        "{:?}",
        failure.violations
    );
}

/// Four-seat tables close when a cheater loses its seat: every honest node applies the same
/// closing (final balances and bank), compared node by node.
#[test]
fn a_closing_table_closes_the_same_everywhere() {
    let overrides = Overrides {
        nodes: Some(4),
        craps: true,
        byzantine: Some(bitcraps_sim::ByzantineKind::DoubleVoter),
        withholders: Some(1),
        ..Overrides::default()
    };
    let mut closed = 0;
    for seed in 4_000..4_004u64 {
        let r = run_seed(seed, &overrides);
        assert!(
            r.violations.is_empty() && r.liveness_failure.is_none(),
            "{r:?}"
        );
        let game = r.game.unwrap();
        if game.closed_at.is_some() {
            closed += 1;
            assert!(game.closings_compared >= 2, "seed {seed}: {game:?}");
        }
    }
    assert!(closed > 0, "no table closed");
}
