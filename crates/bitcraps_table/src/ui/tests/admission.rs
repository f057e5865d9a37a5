//! Admission prompts: asked once, answered through the local player, outcomes logged.

use super::*;

#[test]
fn a_join_request_is_put_to_the_seated_player_once_and_allow_sends_the_admission() {
    let mut table = local_table(4);
    let me = key_of(&table, 0);
    let guest = newcomer();
    let peer = guest.peer_id();
    table.request_join(guest, 1_000).expect("join request");
    let requested_at = table.state().join_requests()[&peer].requested_at;
    let names = you(&me);
    let mut h = Harness::new(table, me, names);

    let short = format!("{}...", &peer.to_string()[..4]);
    assert_eq!(h.prompts().len(), 1, "one prompt for the one request");
    assert_eq!(
        h.prompt_texts(),
        vec![format!("{short} wants to sit down with 1000 chips")]
    );
    assert!(
        h.log_text().is_empty(),
        "no block decided in the harness yet"
    );

    h.press_admission(true);
    let admit = Operation::Admit {
        newcomer: peer,
        requested_at,
        admit: true,
    };
    assert_eq!(
        h.in_flight(),
        vec![admit.clone()],
        "the admission is signed"
    );
    assert!(!h.feedback().error, "{}", h.feedback().text);
    assert!(h.feedback().text.contains(&format!("allowed {short}")));
    assert!(h.prompts().is_empty(), "answered: the prompt is gone");
    for _ in 0..5 {
        h.app.update();
    }
    assert!(h.prompts().is_empty(), "not asked again");
    assert_eq!(h.in_flight().len(), 1, "answered once");

    // The admission is decided: the state records it, so even without the local memory (a
    // restarted interface) the question is not asked again.
    let mine = h.sign(0, admit);
    h.decide(vec![mine]);
    h.app
        .world_mut()
        .resource_mut::<AdmissionAnswers>()
        .0
        .clear();
    h.app.update();
    assert!(h.prompts().is_empty(), "the decided answer counts");
    assert!(h.log_text().contains(&format!("You allow {short}")));

    // Two more admissions seat the newcomer (3 of 4): the log says so in plain words.
    let more: Vec<SignedOp> = [1, 2]
        .into_iter()
        .map(|seat| {
            h.sign(
                seat,
                Operation::Admit {
                    newcomer: peer,
                    requested_at,
                    admit: true,
                },
            )
        })
        .collect();
    let events = h.decide(more);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::SeatJoined { peer: p, .. } if *p == peer)));
    let log = h.log_text();
    assert!(
        log.contains(&format!("{short} sat down with 1000 chips")),
        "{log}"
    );
    assert_plain(&log, &peer);
}

#[test]
fn a_request_refused_by_the_others_is_logged_and_its_prompt_goes() {
    let mut table = local_table(4);
    let me = key_of(&table, 3);
    let guest = newcomer();
    let peer = guest.peer_id();
    table.request_join(guest, 500).expect("join request");
    let requested_at = table.state().join_requests()[&peer].requested_at;
    let mut names = you(&me);
    names.0.insert(peer, "Dana".into());
    let mut h = Harness::new(table, me, names);
    assert_eq!(
        h.prompt_texts(),
        vec!["Dana wants to sit down with 500 chips".to_string()],
        "a newcomer with a name is called by it"
    );

    let refusals: Vec<SignedOp> = [0, 1]
        .into_iter()
        .map(|seat| {
            h.sign(
                seat,
                Operation::Admit {
                    newcomer: peer,
                    requested_at,
                    admit: false,
                },
            )
        })
        .collect();
    h.decide(refusals);
    assert!(h.prompts().is_empty(), "decided: the prompt is gone");
    let log = h.log_text();
    assert!(log.contains("the table refused Dana"), "{log}");
    assert!(h.in_flight().is_empty(), "the local player never answered");
}

#[test]
fn nobody_without_a_seat_is_asked() {
    let mut table = local_table(4);
    let watcher = Keypair::from_seed([0x55; 32]);
    table.request_join(newcomer(), 1_000).expect("join request");
    let names = you(&watcher);
    let mut h = Harness::new(table, watcher, names);
    assert!(
        h.prompts().is_empty(),
        "a player without a seat is not asked"
    );
    h.press_admission_if_any();
    assert!(h.in_flight().is_empty());
}
