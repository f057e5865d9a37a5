//! Stalls never cost an honest player: deadlines are in block time, so a player whose machine
//! freezes (a `SIGSTOP`, a restart, a lost relay) for up to the stall tolerance is neither
//! punished as a withholder nor unseated as absent, however fast the table decides heights,
//! even when Byzantine proposers stamp their blocks as far ahead as honest nodes accept.
//!
//! The model: blocks every 150–700 ms of real time; a quarter of them stamped up to
//! [`MAX_CLOCK_SKEW_MS`] ahead (a Byzantine proposer pulling deadlines in); players act through
//! the pool with up to 600 ms of latency; 100 freezes of 1–30 s at random moments, each followed
//! by up to 8 s of catch-up before the player acts again. A negative control shows the same
//! schedule does punish honest players under short deadlines, and a real withholder is still
//! punished under the default ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use bitcraps_consensus::{Keypair, TableId};
use bitcraps_game::dice::commit;
use bitcraps_game::driver::test_keys;
use bitcraps_game::*;

const PLAYERS: usize = 5;
const FREEZES: usize = 100;
const LONGEST_FREEZE_MS: u64 = 30_000;
const LONGEST_CATCH_UP_MS: u64 = 8_000;

fn between(rng: &mut ChaCha20Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

struct Player {
    key: Keypair,
    /// Real time from which the player acts (after a freeze and its catch-up).
    acts_from: u64,
    /// Real time at which its next freeze starts, and how long it lasts.
    next_freeze: Option<(u64, u64)>,
    /// The one operation it has sent and not yet seen decided: (deliverable from, op).
    in_flight: Option<(u64, SignedOp)>,
    /// Withholds its reveal on every roll it commits to.
    withholder: bool,
}

struct Outcome {
    rolls: u64,
    freezes: usize,
    /// Penalties and removals of honest players, in words.
    honest_harmed: Vec<String>,
    /// Penalties of the withholder.
    withholder_punished: u64,
}

fn nonce(key: &Keypair, roll: u64) -> Nonce {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&roll.to_be_bytes());
    bytes[8..16].copy_from_slice(&key.peer_id().as_bytes()[..8]);
    Nonce(bytes)
}

/// Plays a table under `deadlines` with `FREEZES` freezes; `withholder` makes the last player a
/// withholder.
fn play(seed: u64, deadlines: Deadlines, withholder: bool) -> Outcome {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = test_keys(PLAYERS);
    let seats = keys
        .iter()
        .map(|k| SeatConfig {
            peer: k.peer_id(),
            stack: 100_000,
        })
        .collect();
    let registry = Arc::new(Registry::new());
    let genesis_ms = 1_700_000_000_000;
    let mut config = TableConfig::new(
        TableId::from_name("stalls"),
        genesis_ms,
        seats,
        10_000_000,
        &registry,
    );
    config.deadlines = deadlines;
    config.seal();
    let table = config.table_id;
    let mut state = TableState::genesis(config, registry).unwrap();
    let mut players: Vec<Player> = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| Player {
            key,
            acts_from: 0,
            next_freeze: None,
            in_flight: None,
            withholder: withholder && i == PLAYERS - 1,
        })
        .collect();
    let honest: Vec<usize> = (0..PLAYERS).filter(|i| !players[*i].withholder).collect();

    let mut real = 0u64;
    let mut freezes = 0usize;
    let mut rolls = 0u64;
    let mut honest_harmed = Vec::new();
    let mut withholder_punished = 0;
    // Each honest player is frozen in turn; its next freeze starts at least 30 s after it
    // woke and once it committed again (two freezes with no chance to act in between are one
    // long absence, not two stalls).
    let mut next_start = 5_000;
    while freezes < FREEZES && real < 10_000_000 {
        if real >= next_start {
            let who = honest[freezes % honest.len()];
            let p = &mut players[who];
            let back = state.health(&p.key.peer_id()).absent_since_ms.is_none();
            if p.next_freeze.is_none() && back && real >= p.acts_from + 30_000 {
                let length = between(&mut rng, 1_000, LONGEST_FREEZE_MS);
                p.next_freeze = Some((real + between(&mut rng, 0, 3_000), length));
                freezes += 1;
                next_start = real + between(&mut rng, 2_000, 12_000);
            }
        }
        real += between(&mut rng, 150, 700);
        // Freezes start and end.
        for p in &mut players {
            if let Some((start, length)) = p.next_freeze {
                if real >= start {
                    p.acts_from = start + length + between(&mut rng, 0, LONGEST_CATCH_UP_MS);
                    p.next_freeze = None;
                }
            }
        }
        // Awake players act on the state they see.
        for p in &mut players {
            if real < p.acts_from || p.in_flight.is_some() {
                continue;
            }
            if let Some(op) = next_action(&state, p, &mut rng) {
                let signed =
                    SignedOp::sign(&p.key, &table, state.next_nonce(&p.key.peer_id()), op).unwrap();
                p.in_flight = Some((real + between(&mut rng, 50, 600), signed));
            }
        }
        // The block: a quarter of the proposers stamp it as far ahead as honest nodes accept.
        let ahead = if rng.next_u64().is_multiple_of(4) {
            between(&mut rng, 0, MAX_CLOCK_SKEW_MS)
        } else {
            0
        };
        // An honest proposer stamps its clock, or just after the parent if that is later.
        let stamp = (genesis_ms + real + ahead).max(state.timestamp_ms() + 1);
        let mut draft = state.draft(stamp);
        for p in &mut players {
            if let Some((at, op)) = p.in_flight.take() {
                if at > real {
                    p.in_flight = Some((at, op));
                } else {
                    // A refused operation (stale by now) is dropped; the player acts again.
                    let _ = draft.push(op);
                }
            }
        }
        let (_, next, events) = draft.finish().unwrap();
        next.check_accounting().unwrap();
        state = next;
        for e in &events {
            match e {
                Event::DiceRolled { .. } => rolls += 1,
                Event::Penalty { seat, reason, .. } => {
                    if players[usize::from(seat.0)].withholder {
                        withholder_punished += 1;
                    } else {
                        honest_harmed.push(format!("seat {} punished: {reason:?}", seat.0));
                    }
                }
                Event::SeatRemoved { seat, reason, .. }
                    if !players[usize::from(seat.0)].withholder =>
                {
                    honest_harmed.push(format!("seat {} removed: {reason:?}", seat.0));
                }
                _ => {}
            }
        }
        if state.closed_at().is_some() {
            break;
        }
    }
    Outcome {
        rolls,
        freezes,
        honest_harmed,
        withholder_punished,
    }
}

/// What an awake player does next, seeing `state`.
fn next_action(state: &TableState, p: &Player, rng: &mut ChaCha20Rng) -> Option<Operation> {
    let peer = p.key.peer_id();
    let seat = state.seat_of(&peer)?;
    let roll = state.roll_number();
    match state.stage() {
        Stage::Betting { .. } => {
            if state.bets_of(seat).next().is_none() && rng.next_u64().is_multiple_of(3) {
                let kind = if state.phase() == Phase::ComeOut {
                    BetKind::PassLine
                } else {
                    BetKind::Field
                };
                return Some(Operation::PlaceBet {
                    kind,
                    amount: 10,
                    working: Working::TableRule,
                });
            }
            (state.shooter() == Some(seat) && !state.bets().is_empty())
                .then_some(Operation::CloseBetting { roll })
        }
        Stage::Committing {
            eligible,
            commitments,
            ..
        } => (eligible.contains(&seat) && !commitments.contains_key(&seat)).then(|| {
            Operation::Commit {
                roll,
                seat,
                commitment: commit(&state.config().table_id.0, roll, seat, &nonce(&p.key, roll)),
            }
        }),
        Stage::Revealing {
            commitments,
            reveals,
            ..
        } => (!p.withholder && commitments.contains_key(&seat) && !reveals.contains_key(&seat))
            .then(|| Operation::Reveal {
                roll,
                seat,
                nonce: nonce(&p.key, roll),
            }),
    }
}

#[test]
fn a_hundred_freezes_of_up_to_30_s_cost_honest_players_nothing() {
    let deadlines = Deadlines::default();
    assert!(deadlines.stall_tolerance_ms() >= LONGEST_FREEZE_MS);
    for seed in 1..=3 {
        let outcome = play(seed, deadlines, false);
        assert_eq!(outcome.freezes, FREEZES, "seed {seed}");
        assert!(outcome.rolls >= 50, "seed {seed}: {} rolls", outcome.rolls);
        assert!(
            outcome.honest_harmed.is_empty(),
            "seed {seed}: {:?}",
            outcome.honest_harmed
        );
    }
}

#[test]
fn the_same_freezes_under_short_deadlines_do_punish_honest_players() {
    // The negative control: reveal and absence deadlines shorter than the freezes. The
    // checker above must see the harm, or it proves nothing.
    let short = Deadlines {
        reveal_ms: 8_000,
        absence_ms: 10_000,
        ..Deadlines::default()
    };
    let harmed: usize = (1..=3)
        .map(|seed| play(seed, short, false).honest_harmed.len())
        .sum();
    assert!(harmed > 0, "short deadlines punished nobody");
}

#[test]
fn a_real_withholder_is_still_punished_among_the_freezes() {
    let outcome = play(7, Deadlines::default(), true);
    assert!(outcome.withholder_punished >= 1);
    assert!(
        outcome.honest_harmed.is_empty(),
        "{:?}",
        outcome.honest_harmed
    );
}

#[test]
fn tolerating_a_longer_stall_moves_the_reveal_and_absence_deadlines() {
    let d = Deadlines::tolerating_stalls(60_000);
    assert_eq!(d.stall_tolerance_ms(), 60_000);
    assert_eq!(d.reveal_ms, 60_000 + MAX_CLOCK_SKEW_MS + CATCH_UP_MARGIN_MS);
    assert_eq!(Deadlines::default().stall_tolerance_ms(), 30_000);
}
