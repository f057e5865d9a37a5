//! Real craps through the simulator: full tables of bots betting, rolling and paying with
//! Byzantine players, withholders and faults. Every run must end with 0 violations (which
//! include: an honest node failing to apply a decided block, two honest nodes with different
//! state hashes at a common height, a penalty on anyone but a cheater), honest nodes live, and
//! the cheaters punished on their own seats.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bitcraps_game::PenaltyReason;
use bitcraps_sim::{run_seed, run_swarm, ByzantineKind, Overrides, RunReport};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn craps(nodes: usize, byzantine: Option<ByzantineKind>, withholders: usize) -> Overrides {
    Overrides {
        nodes: Some(nodes),
        byzantine,
        craps: true,
        withholders: Some(withholders),
        ..Overrides::default()
    }
}

fn assert_clean(r: &RunReport) {
    assert!(
        r.violations.is_empty() && r.liveness_failure.is_none(),
        "seed {} ({}): {:?} {:?}",
        r.seed,
        r.settings,
        r.violations,
        r.liveness_failure
    );
}

/// n = 4, 7, 10 with f double voters and one withholder: every run is clean, honest nodes agree
/// on the state hash, the withholder loses its seat for withholding and the double voters for
/// their double votes; nobody else is punished.
#[test]
fn full_tables_punish_withholders_and_double_voters_on_their_seats_only() {
    for nodes in [4usize, 7, 10] {
        let f = (nodes - 1) / 3;
        let mut rolls = 0;
        let mut double_voters_punished = 0;
        let mut runs_with_evidence = 0;
        for seed in 0..12u64 {
            let r = run_seed(
                1_000 * nodes as u64 + seed,
                &craps(nodes, Some(ByzantineKind::DoubleVoter), 1),
            );
            assert_clean(&r);
            let game = r.game.as_ref().expect("a craps run reports its game");
            assert!(game.hashes_compared > 0, "{game:?}");
            assert!(game.state_hash.is_some());
            // A four-seat table closes when a cheater forfeits its seat (fewer than four
            // left), possibly before two rolls; the close must come from a penalty.
            assert!(
                game.rolls >= 2 || (game.closed_at.is_some() && !game.penalties.is_empty()),
                "seed {}: {game:?}",
                r.seed
            );
            rolls += game.rolls;
            assert_eq!(game.withholders.len(), 1);
            assert_eq!(game.accusable.len(), f);
            let withholder = game.withholders[0];
            // A four-seat table closes at its first penalty (a cheater forfeits its seat): the
            // other cheater may never get the chance to cheat. Open tables punish both.
            assert!(
                (nodes == 4 && game.closed_at.is_some())
                    || game.penalties.iter().any(|(k, why)| *k == withholder
                        && matches!(why, PenaltyReason::Withheld { .. })),
                "seed {}: the withholder {withholder} was not punished: {game:?}",
                r.seed
            );
            for (k, why) in &game.penalties {
                match why {
                    PenaltyReason::Withheld { .. } => assert_eq!(*k, withholder),
                    PenaltyReason::DoubleVote => {
                        assert!(game.accusable.contains(k));
                        double_voters_punished += 1;
                    }
                    other => panic!("seed {}: unexpected penalty {other:?} on {k}", r.seed),
                }
            }
            runs_with_evidence += u64::from(r.evidence > 0);
        }
        if nodes > 4 {
            assert!(rolls >= 24, "n={nodes}: only {rolls} rolls");
        }
        // Double votes are caught and punished whenever the evidence reached an honest node.
        assert!(runs_with_evidence > 0, "n={nodes}: no evidence at all");
        let expected = if nodes == 4 { 3 } else { f * 6 };
        assert!(
            double_voters_punished as usize >= expected,
            "n={nodes}: only {double_voters_punished} double voters punished in 12 runs"
        );
    }
}

/// The seeded swarm (random faults and Byzantine kinds, crashes, partitions) playing craps.
#[test]
fn craps_swarm_is_safe_and_live() {
    for nodes in [4usize, 7, 10] {
        let overrides = Overrides {
            nodes: Some(nodes),
            craps: true,
            ..Overrides::default()
        };
        let summary = run_swarm(50_000 + nodes as u64, 60, &overrides, threads(), false);
        for f in &summary.failures {
            eprintln!(
                "seed {} ({}): {:?} {:?}",
                f.seed, f.settings, f.violations, f.liveness_failure
            );
        }
        assert_eq!(summary.violations, 0, "{}", summary.line());
        assert_eq!(summary.liveness_failures, 0, "{}", summary.line());
        assert!(summary.rolls > 60, "{}", summary.craps_line());
        assert!(summary.bets > 300, "{}", summary.craps_line());
    }
}

/// Every consensus Byzantine kind at a craps table: silent players sit the rolls out (and are
/// unseated after three, never punished), equivocating proposers are punished for double
/// proposals, double voters for double votes, and nobody else is punished or unseated.
#[test]
fn each_byzantine_kind_at_the_craps_table() {
    for kind in ByzantineKind::ALL {
        for nodes in [4usize, 7] {
            let mut punished = 0;
            let mut missed = 0;
            for seed in 0..6u64 {
                let r = run_seed(7_000 + seed, &craps(nodes, Some(kind), 0));
                assert_clean(&r);
                let game = r.game.unwrap();
                assert!(
                    game.rolls > 0 || (game.closed_at.is_some() && !game.penalties.is_empty()),
                    "{kind}: seed {} rolled no dice: {game:?}",
                    r.seed
                );
                punished += game.penalties.len();
                for (k, n) in &game.missed_rolls {
                    assert!(
                        game.accusable.contains(k),
                        "{kind}: honest {k} missed {n} rolls"
                    );
                    missed += n;
                }
                if kind != ByzantineKind::Silent {
                    assert!(
                        game.unseated_for_missed_rolls.is_empty(),
                        "{kind}: {game:?}"
                    );
                }
                for k in &game.unseated_for_missed_rolls {
                    assert!(game.accusable.contains(k), "{kind}: honest {k} unseated");
                }
            }
            match kind {
                ByzantineKind::Silent => assert!(missed > 0, "silent players never missed a roll"),
                ByzantineKind::EquivocatingProposer | ByzantineKind::DoubleVoter => {
                    assert!(punished > 0, "{kind} never punished at n={nodes}")
                }
                _ => assert_eq!(punished, 0, "{kind} at n={nodes}"),
            }
        }
    }
}

/// One seed, one table: the same state hash every time.
#[test]
fn a_craps_run_replays_exactly() {
    let o = craps(7, Some(ByzantineKind::DoubleVoter), 1);
    let a = run_seed(424_242, &o);
    let b = run_seed(424_242, &o);
    assert_clean(&a);
    let (ga, gb) = (a.game.unwrap(), b.game.unwrap());
    assert_eq!(ga.state_hash, gb.state_hash);
    assert_eq!(ga.penalties, gb.penalties);
    assert_eq!((a.heights, a.events), (b.heights, b.events));
}

/// The plain (non-craps) runs are unchanged by the application hook: no game report.
#[test]
fn plain_runs_have_no_game() {
    let r = run_seed(5, &Overrides::default());
    assert!(r.game.is_none());
    assert_clean(&r);
}
