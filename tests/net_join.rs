//! The seats are the validators, with the real binary over UDP on 127.0.0.1: `bitcraps relay`
//! and four `--join --headless` players form a table whose bots admit newcomers while fewer
//! than five are seated (`--admit-up-to 5`). A fifth `--join` to the running table asks for a
//! seat and is admitted; a sixth is refused, with a clear message on both sides; one genesis
//! player leaves (`--leave-after-rolls`) and the other four play on to the same state hash.
//! Every player's journal passes `bitcraps verify`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

mod net_common;

use net_common::player::{exit_of as exit, verify, wait_for as wait, Player};
use net_common::{free_port, relay, Children};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(240);
/// Rolls every player who stays plays to.
const ROLLS: &str = "20";
/// The genesis player who leaves does so after this roll.
const LEAVE_AFTER: &str = "8";

/// `bitcraps --join ADDR --headless --rolls 20 --admit-up-to 5 EXTRA`.
fn join_player(children: &mut Children, addr: &str, name: &str, extra: &[&str]) -> Player {
    let mut args = vec!["--join", addr, "--headless", "--rolls", ROLLS];
    args.extend(["--timeout", "200", "--admit-up-to", "5"]);
    args.extend(extra);
    Player::start(children, "net-join", name, &args)
}

fn wait_for(start: Instant, what: &str, done: impl FnMut() -> bool, show: &[&Player]) {
    wait(start, DEADLINE, what, done, show);
}

fn exit_of(children: &mut Children, player: &Player, start: Instant) -> bool {
    exit(children, player, start, DEADLINE)
}

#[test]
fn a_running_table_admits_a_fifth_refuses_a_sixth_and_plays_on_after_a_leave() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let (relay, _relay_lines) = relay(port);
    children.0.push(relay);

    let mut genesis = Vec::new();
    for i in 0..4 {
        let extra: &[&str] = if i == 1 {
            &["--leave-after-rolls", LEAVE_AFTER]
        } else {
            &[]
        };
        genesis.push(join_player(&mut children, &addr, &format!("p{i}"), extra));
    }
    let all: Vec<&Player> = genesis.iter().collect();
    wait_for(
        start,
        "the table to form",
        || genesis.iter().all(|p| p.printed("the table is full")),
        &all,
    );

    // A fifth asks the running table for a seat; the bots admit it (four are seated).
    let fifth = join_player(&mut children, &addr, "fifth", &[]);
    wait_for(
        start,
        "the fifth to be admitted",
        || fifth.printed("the table admitted you"),
        &[&fifth, &genesis[0]],
    );
    assert!(fifth.printed("already plays; you will ask its players for a seat"));
    let fifth_key = fifth.key();
    wait_for(
        start,
        "the players to see the fifth sit down",
        || genesis[0].printed(&format!("{fifth_key} sat down with 10000 chips")),
        &[&genesis[0]],
    );

    // A sixth: five are seated, the bots refuse, and it says why.
    let sixth = join_player(&mut children, &addr, "sixth", &[]);
    assert!(!exit_of(&mut children, &sixth, start), "{}", sixth.text());
    let err = sixth.err.lock().unwrap().join("\n");
    assert!(
        err.contains("the table refused to seat you: more than a third of the players refused"),
        "{}",
        sixth.text()
    );
    let sixth_key = sixth.key();
    wait_for(
        start,
        "the players to say they refused the sixth",
        || {
            genesis[0].printed(&format!(
                "the table refused {sixth_key}'s request to sit down"
            ))
        },
        &[&genesis[0]],
    );

    // Everyone finishes; the leaver left and cashed out, the four others agree.
    let stayers: Vec<&Player> = [&genesis[0], &genesis[2], &genesis[3], &fifth].into();
    for p in stayers.iter().chain([&&genesis[1]]) {
        assert!(exit_of(&mut children, p, start), "{}", p.text());
    }
    let leaver = &genesis[1];
    assert!(
        leaver.printed("you left the table and cashed out"),
        "{}",
        leaver.text()
    );
    let leaver_key = leaver.key();
    assert!(
        genesis[0].printed(&format!("{leaver_key} left the table and cashed out")),
        "{}",
        genesis[0].text()
    );
    let hashes: Vec<String> = stayers
        .iter()
        .map(|p| {
            p.line(&format!("state hash after roll {ROLLS}"))
                .unwrap_or_else(|| panic!("no hash:\n{}", p.text()))
        })
        .collect();
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:#?}");
    for p in &stayers {
        assert!(p.printed("accounting: balanced"), "{}", p.text());
        assert!(p.printed("penalties: 0"), "{}", p.text());
    }

    // Every journal (the refused sixth followed the table too) verifies offline.
    let mut verified = 0;
    for p in genesis.iter().chain([&fifth, &sixth]) {
        for journal in p.journals() {
            verify(&journal);
            verified += 1;
        }
    }
    assert!(verified >= 5, "{verified} journals verified");
    // Shown with `--nocapture`: what the players printed.
    for (who, p) in [
        ("genesis player 1", &genesis[0]),
        ("leaver", &genesis[1]),
        ("fifth", &fifth),
        ("sixth", &sixth),
    ] {
        eprintln!("===== {who}\n{}", p.text());
    }
    for p in genesis.iter().chain([&fifth, &sixth]) {
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}
