//! Test hooks never ship: a player's build (without the `fault-injection` feature) ignores the
//! crash points and the planted bug of the kill tests. Four real `--join --headless` players
//! are started with `BITCRAPS_CRASH_AFTER=guard:1` (die at the first signing-guard write) and
//! `BITCRAPS_PLANT_BUG=forget-own-ops`: every one plays its three rolls to the same state hash,
//! none prints a crash point or a planted bug. (With the feature, `tests/net_restart.rs` shows
//! the same variables do kill the player and plant the bug.)
#![cfg(not(feature = "fault-injection"))]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

mod net_common;

use net_common::player::{exit_of, same_end, Player};
use net_common::{data_dir, free_port, relay, Children};

#[test]
fn a_players_build_ignores_the_crash_points_and_the_planted_bug() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(vec![relay(port).0]);
    let args = [
        "--join",
        &addr,
        "--headless",
        "--rolls",
        "3",
        "--timeout",
        "60",
    ];
    let env = [
        ("BITCRAPS_CRASH_AFTER", "guard:1"),
        ("BITCRAPS_PLANT_BUG", "forget-own-ops"),
    ];
    let players: Vec<Player> = (0..4)
        .map(|i| {
            let dir = data_dir("no-test-hooks", &format!("p{i}"));
            Player::start_with(&mut children, dir, &args, &env)
        })
        .collect();
    for p in &players {
        assert!(
            exit_of(&mut children, p, start, Duration::from_secs(90)),
            "{}",
            p.text()
        );
        assert!(!p.printed("crash point"), "{}", p.text());
        assert!(!p.printed("planted bug"), "{}", p.text());
    }
    same_end(&players, 3);
}
