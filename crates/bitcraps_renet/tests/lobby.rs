//! The lobby over real UDP on 127.0.0.1: players with their own keys seat themselves at a relay
//! that knew no seats, get the same genesis and play; duplicate keys, another registry and a
//! flood of unfinished handshakes are refused with their reasons, and a latecomer is told which
//! table already plays.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use bevy_bitcraps::bitcraps_consensus::{Keypair, PeerId};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::{StateHashBook, TableView};
use bitcraps_renet::testing::{player_app, RawClient};
use bitcraps_renet::{
    join_lobby, spawn_lobby, ChannelBudget, Genesis, LobbyConfig, LobbyError, LobbyJoin,
    LobbyOutcome, NetClientConfig, Refusal, RelayFrame, RelayHandle,
};
use common::*;

const ANY: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

fn lobby(players: u16, adjust: impl FnOnce(&mut LobbyConfig)) -> RelayHandle {
    let mut config = LobbyConfig::new(players, &Registry::new());
    adjust(&mut config);
    spawn_lobby(config, ANY).expect("lobby relay")
}

fn request(relay: &RelayHandle, key: &Keypair) -> LobbyJoin {
    let mut join = LobbyJoin::new(relay.local_address(), key.clone(), Registry::new().hash());
    join.connect_timeout = Duration::from_secs(5);
    join.wait_timeout = Some(Duration::from_secs(60));
    join
}

/// A lobby join's genesis, if the lobby formed the table with this player.
fn formed(outcome: Result<LobbyOutcome, LobbyError>) -> Result<Genesis, LobbyError> {
    outcome.map(|o| match o {
        LobbyOutcome::Formed(genesis) => genesis,
        LobbyOutcome::Running(genesis) => panic!("a running table, not formed: {genesis:?}"),
    })
}

/// Joins on another thread; the handle yields the genesis and the statuses seen.
fn join_in_thread(
    relay: &RelayHandle,
    key: &Keypair,
) -> thread::JoinHandle<(Result<Genesis, LobbyError>, Vec<usize>)> {
    let join = request(relay, key);
    thread::spawn(move || {
        let mut seen = Vec::new();
        let genesis = formed(join_lobby(&join, |s| seen.push(s.joined.len())));
        (genesis, seen)
    })
}

fn wait_for(relay: &RelayHandle, joined: usize) {
    let start = Instant::now();
    while relay.lobby().map(|(n, _)| n) != Some(joined) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{joined} in the lobby"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn four_players_with_their_own_keys_seat_themselves_and_play_the_same_table() {
    let relay = lobby(4, |_| {});
    let keys = test_keys(4, 7001);
    // Join one after the other so that the join order is known.
    let mut handles = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        handles.push(join_in_thread(&relay, key));
        wait_for(&relay, i + 1);
    }
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let geneses: Vec<Genesis> = results
        .iter()
        .map(|(g, _)| g.as_ref().expect("seated").clone())
        .collect();
    let seats: Vec<PeerId> = keys.iter().map(Keypair::peer_id).collect();
    for (genesis, (_, seen)) in geneses.iter().zip(&results) {
        assert_eq!(genesis, &geneses[0], "everyone got the same genesis");
        assert_eq!(genesis.seats, seats, "seats in join order");
        assert_eq!(
            seen.last(),
            Some(&4),
            "the last status showed 4 / 4: {seen:?}"
        );
    }
    assert_eq!(relay.lobby(), Some((4, true)));
    // A second lobby with the same players is another table.
    let other = lobby(4, |_| {});
    let handles: Vec<_> = keys.iter().map(|k| join_in_thread(&other, k)).collect();
    let again: Vec<Genesis> = handles
        .into_iter()
        .map(|h| h.join().unwrap().0.expect("seated again"))
        .collect();
    // The latecomer's check is stricter than nothing: a tampered genesis is refused.
    let mut tampered = again[0].clone();
    tampered.seats.swap(0, 1);
    assert!(tampered.check_running(&Registry::new().hash()).is_err());
    assert!(
        again[0].check_running(&[9; 32]).is_err(),
        "another registry"
    );
    assert_ne!(again[0].terms.table, geneses[0].terms.table);
    drop(other);

    // Play on the seated relay at the same address.
    let mut apps: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let config = geneses[i].config(key.clone()).unwrap().with_fast_timings();
            let net = NetClientConfig::new(relay.local_address());
            player_app(config, net, &mut |app| bots(i, app))
        })
        .collect();
    let start = Instant::now();
    let rolls = |apps: &Vec<bevy::app::App>| {
        apps.iter()
            .map(|a| a.world().resource::<Seen>().rolls.len())
            .min()
            .unwrap_or(0)
    };
    while rolls(&apps) < 3 {
        assert!(
            start.elapsed() < WALL,
            "3 rolls everywhere; got {}",
            rolls(&apps)
        );
        for app in &mut apps {
            app.update();
        }
        // The relay runs on its own clock: keep the players' virtual time near real time.
        thread::sleep(Duration::from_millis(2));
    }
    let height = apps
        .iter()
        .map(|a| a.world().resource::<TableView>().height)
        .min()
        .unwrap();
    let hashes: Vec<_> = apps
        .iter()
        .map(|a| a.world().resource::<StateHashBook>().local(height))
        .collect();
    assert!(hashes[0].is_some(), "a hash at {height:?}");
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    for app in &apps {
        let seen = app.world().resource::<Seen>();
        assert!(seen.desync.is_empty() && seen.misbehaviour.is_empty());
    }
    assert_eq!(relay.stats().seated, 4);
    assert!(relay.offences().is_empty(), "{:?}", relay.offences());
}

fn refused(result: Result<LobbyOutcome, LobbyError>) -> Refusal {
    match result {
        Err(LobbyError::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_duplicate_key_and_another_registry_are_refused_and_a_latecomer_gets_the_running_table() {
    let relay = lobby(4, |_| {});
    let keys = test_keys(5, 7002);
    let first = join_in_thread(&relay, &keys[0]);
    wait_for(&relay, 1);
    // The same key again.
    let dup = join_lobby(&request(&relay, &keys[0]), |_| {});
    let refusal = refused(dup);
    assert_eq!(
        refusal,
        Refusal::DuplicateKey {
            peer: keys[0].peer_id()
        }
    );
    assert!(
        refusal.to_string().contains("already in the lobby"),
        "{refusal}"
    );
    // Another registry.
    let mut other = request(&relay, &keys[4]);
    other.registry_hash = [9; 32];
    let refusal = refused(join_lobby(&other, |_| {}));
    assert!(
        matches!(refusal, Refusal::WrongRegistry { got, .. } if got == [9; 32]),
        "{refusal:?}"
    );
    assert_eq!(
        relay.lobby(),
        Some((1, false)),
        "the refused did not get in"
    );
    // Fill the table.
    let rest: Vec<_> = keys[1..4]
        .iter()
        .map(|k| join_in_thread(&relay, k))
        .collect();
    let first_genesis = first.join().unwrap().0;
    assert!(first_genesis.is_ok());
    for h in rest {
        assert!(h.join().unwrap().0.is_ok());
    }
    // A fifth player is told which table already plays (not an offence: it may ask the
    // players for a seat).
    let genesis = first_genesis.expect("formed");
    let outcome = join_lobby(&request(&relay, &keys[4]), |_| {}).expect("an answer");
    assert_eq!(outcome, LobbyOutcome::Running(genesis.clone()));
    assert!(outcome
        .genesis()
        .check_running(&Registry::new().hash())
        .is_ok());
    assert!(!genesis.seats(&keys[4].peer_id()));
    let start = Instant::now();
    while relay.offences().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10));
        thread::sleep(Duration::from_millis(10));
    }
    let logged: Vec<_> = relay.offences().into_iter().map(|o| o.refusal).collect();
    assert!(
        !logged
            .iter()
            .any(|r| matches!(r, Refusal::TableFull { .. })),
        "{logged:?}"
    );
    assert!(logged
        .iter()
        .any(|r| matches!(r, Refusal::DuplicateKey { .. })));
    assert!(logged
        .iter()
        .any(|r| matches!(r, Refusal::WrongRegistry { .. })));
}

#[test]
fn unfinished_handshakes_from_one_address_are_bounded() {
    let relay = lobby(4, |c| c.limits.max_pending_per_ip = 2);
    let budget = ChannelBudget::default();
    let mut raws: Vec<RawClient> = (0..3)
        .map(|_| RawClient::connect(relay.local_address(), &budget).unwrap())
        .collect();
    let mut frames: Vec<Vec<RelayFrame>> = vec![Vec::new(); 3];
    let start = Instant::now();
    while frames.iter().any(Vec::is_empty) {
        assert!(start.elapsed() < Duration::from_secs(10), "{frames:?}");
        // One at a time, so that the third is the one over the limit.
        for (i, raw) in raws.iter_mut().enumerate() {
            if i == 0 || !frames[i - 1].is_empty() {
                frames[i].extend(raw.pump());
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(frames[0][0], RelayFrame::LobbyChallenge { .. }));
    assert!(matches!(frames[1][0], RelayFrame::LobbyChallenge { .. }));
    assert!(
        matches!(
            &frames[2][0],
            RelayFrame::Refused(Refusal::TooManyPending { limit: 2, .. })
        ),
        "{:?}",
        frames[2]
    );
    // Negative control: once the idle connections are gone, a player from the same address
    // gets in, and the table forms.
    for raw in &mut raws {
        raw.transport.disconnect();
    }
    thread::sleep(Duration::from_millis(300));
    let keys = test_keys(4, 7003);
    let mut joins = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        joins.push(join_in_thread(&relay, key));
        wait_for(&relay, i + 1);
    }
    for join in joins {
        let (genesis, _) = join.join().unwrap();
        assert!(genesis.is_ok(), "{genesis:?}");
    }
}

#[test]
fn nobody_at_the_address_is_a_clear_error() {
    // A bound socket that never answers.
    let silent = std::net::UdpSocket::bind(ANY).unwrap();
    let mut join = LobbyJoin::new(
        silent.local_addr().unwrap(),
        test_keys(1, 7004).remove(0),
        Registry::new().hash(),
    );
    join.connect_timeout = Duration::from_secs(2);
    let start = Instant::now();
    let error = join_lobby(&join, |_| {}).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(matches!(error, LobbyError::Unreachable { .. }), "{error:?}");
    assert!(
        error.to_string().contains("no BitCraps relay answered"),
        "{error}"
    );
}

#[test]
fn a_full_relay_says_it_answered_and_refused_not_that_nobody_answered() {
    // A relay that takes 20 connections from one address (the gate's bound per address).
    let relay = lobby(4, |c| {
        c.limits.gate.connections_per_ip = 20;
        c.limits.max_guests = 0;
        c.limits.max_pending_per_ip = 1_000;
        c.limits.handshake_timeout = Duration::from_secs(60);
    });
    let budget = ChannelBudget::default();
    let mut raws: Vec<RawClient> = Vec::new();
    let start = Instant::now();
    // Fill every slot with idle connections.
    while raws.len() < 20 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} in",
            raws.len()
        );
        let mut raw = RawClient::connect(relay.local_address(), &budget).unwrap();
        let since = Instant::now();
        while !raw.is_connected() && since.elapsed() < Duration::from_secs(5) {
            raw.pump();
            thread::sleep(Duration::from_millis(2));
        }
        assert!(raw.is_connected(), "connection {} got in", raws.len());
        raws.push(raw);
    }
    let keep_alive = thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(8);
        while Instant::now() < until {
            for raw in &mut raws {
                raw.pump();
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let mut join = request(&relay, &test_keys(1, 7005).remove(0));
    join.connect_timeout = Duration::from_secs(5);
    let error = join_lobby(&join, |_| {}).unwrap_err();
    assert!(
        matches!(error, LobbyError::NotConnected { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("answered but did not let you in"), "{text}");
    assert!(text.contains("full or busy"), "{text}");
    assert!(!text.contains("no BitCraps relay answered"), "{text}");
    keep_alive.join().unwrap();
}
