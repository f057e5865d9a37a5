//! The relay dies and comes back, with the real binary over UDP on 127.0.0.1: `bitcraps relay`
//! and four `--join --headless` players play; the relay process is killed (SIGKILL) mid-game and
//! a new `bitcraps relay` starts at the same address, an empty lobby. The players say the relay
//! is lost, reconnect, hand it their table's genesis with their seat proofs, say they are back,
//! and finish the game with the same state hash; their journals verify.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

mod net_common;

use net_common::player::{exit_of, same_end, wait_for, Player};
use net_common::{free_port, relay, Children};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(180);
/// Rolls each player plays to.
const ROLLS: u64 = 12;

#[test]
fn the_players_bring_their_table_back_to_a_restarted_relay() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let (first_relay, _lines) = relay(port);
    children.0.push(first_relay);
    let players: Vec<Player> = (0..4)
        .map(|i| {
            let rolls = ROLLS.to_string();
            let args = [
                "--join",
                &addr,
                "--headless",
                "--rolls",
                &rolls,
                "--timeout",
                "150",
            ];
            Player::start(&mut children, "relay-restart", &format!("p{i}"), &args)
        })
        .collect();
    let all: Vec<&Player> = players.iter().collect();
    wait_for(
        start,
        DEADLINE,
        "three rolls",
        || players.iter().all(|p| p.printed("roll   3 at height")),
        &all,
    );

    // The relay dies.
    children.0[0].kill().unwrap();
    children.0[0].wait().unwrap();
    wait_for(
        start,
        DEADLINE,
        "the players to notice",
        || players.iter().all(|p| p.printed("relay lost")),
        &all,
    );
    // A new relay at the same address: an empty lobby, until the players hand it their table.
    let (second_relay, _lines) = relay(port);
    children.0.push(second_relay);
    for p in &players {
        assert!(exit_of(&mut children, p, start, DEADLINE), "{}", p.text());
        assert!(p.printed("back at the relay after"), "{}", p.text());
    }
    // Shown with `--nocapture`: what a player printed.
    eprintln!("{}", players[0].text());
    same_end(&players, ROLLS);
}

#[test]
fn the_players_take_their_table_to_a_relay_at_another_address() {
    let start = Instant::now();
    let first_port = free_port();
    let first = format!("127.0.0.1:{first_port}");
    let mut children = Children(Vec::new());
    let (first_relay, _lines) = relay(first_port);
    children.0.push(first_relay);
    let args = |addr: &str| -> Vec<String> {
        [
            "--join",
            addr,
            "--headless",
            "--rolls",
            &ROLLS.to_string(),
            "--timeout",
            "150",
        ]
        .map(String::from)
        .to_vec()
    };
    let first_args = args(&first);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let players: Vec<Player> = (0..4)
        .map(|i| Player::start(&mut children, "relay-moved", &format!("p{i}"), &first_args))
        .collect();
    let all: Vec<&Player> = players.iter().collect();
    wait_for(
        start,
        DEADLINE,
        "three rolls",
        || players.iter().all(|p| p.printed("roll   3 at height")),
        &all,
    );
    // The relay's machine is gone for good: the players say so, and their people stop them.
    children.0[0].kill().unwrap();
    children.0[0].wait().unwrap();
    wait_for(
        start,
        DEADLINE,
        "the players to notice",
        || players.iter().all(|p| p.printed("relay lost")),
        &all,
    );
    for p in &players {
        children.0[p.index].kill().unwrap();
        children.0[p.index].wait().unwrap();
    }
    // A relay at another address; each player is started again with it, `--resume` and its
    // data folder: it takes its saved table there and resumes from its journal.
    let second_port = free_port();
    let second = format!("127.0.0.1:{second_port}");
    let (second_relay, _lines) = relay(second_port);
    children.0.push(second_relay);
    let mut second_args = args(&second);
    second_args.push("--resume".into());
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let players: Vec<Player> = players
        .iter()
        .map(|p| Player::start_in(&mut children, p.dir.clone(), &second_args))
        .collect();
    for p in &players {
        assert!(exit_of(&mut children, p, start, DEADLINE), "{}", p.text());
        assert!(p.printed("resuming table"), "{}", p.text());
    }
    same_end(&players, ROLLS);
}
