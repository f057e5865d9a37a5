//! Property test: random sequences of valid and invalid signed operations, grouped into blocks,
//! never panic, never break the accounting identity, and a rejected operation changes nothing.
//! Every produced block re-applies to the same state hash on a fresh node.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use bitcraps_consensus::Keypair;
use bitcraps_game::driver::test_keys;
use bitcraps_game::*;
use proptest::prelude::*;

/// "Next roll is a 7" at 4:1 (a custom bet in the mix).
struct LuckySeven;

impl CustomOperation for LuckySeven {
    fn name(&self) -> &str {
        "lucky-seven"
    }
    fn validate(
        &self,
        t: &TableData,
        _: &TableConfig,
        _: Seat,
        p: &[u8],
    ) -> Result<(), CustomError> {
        if p.len() != 8 {
            return Err(CustomError::Payload("8 bytes".into()));
        }
        if !t.stage().is_betting() {
            return Err(CustomError::Rejected("betting is closed".into()));
        }
        Ok(())
    }
    fn apply(
        &self,
        ctx: &mut CustomContext<'_>,
        author: Seat,
        p: &[u8],
    ) -> Result<(), CustomError> {
        let amount =
            u64::from_be_bytes(p.try_into().map_err(|_| CustomError::Payload("8".into()))?);
        ctx.stake(author, amount)?;
        let total = ctx.pots().values().try_fold(0u64, |a, b| a.checked_add(*b));
        let exposure = total
            .and_then(|t| t.checked_mul(4))
            .ok_or(CustomError::Rejected("too much".into()))?;
        ctx.set_exposure(exposure)
    }
    fn on_roll(&self, ctx: &mut CustomContext<'_>, roll: &RollReport) -> Result<(), CustomError> {
        for (seat, stake) in ctx.pots() {
            if roll.roll.total() == 7 {
                ctx.pay(seat, stake * 4)?;
                ctx.release(seat, stake)?;
            } else {
                ctx.forfeit(seat, stake)?;
            }
        }
        ctx.set_exposure(0)
    }
}

#[derive(Debug, Clone)]
enum Action {
    Place(u16, usize, u64, Working),
    Remove(u16, usize),
    Call(u16, usize, Working),
    Close(u16, bool),
    Commit(u16, bool),
    Reveal(u16, bool),
    /// Every eligible seat commits (or every committed seat reveals), except one.
    Everyone(u16),
    Join(usize, u64),
    Admit(u16, usize, bool),
    Leave(u16),
    Fund(u16, u64),
    Claim(u16, u16),
    Vote(u16, bool),
    Custom(u16, u64),
    DoubleSign(u16, u16),
    WrongNonce(u16, i8),
    Forged(u16),
    EndBlock(u64),
}

fn working() -> impl Strategy<Value = Working> {
    prop_oneof![6 => Just(Working::TableRule), 1 => Just(Working::On), 1 => Just(Working::Off)]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 1u64..=300,
        2 => (1u64..=40).prop_map(|k| k * 30),
        1 => 5_000u64..=20_000,
        1 => Just(u64::MAX),
    ]
}

fn seat() -> impl Strategy<Value = u16> {
    prop_oneof![10 => 0u16..6, 3 => 6u16..12]
}

fn action() -> impl Strategy<Value = Action> {
    let kinds = BetKind::all().len();
    prop_oneof![
        12 => (seat(), 0..kinds, amount(), working()).prop_map(|(s, k, a, w)| Action::Place(s, k, a, w)),
        2 => (seat(), 0usize..64).prop_map(|(s, i)| Action::Remove(s, i)),
        2 => (seat(), 0usize..64, working()).prop_map(|(s, i, w)| Action::Call(s, i, w)),
        4 => (seat(), any::<bool>()).prop_map(|(s, r)| Action::Close(s, r)),
        6 => (seat(), prop::bool::weighted(0.9)).prop_map(|(s, g)| Action::Commit(s, g)),
        6 => (seat(), prop::bool::weighted(0.9)).prop_map(|(s, g)| Action::Reveal(s, g)),
        4 => (0u16..20).prop_map(Action::Everyone),
        2 => (0usize..8, prop_oneof![amount(), 100u64..5_000]).prop_map(|(k, a)| Action::Join(k, a)),
        6 => (seat(), 0usize..8, prop::bool::weighted(0.8)).prop_map(|(s, k, y)| Action::Admit(s, k, y)),
        1 => seat().prop_map(Action::Leave),
        1 => (seat(), amount()).prop_map(|(s, a)| Action::Fund(s, a)),
        1 => (seat(), seat()).prop_map(|(s, a)| Action::Claim(s, a)),
        2 => (seat(), any::<bool>()).prop_map(|(s, u)| Action::Vote(s, u)),
        2 => (seat(), amount()).prop_map(|(s, a)| Action::Custom(s, a)),
        1 => (seat(), seat()).prop_map(|(s, o)| Action::DoubleSign(s, o)),
        1 => (seat(), -2i8..=2).prop_map(|(s, d)| Action::WrongNonce(s, d)),
        1 => seat().prop_map(Action::Forged),
        6 => prop_oneof![3 => Just(1_000u64), 1 => Just(4_000_000u64)].prop_map(Action::EndBlock),
    ]
}

struct World {
    keys: Vec<Keypair>,
    state: TableState,
    clock: u64,
}

impl World {
    fn key_of(&self, draft: &Draft, seat: u16) -> Keypair {
        match draft.data().seat(Seat(seat)) {
            Some(s) => self
                .keys
                .iter()
                .find(|k| k.peer_id() == s.peer)
                .cloned()
                .unwrap_or_else(|| self.keys[0].clone()),
            None => self.keys[usize::from(seat) % self.keys.len()].clone(),
        }
    }

    fn secret(&self, roll: u64, seat: u16) -> dice::Nonce {
        let mut n = [seat as u8; 32];
        n[..8].copy_from_slice(&roll.to_be_bytes());
        dice::Nonce(n)
    }

    /// Commitments of every eligible seat, or reveals of every committed one, but `except`'s.
    fn everyone(&self, draft: &Draft, except: Seat) -> Vec<SignedOp> {
        let data = draft.data();
        let roll = data.roll_number();
        let table = self.state.config().table_id;
        let sign = |seat: Seat, op: Operation| {
            let key = self.key_of(draft, seat.0);
            SignedOp::sign(&key, &table, data.next_nonce(&key.peer_id()), op).ok()
        };
        match data.stage() {
            Stage::Committing { eligible, .. } => eligible
                .iter()
                .filter(|s| **s != except)
                .filter_map(|s| {
                    let c = dice::commit(&table.0, roll, *s, &self.secret(roll, s.0));
                    sign(
                        *s,
                        Operation::Commit {
                            roll,
                            seat: *s,
                            commitment: c,
                        },
                    )
                })
                .collect(),
            Stage::Revealing { commitments, .. } => commitments
                .keys()
                .filter(|s| **s != except)
                .filter_map(|s| {
                    sign(
                        *s,
                        Operation::Reveal {
                            roll,
                            seat: *s,
                            nonce: self.secret(roll, s.0),
                        },
                    )
                })
                .collect(),
            // While betting: every validator but one admits the first waiting newcomer.
            Stage::Betting { .. } => data
                .join_requests()
                .iter()
                .take(1)
                .flat_map(|(newcomer, request)| {
                    request
                        .admitters
                        .iter()
                        .filter_map(|p| data.seat_of(p))
                        .filter(|s| *s != except)
                        .filter_map(|s| {
                            sign(
                                s,
                                Operation::Admit {
                                    newcomer: *newcomer,
                                    requested_at: request.requested_at,
                                    admit: true,
                                },
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    fn op(&self, draft: &Draft, a: &Action) -> Option<SignedOp> {
        let data = draft.data();
        let table = self.state.config().table_id;
        let sign = |key: &Keypair, op: Operation| {
            let nonce = data.next_nonce(&key.peer_id());
            SignedOp::sign(key, &table, nonce, op).ok()
        };
        let bet_id = |i: usize| {
            let bets = data.bets();
            if bets.is_empty() || i >= bets.len() + 2 {
                BetId(9_999)
            } else {
                bets.get(i).map_or(BetId(0), |b| b.id)
            }
        };
        let roll = data.roll_number();
        match a {
            Action::Place(s, k, amount, w) => sign(
                &self.key_of(draft, *s),
                Operation::PlaceBet {
                    kind: BetKind::all()[*k],
                    amount: *amount,
                    working: *w,
                },
            ),
            Action::Remove(s, i) => sign(
                &self.key_of(draft, *s),
                Operation::RemoveBet { bet: bet_id(*i) },
            ),
            Action::Call(s, i, w) => sign(
                &self.key_of(draft, *s),
                Operation::CallBet {
                    bet: bet_id(*i),
                    working: *w,
                },
            ),
            Action::Close(s, right) => {
                let seat = if *right {
                    data.shooter().map_or(*s, |x| x.0)
                } else {
                    *s
                };
                sign(&self.key_of(draft, seat), Operation::CloseBetting { roll })
            }
            Action::Commit(s, good) => {
                let secret = self.secret(roll, *s);
                let c = dice::commit(&table.0, roll, Seat(*s), &secret);
                let roll = if *good { roll } else { roll + 1 };
                sign(
                    &self.key_of(draft, *s),
                    Operation::Commit {
                        roll,
                        seat: Seat(*s),
                        commitment: c,
                    },
                )
            }
            Action::Reveal(s, good) => {
                let nonce = if *good {
                    self.secret(roll, *s)
                } else {
                    dice::Nonce([0xAB; 32])
                };
                sign(
                    &self.key_of(draft, *s),
                    Operation::Reveal {
                        roll,
                        seat: Seat(*s),
                        nonce,
                    },
                )
            }
            Action::Join(k, buy_in) => sign(&self.keys[*k], Operation::Join { buy_in: *buy_in }),
            Action::Admit(s, k, admit) => {
                let newcomer = self.keys[*k].peer_id();
                let requested_at = data
                    .join_requests()
                    .get(&newcomer)
                    .map_or(0, |r| r.requested_at);
                sign(
                    &self.key_of(draft, *s),
                    Operation::Admit {
                        newcomer,
                        requested_at,
                        admit: *admit,
                    },
                )
            }
            Action::Everyone(_) => None,
            Action::Leave(s) => sign(&self.key_of(draft, *s), Operation::Leave),
            Action::Fund(s, amount) => sign(
                &self.key_of(draft, *s),
                Operation::FundBank { amount: *amount },
            ),
            Action::Claim(s, accused) => sign(
                &self.key_of(draft, *s),
                Operation::Dispute(Dispute::Claim {
                    accused: Seat(*accused),
                    statement: "stalling".into(),
                }),
            ),
            Action::Vote(s, uphold) => {
                let dispute = data
                    .disputes()
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(DisputeId(1));
                sign(
                    &self.key_of(draft, *s),
                    Operation::DisputeVote {
                        dispute,
                        uphold: *uphold,
                    },
                )
            }
            Action::Custom(s, amount) => sign(
                &self.key_of(draft, *s),
                Operation::Custom {
                    name: "lucky-seven".into(),
                    payload: amount.to_be_bytes().to_vec(),
                },
            ),
            Action::DoubleSign(s, offender) => {
                let key = self.key_of(draft, *offender);
                let n = data.next_nonce(&key.peer_id()).saturating_add(5);
                let a = SignedOp::sign(&key, &table, n, Operation::FundBank { amount: 1 }).ok()?;
                let b = SignedOp::sign(&key, &table, n, Operation::FundBank { amount: 2 }).ok()?;
                sign(
                    &self.key_of(draft, *s),
                    Operation::Dispute(Dispute::Evidence(Box::new(GameEvidence::DoubleSigned {
                        first: a.to_raw().ok()?,
                        second: b.to_raw().ok()?,
                    }))),
                )
            }
            Action::WrongNonce(s, d) => {
                let key = self.key_of(draft, *s);
                let n = data
                    .next_nonce(&key.peer_id())
                    .saturating_add_signed(i64::from(*d));
                SignedOp::sign(&key, &table, n, Operation::FundBank { amount: 1 }).ok()
            }
            Action::Forged(s) => {
                let mut op = sign(&self.key_of(draft, *s), Operation::FundBank { amount: 1 })?;
                op.op = Operation::FundBank { amount: 1_000_000 };
                Some(op)
            }
            Action::EndBlock(_) => None,
        }
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(Registry::new().with(Arc::new(LuckySeven)).unwrap())
}

/// Counts of what happened in a run.
#[derive(Debug, Default)]
struct Stats {
    accepted: usize,
    rejected: usize,
    failed: usize,
    rolls: usize,
    resolved: usize,
    penalties: usize,
    joined: usize,
    closed: usize,
}

fn run(actions: &[Action]) -> Result<Stats, TestCaseError> {
    // Six seats at genesis (a table of four closes at its first departure), two strangers.
    let keys = test_keys(8);
    let registry = registry();
    let seats = keys[..6]
        .iter()
        .map(|k| SeatConfig {
            peer: k.peer_id(),
            stack: 20_000,
        })
        .collect();
    let mut config = TableConfig::new(
        bitcraps_consensus::TableId::from_name("prop"),
        1_000,
        seats,
        50_000,
        &registry,
    );
    config.deadlines = Deadlines {
        betting_ms: 3,
        commit_ms: 2,
        reveal_ms: 2,
        min_heights: 2,
        absence_ms: 1,
        dispute_ms: 10_000_000,
    };
    config.seal();
    let genesis = TableState::genesis(config, registry.clone()).unwrap();
    let state = genesis.clone();
    let mut world = World {
        keys,
        state,
        clock: 1_000,
    };
    let mut stats = Stats::default();
    let count = |events: &[Event], stats: &mut Stats| {
        for e in events {
            match e {
                Event::DiceRolled { .. } => stats.rolls += 1,
                Event::BetResolved { .. } => stats.resolved += 1,
                Event::Penalty { .. } => stats.penalties += 1,
                Event::SeatJoined { .. } => stats.joined += 1,
                Event::TableClosed { .. } => stats.closed += 1,
                _ => {}
            }
        }
    };
    let mut draft = world.state.draft(world.clock + 1_000);
    let mut replica = world.state.clone();
    for a in actions {
        if let Action::EndBlock(ms) = a {
            world.clock += ms;
            let (block, next, events) = std::mem::replace(&mut draft, world.state.draft(0))
                .finish()
                .unwrap();
            count(&events, &mut stats);
            next.check_accounting().unwrap();
            // A fresh node applying the block gets the same state.
            let (again, _) = replica.apply_block(&block).unwrap();
            prop_assert_eq!(again.hash(), next.hash());
            replica = again;
            world.state = next;
            if world.state.closed_at().is_some() {
                // The closing height is the last: no block after it is valid.
                let after = world.state.draft(world.clock + 2_000).finish();
                prop_assert!(
                    matches!(after, Err(BlockError::TableClosed { .. })),
                    "{after:?}"
                );
                prop_assert_eq!(world.state.seated().len(), 0);
                // Play on at a fresh table.
                world.state = genesis.clone();
                world.clock = 1_000;
                replica = genesis.clone();
            }
            draft = world.state.draft(world.clock + 1_000);
            continue;
        }
        if let Action::Everyone(except) = a {
            for op in world.everyone(&draft, Seat(*except)) {
                let before = draft.data().clone();
                if draft.push(op).is_ok() {
                    stats.accepted += 1;
                } else {
                    stats.rejected += 1;
                    prop_assert_eq!(draft.data(), &before);
                }
            }
            continue;
        }
        let Some(op) = world.op(&draft, a) else {
            continue;
        };
        let before = draft.data().clone();
        let events_before = draft.events().len();
        let ops_before = draft.ops().len();
        if let Err(error) = draft.push(op.clone()) {
            prop_assert_eq!(draft.data(), &before);
            prop_assert_eq!(draft.events().len(), events_before);
            prop_assert_eq!(draft.ops().len(), ops_before);
            // As a block carries it: failed (only the nonce spent) exactly when the refusal is
            // final and the author seated, else refused with nothing changed.
            let seated = before.seat_of(&op.author).is_some();
            match draft.push_or_fail(op.clone()) {
                Ok(Some(again)) => {
                    prop_assert!(seated && error.is_final_refusal(), "{error}");
                    prop_assert_eq!(again, error);
                    stats.failed += 1;
                    let after = draft.data();
                    prop_assert_eq!(after.next_nonce(&op.author), op.nonce + 1);
                    prop_assert_eq!(after.seats(), before.seats());
                    prop_assert_eq!(after.bets(), before.bets());
                    prop_assert_eq!(after.bank(), before.bank());
                    prop_assert_eq!(after.stage(), before.stage());
                    prop_assert_eq!(after.disputes(), before.disputes());
                    prop_assert_eq!(after.all_health(), before.all_health());
                    prop_assert_eq!(after.supply(), before.supply());
                    prop_assert_eq!(draft.events().len(), events_before + 1);
                    prop_assert_eq!(draft.ops().len(), ops_before + 1);
                }
                Ok(None) => prop_assert!(false, "refused, then accepted: {}", error),
                Err(again) => {
                    prop_assert!(!(seated && error.is_final_refusal()), "{error}");
                    prop_assert_eq!(again, error);
                    stats.rejected += 1;
                    prop_assert_eq!(draft.data(), &before);
                    prop_assert_eq!(draft.events().len(), events_before);
                }
            }
        } else {
            stats.accepted += 1;
        }
        draft.data().check_accounting().unwrap();
    }
    let (_, last, events) = draft.finish().unwrap();
    count(&events, &mut stats);
    last.check_accounting().unwrap();
    Ok(stats)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_operations_keep_the_table_sound(actions in prop::collection::vec(action(), 1..400)) {
        run(&actions)?;
    }
}

/// The random walk is not vacuous: over a long deterministic run, operations are both accepted
/// and rejected, dice roll, bets resolve and cheaters are punished.
#[test]
fn the_random_walk_reaches_every_part_of_the_game() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = action();
    let actions: Vec<Action> = (0..5_000)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let stats = run(&actions).unwrap();
    eprintln!("{stats:?}");
    assert!(
        stats.accepted > 500 && stats.rejected > 100 && stats.failed > 100,
        "{stats:?}"
    );
    assert!(
        stats.rolls > 5 && stats.resolved > 5 && stats.penalties > 0 && stats.joined > 0,
        "{stats:?}"
    );
}
