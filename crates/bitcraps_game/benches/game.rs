//! Benchmarks of the table: resolving one roll with 16 players × 10 open bets each, and
//! validating a block of 100 signed bet operations.
//!
//! `cargo bench -p bitcraps_game --bench game`

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use bitcraps_game::driver::LocalTable;
use bitcraps_game::*;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PLAYERS: usize = 16;

fn place(kind: BetKind, amount: u64) -> Operation {
    Operation::PlaceBet {
        kind,
        amount,
        working: Working::TableRule,
    }
}

/// Ten come-out bets per player.
fn ten_bets(player: usize) -> Vec<Operation> {
    let hop = Hop::new(
        Die::new(1 + (player % 6) as u8).unwrap(),
        Die::new(1 + ((player / 6) % 6) as u8).unwrap(),
    );
    vec![
        place(BetKind::PassLine, 60),
        place(BetKind::DontPass, 30),
        place(BetKind::Field, 20),
        place(BetKind::Place(Point::Six), 12),
        place(BetKind::Buy(Point::Four), 40),
        place(BetKind::Lay(Point::Ten), 40),
        place(BetKind::Hardway(HardNumber::Eight), 10),
        place(BetKind::AnySeven, 10),
        place(BetKind::Horn, 20),
        place(BetKind::Hop(hop), 10),
    ]
}

fn table() -> LocalTable {
    LocalTable::new(PLAYERS, 1_000_000, 100_000_000, Arc::new(Registry::new())).unwrap()
}

/// A table with 16 × 10 open bets, every commitment in, ready for the block of reveals.
fn ready_to_roll() -> (TableState, Block) {
    let mut t = table();
    let mut ops = Vec::new();
    for p in 0..PLAYERS {
        for op in ten_bets(p) {
            ops.push(t.sign_seat(Seat(p as u16), op).unwrap());
        }
    }
    t.apply(ops).unwrap();
    assert_eq!(t.state().bets().len(), PLAYERS * 10);
    let roll = t.state().roll_number();
    let close = t
        .sign_seat(Seat(0), Operation::CloseBetting { roll })
        .unwrap();
    t.apply(vec![close]).unwrap();
    let table_id = t.table_id().0;
    let mut commits = Vec::new();
    let mut reveals = Vec::new();
    for p in 0..PLAYERS as u16 {
        let nonce = t.nonce_for(roll, Seat(p), 0);
        commits.push(
            t.sign_seat(
                Seat(p),
                Operation::Commit {
                    roll,
                    seat: Seat(p),
                    commitment: dice::commit(&table_id, roll, Seat(p), &nonce),
                },
            )
            .unwrap(),
        );
    }
    t.apply(commits).unwrap();
    for p in 0..PLAYERS as u16 {
        let nonce = t.nonce_for(roll, Seat(p), 0);
        reveals.push(
            t.sign_seat(
                Seat(p),
                Operation::Reveal {
                    roll,
                    seat: Seat(p),
                    nonce,
                },
            )
            .unwrap(),
        );
    }
    let state = t.state().clone();
    let built = state
        .build_block(state.timestamp_ms() + 1_000, reveals)
        .unwrap();
    assert_eq!(built.block.ops.len(), PLAYERS);
    assert!(built
        .events
        .iter()
        .any(|e| matches!(e, Event::DiceRolled { .. })));
    (state, built.block)
}

/// A 16-seat table and a block of 100 signed bets spread over the players.
fn hundred_bets() -> (TableState, Block) {
    let mut t = table();
    let mut ops = Vec::new();
    let kinds = [
        BetKind::PassLine,
        BetKind::DontPass,
        BetKind::Field,
        BetKind::Place(Point::Eight),
        BetKind::Big(BigNumber::Six),
    ];
    for i in 0..100 {
        let p = i % PLAYERS;
        ops.push(
            t.sign_seat(Seat(p as u16), place(kinds[i % kinds.len()], 30))
                .unwrap(),
        );
    }
    let state = t.state().clone();
    let built = state
        .build_block(state.timestamp_ms() + 1_000, ops)
        .unwrap();
    assert_eq!(built.block.ops.len(), 100);
    (state, built.block)
}

fn bench_roll(c: &mut Criterion) {
    let (state, block) = ready_to_roll();
    let bets = state.plain_bets();
    let rules = state.config().rules;
    let roll = Roll::from_faces(3, 4).unwrap();
    let mut g = c.benchmark_group("roll_16x10");
    g.bench_function("resolve_roll", |b| {
        b.iter(|| resolve_roll(&rules, Phase::ComeOut, black_box(&bets), roll).unwrap())
    });
    g.bench_function("reveal_block_resolve_and_pay", |b| {
        b.iter(|| state.apply_block(black_box(&block)).unwrap())
    });
    g.finish();
}

fn bench_bets(c: &mut Criterion) {
    let (state, block) = hundred_bets();
    let mut g = c.benchmark_group("bets_100");
    g.bench_function("validate_block_with_signatures", |b| {
        b.iter(|| state.apply_block(black_box(&block)).unwrap())
    });
    let table = state.config().table_id;
    g.bench_function("signatures_only", |b| {
        b.iter(|| black_box(&block).ops.iter().all(|op| op.verify(&table)))
    });
    let value = block.to_value().unwrap();
    g.bench_function("decode_and_validate_value", |b| {
        b.iter(|| {
            let block = Block::from_value(black_box(&value)).unwrap();
            state.apply_block(&block).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_roll, bench_bets);
criterion_main!(benches);
