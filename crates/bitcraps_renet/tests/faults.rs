//! A relay that drops 20 % of the messages it forwards and delays the others (the test hook):
//! timeouts, gossip and catch-up keep the table live, and its state identical everywhere.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bitcraps_renet::RelayFaults;
use common::*;

const ALL: [usize; 4] = [0, 1, 2, 3];

#[test]
fn a_lossy_slow_relay_still_lets_the_table_progress() {
    let faults = RelayFaults::new(0.2, Duration::from_millis(80), 81);
    let mut t = bot_table(81, |r| r.with_faults(faults));
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&ALL)));
    assert!(
        progresses(&mut t, &ALL, 25, 40_000, |_| {}),
        "heights {:?} after {} frames",
        ALL.map(|i| t.view(i).height),
        t.frames
    );
    assert!(t.run_until(40_000, WALL, |t| ALL
        .iter()
        .all(|i| seen(t, *i).rolls.len() >= 2)));
    let stats = t.relay_state().stats();
    assert!(stats.fault_drops > 100, "{stats:?}");
    assert!(stats.fault_delays > 100, "{stats:?}");
    let dropped = stats.fault_drops as f64 / (stats.fault_drops + stats.forwarded) as f64;
    assert!((0.1..0.3).contains(&dropped), "dropped {dropped:.2}");
    same_hashes(&t, &ALL, 25).unwrap();
    same_rolls(&t, &ALL, 2).unwrap();
    for i in ALL {
        assert!(seen(&t, i).desync.is_empty(), "player {i} saw a desync");
        assert!(
            seen(&t, i).misbehaviour.is_empty(),
            "player {i} accused someone"
        );
        assert!(t.client(i).is_seated(), "player {i} kept its connection");
    }
    println!("{} frames, {stats:?}", t.frames);
}

#[test]
fn a_relay_that_drops_everything_stops_the_table() {
    // Negative control of the progress check.
    let faults = RelayFaults::new(1.0, Duration::ZERO, 82);
    let mut t = bot_table(82, |r| r.with_faults(faults));
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&ALL)));
    assert!(!progresses(&mut t, &ALL, 1, 1_500, |_| {}));
    assert_eq!(t.min_height(&ALL), 0);
}
