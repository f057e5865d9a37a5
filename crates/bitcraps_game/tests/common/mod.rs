//! Helpers shared by the table tests.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use bitcraps_game::driver::LocalTable;
use bitcraps_game::*;

pub const STACK: u64 = 10_000;
pub const BANK: u64 = 10_000_000;

/// A 4-seat table with default rules and no custom operations.
pub fn table() -> LocalTable {
    LocalTable::new(4, STACK, BANK, Arc::new(Registry::new())).expect("genesis")
}

/// A table of `n` seats.
pub fn table_of(n: usize) -> LocalTable {
    LocalTable::new(n, STACK, BANK, Arc::new(Registry::new())).expect("genesis")
}

pub fn place(kind: BetKind, amount: u64) -> Operation {
    Operation::PlaceBet {
        kind,
        amount,
        working: Working::TableRule,
    }
}

/// Signs and applies one operation by `seat`, expecting success.
pub fn ok(t: &mut LocalTable, seat: Seat, op: Operation) -> Vec<Event> {
    let signed = t.sign_seat(seat, op).expect("signs");
    t.apply(vec![signed]).expect("accepted")
}

/// Signs and applies one operation by `seat`, expecting rejection; checks nothing changed.
pub fn rejected(t: &mut LocalTable, seat: Seat, op: Operation) -> OpError {
    let signed = t.sign_seat(seat, op).expect("signs");
    rejected_signed(t, signed)
}

/// Applies a signed operation expecting rejection; checks nothing changed.
pub fn rejected_signed(t: &mut LocalTable, signed: SignedOp) -> OpError {
    let before = t.state().clone();
    match t.apply(vec![signed]) {
        Err(BlockError::Op { error, .. }) => {
            assert_eq!(t.state(), &before, "a rejected operation changed the table");
            *error
        }
        other => panic!("expected a rejected operation, got {other:?}"),
    }
}

/// The bet id of the last `BetPlaced` event.
pub fn placed_id(events: &[Event]) -> BetId {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::BetPlaced { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a bet was placed")
}

pub fn balance(t: &LocalTable, seat: Seat) -> u64 {
    t.state().seat(seat).expect("seat").balance
}

pub fn bond(t: &LocalTable, seat: Seat) -> u64 {
    t.state().seat(seat).expect("seat").bond
}
