//! Unit tests of the craps application's checks (a child module of `craps`).

use super::*;

fn app(withholders: usize) -> CrapsApp {
    let overrides = Overrides {
        nodes: Some(4),
        craps: true,
        withholders: Some(withholders),
        ..Overrides::default()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let settings = Settings::draw(9, &mut rng, &overrides);
    let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
    let roles = vec![Role::Honest; 4];
    CrapsApp::new(
        &settings,
        &overrides,
        &keys,
        &[0, 1, 2, 3],
        &roles,
        TableId::from_name("t"),
    )
    .unwrap()
}

/// Negative control: a penalty on an honest player is reported.
#[test]
fn a_penalty_on_an_honest_player_is_a_violation() {
    let mut a = app(1);
    let withholder = a.report.withholders[0];
    let honest = (withholder + 1) % 4;
    a.report
        .penalties
        .push((withholder, PenaltyReason::Withheld { roll: 1 }));
    assert!(a.check_penalties().is_empty());
    a.report
        .penalties
        .push((honest, PenaltyReason::Withheld { roll: 1 }));
    a.report.penalties.push((honest, PenaltyReason::DoubleVote));
    assert_eq!(a.check_penalties().len(), 2);
}

/// Negative control: two honest instances that applied different blocks are reported.
#[test]
fn diverging_honest_states_are_a_violation() {
    let mut a = app(0);
    let genesis = a.chains[0].latest().clone();
    let one = genesis.build_block(GENESIS_MS + 10, Vec::new()).unwrap();
    let other = genesis.build_block(GENESIS_MS + 20, Vec::new()).unwrap();
    for (i, b) in [&one, &one, &one, &other].into_iter().enumerate() {
        a.chains[i]
            .apply_decided(1, &b.block.to_value().unwrap())
            .unwrap();
    }
    let found = a.check_hashes();
    assert_eq!(found.len(), 3, "{found:?}");
    let mut a = app(0);
    for i in 0..4 {
        a.chains[i]
            .apply_decided(1, &one.block.to_value().unwrap())
            .unwrap();
    }
    assert!(a.check_hashes().is_empty());
    assert_eq!(a.report.hashes_compared, 6);
}

/// Negative control: an honest instance whose closing differs (another bank, other final
/// balances) from the first one seen is reported; the same closing is not.
#[test]
fn a_different_closing_is_a_violation() {
    let mut a = app(0);
    let peer = a.players[0].key.peer_id();
    let closed = |cashed_out: u64, bank: u64| {
        vec![Event::TableClosed {
            final_balances: vec![FinalBalance {
                seat: bitcraps_game::Seat(0),
                peer,
                cashed_out,
            }],
            bank,
        }]
    };
    a.check_closing(0, 9, &closed(100, 5));
    a.check_closing(1, 9, &closed(100, 5));
    assert!(a.violations.is_empty(), "{:?}", a.violations);
    a.check_closing(2, 9, &closed(101, 5));
    a.check_closing(3, 9, &closed(100, 4));
    assert_eq!(a.violations.len(), 2, "{:?}", a.violations);
    assert!(a.violations.iter().all(|v| v.starts_with("closing:")));
    assert_eq!(a.report.closings_compared, 3);
}

/// Negative control: a height whose chips changed by more than its events brought in and
/// took out is reported; the genuine events of the height are not.
#[test]
fn chips_that_appear_from_nowhere_are_a_violation() {
    let mut a = app(0);
    let genesis = a.chains[0].latest().clone();
    let one = genesis.build_block(GENESIS_MS + 10, Vec::new()).unwrap();
    let Applied::New { state, events } = a.chains[0]
        .apply_decided(1, &one.block.to_value().unwrap())
        .unwrap()
    else {
        panic!("a new height");
    };
    a.check_conservation(0, &state, &events);
    assert!(a.violations.is_empty(), "{:?}", a.violations);
    let mut forged = events.clone();
    forged.push(Event::BankFunded {
        seat: bitcraps_game::Seat(0),
        amount: 7,
    });
    a.check_conservation(0, &state, &forged);
    assert_eq!(a.violations.len(), 1, "{:?}", a.violations);
    assert!(a.violations[0].starts_with("chips: instance 0 at height 1"));
}
