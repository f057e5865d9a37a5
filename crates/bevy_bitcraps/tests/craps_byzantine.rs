//! The craps table through the plugin with one Byzantine App of each kind not covered by
//! `tests/game.rs` (equivocating proposer, silent, forger, replayer, garbage, lock breaker):
//! the four honest Apps keep agreeing, keep rolling, keep their books balanced and never
//! accuse or punish one another; an equivocating proposer is reported with verifiable evidence
//! and punished on its own seat.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, PeerId};
use bevy_bitcraps::bitcraps_game::{PenaltyReason, Seat as GameSeat, TableState};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

/// Five Apps: a table of four would close when the Byzantine one is unseated.
const HONEST: [usize; 4] = [0, 1, 2, 4];
const BYZ: usize = 3;
/// Rolls every honest App must see while the Byzantine App misbehaves.
const ROLLS: usize = 6;
/// Frame budget of one table (each run needs far fewer).
const MAX_FRAMES: u64 = 8_000;

#[derive(Resource, Default)]
struct Seen {
    rolls: Vec<DiceRolled>,
    resolved: usize,
    penalties: Vec<PenaltyApplied>,
    misbehaviour: Vec<MisbehaviourDetected>,
    desync: Vec<DesyncDetected>,
}

fn collect(
    mut seen: ResMut<Seen>,
    mut rolls: MessageReader<DiceRolled>,
    mut resolved: MessageReader<BetResolved>,
    mut penalties: MessageReader<PenaltyApplied>,
    mut misbehaviour: MessageReader<MisbehaviourDetected>,
    mut desync: MessageReader<DesyncDetected>,
) {
    seen.rolls.extend(rolls.read().copied());
    seen.resolved += resolved.read().count();
    seen.penalties.extend(penalties.read().cloned());
    seen.misbehaviour.extend(misbehaviour.read().cloned());
    seen.desync.extend(desync.read().cloned());
}

/// Five craps Apps with bots; App [`BYZ`] runs `kind`.
fn byzantine_table(seed: u64, kind: ByzantineKind) -> TestTable {
    TestTable::new(
        5,
        seed,
        |_, config| config,
        |i, app| {
            app.add_plugins((GamePlugin::default(), BotPlugin))
                .init_resource::<Seen>()
                .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
            if i == BYZ {
                app.add_plugins(ByzantinePlugin { kind, seed });
            }
            let strategy = match i % 3 {
                0 => BotStrategy::PassLine { amount: 10 },
                1 => BotStrategy::Field { amount: 10 },
                _ => BotStrategy::DontPass { amount: 20 },
            };
            app.world_mut().spawn(BotPlayer::new(strategy));
        },
    )
    .expect("table")
}

fn seen(t: &TestTable, i: usize) -> &Seen {
    t.apps[i].world().resource::<Seen>()
}

fn state(t: &TestTable, i: usize) -> TableState {
    t.view(i)
        .snapshot::<TableState>()
        .expect("craps state")
        .clone()
}

fn hash_at(t: &TestTable, i: usize, h: u64) -> Option<StateHash> {
    t.apps[i]
        .world()
        .resource::<StateHashBook>()
        .local(Height(h))
}

/// The honest Apps have one and the same state hash at their common height, and agree at every
/// earlier height they all still remember.
fn assert_honest_agree(t: &TestTable, kind: ByzantineKind) {
    let common = t.min_height(&HONEST);
    assert!(common >= 1, "{kind:?}: no common height");
    let at_common: Vec<_> = HONEST.iter().map(|i| hash_at(t, *i, common)).collect();
    assert!(
        at_common.iter().all(Option::is_some),
        "{kind:?}: a hash at the common height {common} is missing"
    );
    assert!(
        at_common.windows(2).all(|w| w[0] == w[1]),
        "{kind:?}: hashes differ at the common height {common}"
    );
    for h in common.saturating_sub(200).max(1)..=common {
        let hashes: Vec<_> = HONEST.iter().filter_map(|i| hash_at(t, *i, h)).collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "{kind:?}: hashes differ at {h}"
        );
    }
}

/// What one run established, for kind-specific checks.
struct Outcome {
    t: TestTable,
    byz: PeerId,
    byz_seat: GameSeat,
}

/// Plays until every honest App saw `rolls` rolls (and `extra` holds), then checks what every
/// kind must satisfy.
fn play(
    seed: u64,
    kind: ByzantineKind,
    rolls: usize,
    extra: impl Fn(&TestTable, PeerId) -> bool,
) -> Outcome {
    let mut t = byzantine_table(seed, kind);
    let byz = t.keys[BYZ].peer_id();
    let honest_peers: Vec<PeerId> = HONEST.iter().map(|i| t.keys[*i].peer_id()).collect();
    let byz_seat = state(&t, 0).seat_of(&byz).expect("seated at genesis");
    let done = t.run_until(MAX_FRAMES, |t| {
        HONEST.iter().all(|i| seen(t, *i).rolls.len() >= rolls) && extra(t, byz)
    });
    assert!(
        done,
        "{kind:?} after {} frames: rolls {:?}, heights {:?}, penalties {:?}, evidence {:?}",
        t.frames,
        HONEST.map(|i| seen(&t, i).rolls.len()),
        HONEST.map(|i| t.view(i).height),
        HONEST.map(|i| seen(&t, i).penalties.len()),
        HONEST.map(|i| seen(&t, i)
            .misbehaviour
            .iter()
            .filter(|m| m.evidence().is_some())
            .count()),
    );

    assert_honest_agree(&t, kind);

    // The same rolls, in the same order, on every honest App; roll numbers strictly increase.
    let first: Vec<_> = seen(&t, 0).rolls[..rolls]
        .iter()
        .map(|r| (r.height, r.roll_number, r.roll))
        .collect();
    assert!(
        first.windows(2).all(|w| w[0].1 < w[1].1),
        "{kind:?}: roll numbers do not increase: {first:?}"
    );
    for i in HONEST {
        let s = seen(&t, i);
        let these: Vec<_> = s.rolls[..rolls]
            .iter()
            .map(|r| (r.height, r.roll_number, r.roll))
            .collect();
        assert_eq!(these, first, "{kind:?}: App {i} saw other rolls");

        // Books balance on the decided state and after every applied block.
        state(&t, i)
            .check_accounting()
            .unwrap_or_else(|e| panic!("{kind:?}: accounting identity on App {i}: {e}"));
        let errors = t.apps[i]
            .world()
            .resource::<TableApp>()
            .get::<GameApp>()
            .expect("game app")
            .accounting_errors()
            .to_vec();
        assert!(errors.is_empty(), "{kind:?}: App {i}: {errors:?}");

        // Nobody honest is punished, accused or found out of sync.
        assert!(
            s.penalties
                .iter()
                .all(|p| p.peer == byz && p.seat == byz_seat),
            "{kind:?}: App {i} punished an honest player: {:?}",
            s.penalties
        );
        assert!(
            s.misbehaviour.iter().all(|m| m.offender == byz),
            "{kind:?}: App {i} accused an honest player: {:?}",
            s.misbehaviour
                .iter()
                .map(|m| m.offender)
                .collect::<Vec<_>>()
        );
        assert!(
            s.desync.is_empty(),
            "{kind:?}: App {i} reported desyncs: {:?}",
            s.desync
        );
        // Every honest player still holds its seat.
        let st = state(&t, i);
        for p in &honest_peers {
            assert!(st.seat_of(p).is_some(), "{kind:?}: {p} lost its seat");
        }
    }
    Outcome { t, byz, byz_seat }
}

fn reported_with_evidence(t: &TestTable, i: usize, byz: PeerId) -> bool {
    seen(t, i)
        .misbehaviour
        .iter()
        .any(|m| m.offender == byz && m.evidence().is_some())
}

fn penalised_for(t: &TestTable, i: usize, byz: PeerId, reason: &PenaltyReason) -> bool {
    seen(t, i)
        .penalties
        .iter()
        .any(|p| p.peer == byz && p.reason == *reason)
}

/// Invalid-input reports (no evidence) about `byz` on App `i`.
fn invalid_input_reports(t: &TestTable, i: usize, byz: PeerId) -> usize {
    seen(t, i)
        .misbehaviour
        .iter()
        .filter(|m| m.offender == byz && matches!(m.misbehaviour, Misbehaviour::InvalidInput(_)))
        .count()
}

#[test]
fn an_equivocating_proposer_is_reported_with_evidence_and_slashed() {
    let kind = ByzantineKind::EquivocatingProposer;
    // Stops as soon as the penalty landed everywhere (see the ignored test below for what
    // happens to the honest players afterwards).
    let o = play(301, kind, 1, |t, byz| {
        HONEST.iter().all(|i| {
            reported_with_evidence(t, *i, byz)
                && penalised_for(t, *i, byz, &PenaltyReason::DoubleProposal)
        })
    });
    let t = &o.t;
    for i in HONEST {
        let s = seen(t, i);
        let config = t.apps[i].world().resource::<BitCrapsConfig>();
        let evidence: Vec<_> = s.misbehaviour.iter().filter_map(|m| m.evidence()).collect();
        assert!(!evidence.is_empty(), "App {i}: no evidence");
        for e in evidence {
            assert_eq!(
                e.verify(&config.table, &config.participants),
                Ok(o.byz),
                "App {i}: evidence does not verify against the proposer"
            );
        }
        let penalty = s
            .penalties
            .iter()
            .find(|p| p.reason == PenaltyReason::DoubleProposal)
            .expect("double-proposal penalty");
        assert_eq!(penalty.peer, o.byz);
        assert_eq!(penalty.seat, o.byz_seat, "the penalty lands on its seat");
        assert!(
            penalty.bond_slashed > 0,
            "App {i}: nothing was slashed: {penalty:?}"
        );
        let health = t.apps[i].world().resource::<PeerHealth>();
        assert!(health.0.get(&o.byz).is_some_and(|h| h.evidence >= 1));
    }
    // All honest Apps applied the same penalty, at the same height.
    let first = seen(t, 0)
        .penalties
        .iter()
        .find(|p| p.reason == PenaltyReason::DoubleProposal)
        .cloned();
    for i in HONEST {
        let this = seen(t, i)
            .penalties
            .iter()
            .find(|p| p.reason == PenaltyReason::DoubleProposal)
            .cloned();
        assert_eq!(this, first);
    }
}

#[test]
fn a_silent_player_does_not_stop_the_table() {
    let kind = ByzantineKind::Silent;
    let o = play(302, kind, ROLLS, |_, _| true);
    let t = &o.t;
    for i in HONEST {
        // Silence is not provable misbehaviour: nobody is accused of anything.
        assert!(seen(t, i).misbehaviour.is_empty());
        // The silent player never precommits, so it is missing from the certificates.
        let health = t.apps[i].world().resource::<PeerHealth>();
        // It is missing from every certificate while it holds a vote; after three missed rolls
        // it loses its seat, and two heights later its vote.
        let missed = health.0.get(&o.byz).map_or(0, |h| h.missed_precommits);
        let s = state(t, i);
        let gone_at = s
            .seats()
            .iter()
            .find(|seat| seat.peer == o.byz)
            .and_then(|seat| match seat.status {
                bevy_bitcraps::bitcraps_game::SeatStatus::Removed { at, .. } => Some(at),
                _ => None,
            });
        let voted_until = gone_at.map_or(t.view(i).height.0, |at| at + 1);
        assert!(
            missed >= voted_until,
            "App {i}: the silent player missed only {missed} precommits of {voted_until}"
        );
        assert!(!s.validators_next().contains(&o.byz) || gone_at.is_none());
    }
}

#[test]
fn a_forger_is_named_and_its_forgeries_ignored() {
    let kind = ByzantineKind::Forger;
    let o = play(303, kind, ROLLS, |t, byz| {
        HONEST.iter().all(|i| invalid_input_reports(t, *i, byz) > 0)
    });
    for i in HONEST {
        assert!(invalid_input_reports(&o.t, i, o.byz) > 0);
        // Forged signatures are not evidence: nothing to punish at the table.
        assert!(seen(&o.t, i).penalties.is_empty());
    }
}

#[test]
fn a_replayer_is_named_and_its_replays_harmless() {
    let kind = ByzantineKind::Replayer;
    let o = play(304, kind, ROLLS, |t, byz| {
        HONEST.iter().all(|i| invalid_input_reports(t, *i, byz) > 0)
    });
    for i in HONEST {
        assert!(invalid_input_reports(&o.t, i, o.byz) > 0);
        assert!(seen(&o.t, i).penalties.is_empty());
    }
}

#[test]
fn a_garbage_sender_is_named_and_ignored() {
    let kind = ByzantineKind::Garbage;
    let o = play(305, kind, ROLLS, |t, byz| {
        HONEST.iter().all(|i| invalid_input_reports(t, *i, byz) > 0)
    });
    for i in HONEST {
        assert!(invalid_input_reports(&o.t, i, o.byz) > 0);
        let health = o.t.apps[i].world().resource::<PeerHealth>();
        assert!(health.0.get(&o.byz).is_some_and(|h| h.malformed > 0));
        assert!(seen(&o.t, i).penalties.is_empty());
    }
}

#[test]
fn a_lock_breaker_does_not_split_the_table() {
    let kind = ByzantineKind::LockBreaker;
    let o = play(306, kind, ROLLS, |_, _| true);
    for i in HONEST {
        assert!(seen(&o.t, i).penalties.is_empty());
    }
}

/// After the cheater is punished and unseated it keeps cheating, and every honest App keeps
/// submitting the (now moot) evidence. Regression test: the table once refused those disputes,
/// which left each submitter's nonce unspent, stalled its dice commitments and reveals, and got
/// every honest seat slashed for withholding. Moot evidence is now accepted as a no-op.
#[test]
fn honest_players_keep_playing_after_a_cheater_is_unseated() {
    for (kind, reason) in [
        (
            ByzantineKind::EquivocatingProposer,
            PenaltyReason::DoubleProposal,
        ),
        (ByzantineKind::DoubleVoter, PenaltyReason::DoubleVote),
    ] {
        for seed in [301, 305, 309] {
            let o = play(seed, kind, ROLLS, |t, byz| {
                HONEST.iter().all(|i| penalised_for(t, *i, byz, &reason))
            });
            for i in HONEST {
                assert!(
                    penalised_for(&o.t, i, o.byz, &reason),
                    "{kind:?} seed {seed}: App {i} did not punish the cheater"
                );
            }
        }
    }
}
