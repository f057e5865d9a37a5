//! A player killed and restarted after a pause always catches up, with the real binary over UDP
//! on 127.0.0.1: `bitcraps relay` and four `--join --headless` players play while, 30 times in a
//! row, one of them (each in turn) is killed with SIGKILL, stays dead 1–8 s at random and is
//! restarted on its data directory. Every restart must resume the table, catch up with the others
//! and play on (it prints a roll the others had not reached when it came back) within
//! [`CATCH_UP`]; at the end every player prints the same state hash, no penalty and no
//! misbehaviour, and every journal verifies.
//!
//! Before deadlines were in block time, a restart after 6 s or more at this fast table cost the
//! player its seat (three missed rolls) and closed the table. The pauses come from a seed printed
//! at the start (`NET_RESTART_DELAYED_SEED` repeats a run).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod net_common;

use net_common::player::{exit_of, same_end, wait_for, Player};
use net_common::{free_port, relay, Children};

/// Kills and restarts.
const TRIALS: usize = 30;
/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(600);
/// A restarted player must be playing again within this time after it starts.
const CATCH_UP: Duration = Duration::from_secs(30);
/// The rolls of the runs before the last four: more than the test ever reaches.
const ENDLESS: u64 = 100_000;

fn seed() -> u64 {
    let seed = std::env::var("NET_RESTART_DELAYED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("pause seed: {seed} (NET_RESTART_DELAYED_SEED to repeat)");
    seed | 1
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn args(addr: &str, rolls: u64) -> Vec<String> {
    [
        "--join",
        addr,
        "--headless",
        "--rolls",
        &rolls.to_string(),
        "--timeout",
        "600",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_player_restarted_after_a_pause_of_1_to_8_s_always_catches_up() {
    let start = Instant::now();
    let mut rng = seed();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(vec![relay(port).0]);
    let endless = args(&addr, ENDLESS);
    let endless: Vec<&str> = endless.iter().map(String::as_str).collect();
    let mut players: Vec<Player> = (0..4)
        .map(|i| Player::start(&mut children, "restart-delayed", &format!("p{i}"), &endless))
        .collect();
    wait_for(
        start,
        DEADLINE,
        "three rolls",
        || players.iter().all(|p| p.last_roll() >= 3),
        &players.iter().collect::<Vec<_>>(),
    );

    // The last four restarts (one per player) play to a common final roll, set when the first
    // of them starts from the pace so far: far enough for all four to come back before it.
    let mut final_roll = None;
    for trial in 0..TRIALS {
        let victim = trial % 4;
        children.0[players[victim].index].kill().unwrap();
        children.0[players[victim].index].wait().unwrap();
        let pause = Duration::from_millis(1_000 + next(&mut rng) % 7_001);
        thread::sleep(pause);
        let reached = players.iter().map(Player::last_roll).max().unwrap_or(0);
        if trial == TRIALS - 4 {
            let per_second = reached as f64 / start.elapsed().as_secs_f64();
            final_roll = Some(reached + 10 + (per_second * 70.0) as u64);
        }
        let rolls = final_roll.unwrap_or(ENDLESS);
        let run_args = args(&addr, rolls);
        let run_args: Vec<&str> = run_args.iter().map(String::as_str).collect();
        let dir = players[victim].dir.clone();
        let back = Instant::now();
        players[victim] = Player::start_in(&mut children, dir, &run_args);
        let restarted = &players[victim];
        while restarted.last_roll() <= reached {
            assert!(
                back.elapsed() < CATCH_UP,
                "trial {trial}: player {victim} restarted after {pause:?} did not play on \
                 within {CATCH_UP:?} (the others were at roll {reached}):\n{}",
                restarted.text()
            );
            assert!(start.elapsed() < DEADLINE, "the test ran out of time");
            thread::sleep(Duration::from_millis(50));
        }
        assert!(restarted.printed("resuming table"), "{}", restarted.text());
        eprintln!(
            "trial {trial}: player {victim} dead {:.1} s, playing again {:.1} s after its \
             restart (others at roll {reached})",
            pause.as_secs_f64(),
            back.elapsed().as_secs_f64()
        );
    }

    let final_roll = final_roll.unwrap();
    for p in &players {
        assert!(exit_of(&mut children, p, start, DEADLINE), "{}", p.text());
    }
    same_end(&players, final_roll);
}
