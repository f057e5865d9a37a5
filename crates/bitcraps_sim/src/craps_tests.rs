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
