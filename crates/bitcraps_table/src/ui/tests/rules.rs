//! The rules panel: the configured penalties and admission rule.

use super::*;

#[test]
fn the_rules_panel_states_the_configured_penalties_and_admission() {
    let keys = test_keys(4);
    let seats = keys
        .iter()
        .map(|k| SeatConfig {
            peer: k.peer_id(),
            stack: 2_000,
        })
        .collect();
    let registry = Arc::new(Registry::new());
    let mut config = TableConfig::new(
        bitcraps_consensus::TableId::from_name("rules"),
        1_700_000_000_000,
        seats,
        1_000_000,
        &registry,
    );
    config.penalties.cheat_balance_percent = 75;
    config.penalties.withhold_balance_percent = 20;
    config.bonds.minimum = 150;
    config.admission.max_seats = 9;
    config.admission.request_ms = 90_000;
    config.missed_roll_limit = 4;
    config.deadlines = bitcraps_game::Deadlines::tolerating_stalls(50_000);
    config.deadlines.betting_ms = 20_000;
    config.seal();
    let table = LocalTable::with_config(config, keys.clone(), registry).expect("table");
    let mut h = Harness::new(table, keys[0].clone(), PlayerNames::default());
    assert_eq!(h.display::<RulesPanel>(), Display::None, "closed at first");

    h.app
        .world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .press(KeyCode::KeyH);
    h.app.update();
    h.app
        .world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .clear();
    assert_eq!(h.display::<RulesPanel>(), Display::Flex, "H opens it");
    let text = h.single_text::<RulesText>();
    for expected in [
        "puts up 150 chips as a bond",
        "its bets to the bank, and 75 % of the chips in its hand.",
        "its bets to the bank, and 20 % of the chips in its hand.",
        "Missing 4 rolls in a row over at least 100 s",
        "not revealing within 65 s",
        "for up to 50 s is never taken for a withholder",
        "Betting closes 20 s after the first bet",
        "players then have 5 s to commit",
        "more than 2/3 of the seated players allow it (now 3 of 4)",
        "more than 1/3 refusing turns it away (now 2)",
        "lapses after 90 s",
        "At most 9 players",
        "Below 4 players the table closes",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    h.press::<With<RulesButton>>(|_| true);
    assert_eq!(
        h.display::<RulesPanel>(),
        Display::None,
        "the button closes it"
    );

    // The defaults: proven cheating forfeits the whole stack, withholding only bond and bets.
    let defaults = rules_text(local_table(4).state().config(), 4);
    assert!(defaults.contains("every chip in its hand: it leaves with nothing"));
    assert!(defaults.contains("; it keeps the chips in its hand"));
    assert!(defaults.contains("lapses after 2 min"));
}
