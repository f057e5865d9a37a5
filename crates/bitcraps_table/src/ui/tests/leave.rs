//! Leaving: refusals in words, the leave sent, the cash-out and the closing panel.

use super::*;

#[test]
fn leave_explains_why_not_then_sends_leave_and_shows_the_cash_out() {
    let table = local_table(5);
    let me = key_of(&table, 0);
    let mut h = Harness::new(table, me.clone(), you(&me));
    let bet = Operation::PlaceBet {
        kind: BetKind::PassLine,
        amount: 25,
        working: Working::TableRule,
    };
    let bet = h.sign(0, bet);
    h.decide(vec![bet]);

    h.press::<With<LeaveButton>>(|_| true);
    let refused = h.feedback();
    assert!(refused.error, "leaving with a bet is refused");
    assert_eq!(
        refused.text,
        "you still have a bet of 25 chips on the table: you may leave once they are decided \
         (or taken down)"
    );
    assert!(h.in_flight().is_empty(), "nothing signed");

    // The bet comes down; now leaving is sent.
    let id = h.table.state().bets_of(Seat(0)).next().expect("bet").id;
    let down = h.sign(0, Operation::RemoveBet { bet: id });
    h.decide(vec![down]);
    let before = h.table.state().seat(Seat(0)).expect("seat").clone();
    h.press::<With<LeaveButton>>(|_| true);
    assert!(!h.feedback().error, "{}", h.feedback().text);
    assert_eq!(h.in_flight(), vec![Operation::Leave]);

    // Decided: the panel shows the cash-out, chips in hand and bond.
    let leave = h.sign(0, Operation::Leave);
    let events = h.decide(vec![leave]);
    let cashed_out = events
        .iter()
        .find_map(|e| match e {
            Event::SeatLeft { seat, cashed_out } if *seat == Seat(0) => Some(*cashed_out),
            _ => None,
        })
        .expect("left");
    assert_eq!(cashed_out, before.balance + before.bond);
    let end = h.app.world().resource::<EndOfPlay>().clone();
    assert!(end.shown);
    assert_eq!(end.title, "YOU LEFT THE TABLE");
    assert_eq!(
        h.single_text::<EndText>(),
        format!(
            "cashed out {cashed_out} chips: {} in hand and your bond of {}",
            before.balance, before.bond
        )
    );
    assert_eq!(h.display::<EndPanel>(), Display::Flex);

    // A leave the table refused is explained in words too.
    let table_id = h.table.state().config().table_id;
    let op = SignedOp::sign(&me, &table_id, 99, Operation::Leave).expect("signed");
    h.app.world_mut().write_message(OperationDecided {
        height: 9,
        seat: Some(Seat(0)),
        op,
        refused: Some("seat 0 cannot leave with open bets".into()),
    });
    h.app.update();
    let said = h.feedback();
    assert!(said.error);
    assert_eq!(
        said.text,
        "the table refused your leave: seat 0 cannot leave with open bets"
    );
}

#[test]
fn the_table_closing_shows_every_final_balance_by_name() {
    let table = local_table(4);
    let mut names = PlayerNames::default();
    for (seat, name) in ["You", "Ann", "Bob", "Cy"].into_iter().enumerate() {
        let seat = u16::try_from(seat).expect("seat");
        names.0.insert(key_of(&table, seat).peer_id(), name.into());
    }
    let me = key_of(&table, 0);
    let mut h = Harness::new(table, me, names);
    let leave = h.sign(1, Operation::Leave);
    let events = h.decide(vec![leave]);
    let finals = events
        .iter()
        .find_map(|e| match e {
            Event::TableClosed { final_balances, .. } => Some(final_balances.clone()),
            _ => None,
        })
        .expect("three players left: the table closes");
    let end = h.app.world().resource::<EndOfPlay>().clone();
    assert!(end.shown);
    assert_eq!(end.title, "THE TABLE CLOSED");
    let text = h.single_text::<EndText>();
    assert!(text.starts_with("fewer than 4 players were left"), "{text}");
    for f in &finals {
        let name = h.app.world().resource::<PlayerNames>().of(&f.peer);
        let line = format!("  {name:<18} {:>9}", f.cashed_out);
        assert!(text.contains(&line), "{line:?} missing in {text}");
    }
    assert!(!text.contains("Ann"), "Ann left before the close: {text}");
    assert!(h.log_text().contains("THE TABLE CLOSED"));

    // Leaving is no longer possible, and says why.
    h.press::<With<LeaveButton>>(|_| true);
    assert_eq!(h.feedback().text, "you have no seat at this table");
}
