//! Four bot Apps (the host's player and three joiners) play craps through a real renet relay
//! on 127.0.0.1; one is dropped mid-roll and comes back as a new renet client.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bevy_bitcraps::bitcraps_game::Stage;
use bevy_bitcraps::bitcraps_game::TableState;
use bevy_bitcraps::GameSetup;
use bitcraps_renet::testing::NetTable;
use bitcraps_renet::LinkState;
use common::*;

const ALL: [usize; 4] = [0, 1, 2, 3];

#[test]
fn four_apps_play_twenty_rolls_over_renet_with_identical_state() {
    let mut t = bot_table(61, |r| r);
    assert!(
        t.run_until(3_000, WALL, |t| t.all_seated(&ALL)),
        "every player is seated by the relay"
    );
    assert_eq!(t.relay_state().seated().count(), 4);
    let done = t.run_until(40_000, WALL, |t| {
        ALL.iter().all(|i| seen(t, *i).rolls.len() >= 20)
    });
    assert!(
        done,
        "rolls {:?} heights {:?} after {} frames",
        ALL.map(|i| seen(&t, i).rolls.len()),
        ALL.map(|i| t.view(i).height),
        t.frames
    );
    same_rolls(&t, &ALL, 20).unwrap();
    let height = same_hashes(&t, &ALL, 20).unwrap();
    for i in ALL {
        assert!(seen(&t, i).desync.is_empty(), "player {i} saw a desync");
        assert!(
            seen(&t, i).misbehaviour.is_empty(),
            "player {i} accused someone"
        );
        assert!(seen(&t, i).penalties.is_empty(), "player {i} saw a penalty");
        assert!(
            t.client(i).rtt().is_some(),
            "heartbeats measured a round trip"
        );
    }
    let stats = t.relay_state().stats();
    assert_eq!(
        stats.kicked + stats.refused,
        0,
        "nobody was closed: {stats:?}"
    );
    assert_eq!(stats.backpressure_drops, 0);
    println!(
        "20 rolls in {} frames, {height} heights, {stats:?}",
        t.frames
    );
}

#[test]
fn the_hash_checker_catches_a_player_with_another_genesis() {
    // Negative control of `same_hashes`: player 3 starts from another genesis.
    let mut t = NetTable::new(4, 62, |r| r, |_, c| c, &mut |i, app| {
        let mut setup = GameSetup::default();
        if i == 3 {
            setup.stack += 1;
        }
        bots_with(setup)(i, app)
    })
    .unwrap();
    assert!(t.run_until(6_000, WALL, |t| t.min_height(&[0, 1, 2]) >= 5));
    assert!(same_hashes(&t, &[0, 1, 2], 5).is_ok());
    assert!(same_hashes(&t, &ALL, 0).is_err(), "the checker has teeth");
    assert!(
        t.run_until(3_000, WALL, |t| !seen(t, 0).desync.is_empty()),
        "the plugin reports the desync over renet too"
    );
}

fn mid_roll(t: &NetTable, i: usize) -> bool {
    t.view(i)
        .snapshot::<TableState>()
        .is_some_and(|s| s.roll_number() >= 2 && !matches!(s.stage(), Stage::Betting { .. }))
}

#[test]
fn a_player_dropped_mid_roll_reconnects_as_a_new_client_and_catches_up() {
    // Five players: the dropped one may be punished for the reveal it could not send, and a
    // table of four would then close.
    let mut t = NetTable::new(5, 63, |r| r, |_, c| c, &mut bots).expect("net table");
    let others = [0, 1, 2, 4];
    let all = [0, 1, 2, 3, 4];
    assert!(
        t.run_until(40_000, WALL, |t| mid_roll(t, 3)),
        "a roll is under way"
    );
    let old_client = t.client(3).client_id().expect("connected");
    t.client_mut(3).disconnect();
    t.step();
    assert_eq!(*t.client(3).state(), LinkState::Idle);
    let seat = t.keys[3].peer_id();
    assert!(
        t.run_until(3_000, WALL, |t| t.relay_state().client_of(&seat).is_none()),
        "the relay saw the seat leave"
    );
    let left_at = t.view(3).height.0;
    // The four others keep playing without it.
    assert!(t.run_until(20_000, WALL, |t| t.min_height(&others) >= left_at + 12));
    assert!(t.view(3).height.0 < t.min_height(&others), "it fell behind");
    t.client_mut(3).reconnect();
    let target = t.min_height(&others);
    let caught_up = t.run_until(20_000, WALL, |t| t.view(3).height.0 >= target + 3);
    assert!(
        caught_up,
        "player 3 at {} of {target}, link {:?}",
        t.view(3).height,
        t.client(3).state()
    );
    let new_client = t.client(3).client_id().expect("reconnected");
    assert_ne!(
        new_client, old_client,
        "a restarted renet client is a new client"
    );
    assert_eq!(t.client(3).connections(), 2);
    assert_eq!(t.relay_state().client_of(&seat), Some(new_client));
    same_hashes(&t, &all, target).unwrap();
    for i in all {
        assert!(seen(&t, i).desync.is_empty(), "player {i} saw a desync");
        assert!(
            seen(&t, i).misbehaviour.is_empty(),
            "player {i} accused someone"
        );
    }
}

#[test]
fn a_player_that_stays_away_does_not_catch_up() {
    // Negative control of the catch-up check: without reconnecting, player 3 stays behind.
    let mut t = bot_table(64, |r| r);
    assert!(t.run_until(6_000, WALL, |t| t.min_height(&ALL) >= 3));
    t.client_mut(3).disconnect();
    let left_at = t.view(3).height.0;
    assert!(t.run_until(20_000, WALL, |t| t.min_height(&[0, 1, 2]) >= left_at + 12));
    let target = t.min_height(&[0, 1, 2]);
    assert!(!t.run_until(600, WALL, |t| t.view(3).height.0 >= target + 3));
    assert!(same_hashes(&t, &ALL, target).is_err());
}
